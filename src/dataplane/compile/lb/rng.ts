// A small seeded pseudo-random generator (xorshift32 over a mixed seed) for
// the randomised balancers. Seeded so that tests are deterministic and so
// that replicas and table generations do not all make the same choices;
// never used for anything secret.

import { mix32 } from './hash.ts';

export class Rng {
  #state: number;

  constructor(seed: number) {
    // xorshift must not start at 0.
    this.#state = mix32((Math.trunc(seed) ^ 0x5bd1e995) >>> 0) || 0x9e3779b9;
  }

  /** An unsigned 32-bit integer. */
  next(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.#state = x;
    return x;
  }

  /** An integer in [0, n), n ≥ 1 (n up to 2^32). */
  below(n: number): number {
    return Math.floor((this.next() / 0x1_0000_0000) * n);
  }
}
