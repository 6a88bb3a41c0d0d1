// Forwarder over undici: one Pool per upstream endpoint (kept in the
// UpstreamRegistry across table generations), requests sent with the
// low-level dispatch() API, which measured fastest and allocates no response
// stream (perf-calibration §7, item 4). undici discards an upstream
// connection on any anomaly (parse error, early response, timeout, abort);
// Martello never decides to reuse one itself.

import { Pool } from 'undici';
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
      (endpoint: UpstreamEndpoint) => new Pool(endpoint.origin, endpoint.tls === null ? poolOptions : { ...poolOptions, connect: tlsConnectOptions(endpoint) }),
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
    const handler = new ForwardHandler(res, request.requestId, this.#host, request.hsts, request.grpc);
    const pool = this.#registry.acquire(endpoint);
    // dispatch() reports synchronous failures (closed pool, invalid header)
    // through handler.onResponseError, so it never throws here.
    pool.dispatch(
      {
        path: request.target,
        method: request.method,
        headers: request.headers,
        body: request.hasBody ? req : null,
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
}

/**
 * HTTPS endpoints: encryption always; verification only when the cluster
 * asks for it (ingress-nginx's proxy-ssl-verify is off by default). Endpoints
 * are IP addresses, so SNI is sent only when a server name is configured.
 */
function tlsConnectOptions(endpoint: UpstreamEndpoint): Pool.Options['connect'] {
  const tls = endpoint.tls!;
  // No `timeout` key here: undici spreads these options over its own, so
  // even an undefined one would replace the pool's connect timeout.
  return {
    rejectUnauthorized: tls.verify,
    ...(tls.caPem === null ? {} : { ca: tls.caPem }),
    ...(tls.serverName === null ? {} : { servername: tls.serverName }),
    ALPNProtocols: ['http/1.1'],
  };
}
