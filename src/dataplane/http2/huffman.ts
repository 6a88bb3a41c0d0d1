// HPACK's static Huffman code (RFC 7541 §5.2, Appendix B), decoding only:
// Martello sends every string literal raw, which HPACK allows and which costs
// no CPU; peers (curl, browsers, nghttp2, grpc) Huffman-code most of theirs.
//
// The code is canonical: codes are handed out in order of (length, symbol),
// so the 257 code lengths below fix every code. The lengths were measured
// from nghttp2 (Node.js's HTTP/2 library) with scripts/hpack-huffman-lengths.ts;
// the lengths of symbol 0 (which Node.js cannot send) and EOS follow from the
// code being complete (Kraft's sum is exactly 1). The tests decode strings of
// every byte value that nghttp2 encoded.

/** Code length in bits of each symbol 0..255, then EOS (256). */
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const EOS = 256;

/** Each symbol's canonical code: handed out in order of (length, symbol). */
const CODES: Int32Array = buildCodes();

/**
 * The decoding tree, flattened: node n has children at TREE[2n] (bit 0) and
 * TREE[2n + 1] (bit 1); a value ≥ 0 is the next node, a value < 0 is a leaf
 * for symbol -(value + 1). Node 0 is the root.
 */
const TREE: Int32Array = buildTree();

/** Nodes reached by bits that are all ones from the root: a padding that ends at one of them is valid. */
const ALL_ONES_DEPTH: Int8Array = buildAllOnesDepth();

function buildCodes(): Int32Array {
  const order = CODE_LENGTHS.map((len, sym) => ({ len, sym })).sort((a, b) => a.len - b.len || a.sym - b.sym);
  const codes = new Int32Array(CODE_LENGTHS.length);
  let code = 0;
  let prevLen = order[0]!.len;
  for (const { len, sym } of order) {
    code <<= len - prevLen;
    prevLen = len;
    codes[sym] = code;
    code++;
  }
  return codes;
}

function buildTree(): Int32Array {
  // 256 inner nodes suffice for 257 leaves.
  const tree = new Int32Array(2 * 256).fill(0);
  let nodes = 1;
  for (let sym = 0; sym < CODE_LENGTHS.length; sym++) {
    const len = CODE_LENGTHS[sym]!;
    const code = CODES[sym]!;
    let node = 0;
    for (let bit = len - 1; bit >= 0; bit--) {
      const slot = 2 * node + ((code >>> bit) & 1);
      if (bit === 0) {
        tree[slot] = -(sym + 1);
      } else {
        if (tree[slot] === 0) tree[slot] = nodes++;
        node = tree[slot]!;
      }
    }
  }
  return tree;
}

function buildAllOnesDepth(): Int8Array {
  const depth = new Int8Array(256).fill(-1);
  let node = 0;
  for (let d = 0; d < 30 && node >= 0; d++) {
    depth[node] = d;
    node = TREE[2 * node + 1]!;
  }
  return depth;
}

/**
 * Decodes the Huffman-coded bytes buf[start, end) as a latin1 string, or
 * null if they are not a valid coding: EOS inside, padding longer than 7
 * bits, or padding that is not the start of EOS (all ones) (RFC 7541 §5.2).
 */
export function huffmanDecode(buf: Uint8Array, start: number, end: number): string | null {
  let out = '';
  let node = 0;
  // Bits read since the last symbol ended.
  let pending = 0;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      const next = TREE[2 * node + ((byte >>> bit) & 1)]!;
      if (next < 0) {
        const sym = -(next + 1);
        if (sym === EOS) return null;
        out += String.fromCharCode(sym);
        node = 0;
        pending = 0;
      } else {
        node = next;
        pending++;
      }
    }
  }
  if (pending > 7) return null;
  return ALL_ONES_DEPTH[node] === pending ? out : null;
}

/** Exposed for the tests: the canonical code of `symbol` and its length. */
export function huffmanCode(symbol: number): { code: number; length: number } {
  const length = CODE_LENGTHS[symbol];
  if (length === undefined) throw new RangeError(`no symbol ${symbol}`);
  return { code: CODES[symbol]! >>> 0, length };
}
