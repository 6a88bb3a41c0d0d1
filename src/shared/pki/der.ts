// A minimal DER (X.690 Distinguished Encoding Rules) writer: exactly the ASN.1
// types an X.509 certificate (RFC 5280) needs, each returned as a complete
// tag-length-value Buffer so values compose by plain nesting. Written from the
// specs because node:crypto signs but cannot build certificates, and Martello
// takes no dependency for it. A small reader at the end walks DER just far
// enough to take fields back out of an issuer's certificate.

// ---- tag-length-value --------------------------------------------------------

/** Universal tags used here (X.680 section 8.6); bit 6 (0x20) marks "constructed". */
const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

const CONSTRUCTED = 0x20;
const CONTEXT_SPECIFIC = 0x80;

/** Definite length, shortest form (X.690 8.1.3 and 10.1): short up to 127, else 0x80|n then n bytes. */
export function encodeLength(length: number): Buffer {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`DER length must be a non-negative integer, got ${length}`);
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with a single-byte tag (every tag here has a number below 31). */
export function tlv(tag: number, content: Uint8Array): Buffer {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) throw new RangeError(`unsupported DER tag byte ${tag}`);
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

// ---- constructed types ------------------------------------------------------

export function sequence(...items: readonly Uint8Array[]): Buffer {
  return tlv(TAG.sequence, Buffer.concat(items));
}

/** SET OF: DER requires the encodings in ascending byte order (X.690 11.6), so sort them. */
export function set(...items: readonly Uint8Array[]): Buffer {
  const sorted = items.map((i) => Buffer.from(i)).sort(Buffer.compare);
  return tlv(TAG.set, Buffer.concat(sorted));
}

function contextTagNumber(tagNumber: number): number {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > 30) throw new RangeError(`context tag number must be 0..30, got ${tagNumber}`);
  return tagNumber;
}

/** [n] EXPLICIT: a constructed context-specific wrapper around a complete encoding. */
export function explicit(tagNumber: number, inner: Uint8Array): Buffer {
  return tlv(CONTEXT_SPECIFIC | CONSTRUCTED | contextTagNumber(tagNumber), inner);
}

/**
 * [n] IMPLICIT: the same encoding with its tag replaced, keeping whether it was
 * primitive or constructed (X.690 8.14.3): `implicit(2, ia5String('a'))` is a dNSName.
 */
export function implicit(tagNumber: number, encoded: Uint8Array): Buffer {
  const first = encoded[0];
  if (first === undefined) throw new RangeError('implicit() needs a complete DER encoding');
  const out = Buffer.from(encoded);
  out[0] = CONTEXT_SPECIFIC | (first & CONSTRUCTED) | contextTagNumber(tagNumber);
  return out;
}

// ---- primitive types --------------------------------------------------------

export function nullValue(): Buffer {
  return Buffer.from([TAG.null, 0x00]);
}

/** DER fixes TRUE as 0xFF (X.690 11.1). */
export function boolean(value: boolean): Buffer {
  return tlv(TAG.boolean, Buffer.from([value ? 0xff : 0x00]));
}

/**
 * INTEGER, two's complement in the fewest octets (X.690 8.3). A bigint or number
 * carries its sign; a Buffer is read as an unsigned big-endian magnitude (a key
 * identifier, a serial from random bytes), so a leading 0x00 is added when its
 * top bit is set, or it would read as negative.
 */
export function integer(value: bigint | number | Uint8Array): Buffer {
  if (value instanceof Uint8Array) return tlv(TAG.integer, unsignedContent(value));
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`INTEGER must be a safe integer, got ${value}`);
  return tlv(TAG.integer, twosComplement(BigInt(value)));
}

function unsignedContent(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = Buffer.from(magnitude.subarray(start));
  if (trimmed.length === 0) return Buffer.from([0]);
  return (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
}

function twosComplement(value: bigint): Buffer {
  if (value >= 0n) return unsignedContent(hexBytes(value));
  // The fewest octets L with -2^(8L-1) <= value; then write 2^(8L) + value.
  let octets = 1;
  while (value < -(1n << BigInt(8 * octets - 1))) octets++;
  return hexBytes((1n << BigInt(8 * octets)) + value, octets);
}

function hexBytes(value: bigint, octets?: number): Buffer {
  let hex = value.toString(16);
  if (octets !== undefined) hex = hex.padStart(octets * 2, '0');
  if (hex.length % 2 === 1) hex = '0' + hex;
  return Buffer.from(hex, 'hex');
}

/**
 * OBJECT IDENTIFIER from dotted form (X.690 8.19): the first two arcs share one
 * subidentifier (40 * a + b), each subidentifier in base 128, high bit = "more".
 * Arcs are bigints because some (UUID OIDs under 2.25) exceed 2^53.
 */
export function oid(dotted: string): Buffer {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) throw new RangeError(`not a dotted OID: ${JSON.stringify(dotted)}`);
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const [first = 0n, second = 0n, ...rest] = arcs;
  if (first < 2n && second >= 40n) throw new RangeError(`OID ${dotted}: second arc must be below 40 under arc ${first}`);
  const subidentifiers = [first * 40n + second, ...rest];
  return tlv(TAG.oid, Buffer.from(subidentifiers.flatMap(base128)));
}

