// Writing HTTP/1.1 message heads and chunk framing. The proxy re-serialises
// every message from its parsed model (security.md R6): framing fields are
// computed here from what the caller says about the body and are never taken
// from the header list, so client framing bytes never reach an upstream. All
// input is validated (no CR, LF, NUL or other control bytes can be injected
// through a method, target, name, value or reason), and a head is written
// into exactly one Buffer: lengths are summed first, then one allocUnsafe and
// latin1 writes.
//
// Violations throw SerializeError: they mean a bug or hostile configuration
// upstream of the codec, never a peer's bytes (those were parsed already).

import { FORBIDDEN_TRAILERS } from './fields.ts';
import { reasonPhrase } from './status-text.ts';
import { allOfClass, CLASS, FIELD_VALUE, TARGET, TCHAR, writeLatin1 } from './tokens.ts';

export class SerializeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SerializeError';
  }
}

/** What follows a request head: a body of this many bytes, a chunked body, or nothing. */
export type RequestBody = number | 'chunked' | 'none';
/** Responses may also be delimited by closing the connection (for HTTP/1.0 clients). */
export type ResponseBody = RequestBody | 'close';

const CONTENT_LENGTH = 'Content-Length: ';
const TE_CHUNKED = 'Transfer-Encoding: chunked\r\n';

/**
 * "METHOD target HTTP/1.1", the headers, and the framing field for `body`.
 * `headers` is [name, value, ...] and must hold exactly one Host and no
 * Content-Length or Transfer-Encoding.
 */
export function serializeRequestHead(method: string, target: string, headers: readonly string[], body: RequestBody): Buffer {
  if (headers.length % 2 === 0 && (body === 'none' || body === 'chunked' || (Number.isSafeInteger(body) && body >= 0))) {
    const fast = asciiRequestHead(method, target, headers, framingField(body));
    if (fast !== null) return fast;
  }
  // Something the fast path does not take (a non-ASCII byte, a rule broken):
  // the char-by-char checks, which also say what is wrong.
  return checkedRequestHead(method, target, headers, body);
}

/** serializeRequestHead without its ASCII fast path (exported for the differential test). */
export function checkedRequestHead(method: string, target: string, headers: readonly string[], body: RequestBody): Buffer {
  if (method.length === 0 || !allOfClass(method, TCHAR)) throw new SerializeError(`invalid method ${JSON.stringify(method)}`);
  if (target.length === 0 || !allOfClass(target, TARGET)) throw new SerializeError(`invalid request target ${JSON.stringify(target)}`);
  const hosts = checkHeaders(headers);
  if (hosts !== 1) throw new SerializeError(`a request needs exactly one Host header, got ${hosts}`);
  const framing = framingField(body);
  const size = method.length + 1 + target.length + 11 + headersLength(headers) + framing.length + 2;
  const buf = Buffer.allocUnsafe(size);
  let off = writeLatin1(buf, method, 0);
  buf[off++] = 0x20;
  off = writeLatin1(buf, target, off);
  off = writeLatin1(buf, ' HTTP/1.1\r\n', off);
  off = writeHeaders(buf, headers, off);
  off = writeLatin1(buf, framing, off);
  buf[off++] = 0x0d;
  buf[off++] = 0x0a;
  return buf;
}

interface Utf8Writer {
  utf8Write(s: string, offset: number, length: number): number;
}

/** CLASS restricted to ASCII: any byte ≥ 0x80 is in no class here, so it sends a head to the slow path. */
const ASCII_CLASS: Uint8Array = CLASS.map((bits, c) => (c < 0x80 ? bits : 0));

/**
 * Writes `s` at `offset` and checks the bytes written: the offset after them,
 * or -1 when `s` is not all ASCII of class `mask`. The string is written by
 * V8 in one native call whatever its representation (node:http2 hands out
 * external strings, concatenations are cons strings), and the check then
 * reads plain bytes: charCodeAt per char on such strings measured several
 * µs per request head. UTF-8 of ASCII is latin1; a char ≥ 0x80 either
 * writes a byte ≥ 0x80 (no class in ASCII_CLASS) or, when its encoding does
 * not fit, makes the count come short.
 */
