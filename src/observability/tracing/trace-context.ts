// W3C Trace Context (https://www.w3.org/TR/trace-context/, Level 1) for the
// proxy's hot path: parse and format `traceparent`, validate and combine
// `tracestate`, hand out random ids, and the one rule for what the proxy does
// with a request's trace context (`decideTrace`).
//
// Pure: no I/O. `node:crypto` is used only for its random bytes, and the
// filler is a constructor argument so tests can inject one. Everything here
// runs per request, so parsing walks character codes instead of splitting or
// running regular expressions, and ids come from a pooled random buffer.

import { randomFillSync } from 'node:crypto';

export interface TraceParent {
  /** 32 lowercase hex characters, not all zero. */
  readonly traceId: string;
  /** 16 lowercase hex characters, not all zero: the caller's span. */
  readonly parentId: string;
  /** The trace-flags byte as received (0..255); bit 0 is `sampled`. */
  readonly flags: number;
}

export const FLAG_SAMPLED = 0x01;

/** Length of a version-00 traceparent: 2 + 1 + 32 + 1 + 16 + 1 + 2. */
const TRACEPARENT_LENGTH = 55;

/** 0..15 for a lowercase hex digit, -1 otherwise (uppercase is not allowed by the grammar). */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30; // 0-9
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10; // a-f
  return -1;
}

/** True if value[from, from+len) is lowercase hex and not all '0'. */
function nonZeroHex(value: string, from: number, len: number): boolean {
  let any = false;
  for (let i = from; i < from + len; i++) {
    const c = value.charCodeAt(i);
    const v = hexValue(c);
    if (v < 0) return false;
    if (v !== 0) any = true;
  }
  return any;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Parses a `traceparent` header value; null when it must be ignored.
 *
 * Version 00 must be exactly 55 characters. A higher version (01..fe) is
 * parsed as the spec's "Versioning of traceparent" says: at least 55
 * characters, the version-00 fields in place, and after the flags either the
 * end or a dash (whatever follows is not ours to interpret). Version ff,
 * uppercase hex, all-zero ids and any other shape give null. Surrounding
 * spaces and tabs (HTTP optional whitespace) are ignored.
 */
export function parseTraceparent(value: string): TraceParent | null {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  const len = end - start;
  if (len < TRACEPARENT_LENGTH) return null;

  const v1 = hexValue(value.charCodeAt(start));
  const v0 = hexValue(value.charCodeAt(start + 1));
  if (v1 < 0 || v0 < 0) return null;
  const version = v1 * 16 + v0;
  if (version === 0xff) return null;
  if (version === 0) {
    if (len !== TRACEPARENT_LENGTH) return null;
  } else if (len > TRACEPARENT_LENGTH && value.charCodeAt(start + TRACEPARENT_LENGTH) !== 0x2d) {
    return null;
  }
  if (value.charCodeAt(start + 2) !== 0x2d || value.charCodeAt(start + 35) !== 0x2d || value.charCodeAt(start + 52) !== 0x2d) return null;
  if (!nonZeroHex(value, start + 3, 32) || !nonZeroHex(value, start + 36, 16)) return null;
  const f1 = hexValue(value.charCodeAt(start + 53));
  const f0 = hexValue(value.charCodeAt(start + 54));
  if (f1 < 0 || f0 < 0) return null;
  return {
    traceId: value.slice(start + 3, start + 35),
    parentId: value.slice(start + 36, start + 52),
    flags: f1 * 16 + f0,
  };
}

const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Formats a version-00 `traceparent`. The ids are written as given (callers
 * pass ids from `parseTraceparent` or `IdSource`); `flags` is taken modulo 256.
 */
export function formatTraceparent(traceId: string, spanId: string, flags: number): string {
  return `00-${traceId}-${spanId}-${HEX_BYTE[flags & 0xff]}`;
}

/** Fills a buffer with random bytes (crypto.randomFillSync by default). */
export type RandomFiller = (buffer: Uint8Array) => void;

const defaultFiller: RandomFiller = (buffer) => {
  randomFillSync(buffer);
};

/**
 * Random trace ids (16 bytes, 32 hex) and span ids (8 bytes, 16 hex), taken
 * from a pool that is refilled `poolBytes` at a time, so a request costs no
 * system call and no Buffer, only the id string. An all-zero draw (invalid
 * in the spec, and a sign of a broken filler) gets its last byte set to 1.
 */
export class IdSource {
  readonly #fill: RandomFiller;
  readonly #pool: Buffer;
  #offset: number;

  constructor(fill: RandomFiller = defaultFiller, poolBytes = 4096) {
    if (!Number.isInteger(poolBytes) || poolBytes < 16 || poolBytes % 8 !== 0) {
      throw new RangeError(`IdSource: poolBytes must be a multiple of 8, at least 16, got ${poolBytes}`);
    }
    this.#fill = fill;
    this.#pool = Buffer.allocUnsafe(poolBytes);
    this.#offset = poolBytes; // empty: the first draw fills it
  }

  /** 32 lowercase hex characters, never all zero. */
  traceId(): string {
    return this.#draw(16);
  }

  /** 16 lowercase hex characters, never all zero. */
  spanId(): string {
    return this.#draw(8);
  }

  /**
   * A whole new version-00 traceparent ('00-' trace id '-' span id '-' flags)
   * as one string: the ids written as hex into a scratch buffer and read
   * once, instead of two hex strings and a concatenation (this runs for
   * every request without a traceparent: --trace-create). lastTraceId() is
   * its trace id.
   */
  traceparent(flags: number): string {
    const out = this.#scratch;
    this.#hex(out, 3, this.#take(16), 16);
    this.#hex(out, 36, this.#take(8), 8);
    const f = flags & 0xff;
    out[53] = HEX_CODES[f >> 4]!;
    out[54] = HEX_CODES[f & 15]!;
    return out.latin1Slice(0, 55);
  }

  /** Pool bytes [from, from + n) as hex into out at `at`. */
  #hex(out: Buffer, at: number, from: number, n: number): void {
    const pool = this.#pool;
    for (let i = 0; i < n; i++) {
      const b = pool[from + i]!;
      out[at + 2 * i] = HEX_CODES[b >> 4]!;
      out[at + 2 * i + 1] = HEX_CODES[b & 15]!;
    }
  }

  /**
   * The trace id of the last traceparent(), as a flat string of its own
   * (a slice of the traceparent would be a sliced string, and one such
   * string among the access log's values measured 4 % more CPU per request:
   * its character loops lose their flat-string fast path).
   */
  lastTraceId(): string {
    return this.#scratch.latin1Slice(3, 35);
  }

  /** '00-' + 32 + '-' + 16 + '-' + 2: the dashes are written once. */
  readonly #scratch = Buffer.from('00-00000000000000000000000000000000-0000000000000000-00', 'latin1') as Buffer & { latin1Slice(start: number, end: number): string };

  #draw(bytes: number): string {
    const from = this.#take(bytes);
    return this.#pool.toString('hex', from, from + bytes);
  }

  /** The offset of `bytes` fresh random bytes in the pool: one id, never all zero. */
  #take(bytes: number): number {
    const pool = this.#pool;
    if (this.#offset + bytes > pool.length) {
      this.#fill(pool);
      this.#offset = 0;
    }
    const from = this.#offset;
    this.#offset = from + bytes;
    nonZero(pool, from, from + bytes);
    return from;
  }
}

