// Per-endpoint load state the adaptive balancers read and the data path's
// feedback hooks (onStart/onEnd) write: requests in flight and a decaying
// latency average. Kept in small mutable records, one per endpoint, so that
// a registry can hand the same record to every route table that contains
// the endpoint: then load seen under one table still counts after a swap.

import type { TableCache } from './table-cache.ts';

export interface EndpointLoad {
  /** Requests sent and not yet finished. */
  active: number;
  /** Peak-EWMA latency in ms; 0: no sample yet. */
  ewmaMs: number;
  /** Clock time of the last latency sample. */
  stampMs: number;
}

export function newLoad(): EndpointLoad {
  return { active: 0, ewmaMs: 0, stampMs: 0 };
}

/**
 * Load records by endpoint key (UpstreamEndpoint.key), shared across
 * compiles when the runtime passes one registry to every compile. A pure
 * data structure; whoever owns it calls retain() after a swap so that
 * endpoints which left every table are forgotten.
 */
export class LoadRegistry {
  readonly #loads = new Map<string, EndpointLoad>();

  get(key: string): EndpointLoad {
    let load = this.#loads.get(key);
    if (load === undefined) {
      load = newLoad();
      this.#loads.set(key, load);
    }
    return load;
  }

  /** Forgets every endpoint not in `keys`. */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.#loads.keys()) if (!keys.has(key)) this.#loads.delete(key);
  }

  get size(): number {
    return this.#loads.size;
  }
}

/** Options every balancer accepts. */
export interface BalancerOptions {
  /** Seeds cursors and random choices (different per replica and generation). */
  readonly seed?: number;
  /** Clock for latency decay; default Date.now. */
  readonly now?: () => number;
  /** Load records parallel to the endpoints (from a LoadRegistry); default: fresh ones. */
  readonly loads?: readonly EndpointLoad[];
  /** Hash tables shared across compiles; default: built every time. */
  readonly tables?: TableCache;
}

export function loadsFor(n: number, given: readonly EndpointLoad[] | undefined): readonly EndpointLoad[] {
  if (given !== undefined && given.length === n) return given;
  return Array.from({ length: n }, newLoad);
}

/** endpoint → index, so feedback hooks find an endpoint's record with one Map lookup. */
export function indexOf<E>(endpoints: readonly E[]): ReadonlyMap<E, number> {
  const m = new Map<E, number>();
  endpoints.forEach((e, i) => {
    if (!m.has(e)) m.set(e, i);
  });
  return m;
}
