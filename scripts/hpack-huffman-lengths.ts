// Measures the code lengths of HPACK's static Huffman code (RFC 7541
// Appendix B) from nghttp2, the HPACK encoder inside Node.js's node:http2, so
// that src/dataplane/http2/huffman.ts carries lengths taken from a real
// encoder rather than a hand-copied table (its CODE_LENGTHS came from here).
//
//   node scripts/hpack-huffman-lengths.ts
//
// How: a node:http2 client opens one prior-knowledge h2c connection to a raw
// net.Server on 127.0.0.1 and sends, one request at a time, the header
// `xsym: '0' x 1000 + symbol x 8` for each symbol 1..255. The server reads
// just enough of each HEADERS block to find that value (it does not use our
// HPACK decoder, which depends on the lengths being measured). nghttp2
// Huffman-codes a string when that is shorter, and here it always is: '0'
// has a 5-bit code, so the 1000 '0's take exactly 625 octets, and 8 copies of
// a symbol of L bits take exactly L octets more, whatever L; the coded
// length minus 625 is L.
//
// Node.js cannot send a NUL in a header value, so symbol 0 is not measured.
// Its length and EOS's follow from the code being complete (Kraft's sum over
// all 257 codes is exactly 1): the rest of the sum must be two powers of two,
// and EOS, whose code is all ones (padding is a prefix of it), is the longer.
//
// Prints the 257 lengths (symbols 0..255, then EOS) as a JSON array. Exits 1
// if a symbol cannot be measured or the lengths do not make a complete code
// (checked with exact BigInt arithmetic).

import { connect as http2Connect } from 'node:http2';
import { type AddressInfo, createServer, type Socket } from 'node:net';

const PREFACE_LENGTH = 24;
const TYPE_HEADERS = 0x1;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
const SYMBOL_COUNT = 257;
const EOS = 256;
/** '0' x 1000 at 5 bits each. */
const FILLER = '0'.repeat(1000);
const FILLER_OCTETS = 625;
/** A value this long can only be the `xsym` one. */
const MIN_VALUE_OCTETS = 600;
const TIMEOUT_MS = 2000;

/** What the server found in one header block: the long value's coded length. */
interface Found {
  huffman: boolean;
  octets: number;
}

class Malformed extends Error {}

/** Reads an HPACK integer with an N-bit prefix (RFC 7541 §5.1) at `pos`; returns [value, next position]. */
function readInt(block: Buffer, pos: number, prefixBits: number): [number, number] {
  if (pos >= block.length) throw new Malformed('truncated integer');
  const mask = (1 << prefixBits) - 1;
  let value = block[pos++]! & mask;
  if (value < mask) return [value, pos];
  for (let shift = 0; ; shift += 7) {
    if (pos >= block.length || shift > 28) throw new Malformed('bad integer');
    const b = block[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, pos];
  }
}

/** Skips one string literal (§5.2) at `pos`; returns its coding, length and the next position. */
function skipString(block: Buffer, pos: number): [Found, number] {
  if (pos >= block.length) throw new Malformed('truncated string');
  const huffman = block[pos]! >= 0x80;
  const [octets, from] = readInt(block, pos, 7);
  if (from + octets > block.length) throw new Malformed('truncated string');
  return [{ huffman, octets }, from + octets];
}

/** Walks a header block's representations (§6) and returns the first value of MIN_VALUE_OCTETS or more. */
function findLongValue(block: Buffer): Found | null {
  let found: Found | null = null;
  let pos = 0;
  while (pos < block.length) {
    const b = block[pos]!;
    if (b >= 0x80) {
      // Indexed field: no strings.
      [, pos] = readInt(block, pos, 7);
      continue;
    }
    if (b >= 0x20 && b < 0x40) {
      // Dynamic table size update.
      [, pos] = readInt(block, pos, 5);
      continue;
    }
    // A literal: with incremental indexing (6-bit name index), or without / never indexed (4-bit).
    let nameIndex: number;
    [nameIndex, pos] = readInt(block, pos, b >= 0x40 ? 6 : 4);
    if (nameIndex === 0) [, pos] = skipString(block, pos);
    let value: Found;
    [value, pos] = skipString(block, pos);
    if (found === null && value.octets >= MIN_VALUE_OCTETS) found = value;
  }
  return found;
}

/**
 * A raw h2c server: skips the preface, reads frames and hands each HEADERS
 * block to `onBlock`. The blocks here fit one frame (no CONTINUATION).
 */
