// What a client connection of the engine needs from the engine that serves
// it: options and counters, the deadline sweep, the current routing table,
// upstream pools (HTTP/1.1 of its own, HTTP/2 shared with the node:http
// path), the WebSocket tunnel registry and the drain state. An interface,
// so the connection code does not depend on how the engine is assembled.

import type { UpstreamEndpoint } from '../compile/cluster.ts';
import type { RouteTable } from '../compile/route-table.ts';
import type { ProxyCounters } from '../proxy/counters.ts';
import type { ProxyOptions } from '../proxy/options.ts';
import type { TunnelRegistry } from '../proxy/upgrade-tunnel.ts';
import type { ExchangeObserver } from '../runtime/exchange-observer.ts';
import type { RetryBudget } from '../compile/lb/retry.ts';
import type { H2SessionPool } from '../runtime/h2-session-pool.ts';
import type { DeadlineSweep } from './deadline-sweep.ts';
import type { Http1Pool } from './upstream-pool.ts';

export interface EngineContext {
  readonly options: ProxyOptions;
  readonly counters: ProxyCounters;
  /** Where finished exchanges go: metrics, access log, spans. */
  readonly observer: ExchangeObserver;
  /** Limits retries in flight to a share of the requests in flight (one per process). */
  readonly retryBudget: RetryBudget;
  readonly sweep: DeadlineSweep;
  readonly tunnels: TunnelRegistry;
  /** The server is draining: every response carries Connection: close. */
  readonly closing: boolean;
  /** The table to route this request with (captured once per request). */
  table(): RouteTable;
  /** The endpoint's HTTP/1.1 pool; call releaseHttp1 once the request is handed to it. */
  http1Pool(endpoint: UpstreamEndpoint): Http1Pool;
  releaseHttp1(endpoint: UpstreamEndpoint): void;
  /** The endpoint's HTTP/2 session pool; call releaseH2 once the stream is opened. */
  h2Pool(endpoint: UpstreamEndpoint): H2SessionPool;
  releaseH2(endpoint: UpstreamEndpoint): void;
  /** The connection is closed or handed over: forget it. */
  connectionClosed(conn: { destroy(): void }): void;
}