function putAscii(buf: Buffer, s: string, offset: number, mask: number): number {
  const n = s.length;
  if ((buf as unknown as Utf8Writer).utf8Write(s, offset, n) !== n) return -1;
  const end = offset + n;
  for (let i = offset; i < end; i++) if ((ASCII_CLASS[buf[i]!]! & mask) === 0) return -1;
  return end;
}

/** buf[at, at + lower.length) equals the lowercase ASCII literal `lower`, ignoring case. */
function bytesEqualLower(buf: Buffer, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    const c = buf[at + i]!;
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The request head when every method, target, name and value is ASCII and
 * passes the same rules as the checks of serializeRequestHead (which name
 * the problem): null otherwise. Output is byte for byte what the slow path
 * writes.
 */
function asciiRequestHead(method: string, target: string, headers: readonly string[], framing: string): Buffer | null {
  if (method.length === 0 || target.length === 0) return null;
  const buf = Buffer.allocUnsafe(method.length + 1 + target.length + 11 + headersLength(headers) + framing.length + 2);
  let off = putAscii(buf, method, 0, TCHAR);
  if (off < 0) return null;
  buf[off++] = 0x20;
  off = putAscii(buf, target, off, TARGET);
  if (off < 0) return null;
  off = writeLatin1(buf, ' HTTP/1.1\r\n', off);
  let hosts = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const at = off;
    if (name.length === 0) return null;
    off = putAscii(buf, name, off, TCHAR);
    if (off < 0) return null;
    switch (name.length) {
      case 4:
        if (bytesEqualLower(buf, at, 'host')) hosts++;
        break;
      case 14:
        if (bytesEqualLower(buf, at, 'content-length')) return null;
        break;
      case 17:
        if (bytesEqualLower(buf, at, 'transfer-encoding')) return null;
        break;
      default:
    }
    buf[off++] = 0x3a;
    buf[off++] = 0x20;
    const start = off;
    off = putAscii(buf, headers[i + 1]!, off, FIELD_VALUE);
    if (off < 0) return null;
    if (off > start) {
      // No leading or trailing whitespace (isFieldValue).
      const first = buf[start]!;
      const last = buf[off - 1]!;
      if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return null;
    }
    buf[off++] = 0x0d;
    buf[off++] = 0x0a;
  }
  if (hosts !== 1) return null;
  off = writeLatin1(buf, framing, off);
  buf[off++] = 0x0d;
  buf[off++] = 0x0a;
  return buf;
}

/**
 * "HTTP/1.1 status reason", the headers, and the framing field for `body`.
 * 1xx and 204 responses take no framing ('none'); a 304 may carry the
 * representation's length. For 'close' the caller must close the connection
 * after the body.
 */
export function serializeResponseHead(status: number, headers: readonly string[], body: ResponseBody, reason: string = reasonPhrase(status)): Buffer {
  if (!Number.isInteger(status) || status < 100 || status > 599) throw new SerializeError(`invalid status ${status}`);
  if (!allOfClass(reason, FIELD_VALUE)) throw new SerializeError(`invalid reason phrase ${JSON.stringify(reason)}`);
  if ((status < 200 || status === 204) && body !== 'none') throw new SerializeError(`a ${status} response has no body framing`);
  if (status === 304 && (body === 'chunked' || body === 'close')) throw new SerializeError('a 304 response has no body');
  checkHeaders(headers);
  const framing = body === 'close' ? '' : framingField(body);
  const size = 12 + (reason.length > 0 ? 1 + reason.length : 0) + 2 + headersLength(headers) + framing.length + 2;
  const buf = Buffer.allocUnsafe(size);
  let off = writeLatin1(buf, 'HTTP/1.1 ', 0);
  off = writeLatin1(buf, String(status), off);
  if (reason.length > 0) {
    buf[off++] = 0x20;
    off = writeLatin1(buf, reason, off);
  }
  buf[off++] = 0x0d;
  buf[off++] = 0x0a;
  off = writeHeaders(buf, headers, off);
  off = writeLatin1(buf, framing, off);
  buf[off++] = 0x0d;
  buf[off++] = 0x0a;
  return buf;
}