/** An all-zero id is invalid: set its last byte to 1. */
function nonZero(pool: Buffer, from: number, to: number): void {
  let any = 0;
  for (let i = from; i < to; i++) any |= pool[i]!;
  if (any === 0) pool[to - 1] = 1;
}

const HEX_CODES: Uint8Array = new TextEncoder().encode('0123456789abcdef');

/** Most list members a tracestate may have (spec: 32). */
export const TRACESTATE_MAX_MEMBERS = 32;
/** What Martello propagates at most: the spec's "at least 512 characters" of the combined header. */
export const TRACESTATE_MAX_CHARS = 512;
/** Entries longer than this are the first to go when truncating (spec: 128). */
const TRACESTATE_LONG_ENTRY = 128;

function isLcAlpha(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
/** lcalpha / DIGIT / "_" / "-" / "*" / "/" */
function isKeyChar(c: number): boolean {
  return isLcAlpha(c) || isDigit(c) || c === 0x5f || c === 0x2d || c === 0x2a || c === 0x2f;
}

/**
 * key = simple-key / multi-tenant-key
 * simple-key       = lcalpha 0*255( keychar )
 * multi-tenant-key = tenant-id "@" system-id
 * tenant-id        = ( lcalpha / DIGIT ) 0*240( keychar )
 * system-id        = lcalpha 0*13( keychar )
 */
function validKey(s: string, from: number, to: number): boolean {
  let at = -1;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x40) {
      if (at >= 0) return false;
      at = i;
    } else if (!isKeyChar(c)) {
      return false;
    }
  }
  const first = s.charCodeAt(from);
  if (at < 0) return to - from >= 1 && to - from <= 256 && isLcAlpha(first);
  const tenant = at - from;
  const system = to - at - 1;
  return tenant >= 1 && tenant <= 241 && (isLcAlpha(first) || isDigit(first)) && system >= 1 && system <= 14 && isLcAlpha(s.charCodeAt(at + 1));
}

/**
 * value    = 0*255(chr) nblk-chr
 * nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
 * chr      = %x20 / nblk-chr
 */
function validValue(s: string, from: number, to: number): boolean {
  const len = to - from;
  if (len < 1 || len > 256) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x2c || c === 0x3d) return false;
  }
  return s.charCodeAt(to - 1) !== 0x20;
}

/**
 * Combines the `tracestate` header lines of a request (RFC 9110 field order:
 * joined with commas) and returns the value Martello propagates, or null
 * when there is nothing to propagate.
 *
 * Null when: there are no values or only empty members; any member is not
 * `key=value` by the grammar; a key appears twice; there are more than 32
 * members. The spec then says to discard tracestate but keep traceparent.
 *
 * Normalised: optional whitespace around members and empty members removed,
 * members joined by ",". A combined value longer than `maxChars` (default
 * 512, documented in docs/tracing.md) is truncated by whole entries as the
 * spec says: entries over 128 characters go first, then entries from the end.
 * Empty members count toward nothing (they appear naturally when several
 * header lines are combined).
 */
