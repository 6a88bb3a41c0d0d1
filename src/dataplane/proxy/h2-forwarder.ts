// Forwarder for HTTP/2 upstreams: h2c (clear text, prior knowledge) and h2
// (TLS, ALPN), which is also how gRPC reaches its backends. One
// H2SessionPool per endpoint, kept in an UpstreamRegistry across table
// generations like the undici pools; one H2ForwardHandler per request.
// Endpoints of other protocols are not this forwarder's: the caller picks
// the forwarder by `endpoint.protocol` (see isHttp2Endpoint).

import type { Logger } from '../../shared/log.ts';
import type { UpstreamEndpoint } from '../compile/cluster.ts';
import { H2SessionPool, type H2SessionPoolOptions } from '../runtime/h2-session-pool.ts';
import { UpstreamRegistry } from '../runtime/upstream-registry.ts';
import type { ForwardRequest, Forwarder, ForwarderHost } from './forwarder.ts';
import { H2ForwardHandler, type H2Timeouts } from './h2-forward-handler.ts';
import { buildH2RequestHeaders } from './h2-headers.ts';
import type { ProxyOptions } from './options.ts';

/**
 * Sessions per endpoint when upstreamMaxConnections is null (unbounded for
 * HTTP/1.1). HTTP/2 multiplexes: a few sessions carry thousands of streams,
 * and nghttp2 queues streams beyond the peer's limit on the least busy one.
 */
export const DEFAULT_MAX_H2_SESSIONS = 16;

/** True for the protocols this forwarder serves. */
export function isHttp2Endpoint(endpoint: UpstreamEndpoint): boolean {
  return endpoint.protocol === 'h2c' || endpoint.protocol === 'h2';
}

export class H2Forwarder implements Forwarder {
  readonly #host: ForwarderHost;
  readonly #timeouts: H2Timeouts;
  readonly #registry: UpstreamRegistry<H2SessionPool>;

  constructor(host: ForwarderHost, options: ProxyOptions, logger: Logger, initialEndpoints: ReadonlySet<string>) {
    this.#host = host;
    this.#timeouts = {
      responseHeaderTimeoutMs: options.responseHeaderTimeoutMs,
      upstreamBodyTimeoutMs: options.upstreamBodyTimeoutMs,
    };
    const poolOptions: H2SessionPoolOptions = {
      connectTimeoutMs: options.connectTimeoutMs,
      idleTimeoutMs: options.upstreamIdleTimeoutMs,
      maxSessions: options.upstreamMaxConnections ?? DEFAULT_MAX_H2_SESSIONS,
      onSessionError: (err, key) => logger.debug('upstream HTTP/2 session error', { endpoint: key, err }),
    };
    this.#registry = new UpstreamRegistry<H2SessionPool>(
      (endpoint: UpstreamEndpoint) => new H2SessionPool(endpoint, poolOptions),
      initialEndpoints,
      (err, key) => logger.warn('closing upstream HTTP/2 pool failed', { endpoint: key, err }),
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
    const { endpoint } = request;
    if (!isHttp2Endpoint(endpoint)) {
      // A wiring bug, not an upstream failure: answer, never throw.
      this.#host.respondError(request.res, 502, request.requestId, request.grpc);
      return;
    }
    const handler = new H2ForwardHandler(request, this.#host, this.#timeouts);
    const headers = buildH2RequestHeaders(request.headers, request.method, request.target, endpoint.protocol === 'h2' ? 'https' : 'http', request.grpc);
    const pool = this.#registry.acquire(endpoint);
    // start() opens the stream synchronously, before release() may retire
    // the pool (graceful close lets that stream finish).
    handler.start(pool, headers);
    this.#registry.release(endpoint);
  }

  /**
   * The session pool of an HTTP/2 endpoint, for other transports that open
   * streams themselves (the HTTP/1.1 engine's bridge). As with
   * UpstreamRegistry.acquire: open the stream, then call releasePool().
   */
  /** Upstream HTTP/2 sessions over every pool; all count as active (a session multiplexes, idle ones are closed by the pool). */
  sessionGauges(): { active: number; idle: number } {
    let open = 0;
    for (const pool of this.#registry.pools()) open += pool.openSessionCount;
    return { active: open, idle: 0 };
  }

  sessionPool(endpoint: UpstreamEndpoint): H2SessionPool {
    return this.#registry.acquire(endpoint);
  }

  releasePool(endpoint: UpstreamEndpoint): void {
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
