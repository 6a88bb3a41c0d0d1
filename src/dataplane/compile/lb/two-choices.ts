// Random sampling shared by least-request and peak-EWMA: the "power of two
// choices" (Mitzenmacher): draw two distinct endpoints at random and keep the
// less loaded one. Sampling is proportional to weight when weights differ
// (a precomputed prefix-sum table, one binary search per draw), uniform
// otherwise. Excluded endpoints are skipped by redrawing a few times, then
// by a linear scan, so a retry still finds the one endpoint left.

import type { EndpointAddress } from '../../../model/model.ts';
import { allowed, weightOf } from './load-balancer.ts';
import type { Rng } from './rng.ts';

const REDRAWS = 4;

export class Sampler<E extends EndpointAddress> {
  readonly #endpoints: readonly E[];
  /** Prefix sums of the weights; undefined when all weights are equal. */
  readonly #cumulative: Float64Array | undefined;
  readonly #total: number;
  readonly #rng: Rng;

  constructor(endpoints: readonly E[], rng: Rng) {
    this.#endpoints = endpoints;
    this.#rng = rng;
    const n = endpoints.length;
    const cumulative = new Float64Array(n);
    let total = 0;
    let equal = true;
    for (let i = 0; i < n; i++) {
      const w = weightOf(endpoints[i]!);
      if (i > 0 && w !== weightOf(endpoints[0]!)) equal = false;
      total += w;
      cumulative[i] = total;
    }
    this.#cumulative = equal ? undefined : cumulative;
    this.#total = total;
  }

  /** A random index; `avoid` (an index or -1) is not returned when n > 1. */
  draw(avoid: number): number {
    const n = this.#endpoints.length;
    const rng = this.#rng;
    const cumulative = this.#cumulative;
    if (cumulative === undefined) {
      if (avoid < 0 || n < 2) return rng.below(n);
      const i = rng.below(n - 1);
      return i >= avoid ? i + 1 : i;
    }
    for (let attempt = 0; attempt < REDRAWS; attempt++) {
      const i = this.#weighted(cumulative);
      if (i !== avoid) return i;
    }
    return avoid === 0 ? 1 % n : 0;
  }

  #weighted(cumulative: Float64Array): number {
    const target = this.#rng.next() / 0x1_0000_0000 * this.#total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** A random allowed index other than `avoid`, or -1 when there is none. */
  drawAllowed(exclude: ReadonlySet<E> | undefined, avoid: number): number {
    const list = this.#endpoints;
    const n = list.length;
    if (n === 0 || (n === 1 && avoid === 0)) return -1;
    for (let attempt = 0; attempt < REDRAWS; attempt++) {
      const i = this.draw(avoid);
      if (allowed(exclude, list[i]!)) return i;
    }
    // Most endpoints are excluded: scan from a random start.
    const start = this.#rng.below(n);
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (i !== avoid && allowed(exclude, list[i]!)) return i;
    }
    return -1;
  }
}
