// Character classes of RFC 9112 / RFC 9110 as 256-entry lookup tables, plus
// the few byte helpers every part of the codec needs. A table lookup per byte
// is what keeps the parsers free of regexes and per-byte string building on
// the hot path.

/** tchar (RFC 9110 §5.6.2): method names, field names, transfer codings, chunk-extension names. */
export const TCHAR = 1;
/** Bytes allowed inside a field value (field-content plus OWS): HTAB, SP, VCHAR, obs-text. */
export const FIELD_VALUE = 2;
/** Bytes a request-target may contain: VCHAR except '#' (no fragments on the wire). */
export const TARGET = 4;
/** Bytes a request line may contain before its CRLF: SP and VCHAR (structure is checked later). */
export const REQUEST_LINE = 8;
/** HEXDIG. */
export const HEX = 16;
/** Bytes of a host name we accept: ALPHA, DIGIT, '-', '.', '_' (stricter than reg-name on purpose). */
export const HOST_NAME = 32;
/** qdtext of a quoted-string: HTAB, SP, '!', '#'-'[', ']'-'~', obs-text. */
export const QDTEXT = 64;
/** OWS bytes: SP and HTAB. */
export const WS = 128;

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;
export const SEMICOLON = 0x3b;
export const EQUALS = 0x3d;
export const DQUOTE = 0x22;
export const BACKSLASH = 0x5c;

function buildClasses(): Uint8Array {
  const t = new Uint8Array(256);
  const tcharPunct = "!#$%&'*+-.^_`|~";
  for (let c = 0; c < 256; c++) {
    const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    const digit = c >= 0x30 && c <= 0x39;
    const vchar = c >= 0x21 && c <= 0x7e;
    let bits = 0;
    if (alpha || digit || tcharPunct.includes(String.fromCharCode(c))) bits |= TCHAR;
    if (vchar || c === SP || c === HTAB || c >= 0x80) bits |= FIELD_VALUE;
    if (vchar && c !== 0x23) bits |= TARGET;
    if (vchar || c === SP) bits |= REQUEST_LINE;
    if (digit || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)) bits |= HEX;
    if (alpha || digit || c === 0x2d || c === 0x2e || c === 0x5f) bits |= HOST_NAME;
    if (c === HTAB || c === SP || c === 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80) bits |= QDTEXT;
    if (c === SP || c === HTAB) bits |= WS;
    t[c] = bits;
  }
  return t;
}

/** CLASS[byte] is a bit set of the classes above. */
export const CLASS: Uint8Array = buildClasses();

function buildHexValues(): Int8Array {
  const t = new Int8Array(256).fill(-1);
  for (let c = 0; c < 10; c++) t[0x30 + c] = c;
  for (let c = 0; c < 6; c++) {
    t[0x41 + c] = 10 + c;
    t[0x61 + c] = 10 + c;
  }
  return t;
}

/** HEX_VALUE[byte] is the digit's value, or -1. */
export const HEX_VALUE: Int8Array = buildHexValues();

/** True when every char of `s` is in class `mask` (chars above 0xFF never are). */
export function allOfClass(s: string, mask: number): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || (CLASS[c]! & mask) === 0) return false;
  }
  return true;
}

/** ASCII-case-insensitive comparison of `s` with a lowercase literal. */
export function equalsLowerAscii(s: string, lower: string): boolean {
  if (s.length !== lower.length) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}

/**
 * One latin1 string of buf[start, end). Buffer's latin1Slice skips the
 * encoding-name dispatch of toString(); it has existed on every Node release.
 */
export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as Latin1Slicer).latin1Slice(start, end);
}

interface Latin1Writer {
  latin1Write(s: string, offset: number): number;
}

/** Writes `s` (chars up to 0xFF only, checked by the caller) at `offset`; returns the offset after it. */
export function writeLatin1(buf: Buffer, s: string, offset: number): number {
  return offset + (buf as unknown as Latin1Writer).latin1Write(s, offset);
}