function serve(socket: Socket, onBlock: (block: Buffer) => void): void {
  let buf: Buffer = Buffer.alloc(0);
  let pos = PREFACE_LENGTH;
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length - pos >= 9) {
      const length = buf.readUIntBE(pos, 3);
      if (buf.length - pos < 9 + length) break;
      const type = buf[pos + 3]!;
      const flags = buf[pos + 4]!;
      if (type === TYPE_HEADERS) {
        let from = pos + 9;
        let to = from + length;
        if (flags & FLAG_PADDED) to -= buf[from++]!;
        if (flags & FLAG_PRIORITY) from += 5;
        onBlock(buf.subarray(from, to));
      }
      pos += 9 + length;
    }
    // Drop what has been read (once the preface is complete).
    if (pos <= buf.length) {
      buf = buf.subarray(pos);
      pos = 0;
    }
  });
}

/** The lengths of symbols 1..255, measured one request at a time; a string says what went wrong. */
async function measure(): Promise<number[] | string> {
  // The server's answer to the request in flight.
  let waiter: ((found: Found | null) => void) | null = null;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    serve(socket, (block) => {
      let found: Found | null;
      try {
        found = findLongValue(block);
      } catch {
        found = null;
      }
      const w = waiter;
      waiter = null;
      w?.(found);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = http2Connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  client.on('error', (err) => console.error(`client: ${err.message}`));
  try {
    const lengths: number[] = [];
    for (let symbol = 1; symbol < 256; symbol++) {
      let timer: NodeJS.Timeout | undefined;
      const answer = new Promise<Found | null | 'timeout'>((resolve) => {
        waiter = resolve;
        timer = setTimeout(() => resolve('timeout'), TIMEOUT_MS);
      });
      const request = client.request({ ':path': '/', xsym: FILLER + String.fromCharCode(symbol).repeat(8) });
      request.on('error', () => {});
      const found = await answer;
      clearTimeout(timer);
      waiter = null;
      request.close();
      if (found === 'timeout') return `symbol ${symbol}: no header block within ${TIMEOUT_MS} ms`;
      if (found === null) return `symbol ${symbol}: no long value in the header block`;
      if (!found.huffman) return `symbol ${symbol}: the value was not Huffman-coded (${found.octets} octets)`;
      lengths.push(found.octets - FILLER_OCTETS);
    }
    return lengths;
  } finally {
    client.destroy();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Σ 2^-length over `lengths`, as a numerator over 2^scale. */
function kraftNumerator(lengths: readonly number[], scale: number): bigint {
  let sum = 0n;
  for (const length of lengths) sum += 1n << BigInt(scale - length);
  return sum;
}

/** Bit positions set in `n`, highest first. */
function setBits(n: bigint): number[] {
  const bits: number[] = [];
  for (let i = n.toString(2).length - 1; i >= 0; i--) if ((n >> BigInt(i)) & 1n) bits.push(i);
  return bits;
}

/**
 * Completes the code: the lengths of symbol 0 and EOS such that Kraft's sum
 * is exactly 1, EOS the longer one; or a string saying why that is impossible.
 */
function complete(measured: readonly number[]): [number, number] | string {
  // Exact arithmetic over 2^scale: lengths of HPACK codes are at most 30, 64 leaves room.
  const scale = 64;
  if (measured.some((l) => !Number.isInteger(l) || l < 1 || l > scale)) return `lengths out of range: ${JSON.stringify(measured)}`;
  const rest = (1n << BigInt(scale)) - kraftNumerator(measured, scale);
  if (rest <= 0n) return 'the measured lengths already fill the code: no room for symbol 0 and EOS';
  const bits = setBits(rest);
  let short: number;
  let long: number;
  if (bits.length === 2) {
    // 2^-a + 2^-b with a < b.
    short = scale - bits[0]!;
    long = scale - bits[1]!;
  } else if (bits.length === 1) {
    // 2^-k = 2^-(k+1) + 2^-(k+1).
    short = long = scale - bits[0]! + 1;
  } else {
    return `the rest of Kraft's sum is not two powers of two (${rest} / 2^${scale})`;
  }
  if (long < Math.max(...measured)) return `EOS (${long} bits) would not be the longest code`;
  return [short, long];
}

const measured = await measure();
if (typeof measured === 'string') {
  console.error(measured);
  process.exitCode = 1;
} else {
  const completed = complete(measured);
  if (typeof completed === 'string') {
    console.error(completed);
    process.exitCode = 1;
  } else {
    const [zero, eos] = completed;
    const lengths = [zero, ...measured, eos];
    // The check that matters, over all 257 lengths: Σ 2^-length = 1 exactly.
    const longest = Math.max(...lengths);
    if (lengths.length !== SYMBOL_COUNT || lengths[EOS] !== eos || kraftNumerator(lengths, longest) !== 1n << BigInt(longest)) {
      console.error(`Kraft's sum is not exactly 1: ${JSON.stringify(lengths)}`);
      process.exitCode = 1;
    } else {
      console.log(JSON.stringify(lengths));
    }
  }
}
