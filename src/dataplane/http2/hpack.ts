// HPACK (RFC 7541) for Martello's own HTTP/2 server: a decoder with the
// dynamic table the client's encoder drives, and an encoder that never
// indexes (every field is an indexed static entry or a literal "without
// indexing" with a raw string), so Martello keeps no encoder table and a
// client's SETTINGS_HEADER_TABLE_SIZE never matters. Strings are latin1: a
// byte is a char, as in the HTTP/1.1 codec.
//
// Limits: the decoder's table never exceeds the size Martello announced; a
// header list longer than maxListBytes (RFC 9113 §6.5.2 counting: name +
// value + 32 per field) is still decoded to the end, so the table stays in
// step with the client's, and reported as TOO_LARGE; integers longer than
// 4 continuation bytes and anything malformed are COMPRESSION_ERROR.

import { huffmanDecode } from './huffman.ts';

/** RFC 7541 Appendix A. Index 0 is unused. */
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  ['', ''],
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

const STATIC_COUNT = STATIC_TABLE.length - 1;
/** Per-entry overhead in the table size (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;

export const DECODE_OK = 0;
/** The list went over maxListBytes; the block was decoded to its end (the table is in step). */
export const DECODE_TOO_LARGE = 1;
/** A COMPRESSION_ERROR: the connection cannot continue (RFC 9113 §4.3). */
export const DECODE_ERROR = 2;
export type DecodeResult = typeof DECODE_OK | typeof DECODE_TOO_LARGE | typeof DECODE_ERROR;

/** Thrown inside the decoder only; decode() turns it into DECODE_ERROR. */
class CompressionError extends Error {}
const MALFORMED = new CompressionError('malformed HPACK block');

export class HpackDecoder {
  /** Dynamic table entries as a ring: names and values; newest at #head - 1. */
  readonly #names: string[];
  readonly #values: string[];
  #head = 0;
  #count = 0;
  #size = 0;
  /** Current maximum (the client's last dynamic table size update). */
  #max: number;
  /** The ceiling Martello announced (SETTINGS_HEADER_TABLE_SIZE). */
  readonly #limit: number;
  readonly #maxListBytes: number;
  /** Scratch: where the last readInt/readString stopped. */
  #pos = 0;

  constructor(tableSize: number, maxListBytes: number) {
    this.#max = tableSize;
    this.#limit = tableSize;
    this.#maxListBytes = maxListBytes;
    // Every entry takes at least ENTRY_OVERHEAD octets of a table that never
    // exceeds tableSize, so this many slots always suffice.
    const slots = Math.max(1, Math.floor(tableSize / ENTRY_OVERHEAD));
    this.#names = Array.from({ length: slots }, () => '');
    this.#values = Array.from({ length: slots }, () => '');
  }

  /** Entries in the dynamic table (tests). */
  get tableLength(): number {
    return this.#count;
  }

  /** Current dynamic table size in RFC 7541 §4.1 octets (tests). */
  get tableSize(): number {
    return this.#size;
  }

  /**
   * Decodes one complete header block buf[start, end): appends
   * name, value, name, value, ... to `out`.
   */
  decode(buf: Uint8Array, start: number, end: number, out: string[]): DecodeResult {
    let listBytes = 0;
    let tooLarge = false;
    let pos = start;
    let fieldsSeen = false;
    try {
      while (pos < end) {
        const b = buf[pos]!;
        let name: string;
        let value: string;
        if (b >= 0x80) {
          // Indexed field (§6.1).
          const index = this.#readInt(buf, pos, end, 7);
          pos = this.#pos;
          if (index === 0) throw MALFORMED;
          name = this.#name(index);
          value = this.#value(index);
        } else if (b >= 0x40 || b < 0x20) {
          // Literal with incremental indexing (§6.2.1), without indexing (§6.2.2) or never indexed (§6.2.3).
          const indexing = b >= 0x40;
          const index = this.#readInt(buf, pos, end, indexing ? 6 : 4);
          pos = this.#pos;
          if (index === 0) {
            name = this.#readString(buf, pos, end);
            pos = this.#pos;
          } else {
            name = this.#name(index);
          }
          value = this.#readString(buf, pos, end);
          pos = this.#pos;
          if (indexing) this.#insert(name, value);
        } else {
          // Dynamic table size update (§6.3): only before the first field of a block.
          if (fieldsSeen) throw MALFORMED;
          const size = this.#readInt(buf, pos, end, 5);
          pos = this.#pos;
          if (size > this.#limit) throw MALFORMED;
          this.#max = size;
          this.#evict(0);
          continue;
        }
        fieldsSeen = true;
        listBytes += name.length + value.length + ENTRY_OVERHEAD;
        if (listBytes > this.#maxListBytes) tooLarge = true;
        if (!tooLarge) out.push(name, value);
      }
    } catch (err) {
      if (err instanceof CompressionError) return DECODE_ERROR;
      throw err;
    }
    return tooLarge ? DECODE_TOO_LARGE : DECODE_OK;
  }

  #name(index: number): string {
    if (index <= STATIC_COUNT) return STATIC_TABLE[index]![0];
    return this.#names[this.#slot(index)]!;
  }

  #value(index: number): string {
    if (index <= STATIC_COUNT) return STATIC_TABLE[index]![1];
    return this.#values[this.#slot(index)]!;
  }

