// Upstream connection pools keyed by endpoint ("address:port"). Pools belong
// to endpoints, not to table generations: a new table that still lists an
// endpoint keeps its warm keep-alive connections. After a swap, pools of
// endpoints that no current table lists are closed gracefully: close() lets
// queued and in-flight requests finish, so removing an endpoint drops no
// request. The pool type is generic so the registry outlives the choice of
// upstream client (undici today, our own engine later).

import type { UpstreamEndpoint } from '../compile/cluster.ts';

export interface ClosablePool {
  /** Stop taking new requests, finish the ones already given, then release connections. */
  close(): Promise<void>;
  /** The drain deadline passed: cut every connection, in flight or not. */
  destroy?(): unknown;
}

export type PoolFactory<P extends ClosablePool> = (endpoint: UpstreamEndpoint) => P;

export class UpstreamRegistry<P extends ClosablePool> {
  readonly #pools = new Map<string, P>();
  readonly #factory: PoolFactory<P>;
  readonly #closing = new Set<Promise<void>>();
  /** Pools retired but not yet closed, so destroy() can reach them too. */
  readonly #retired = new Set<P>();
  readonly #onCloseError: (err: unknown, key: string) => void;
  #wanted: ReadonlySet<string>;
  #closed = false;

  constructor(factory: PoolFactory<P>, wanted: ReadonlySet<string>, onCloseError: (err: unknown, key: string) => void = () => {}) {
    this.#factory = factory;
    this.#wanted = wanted;
    this.#onCloseError = onCloseError;
  }

  /** Number of open pools (for tests and metrics). */
  get size(): number {
    return this.#pools.size;
  }

  /** The open pools (metrics: summed when /metrics is read). */
  pools(): IterableIterator<P> {
    return this.#pools.values();
  }

  has(key: string): boolean {
    return this.#pools.has(key);
  }

  /**
   * The pool for `endpoint`, created on first use. The caller must hand its
   * request to the pool before yielding to the event loop, then call
   * `release(endpoint)`: if the endpoint is no longer wanted (a request that
   * captured an older table), the pool is closed right after that request.
   */
  acquire(endpoint: UpstreamEndpoint): P {
    let pool = this.#pools.get(endpoint.key);
    if (pool === undefined) {
      pool = this.#factory(endpoint);
      this.#pools.set(endpoint.key, pool);
    }
    return pool;
  }

  /** See acquire(): retires the pool at once when its endpoint is in no current table. */
  release(endpoint: UpstreamEndpoint): void {
    if (this.#closed || !this.#wanted.has(endpoint.key)) this.#retire(endpoint.key);
  }

  /** After a table swap: keep pools for `wanted` endpoints, close the others gracefully. */
  retain(wanted: ReadonlySet<string>): void {
    this.#wanted = wanted;
    // Deleting the current entry while iterating a Map is well defined.
    for (const key of this.#pools.keys()) {
      if (!wanted.has(key)) this.#retire(key);
    }
  }

  /** Close every pool gracefully and wait for all of them (including earlier retirements). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const key of this.#pools.keys()) this.#retire(key);
    await Promise.all(this.#closing);
  }

  /** After the drain deadline: cut every pool, open or still closing; close() then settles at once. */
  destroy(): void {
    this.#closed = true;
    for (const key of this.#pools.keys()) this.#retire(key);
    for (const pool of this.#retired) {
      try {
        pool.destroy?.();
      } catch (err) {
        this.#onCloseError(err, 'destroy');
      }
    }
  }

  #retire(key: string): void {
    const pool = this.#pools.get(key);
    if (pool === undefined) return;
    this.#pools.delete(key);
    this.#retired.add(pool);
    const done = pool.close().catch((err: unknown) => this.#onCloseError(err, key));
    this.#closing.add(done);
    void done.finally(() => {
      this.#closing.delete(done);
      this.#retired.delete(pool);
    });
  }
}
