// Forwarder over undici: one Pool per upstream endpoint (kept in the
// UpstreamRegistry across table generations), requests sent with the
// low-level dispatch() API, which measured fastest and allocates no response
// stream (perf-calibration §7, item 4). undici discards an upstream
// connection on any anomaly (parse error, early response, timeout, abort);
// Martello never decides to reuse one itself.

import { buildConnector, Pool } from 'undici';
import type { Logger } from '../../shared/log.ts';
import type { UpstreamEndpoint } from '../compile/cluster.ts';
import { UpstreamRegistry } from '../runtime/upstream-registry.ts';
import { ForwardHandler } from './forward-handler.ts';
import type { ForwardRequest, Forwarder, ForwarderHost } from './forwarder.ts';
import type { ProxyOptions } from './options.ts';

export class UndiciForwarder implements Forwarder {
  readonly #host: ForwarderHost;
  readonly #registry: UpstreamRegistry<Pool>;

  constructor(host: ForwarderHost, options: ProxyOptions, logger: Logger, initialEndpoints: ReadonlySet<string>) {
    this.#host = host;
    const poolOptions: Pool.Options = {
      connections: options.upstreamMaxConnections,
      pipelining: 1,
      connectTimeout: options.connectTimeoutMs,
      headersTimeout: options.responseHeaderTimeoutMs,
      bodyTimeout: options.upstreamBodyTimeoutMs,
      keepAliveTimeout: options.upstreamIdleTimeoutMs,
      keepAliveMaxTimeout: options.upstreamIdleTimeoutMs,
    };
    this.#registry = new UpstreamRegistry<Pool>(
      (endpoint: UpstreamEndpoint) => new Pool(endpoint.origin, endpoint.tls === null ? poolOptions : { ...poolOptions, connect: tlsConnector(endpoint, options.connectTimeoutMs) }),
      initialEndpoints,
      (err, key) => logger.warn('closing upstream pool failed', { endpoint: key, err }),
    );
  }

  /** Open upstream pools (tests, metrics). */
  get poolCount(): number {
    return this.#registry.size;
  }

  hasPool(key: string): boolean {
    return this.#registry.has(key);
  }

  forward(request: ForwardRequest): void {
    const { req, res, endpoint } = request;
    const handler = new ForwardHandler(res, request.requestId, this.#host, request.hsts, request.grpc, request.setCookie);
    const pool = this.#registry.acquire(endpoint);
    // The cluster's proxy-read-timeout, when its Ingress set one; else the
    // pool's (the options'). The connect deadline is the pool's: pools are
    // per endpoint, and undici has no per-request connect timeout.
    const t = request.timeouts;
    // dispatch() reports synchronous failures (closed pool, invalid header)
    // through handler.onResponseError, so it never throws here.
    pool.dispatch(
      {
        path: request.target,
        // undici derives SNI from the Host header unless told otherwise, and
        // drops pooled TLS connections whenever it changes. Every request to
        // an endpoint carries the same placeholder; tlsConnector decides the
        // real SNI from the cluster's settings.
        ...(endpoint.tls === null ? {} : { servername: UPSTREAM_SERVERNAME_PLACEHOLDER }),
        method: request.method,
        headers: request.headers,
        body: request.hasBody ? req : null,
        headersTimeout: t === undefined || t.responseHeaderMs === 0 ? undefined : t.responseHeaderMs,
        bodyTimeout: t === undefined || t.idleMs === 0 ? undefined : t.idleMs,
      },
      handler,
    );
    this.#registry.release(endpoint);
  }

  retain(endpointKeys: ReadonlySet<string>): void {
    this.#registry.retain(endpointKeys);
  }

  close(): Promise<void> {
    return this.#registry.close();
  }

  /** The drain deadline passed: cut every upstream connection, in flight or not. */
  destroy(): void {
    this.#registry.destroy();
  }
}

const UPSTREAM_SERVERNAME_PLACEHOLDER = 'martello.upstream';

/**
 * HTTPS endpoints: encryption always; verification only when the cluster
 * asks for it (ingress-nginx's proxy-ssl-verify is off by default), against
 * its CA and server name. SNI is the configured server name or none: the
 * endpoint is an IP address, and the client's Host must not leak into the
 * upstream handshake (nor decide what name is verified).
 */
function tlsConnector(endpoint: UpstreamEndpoint, timeout: number): buildConnector.connector {
  const tls = endpoint.tls!;
  const base = buildConnector({
    timeout,
    rejectUnauthorized: tls.verify,
    ...(tls.caPem === null ? {} : { ca: tls.caPem }),
    ALPNProtocols: ['http/1.1'],
  });
  const servername = tls.serverName ?? undefined;
  return (opts, callback) => base({ ...opts, servername }, callback);
}