  /** Ring slot of dynamic index `index` (62 is the newest entry). */
  #slot(index: number): number {
    const age = index - STATIC_COUNT - 1;
    if (age >= this.#count) throw MALFORMED;
    const cap = this.#names.length;
    return (this.#head - 1 - age + cap) % cap;
  }

  #insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.#max) {
      // An entry larger than the table empties it and is not added (§4.4).
      this.#count = 0;
      this.#size = 0;
      return;
    }
    this.#evict(size);
    const slot = this.#head;
    this.#names[slot] = name;
    this.#values[slot] = value;
    this.#head = (slot + 1) % this.#names.length;
    this.#count++;
    this.#size += size;
  }

  /** Drops the oldest entries until `room` more octets fit. */
  #evict(room: number): void {
    const cap = this.#names.length;
    while (this.#count > 0 && this.#size + room > this.#max) {
      const oldest = (this.#head - this.#count + cap) % cap;
      this.#size -= this.#names[oldest]!.length + this.#values[oldest]!.length + ENTRY_OVERHEAD;
      this.#names[oldest] = '';
      this.#values[oldest] = '';
      this.#count--;
    }
  }

  /** An integer with an N-bit prefix (§5.1); sets #pos. At most 4 continuation bytes (values < 2^28). */
  #readInt(buf: Uint8Array, pos: number, end: number, prefixBits: number): number {
    const mask = (1 << prefixBits) - 1;
    let value = buf[pos]! & mask;
    pos++;
    if (value < mask) {
      this.#pos = pos;
      return value;
    }
    for (let shift = 0; shift <= 21; shift += 7) {
      if (pos >= end) throw MALFORMED;
      const b = buf[pos++]!;
      value += (b & 0x7f) << shift;
      if (b < 0x80) {
        this.#pos = pos;
        return value;
      }
    }
    throw MALFORMED;
  }

  /** A string literal (§5.2), raw or Huffman-coded; sets #pos. */
  #readString(buf: Uint8Array, pos: number, end: number): string {
    if (pos >= end) throw MALFORMED;
    const huffman = buf[pos]! >= 0x80;
    const length = this.#readInt(buf, pos, end, 7);
    const from = this.#pos;
    const to = from + length;
    if (to > end) throw MALFORMED;
    this.#pos = to;
    if (!huffman) return latin1(buf, from, to);
    const s = huffmanDecode(buf, from, to);
    if (s === null) throw MALFORMED;
    return s;
  }
}

function latin1(buf: Uint8Array, from: number, to: number): string {
  if (to - from < 24) {
    let s = '';
    for (let i = from; i < to; i++) s += String.fromCharCode(buf[i]!);
    return s;
  }
  return Buffer.prototype.latin1Slice.call(buf, from, to) as string;
}

// Encoder ---------------------------------------------------------------------------------------

/** Static index of each name (the first entry with it). */
const STATIC_NAME_INDEX: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  for (let i = STATIC_COUNT; i >= 1; i--) m.set(STATIC_TABLE[i]![0], i);
  return m;
})();

/** ':status' values with an indexed static entry. */
const STATUS_INDEX: ReadonlyMap<string, number> = new Map([['200', 8], ['204', 9], ['206', 10], ['304', 11], ['400', 12], ['404', 13], ['500', 14]]);

/**
 * Bytes encodeFields needs at most for `fields` ([name, value, ...]):
 * a literal is a prefix byte plus up to 5 integer bytes per string.
 */
export function encodedFieldsBound(fields: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < fields.length; i++) n += fields[i]!.length + 6;
  return n;
}

/**
 * Writes `fields` ([name, value, ...], names lowercase, pseudo-fields first)
 * as an HPACK block into `buf` at `offset` (room: encodedFieldsBound);
 * returns the offset after it. ':status' with a static entry is one byte;
 * names in the static table are indexed; nothing enters a dynamic table.
 * Names listed in `neverIndexed` are sent "never indexed" (§6.2.3), so no
 * intermediary stores them either.
 */
export function encodeFields(fields: readonly string[], buf: Buffer, offset: number, neverIndexed?: ReadonlySet<string>): number {
  let pos = offset;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (name === ':status') {
      const indexed = STATUS_INDEX.get(value);
      if (indexed !== undefined) {
        buf[pos++] = 0x80 | indexed;
        continue;
      }
    }
    const flag = neverIndexed !== undefined && neverIndexed.has(name) ? 0x10 : 0x00;
    const nameIndex = STATIC_NAME_INDEX.get(name);
    if (nameIndex !== undefined) {
      pos = writeInt(buf, pos, flag, 4, nameIndex);
    } else {
      buf[pos++] = flag;
      pos = writeString(buf, pos, name);
    }
    pos = writeString(buf, pos, value);
  }
  return pos;
}

function writeInt(buf: Buffer, pos: number, flags: number, prefixBits: number, value: number): number {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) {
    buf[pos++] = flags | value;
    return pos;
  }
  buf[pos++] = flags | mask;
  value -= mask;
  while (value >= 0x80) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[pos++] = value;
  return pos;
}

function writeString(buf: Buffer, pos: number, s: string): number {
  pos = writeInt(buf, pos, 0, 7, s.length);
  return pos + buf.write(s, pos, s.length, 'latin1');
}
