// Fast, deterministic 32-bit string hashing for the balancers: FNV-1a over
// UTF-16 code units, finished with a 32-bit avalanche mix so that similar
// keys ("user-1", "user-2") land far apart. The same input gives the same
// hash on every Martello replica and every run (no per-process random seed),
// which is what consistent hashing across replicas needs. Not a defence
// against crafted keys: a client that sets its own hash key chooses its
// endpoint anyway, and the tables are fixed-size (no chains to flood).

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The hash of `s` (or of s[start, end)), for a given seed; an unsigned 32-bit integer. */
export function hash32(s: string, seed = 0, start = 0, end = s.length): number {
  let h = (FNV_OFFSET ^ Math.imul(seed, 0x9e3779b1)) >>> 0;
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return mix32(h);
}

/** A 32-bit finaliser: every input bit affects every output bit. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}


/** The 16 lowercase hex digits of (hi, lo). */
export function hex64(hi: number, lo: number): string {
  return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}
