// Martello's own HTTP/1.1 engine (the data-plane speed issue): serves client
// sockets handed over by the listeners (plain TCP, or TLS with ALPN
// http/1.1) with the codec of src/dataplane/http1/ on raw sockets, and
// forwards to upstreams over pools of its own (HTTP/1.1 and HTTPS) or the
// shared HTTP/2 session pools. It replaces node:http and undici on that
// path because their per-request machinery costs more than the whole proxy
// budget (research/perf-calibration.md §7).
//
// The engine owns: the client connections (for the drain), the HTTP/1.1
// upstream pools (kept per endpoint across table swaps, retired when their
// endpoint leaves every table), and one deadline sweep for all of them.

import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../shared/log.ts';
import type { UpstreamEndpoint } from '../compile/cluster.ts';
import type { RouteTable } from '../compile/route-table.ts';
import type { ProxyCounters } from '../proxy/counters.ts';
import type { H2Forwarder } from '../proxy/h2-forwarder.ts';
import type { ProxyOptions } from '../proxy/options.ts';
import type { TunnelRegistry } from '../proxy/upgrade-tunnel.ts';
import type { ExchangeObserver } from '../runtime/exchange-observer.ts';
import { RetryBudget } from '../compile/lb/retry.ts';
import type { H2SessionPool } from '../runtime/h2-session-pool.ts';
import type { TableHolder } from '../runtime/table-holder.ts';
import { UpstreamRegistry } from '../runtime/upstream-registry.ts';
import { ClientConnection } from './client-connection.ts';
import { DeadlineSweep, tickFor } from './deadline-sweep.ts';
import type { EngineContext } from './engine-context.ts';
import { Http1Pool, type PoolSettings } from './upstream-pool.ts';

export interface EngineInit {
  readonly options: ProxyOptions;
  readonly counters: ProxyCounters;
  readonly observer: ExchangeObserver;
  readonly holder: TableHolder;
  readonly tunnels: TunnelRegistry;
  readonly h2: H2Forwarder;
  readonly logger: Logger;
  /** The owner's drain state. */
  readonly host: { readonly closing: boolean };
}

export class Http1Engine implements EngineContext {
  readonly options: ProxyOptions;
  readonly counters: ProxyCounters;
  readonly observer: ExchangeObserver;
  readonly retryBudget = new RetryBudget();
  readonly sweep: DeadlineSweep;
  readonly tunnels: TunnelRegistry;
  readonly #holder: TableHolder;
  readonly #h2: H2Forwarder;
  readonly #host: { readonly closing: boolean };
  readonly #registry: UpstreamRegistry<Http1Pool>;
  readonly #connections = new Set<ClientConnection>();
  #allClosed: PromiseWithResolvers<void> | undefined;

  constructor(init: EngineInit) {
    const o = init.options;
    this.options = o;
    this.counters = init.counters;
    this.observer = init.observer;
    this.tunnels = init.tunnels;
    this.#holder = init.holder;
    this.#h2 = init.h2;
    this.#host = init.host;
    this.sweep = new DeadlineSweep(
      tickFor([o.connectTimeoutMs, o.responseHeaderTimeoutMs, o.upstreamBodyTimeoutMs, o.upstreamIdleTimeoutMs, o.keepAliveTimeoutMs, o.headersTimeoutMs, o.requestTimeoutMs]),
    );
    // Connect, response-head and body deadlines are per exchange (the cluster's or the options', ExchangeTimeouts).
    const settings: PoolSettings = {
      upstreamIdleTimeoutMs: o.upstreamIdleTimeoutMs,
      maxConnections: o.upstreamMaxConnections,
    };
    const sweep = this.sweep;
    this.#registry = new UpstreamRegistry<Http1Pool>(
      (endpoint) => new Http1Pool(endpoint, settings, sweep),
      init.holder.current.endpointKeys,
      (err, key) => init.logger.warn('closing upstream pool failed', { endpoint: key, err }),
    );
  }

  get closing(): boolean {
    return this.#host.closing;
  }

  /** Client connections being served. */
  get connections(): number {
    return this.#connections.size;
  }

  get poolCount(): number {
    return this.#registry.size;
  }

  /** Upstream HTTP/1.1 connections over every pool: carrying a request (active) or kept alive (idle). */
  connectionGauges(): { active: number; idle: number } {
    let open = 0;
    let idle = 0;
    for (const pool of this.#registry.pools()) {
      open += pool.openConnections;
      idle += pool.idleConnections;
    }
    return { active: open - idle, idle };
  }

  hasPool(key: string): boolean {
    return this.#registry.has(key);
  }

  /** The HTTP/1.1 pool of an endpoint if one is open (tests). */
  poolFor(endpoint: UpstreamEndpoint): Http1Pool | undefined {
    return this.#registry.has(endpoint.key) ? this.#registry.acquire(endpoint) : undefined;
  }

  /** Serve HTTP/1.1 on `socket` (a TCP socket, or a TLS socket that negotiated http/1.1 or nothing). */
  serve(socket: Socket | TLSSocket): void {
    const conn = new ClientConnection(socket, this);
    this.#connections.add(conn);
    // Accepted while draining (it was queued before the listener closed): its
    // request is served, with Connection: close, rather than cut.
    if (this.#host.closing) conn.drain();
  }

  /** After a table swap: keep the pools of listed endpoints, retire the others gracefully. */
  retain(endpointKeys: ReadonlySet<string>): void {
    this.#registry.retain(endpointKeys);
  }

  /**
   * Drain: idle connections close now, busy ones after their current
   * response (which carries Connection: close). Resolves when none is left.
   */
  drain(): Promise<void> {
    this.#allClosed ??= Promise.withResolvers<void>();
    for (const conn of this.#connections) conn.drain();
    if (this.#connections.size === 0) this.#allClosed.resolve();
    return this.#allClosed.promise;
  }

  /** The drain deadline passed: cut what is left. */
  destroyAll(): void {
    for (const conn of this.#connections) conn.destroy();
  }

  /** The drain deadline passed with upstream pools still busy: cut them. */
  destroyPools(): void {
    this.#registry.destroy();
  }

  /** Close the upstream pools (after the drain). */
  async close(): Promise<void> {
    await this.#registry.close();
    this.sweep.stop();
  }

  // EngineContext -------------------------------------------------------------------

  table(): RouteTable {
    return this.#holder.current;
  }

  http1Pool(endpoint: UpstreamEndpoint): Http1Pool {
    return this.#registry.acquire(endpoint);
  }

  releaseHttp1(endpoint: UpstreamEndpoint): void {
    this.#registry.release(endpoint);
  }

  h2Pool(endpoint: UpstreamEndpoint): H2SessionPool {
    return this.#h2.sessionPool(endpoint);
  }

  releaseH2(endpoint: UpstreamEndpoint): void {
    this.#h2.releasePool(endpoint);
  }

  connectionClosed(conn: { destroy(): void }): void {
    this.#connections.delete(conn as ClientConnection);
    if (this.#connections.size === 0) this.#allClosed?.resolve();
  }
}
