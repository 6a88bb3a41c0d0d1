// Ring hashing (Karger et al.'s consistent hashing, the "ketama" layout
// nginx's hash ... consistent uses): every endpoint puts POINTS_PER_WEIGHT ×
// weight points on a 32-bit ring, at hashes of its stable identifier; a key
// belongs to the first point at or after its hash, wrapping around. Lookup is
// a binary search over the sorted points.
//
// An endpoint's points depend only on its own identifier and weight, never
// on the other endpoints, so removing an endpoint moves exactly its keys and
// adding one takes keys only for itself. 160 points per endpoint keep the
// shares within about ±10 %. Rings are capped at MAX_POINTS (weights are
// scaled down beyond that, which then moves keys like a resize).

import { hash32 } from './hash.ts';
import { MAX_WEIGHT } from './load-balancer.ts';

export const POINTS_PER_WEIGHT = 160;
const MAX_POINTS = 1 << 20;

export class RingTable {
  /** Sorted point hashes. */
  readonly #points: Uint32Array;
  /** Endpoint index of each point. */
  readonly #owners: Uint32Array;
  /** Point indices grouped by owner: those of endpoint i are #byOwner[#ownerStart[i] .. #ownerStart[i + 1]). */
  readonly #byOwner: Uint32Array;
  readonly #ownerStart: Uint32Array;
  readonly #arcCum: Float64Array;

  constructor(ids: readonly string[], weights: readonly number[]) {
    const n = ids.length;
    const counts = new Uint32Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) total += clampWeight(weights[i]);
    const scale = total * POINTS_PER_WEIGHT > MAX_POINTS ? MAX_POINTS / (total * POINTS_PER_WEIGHT) : 1;
    let size = 0;
    for (let i = 0; i < n; i++) {
      counts[i] = Math.max(1, Math.round(clampWeight(weights[i]) * POINTS_PER_WEIGHT * scale));
      size += counts[i]!;
    }
    // hash × 2^20 + owner is exact in a double (< 2^52): one numeric typed-array sort orders
    // points by hash, equal hashes (rare) by endpoint index, identically on every replica.
    const packed = new Float64Array(size);
    let k = 0;
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < counts[i]!; p++) packed[k++] = hash32(ids[i]!, p + 1) * OWNER_SPACE + i;
    }
    packed.sort();
    this.#points = new Uint32Array(size);
    this.#owners = new Uint32Array(size);
    const ownerStart = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) ownerStart[i + 1] = ownerStart[i]! + counts[i]!;
    const fill = ownerStart.slice(0, n);
    const byOwner = new Uint32Array(size);
    for (let j = 0; j < size; j++) {
      const v = packed[j]!;
      const owner = v % OWNER_SPACE;
      this.#points[j] = (v - owner) / OWNER_SPACE;
      this.#owners[j] = owner;
      byOwner[fill[owner]!++] = j;
    }
    this.#byOwner = byOwner;
    this.#ownerStart = ownerStart;
    // Running sum of arc lengths in byOwner order (what each point owns: after the previous point up to itself).
    const arcCum = new Float64Array(size);
    let sum = 0;
    for (let q = 0; q < size; q++) {
      const j = byOwner[q]!;
      const prev = j === 0 ? this.#points[size - 1]! : this.#points[j - 1]!;
      sum += j === 0 ? RING - prev + this.#points[0]! : this.#points[j]! - prev;
      arcCum[q] = sum;
    }
    this.#arcCum = arcCum;
  }

  get size(): number {
    return this.#points.length;
  }

  /** The point index a key hash belongs to (first point ≥ hash, wrapping). */
  pointOf(hash: number): number {
    const points = this.#points;
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === points.length ? 0 : lo;
  }

  lookup(hash: number): number {
    return this.#owners[this.pointOf(hash)]!;
  }

  /** The endpoint index at a point (for walking past excluded endpoints). */
  at(point: number): number {
    return this.#owners[point]!;
  }

  /**
   * A position (a key hash) that belongs to `owner`, uniform over the part
   * of the ring it owns: `r` in [0, 1) picks the place. A point added later
   * takes its share of such positions exactly as it would of hashed keys.
   */
  positionOf(owner: number, r: number): number {
    const cum = this.#arcCum;
    const start = this.#ownerStart[owner]!;
    const end = this.#ownerStart[owner + 1]!;
    const before = start === 0 ? 0 : cum[start - 1]!;
    const target = before + r * (cum[end - 1]! - before);
    let lo = start;
    let hi = end - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    const j = this.#byOwner[lo]!;
    const arcStart = lo === 0 ? 0 : cum[lo - 1]!;
    const points = this.#points;
    const prev = j === 0 ? points[points.length - 1]! : points[j - 1]!;
    const arc = cum[lo]! - arcStart;
    if (arc === 0) return points[j]!;
    return (prev + 1 + Math.min(arc - 1, Math.floor(target - arcStart))) % RING;
  }
}

const RING = 0x1_0000_0000;

/** Endpoint indices packed below the hash: up to 2^20 endpoints. */
const OWNER_SPACE = 1 << 20;

function clampWeight(w: number | undefined): number {
  return w !== undefined && Number.isInteger(w) && w > 0 ? Math.min(w, MAX_WEIGHT) : 1;
}
