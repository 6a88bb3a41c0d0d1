// Weighted round-robin, the default balancer. Equal weights (always the case
// for Kubernetes endpoints, which carry none) take the fast path: one cursor,
// one array read per pick. Unequal weights use smooth weighted round-robin
// (each pick adds every endpoint's weight to its credit, takes the endpoint
// with the most credit and charges it the total), which interleaves heavy
// and light endpoints instead of sending bursts: weights 5,1,1 give
// a a b a c a a. That costs O(n) per pick, acceptable because weights are
// rare. In-flight counts are kept (onStart/onEnd) but not used for picking.

import type { EndpointAddress } from '../../../model/model.ts';
import { indexOf, loadsFor, type BalancerOptions, type EndpointLoad } from './endpoint-load.ts';
import { allowed, allExcluded, weightOf, type LoadBalancer, type PickContext } from './load-balancer.ts';

export class RoundRobin<E extends EndpointAddress = EndpointAddress> implements LoadBalancer<E> {
  readonly endpoints: readonly E[];
  readonly #weights: Int32Array | undefined;
  readonly #credit: Float64Array | undefined;
  readonly #total: number;
  readonly #loads: readonly EndpointLoad[];
  readonly #index: ReadonlyMap<E, number>;
  #cursor: number;

  /**
   * `seed` (or options.seed) sets the starting offset, so that many replicas
   * (or many table generations) do not all send their first request to the
   * same endpoint.
   */
  constructor(endpoints: readonly E[], seedOrOptions: number | BalancerOptions = 0) {
    const options = typeof seedOrOptions === 'number' ? { seed: seedOrOptions } : seedOrOptions;
    const seed = Math.trunc(options.seed ?? 0);
    this.endpoints = endpoints;
    const n = endpoints.length;
    this.#loads = loadsFor(n, options.loads);
    this.#index = indexOf(endpoints);
    this.#cursor = n === 0 ? 0 : ((seed % n) + n) % n;
    const weights = Int32Array.from(endpoints, weightOf);
    const equal = weights.every((w) => w === weights[0]);
    let total = 0;
    for (const w of weights) total += w;
    this.#total = total;
    if (equal) {
      this.#weights = undefined;
      this.#credit = undefined;
    } else {
      this.#weights = weights;
      this.#credit = new Float64Array(n);
      // Start part-way through the schedule so replicas do not move in lockstep.
      const skip = ((seed % total) + total) % total;
      for (let i = 0; i < skip; i++) this.#smooth(undefined);
    }
  }

  pick(ctx?: PickContext<E>): E | undefined {
    const list = this.endpoints;
    const n = list.length;
    if (n === 0) return undefined;
    const exclude = ctx?.exclude;
    if (this.#weights !== undefined) return this.#smooth(exclude);
    for (let tries = 0; tries < n; tries++) {
      const i = this.#cursor;
      this.#cursor = i + 1 === n ? 0 : i + 1;
      const e = list[i]!;
      if (allowed(exclude, e)) return e;
    }
    return undefined;
  }

  /** Smooth weighted round-robin; excluded endpoints neither win nor gain credit. */
  #smooth(exclude: ReadonlySet<E> | undefined): E | undefined {
    const list = this.endpoints;
    const weights = this.#weights!;
    const credit = this.#credit!;
    if (exclude !== undefined && exclude.size > 0 && allExcluded(list, exclude)) return undefined;
    let best = -1;
    let total = 0;
    for (let i = 0; i < list.length; i++) {
      if (exclude !== undefined && exclude.size > 0 && exclude.has(list[i]!)) continue;
      const w = weights[i]!;
      credit[i] = credit[i]! + w;
      total += w;
      if (best === -1 || credit[i]! > credit[best]!) best = i;
    }
    credit[best] = credit[best]! - total;
    return list[best];
  }

  onStart(endpoint: E): void {
    const i = this.#index.get(endpoint);
    if (i !== undefined) this.#loads[i]!.active++;
  }

  onEnd(endpoint: E, _latencyMs: number, _ok: boolean): void {
    const i = this.#index.get(endpoint);
    if (i !== undefined) {
      const load = this.#loads[i]!;
      if (load.active > 0) load.active--;
    }
  }

  /** Sum of the weights (for tests and views). */
  get totalWeight(): number {
    return this.#total;
  }
}