/** CRLF: what follows the data of every chunk. */
export const CHUNK_END: Buffer = Buffer.from('\r\n', 'latin1');
/** The last chunk of a body without trailers. */
export const LAST_CHUNK: Buffer = Buffer.from('0\r\n\r\n', 'latin1');

/** The chunk-size line for `length` data bytes (length ≥ 1: a zero size would end the body). */
export function chunkHeader(length: number): Buffer {
  checkChunkLength(length);
  const hex = length.toString(16);
  const buf = Buffer.allocUnsafe(hex.length + 2);
  writeLatin1(buf, hex, 0);
  buf[hex.length] = 0x0d;
  buf[hex.length + 1] = 0x0a;
  return buf;
}

/** Writes the chunk-size line for `length` into `target` at `offset` (room for 15 bytes is enough); returns the offset after it. */
export function writeChunkHeader(target: Buffer, offset: number, length: number): number {
  checkChunkLength(length);
  let off = writeLatin1(target, length.toString(16), offset);
  target[off++] = 0x0d;
  target[off++] = 0x0a;
  return off;
}

/** The last chunk, with trailer fields [name, value, ...] (no framing, routing or connection fields). */
export function lastChunk(trailers: readonly string[] = []): Buffer {
  if (trailers.length === 0) return LAST_CHUNK;
  checkHeaders(trailers);
  for (let i = 0; i < trailers.length; i += 2) {
    if (FORBIDDEN_TRAILERS.has(trailers[i]!.toLowerCase())) throw new SerializeError(`${trailers[i]} is not allowed in trailers`);
  }
  const buf = Buffer.allocUnsafe(3 + headersLength(trailers) + 2);
  let off = writeLatin1(buf, '0\r\n', 0);
  off = writeHeaders(buf, trailers, off);
  buf[off++] = 0x0d;
  buf[off++] = 0x0a;
  return buf;
}

function checkChunkLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 1) throw new SerializeError(`invalid chunk length ${length}`);
}

function framingField(body: RequestBody): string {
  if (body === 'none') return '';
  if (body === 'chunked') return TE_CHUNKED;
  if (!Number.isSafeInteger(body) || body < 0) throw new SerializeError(`invalid body length ${body}`);
  return `${CONTENT_LENGTH}${body}\r\n`;
}

/** Validates a [name, value, ...] list; returns how many Host fields it holds. */
function checkHeaders(headers: readonly string[]): number {
  if (headers.length % 2 !== 0) throw new SerializeError('header list must be [name, value, ...]');
  let hosts = 0;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (name.length === 0 || !allOfClass(name, TCHAR)) throw new SerializeError(`invalid header name ${JSON.stringify(name)}`);
    if (!isFieldValue(value)) throw new SerializeError(`invalid value for header ${name}: ${JSON.stringify(value)}`);
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') hosts++;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') throw new SerializeError('Content-Length is computed from the body, not taken from headers');
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') throw new SerializeError('Transfer-Encoding is computed from the body, not taken from headers');
        break;
      default:
    }
  }
  return hosts;
}

/** field-value chars, and no leading or trailing whitespace (it would not survive a parse). */
function isFieldValue(value: string): boolean {
  const n = value.length;
  if (n === 0) return true;
  if (!allOfClass(value, FIELD_VALUE)) return false;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(n - 1);
  return first !== 0x20 && first !== 0x09 && last !== 0x20 && last !== 0x09;
}

function headersLength(headers: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < headers.length; i += 2) size += headers[i]!.length + 2 + headers[i + 1]!.length + 2;
  return size;
}

function writeHeaders(buf: Buffer, headers: readonly string[], offset: number): number {
  let off = offset;
  for (let i = 0; i < headers.length; i += 2) {
    off = writeLatin1(buf, headers[i]!, off);
    buf[off++] = 0x3a;
    buf[off++] = 0x20;
    off = writeLatin1(buf, headers[i + 1]!, off);
    buf[off++] = 0x0d;
    buf[off++] = 0x0a;
  }
  return off;
}