function base128(value: bigint): number[] {
  const out = [Number(value & 0x7fn)];
  for (let v = value >> 7n; v > 0n; v >>= 7n) out.unshift(Number(v & 0x7fn) | 0x80);
  return out;
}

/** BIT STRING: first content octet is the count of unused bits in the last octet. */
export function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) {
    throw new RangeError(`invalid unused-bit count ${unusedBits} for ${bytes.length} octets`);
  }
  const last = bytes.at(-1) ?? 0;
  // DER demands the unused bits be zero (X.690 11.2.1).
  if ((last & ((1 << unusedBits) - 1)) !== 0) throw new RangeError('unused bits of a BIT STRING must be zero');
  return tlv(TAG.bitString, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

/**
 * A named-bit BIT STRING (KeyUsage): bit 0 is the most significant bit of the
 * first octet, and DER drops trailing zero bits (X.690 11.2.2), so
 * {digitalSignature (0)} is 03 02 07 80, not 03 02 00 80.
 */
export function namedBitString(bits: readonly number[]): Buffer {
  if (bits.length === 0) return bitString(Buffer.alloc(0));
  if (!bits.every((b) => Number.isInteger(b) && b >= 0)) throw new RangeError('named bits must be non-negative integers');
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  return bitString(bytes, 7 - (highest & 7));
}

export function octetString(bytes: Uint8Array): Buffer {
  return tlv(TAG.octetString, bytes);
}

export function utf8String(text: string): Buffer {
  return tlv(TAG.utf8String, Buffer.from(text, 'utf8'));
}

/** PrintableString allows only A-Z a-z 0-9 space and ' ( ) + , - . / : = ? (X.680 41.4). */
export function printableString(text: string): Buffer {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)) throw new RangeError(`not a PrintableString: ${JSON.stringify(text)}`);
  return tlv(TAG.printableString, Buffer.from(text, 'latin1'));
}

/** IA5String is 7-bit ASCII (dNSName in a subjectAltName is one). */
export function ia5String(text: string): Buffer {
  if ([...text].some((c) => c.charCodeAt(0) > 0x7f)) throw new RangeError(`not an IA5String: ${JSON.stringify(text)}`);
  return tlv(TAG.ia5String, Buffer.from(text, 'latin1'));
}

// ---- time -------------------------------------------------------------------

/** UTCTime YYMMDDHHMMSSZ; RFC 5280 4.1.2.5.1 reads YY as 1950..2049. Sub-seconds are dropped. */
export function utcTime(date: Date): Buffer {
  const year = checkedYear(date);
  if (year < 1950 || year > 2049) throw new RangeError(`UTCTime covers 1950..2049, got ${year}`);
  return tlv(TAG.utcTime, Buffer.from(timeDigits(date).slice(2) + 'Z', 'latin1'));
}

/** GeneralizedTime YYYYMMDDHHMMSSZ, no fractional seconds (RFC 5280 4.1.2.5.2). */
export function generalizedTime(date: Date): Buffer {
  checkedYear(date);
  return tlv(TAG.generalizedTime, Buffer.from(timeDigits(date) + 'Z', 'latin1'));
}

/** A certificate validity Time: UTCTime through 2049, GeneralizedTime from 2050 (and before 1950), per RFC 5280 4.1.2.5. */
export function time(date: Date): Buffer {
  const year = checkedYear(date);
  return year >= 1950 && year <= 2049 ? utcTime(date) : generalizedTime(date);
}

function checkedYear(date: Date): number {
  const year = date.getUTCFullYear();
  if (Number.isNaN(year)) throw new RangeError('invalid Date');
  if (year < 0 || year > 9999) throw new RangeError(`year ${year} does not fit four digits`);
  return year;
}

const two = (n: number): string => String(n).padStart(2, '0');

function timeDigits(date: Date): string {
  return (
    String(date.getUTCFullYear()).padStart(4, '0') +
    two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) +
    two(date.getUTCHours()) +
    two(date.getUTCMinutes()) +
    two(date.getUTCSeconds())
  );
}

// ---- reading ----------------------------------------------------------------

export interface DerElement {
  readonly tag: number;
  /** The whole TLV, to copy an element byte for byte (an issuer Name must match exactly). */
  readonly encoded: Buffer;
  readonly content: Buffer;
}

/** Reads the single-byte-tag, definite-length TLV at `offset`; throws on truncated or unsupported input. */
export function readElement(buf: Buffer, offset = 0): DerElement {
  const tag = buf[offset];
  const first = buf[offset + 1];
  if (tag === undefined || first === undefined) throw new RangeError('DER: truncated header');
  if ((tag & 0x1f) === 0x1f) throw new RangeError('DER: multi-byte tags are not supported');
  let length = first;
  let header = 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new RangeError('DER: indefinite or oversized length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (buf[offset + 2 + i] ?? Number.NaN);
    header += count;
  }
  const end = offset + header + length;
  if (!Number.isSafeInteger(length) || end > buf.length) throw new RangeError('DER: length runs past the end');
  return { tag, encoded: buf.subarray(offset, end), content: buf.subarray(offset + header, end) };
}

/** The elements inside a constructed value's content, in order. */
export function readChildren(content: Buffer): DerElement[] {
  const out: DerElement[] = [];
  for (let offset = 0; offset < content.length; offset += out.at(-1)?.encoded.length ?? 0) out.push(readElement(content, offset));
  return out;
}
