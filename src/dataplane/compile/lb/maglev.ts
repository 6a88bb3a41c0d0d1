// Maglev consistent hashing (Eisenbud et al., NSDI 2016), written from the
// paper's description. Each endpoint derives a permutation of the table's
// slots from two hashes of its stable identifier (offset and skip; the table
// size M is prime so every skip visits every slot); endpoints then take turns
// claiming their next preferred free slot until the table is full. Lookup is
// one array read: table[hash mod M].
//
// Weights change how often an endpoint gets a turn: each round an endpoint
// earns weight/maxWeight of a turn and claims a slot per whole turn earned,
// so slot counts are proportional to weight (equal weights give the paper's
// plain rotation).
//
// Table size: M = 65537 (Envoy's default) while 100 × endpoints fits, then
// the next rung of a fixed ladder of primes (131071, 262147, 524287, 1048573),
// so that the table size, and with it every key's slot, stays the same while
// a Service scales between 1 and 655 endpoints. Crossing a rung remaps all
// keys once. M ≥ 100 n keeps each endpoint's share within about 1% and the
// keys moved by a change close to the minimum (the paper's analysis).
// Memory: one byte per slot up to 255 endpoints (64 KiB), two up to 65535.

import { hash32 } from './hash.ts';
import { MAX_WEIGHT } from './load-balancer.ts';

const LADDER = [65537, 131071, 262147, 524287, 1048573] as const;
const SEED_OFFSET = 0x6d61676c; // "magl"
const SEED_SKIP = 0x65762121; // "ev!!"

export function maglevTableSize(endpoints: number): number {
  for (const m of LADDER) if (m >= 100 * endpoints) return m;
  return LADDER[LADDER.length - 1]!;
}

export class MaglevTable {
  /** Slot → endpoint index. */
  readonly #slots: Uint8Array | Uint16Array | Uint32Array;
  readonly size: number;

  /** `ids`: stable identifiers (endpoint-id.ts), `weights`: positive integers, parallel to them. */
  constructor(ids: readonly string[], weights: readonly number[], size = maglevTableSize(ids.length)) {
    const n = ids.length;
    const m = size;
    this.size = m;
    const slots = n <= 0xff ? new Uint8Array(m) : n <= 0xffff ? new Uint16Array(m) : new Uint32Array(m);
    this.#slots = slots;
    if (n === 0) return;
    const filled = new Uint8Array(m);
    const next = new Int32Array(n); // current position in each permutation
    const skip = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = hash32(ids[i]!, SEED_OFFSET) % m;
      skip[i] = (hash32(ids[i]!, SEED_SKIP) % (m - 1)) + 1;
    }
    let maxWeight = 1;
    let equal = true;
    for (let i = 0; i < n; i++) {
      const w = clampWeight(weights[i]);
      if (w !== clampWeight(weights[0])) equal = false;
      if (w > maxWeight) maxWeight = w;
    }
    // Each round, endpoint i earns weight/maxWeight of a turn; equal weights: one turn each.
    const share = Float64Array.from({ length: n }, (_, i) => (equal ? 1 : clampWeight(weights[i]) / maxWeight));
    const credit = new Float64Array(n);
    let count = 0;
    while (count < m) {
      for (let i = 0; i < n && count < m; i++) {
        credit[i] = credit[i]! + share[i]!;
        while (credit[i]! >= 1 && count < m) {
          credit[i] = credit[i]! - 1;
          const step = skip[i]!;
          let c = next[i]!;
          while (filled[c] === 1) {
            c += step;
            if (c >= m) c -= m;
          }
          filled[c] = 1;
          slots[c] = i;
          c += step;
          next[i] = c >= m ? c - m : c;
          count++;
        }
      }
    }
  }

  /** The endpoint index for a 32-bit key hash. */
  lookup(hash: number): number {
    return this.#slots[hash % this.size]!;
  }

  /** The endpoint index at a slot (for probing past excluded endpoints). */
  at(slot: number): number {
    return this.#slots[slot]!;
  }
}

function clampWeight(w: number | undefined): number {
  return w !== undefined && Number.isInteger(w) && w > 0 ? Math.min(w, MAX_WEIGHT) : 1;
}
