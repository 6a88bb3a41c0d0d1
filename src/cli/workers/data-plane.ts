// The data plane as the composition root sees it: either one ProxyServer in
// this process (--workers 1, no fork: what tests and benchmarks measure) or
// a pool of worker processes sharing the listeners. Both take models from
// the reconcile loop, open the listeners, say whether the current generation
// serves, report counters and drain on shutdown.

import type { ModelUpdate } from '../../controlplane/reconcile-loop.ts';
import { BalancerState } from '../../dataplane/runtime/balancer-state.ts';
import { mergeSnapshots } from '../../observability/metrics/snapshot.ts';
import { DEFAULT_PROXY_OPTIONS, type ProxyOptions } from '../../dataplane/proxy/options.ts';
import { ProxyServer } from '../../dataplane/proxy/proxy-server.ts';
import type { Logger, LogLevel } from '../../shared/log.ts';
import type { PemPair } from '../../dataplane/runtime/secure-contexts.ts';
import type { ListenFlags } from '../options.ts';
import type { CounterTotals } from './counters.ts';
import type { Address } from './protocol.ts';
import { WorkerPool, type WorkerView } from './worker-pool.ts';

export interface DataPlaneSnapshot {
  readonly totals: CounterTotals;
  readonly workers: readonly WorkerView[];
}

export interface DataPlane {
  /** The reconcile loop's apply callback: serve this model from now on. */
  apply(update: ModelUpdate): void;
  /**
   * Called once per generation when it serves everywhere (in this process:
   * at the swap; with workers: when every listening worker acknowledged it).
   */
  onServing(listener: (generation: number) => void): void;
  /** Opens the listeners; resolves with the bound addresses. */
  start(): Promise<{ http: Address; https: Address }>;
  /** The model of `generation` serves everywhere traffic can land. */
  ready(generation: number): boolean;
  /** Fresh counters and per-worker views for /metrics and /debug/config ("ready" judged against `currentGeneration()` once the counters are in). */
  snapshot(currentGeneration: () => number): Promise<DataPlaneSnapshot>;
  /** Stop accepting, let in-flight requests finish. */
  close(): Promise<void>;
}

export interface DataPlaneInit {
  readonly listen: ListenFlags;
  readonly proxyOptions: Partial<ProxyOptions>;
  readonly fallbackCertificate: PemPair;
  readonly logger: Logger;
  readonly logLevel: LogLevel;
}

export function createDataPlane(init: DataPlaneInit): DataPlane {
  return forksWorkers(init.listen) ? new PooledDataPlane(init) : new InProcessDataPlane(init);
}

/** Traffic is served by worker processes: --workers N > 1, or --worker-user (a separate user needs a separate process). */
export function forksWorkers(listen: ListenFlags): boolean {
  return listen.workers > 1 || listen.workerUser !== undefined;
}

/** --workers 1: the proxy runs in this process, as it always has. */
class InProcessDataPlane implements DataPlane {
  readonly #proxy: ProxyServer;
  readonly #listen: ListenFlags;
  readonly #balancers = new BalancerState();

  constructor(init: DataPlaneInit) {
    this.#listen = init.listen;
    this.#proxy = new ProxyServer({ logger: init.logger.child({ component: 'proxy' }), options: init.proxyOptions, fallbackCertificate: init.fallbackCertificate });
  }

  #onServing: ((generation: number) => void) | undefined;

  apply(update: ModelUpdate): void {
    this.#proxy.swap(this.#balancers.compile(update.model, update.generation));
    this.#onServing?.(update.generation);
  }

  onServing(listener: (generation: number) => void): void {
    this.#onServing = listener;
  }

  async start(): Promise<{ http: Address; https: Address }> {
    // SO_REUSEPORT, as the worker processes use: a second instance can bind the same ports and
    // take over while this one drains (docs/workers.md, "Replacing a running instance").
    const http = await this.#proxy.listen(this.#listen.http.host, this.#listen.http.port, { reusePort: this.#listen.http.port !== 0 });
    const https = await this.#proxy.listenTls(this.#listen.https.host, this.#listen.https.port, { reusePort: this.#listen.https.port !== 0 });
    return { http, https };
  }

  ready(): boolean {
    return true;
  }

  snapshot(): Promise<DataPlaneSnapshot> {
    const s = this.#proxy.stats();
    return Promise.resolve({
      totals: { ...s, metrics: mergeSnapshots([s.metrics, this.#balancers.snapshot()]) },
      workers: [{
        worker: 1, pid: process.pid, state: 'listening', generation: s.generation, ready: true, restarts: 0,
        requests: s.requests, activeConnections: s.activeConnections,
      }],
    });
  }

  close(): Promise<void> {
    this.#balancers.close();
    return this.#proxy.close();
  }
}

/** --workers N > 1 (or --worker-user): N processes share the listeners; this one only coordinates. */
class PooledDataPlane implements DataPlane {
  readonly #pool: WorkerPool;
  readonly #drainTimeoutMs: number;

  constructor(init: DataPlaneInit) {
    this.#drainTimeoutMs = init.proxyOptions.drainTimeoutMs ?? DEFAULT_PROXY_OPTIONS.drainTimeoutMs;
    this.#pool = new WorkerPool({
      count: init.listen.workers,
      http: init.listen.http,
      https: init.listen.https,
      logLevel: init.logLevel,
      proxyOptions: init.proxyOptions,
      fallbackCertificate: { certPem: init.fallbackCertificate.certPem, keyPem: init.fallbackCertificate.keyPem },
      logger: init.logger.child({ component: 'workers' }),
      ...(init.listen.workerUser === undefined ? {} : { workerUser: init.listen.workerUser }),
    });
  }

  apply(update: ModelUpdate): void {
    this.#pool.publish(update);
  }

  onServing(listener: (generation: number) => void): void {
    this.#pool.onApplied((generation) => {
      if (this.#pool.ready(generation)) listener(generation);
    });
  }

  start(): Promise<{ http: Address; https: Address }> {
    return this.#pool.start();
  }

  ready(generation: number): boolean {
    return this.#pool.ready(generation);
  }

  async snapshot(currentGeneration: () => number): Promise<DataPlaneSnapshot> {
    await this.#pool.refreshStats();
    return { totals: this.#pool.totals(), workers: this.#pool.views(currentGeneration()) };
  }

  close(): Promise<void> {
    // The workers cut what is still busy after the drain timeout; a little more before they are killed.
    return this.#pool.drain(this.#drainTimeoutMs + 5_000);
  }
}