export function validTracestate(values: readonly string[], maxChars: number = TRACESTATE_MAX_CHARS): string | null {
  if (values.length === 0) return null;
  const s = values.length === 1 ? values[0]! : values.join(',');
  const members: string[] = [];
  const keys: string[] = [];
  let total = 0; // length of members joined by ","
  let pos = 0;
  const n = s.length;
  while (pos <= n) {
    let comma = s.indexOf(',', pos);
    if (comma < 0) comma = n;
    let a = pos;
    let b = comma;
    while (a < b && isOws(s.charCodeAt(a))) a++;
    while (b > a && isOws(s.charCodeAt(b - 1))) b--;
    if (b > a) {
      const eq = s.indexOf('=', a);
      if (eq < 0 || eq >= b) return null;
      if (!validKey(s, a, eq) || !validValue(s, eq + 1, b)) return null;
      if (members.length === TRACESTATE_MAX_MEMBERS) return null;
      const key = s.slice(a, eq);
      if (keys.includes(key)) return null;
      keys.push(key);
      members.push(s.slice(a, b));
      total += (members.length > 1 ? 1 : 0) + (b - a);
    }
    pos = comma + 1;
  }
  if (members.length === 0) return null;
  if (total > maxChars) return truncateTracestate(members, total, maxChars);
  return members.length === 1 ? members[0]! : members.join(',');
}

function truncateTracestate(members: string[], total: number, maxChars: number): string | null {
  let kept = members;
  let size = total;
  // Entries over 128 characters first (all of them, from the end), then from the end.
  for (let i = kept.length - 1; i >= 0 && size > maxChars; i--) {
    if (kept[i]!.length > TRACESTATE_LONG_ENTRY) {
      size -= kept[i]!.length + (kept.length > 1 ? 1 : 0);
      kept = kept.slice(0, i).concat(kept.slice(i + 1));
    }
  }
  while (kept.length > 0 && size > maxChars) {
    const last = kept[kept.length - 1]!;
    size -= last.length + (kept.length > 1 ? 1 : 0);
    kept = kept.slice(0, -1);
  }
  return kept.length === 0 ? null : kept.join(',');
}

export interface TracePolicy {
  /** Start a trace when the request brings no valid traceparent. */
  readonly create: boolean;
  /** Probability (0..1) that a trace Martello starts is sampled. */
  readonly sampleRatio: number;
}

export interface TraceDecision {
  readonly traceId: string;
  /** Martello's span for this request: the parent the upstream sees. */
  readonly spanId: string;
  /** The caller's span (incoming parent-id), or '' when Martello started the trace. */
  readonly parentSpanId: string;
  /** Whether this request is recorded (and exported). */
  readonly sampled: boolean;
  /** The `traceparent` to send upstream (version 00, our span as parent). */
  readonly upstreamTraceparent: string;
  /** The `tracestate` to send upstream; null: send none (remove any received). */
  readonly tracestate: string | null;
}

/**
 * The proxy's rule for a request's trace context.
 *
 * - A valid incoming `traceparent` is continued: same trace id, a new span id
 *   of ours (the upstream's parent), and the caller's sampled flag as
 *   received; the other flag bits are not propagated (Level 1 defines only
 *   `sampled` and says to send the others as zero). Its `tracestate` is
 *   validated and passed on (or dropped if invalid).
 * - No or an invalid `traceparent`: when `policy.create`, a new trace is
 *   started, sampled when `random() < policy.sampleRatio`, and any
 *   `tracestate` is dropped (the spec: never parse tracestate without a valid
 *   traceparent; clean it up on restart). Otherwise null: add nothing.
 *
 * `incoming` is the single traceparent header value; a request with the
 * header twice should pass undefined (or the values joined with ",", which
 * never parses).
 */
export function decideTrace(
  incoming: string | undefined,
  tracestate: readonly string[],
  policy: TracePolicy,
  ids: IdSource,
  random: () => number,
): TraceDecision | null {
  const parent = incoming === undefined ? null : parseTraceparent(incoming);
  if (parent !== null) {
    const spanId = ids.spanId();
    const sampled = (parent.flags & FLAG_SAMPLED) !== 0;
    return {
      traceId: parent.traceId,
      spanId,
      parentSpanId: parent.parentId,
      sampled,
      upstreamTraceparent: formatTraceparent(parent.traceId, spanId, sampled ? FLAG_SAMPLED : 0),
      tracestate: tracestate.length === 0 ? null : validTracestate(tracestate),
    };
  }
  if (!policy.create) return null;
  const traceId = ids.traceId();
  const spanId = ids.spanId();
  const sampled = random() < policy.sampleRatio;
  return {
    traceId,
    spanId,
    parentSpanId: '',
    sampled,
    upstreamTraceparent: formatTraceparent(traceId, spanId, sampled ? FLAG_SAMPLED : 0),
    tracestate: null,
  };
}
