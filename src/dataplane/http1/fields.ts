// Turning scanned field lines into strings, and reading the few field values
// that decide framing and connection handling (RFC 9112 §6, §9.3). These are
// exactly the values a smuggling attack plays games with, so each reader
// accepts one spelling and nothing "close enough".

import { commonName } from './common-names.ts';
import type { HeadScanner } from './head-scanner.ts';
import { CLASS, HTAB, latin1, SP, TCHAR } from './tokens.ts';

/**
 * Appends field lines [first, scanner.lines) to `headers` as name, value
 * pairs (names as received, values without surrounding OWS) and the
 * lowercased names to `names`, index for index.
 */
export function readFields(scanner: HeadScanner, first: number, headers: string[], names: string[]): void {
  const buf = scanner.buf;
  const base = scanner.base;
  const starts = scanner.lineStarts;
  const colons = scanner.colons;
  for (let line = first; line < scanner.lines; line++) {
    const start = base + starts[line]!;
    const colon = base + colons[line]!;
    const lineEnd = base + starts[line + 1]! - 2;
    let vs = colon + 1;
    while (vs < lineEnd && (buf[vs] === SP || buf[vs] === HTAB)) vs++;
    let ve = lineEnd;
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
    const common = commonName(buf, start, colon);
    if (common !== undefined) {
      headers.push(common.name, vs === ve ? '' : latin1(buf, vs, ve));
      names.push(common.lower);
    } else {
      const name = latin1(buf, start, colon);
      headers.push(name, vs === ve ? '' : latin1(buf, vs, ve));
      names.push(name.toLowerCase());
    }
  }
}

/**
 * Fields that must not appear in trailers (RFC 9110 §6.5.1): framing,
 * routing and connection management. A trailer is merged after the head was
 * acted on, so any of these would mean something different to each hop.
 */
export const FORBIDDEN_TRAILERS: ReadonlySet<string> = new Set([
  'content-length',
  'transfer-encoding',
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

/** True when field line `line` (as recorded by the scanner) contains byte `c` after its colon. */
export function fieldValueHasByte(scanner: HeadScanner, line: number, c: number): boolean {
  const buf = scanner.buf;
  const from = scanner.base + scanner.colons[line]! + 1;
  const to = scanner.base + scanner.lineStarts[line + 1]! - 2;
  for (let i = from; i < to; i++) if (buf[i] === c) return true;
  return false;
}

/** More digits than this is not a length we will ever honour (and would lose precision). */
const MAX_LENGTH_DIGITS = 15;

/** Content-Length = 1*DIGIT (RFC 9110 §8.6), at most 15 digits; -1 if anything else (sign, list, hex, space inside, empty). */
export function parseContentLength(value: string): number {
  const n = value.length;
  if (n === 0 || n > MAX_LENGTH_DIGITS) return -1;
  let length = 0;
  for (let i = 0; i < n; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    length = length * 10 + d;
  }
  return length;
}

export const TE_CHUNKED = 0;
/** A well-formed list ending in chunked with other codings before it (501: we implement no other coding). */
export const TE_UNSUPPORTED = 1;
/** chunked is not the final coding, or the value is no list of codings at all (400, RFC 9112 §6.3). */
export const TE_INVALID = 2;

/**
 * Classifies a Transfer-Encoding value. Only the exact single coding
 * "chunked" (any case) is accepted; "chunked, identity", ",chunked",
 * "xchunked" and friends are what TE.TE desyncs are made of.
 */
export function classifyTransferEncoding(value: string): number {
  if (value.length === 7 && equalsChunked(value, 0)) return TE_CHUNKED;
  // A list of bare tokens separated by commas with optional OWS; no empty
  // elements and no transfer-parameters (nothing we implement takes any).
  const n = value.length;
  let i = 0;
  for (;;) {
    const start = i;
    while (i < n && (CLASS[value.charCodeAt(i)]! & TCHAR) !== 0) i++;
    const tokenEnd = i;
    if (tokenEnd === start) return TE_INVALID;
    while (i < n && (value.charCodeAt(i) === SP || value.charCodeAt(i) === HTAB)) i++;
    const chunked = tokenEnd - start === 7 && equalsChunked(value, start);
    if (i === n) return chunked ? TE_UNSUPPORTED : TE_INVALID;
    // chunked anywhere but last, or twice (RFC 9112 §6.1)
    if (chunked || value.charCodeAt(i) !== 0x2c) return TE_INVALID;
    i++;
    while (i < n && (value.charCodeAt(i) === SP || value.charCodeAt(i) === HTAB)) i++;
  }
}

function equalsChunked(value: string, at: number): boolean {
  const lit = 'chunked';
  for (let i = 0; i < 7; i++) {
    const c = value.charCodeAt(at + i);
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lit.charCodeAt(i)) return false;
  }
  return true;
}

export const CONN_CLOSE = 1;
export const CONN_KEEP_ALIVE = 2;
export const CONN_UPGRADE = 4;
export const CONN_INVALID = -1;

/**
 * The connection options of one Connection value (RFC 9110 §7.6.1) as bits;
 * CONN_INVALID when an element is not a token. Empty list elements are
 * allowed, as the list syntax requires.
 */
export function connectionFlags(value: string): number {
  let flags = 0;
  const n = value.length;
  let i = 0;
  while (i <= n) {
    while (i < n && (value.charCodeAt(i) === SP || value.charCodeAt(i) === HTAB)) i++;
    const start = i;
    while (i < n) {
      if ((CLASS[value.charCodeAt(i)]! & TCHAR) === 0) break;
      i++;
    }
    const tokenEnd = i;
    while (i < n && (value.charCodeAt(i) === SP || value.charCodeAt(i) === HTAB)) i++;
    if (i < n && value.charCodeAt(i) !== 0x2c) return CONN_INVALID;
    const len = tokenEnd - start;
    if (len === 5 && lowerEquals(value, start, 'close')) flags |= CONN_CLOSE;
    else if (len === 10 && lowerEquals(value, start, 'keep-alive')) flags |= CONN_KEEP_ALIVE;
    else if (len === 7 && lowerEquals(value, start, 'upgrade')) flags |= CONN_UPGRADE;
    i++; // past ',' (or past the end, which ends the loop)
  }
  return flags;
}

function lowerEquals(s: string, at: number, lit: string): boolean {
  for (let k = 0; k < lit.length; k++) {
    const c = s.charCodeAt(at + k);
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lit.charCodeAt(k)) return false;
  }
  return true;
}
