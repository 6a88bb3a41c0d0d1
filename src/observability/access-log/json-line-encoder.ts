// The JSON access log line written straight into a byte buffer: the same
// bytes as UTF-8 of formatJson(rec) + '\n' (format.ts), without building the
// line as a JavaScript string first.
//
// Why: a line built by concatenation is ~40 intermediate strings (~1.3 KB of
// garbage per request), and the finished line then waits up to 50 ms in the
// writer's batch, long enough to survive a scavenge and be copied into the
// old generation. Together that was about half of what the access log cost
// per request (scripts/alloc-profile.ts --access-log). Written as bytes into
// the batch buffer the writer hands to its thread, a line allocates nothing
// in the common case: plain printable ASCII values are copied byte by byte;
// anything else (escapes, non-ASCII, over-long values) takes the string path
// of format.ts for that one value.
//
// Pure: no I/O; the only state is derived from the inputs: the cached
// timestamp prefix of the current second, the per-route fragment bytes, and
// each record's LineMemo (the runs its connection repeats, as bytes).

import type { ExchangeRecord, RouteRef } from '../exchange-record.ts';
import { MAX_VALUE_CHARS, TRUNCATION_MARKER, escapeSlow, intOf, jsonRoute, jsonString, millisText } from './format.ts';

/** Writes values of one kind as lines into byte buffers (AccessLogWriter.append). */
export interface LineEncoder<T> {
  /** An upper bound of encode()'s output for v, in bytes. */
  maxBytes(v: T): number;
  /** Writes v and a '\n' into out from pos (which has at least maxBytes(v) bytes of room); returns the end. */
  encode(v: T, out: Uint8Array, pos: number): number;
}

const ENCODER = new TextEncoder();

/** An ASCII constant as bytes. */
function ascii(s: string): Uint8Array {
  return ENCODER.encode(s);
}

function put(out: Uint8Array, pos: number, bytes: Uint8Array): number {
  // TypedArray.prototype.set (a memmove): measured ~20% faster per line than a byte loop.
  out.set(bytes, pos);
  return pos + bytes.length;
}

/** A string of ASCII characters (digits, '.', '-', 'e', letters: number texts), byte by byte. */
function putAscii(out: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) out[pos + i] = s.charCodeAt(i);
  return pos + s.length;
}

/** Any string as UTF-8 (the rare path: escaped values). */
function putUtf8(out: Uint8Array, pos: number, s: string): number {
  return pos + ENCODER.encodeInto(s, out.subarray(pos)).written;
}

const NULL = ascii('null');

/** jsonString(s) as bytes. */
function putJsonString(out: Uint8Array, pos: number, s: string): number {
  const n = s.length;
  if (n === 0) return put(out, pos, NULL);
  if (n > MAX_VALUE_CHARS) return putUtf8(out, pos, jsonString(s));
  out[pos] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    // Printable ASCII except '"' and '\': as is; anything else: the string path.
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return putUtf8(out, pos, escapeSlow(s));
    out[pos + 1 + i] = c;
  }
  out[pos + 1 + n] = 0x22;
  return pos + n + 2;
}

/** A non-negative safe integer's decimal digits. */
function putUint(out: Uint8Array, pos: number, n: number): number {
  if (n < 10) {
    out[pos] = 0x30 + n;
    return pos + 1;
  }
  let digits = 1;
  for (let p = 10; p <= n; p *= 10) digits++;
  let v = n;
  for (let i = pos + digits - 1; i >= pos; i--) {
    const q = Math.floor(v / 10);
    out[i] = 0x30 + (v - q * 10);
    v = q;
  }
  return pos + digits;
}

/** jsonNumber(intOf(n)) as bytes. */
function putNumber(out: Uint8Array, pos: number, n: number): number {
  if (Number.isSafeInteger(n) && n >= 0) return putUint(out, pos, n);
  const v = intOf(n);
  return v === null ? put(out, pos, NULL) : putAscii(out, pos, '' + v);
}

/**
 * millisText(d, 'null') as bytes. The fraction's digits are computed, not
 * looked up in the table format.ts's millisText uses: in the running proxy the table's
 * 1,000 strings are out of cache, and the look-up cost more than the rest
 * of the line's numbers (perf, 2026-11-24).
 */
function putMillis(out: Uint8Array, pos: number, d: number): number {
  if (!(d >= 0 && d < 9e12)) return putAscii(out, pos, millisText(d, 'null'));
  const micros = Math.round(d * 1000);
  const whole = Math.floor(micros / 1000);
  pos = putUint(out, pos, whole);
  const fraction = micros - whole * 1000;
  if (fraction === 0) return pos;
  // '.d', '.dd' or '.ddd': trailing zeros trimmed.
  const hundreds = Math.floor(fraction / 100);
  const tens = Math.floor(fraction / 10) - hundreds * 10;
  const ones = fraction - hundreds * 100 - tens * 10;
  out[pos] = 0x2e;
  out[pos + 1] = 0x30 + hundreds;
  if (ones !== 0) {
    out[pos + 2] = 0x30 + tens;
    out[pos + 3] = 0x30 + ones;
    return pos + 4;
  }
  if (tens !== 0) {
    out[pos + 2] = 0x30 + tens;
    return pos + 3;
  }
  return pos + 2;
}

// The timestamp: '{"time":"2026-01-02T03:04:05.' cached per second, then 'mmmZ"'.
let cachedSecond = Number.NaN;
let cachedPrefix: Uint8Array = new Uint8Array(0);
const NULL_TIME = ascii('{"time":null');

/** The line's opening: '{"time":' and the start time. */
function putTime(out: Uint8Array, pos: number, wallMs: number): number {
  // The same validity test as formatIsoTime.
  if (!(wallMs > 0 && wallMs <= 8.64e15)) return put(out, pos, NULL_TIME);
  const ms = Math.floor(wallMs);
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const iso = new Date(second * 1000).toISOString();
    cachedPrefix = ascii('{"time":"' + iso.slice(0, iso.length - 4));
    cachedSecond = second;
  }
  pos = put(out, pos, cachedPrefix);
  const millis = ms - second * 1000;
  out[pos] = 0x30 + Math.floor(millis / 100);
  out[pos + 1] = 0x30 + (Math.floor(millis / 10) % 10);
  out[pos + 2] = 0x30 + (millis % 10);
  out[pos + 3] = 0x5a; // Z
  out[pos + 4] = 0x22;
  return pos + 5;
}

// The namespace/ingress/service part, once per RouteRef (as format.ts does for strings).
const routeBytes = new WeakMap<RouteRef, Uint8Array>();
const NO_ROUTE = ascii(jsonRoute(null));

function putRoute(out: Uint8Array, pos: number, route: RouteRef | null): number {
  if (route === null) return put(out, pos, NO_ROUTE);
  let bytes = routeBytes.get(route);
  if (bytes === undefined) {
    bytes = ENCODER.encode(jsonRoute(route));
    routeBytes.set(route, bytes);
  }
  return put(out, pos, bytes);
}

const K_CLIENT = ascii(',"client":');
const K_HOST = ascii(',"host":');
const K_METHOD = ascii(',"method":');
const K_PATH = ascii(',"path":');
const K_PROTOCOL = ascii(',"protocol":');
const K_STATUS = ascii(',"status":');
const K_BYTES_RECEIVED = ascii(',"bytes_received":');
const K_BYTES_SENT = ascii(',"bytes_sent":');
const K_DURATION = ascii(',"duration_ms":');
const K_UPSTREAM_DURATION = ascii(',"upstream_duration_ms":');
const K_UPSTREAM = ascii(',"upstream":');
const K_REQUEST_ID = ascii(',"request_id":');
const K_TLS = ascii(',"tls":');
const K_TRACE_ID = ascii(',"trace_id":');

// Runs of the line that hold a key, a value from a small set and the next
// key, as one constant each: the protocol and the TLS version.
const HTTP11_THEN_STATUS = ascii(',"protocol":"HTTP/1.1","status":');
const HTTP2_THEN_STATUS = ascii(',"protocol":"HTTP/2","status":');
const HTTP10_THEN_STATUS = ascii(',"protocol":"HTTP/1.0","status":');
const NO_TLS_THEN_TRACE = ascii(',"tls":null,"trace_id":');
const TLS13_THEN_TRACE = ascii(',"tls":"TLSv1.3","trace_id":');
const TLS12_THEN_TRACE = ascii(',"tls":"TLSv1.2","trace_id":');

function putProtocolThenStatusKey(out: Uint8Array, pos: number, protocol: string): number {
  switch (protocol) {
    case 'HTTP/1.1': return put(out, pos, HTTP11_THEN_STATUS);
    case 'HTTP/2': return put(out, pos, HTTP2_THEN_STATUS);
    case 'HTTP/1.0': return put(out, pos, HTTP10_THEN_STATUS);
    default: return put(out, putJsonString(out, put(out, pos, K_PROTOCOL), protocol), K_STATUS);
  }
}

function putTlsThenTraceKey(out: Uint8Array, pos: number, tls: string): number {
  switch (tls) {
    case '': return put(out, pos, NO_TLS_THEN_TRACE);
    case 'TLSv1.3': return put(out, pos, TLS13_THEN_TRACE);
    case 'TLSv1.2': return put(out, pos, TLS12_THEN_TRACE);
    default: return put(out, putJsonString(out, put(out, pos, K_TLS), tls), K_TRACE_ID);
  }
}

/**
 * Kept on a record (ExchangeRecord.lineMemo) between the exchanges of its
 * connection: the bytes of the runs that a keep-alive connection repeats
 * from one request to the next, keyed by the values they were made from.
 *
 * Why: copying one run costs about as much as copying one key, and the
 * values in it no longer go through the character loop. The bytes are
 * kept only when the same values come twice in a row, so a connection
 * whose values change every time (a balancer alternating endpoints) only
 * pays the comparisons, and a one-off record (an HTTP/2 stream's, the
 * node:http path's) one small LineMemo besides.
 */
class LineMemo {
  // ',"client":C,"host":H,"method":M,"path":'
  client = '';
  host = '';
  method = '';
  peer: Uint8Array | null = null;
  // ',"upstream":U,"namespace":..,"ingress":..,"service":..,"request_id":'
  upstream = '';
  route: RouteRef | null = null;
  target: Uint8Array | null = null;
}

function putPeer(out: Uint8Array, pos: number, r: ExchangeRecord, m: LineMemo): number {
  const client = r.clientAddress;
  const host = r.host;
  const method = r.method;
  if (client === m.client && host === m.host && method === m.method) {
    if (m.peer !== null) return put(out, pos, m.peer);
    const end = writePeer(out, pos, client, host, method);
    m.peer = out.slice(pos, end);
    return end;
  }
  m.client = client;
  m.host = host;
  m.method = method;
  m.peer = null;
  return writePeer(out, pos, client, host, method);
}

function writePeer(out: Uint8Array, pos: number, client: string, host: string, method: string): number {
  pos = putJsonString(out, put(out, pos, K_CLIENT), client);
  pos = putJsonString(out, put(out, pos, K_HOST), host);
  pos = putJsonString(out, put(out, pos, K_METHOD), method);
  return put(out, pos, K_PATH);
}

function putTarget(out: Uint8Array, pos: number, r: ExchangeRecord, m: LineMemo): number {
  const upstream = r.upstream;
  const route = r.route;
  if (upstream === m.upstream && route === m.route) {
    if (m.target !== null) return put(out, pos, m.target);
    const end = writeTarget(out, pos, upstream, route);
    m.target = out.slice(pos, end);
    return end;
  }
  m.upstream = upstream;
  m.route = route;
  m.target = null;
  return writeTarget(out, pos, upstream, route);
}

function writeTarget(out: Uint8Array, pos: number, upstream: string, route: RouteRef | null): number {
  pos = putJsonString(out, put(out, pos, K_UPSTREAM), upstream);
  return put(out, putRoute(out, pos, route), K_REQUEST_ID);
}

function memoOf(r: ExchangeRecord): LineMemo {
  const m = r.lineMemo;
  if (m instanceof LineMemo) return m;
  const fresh = new LineMemo();
  r.lineMemo = fresh;
  return fresh;
}

/** Keys, numbers, the time and the route fragment's names (≤ 3 × 253 bytes, DNS labels) fit in this. */
const FIXED_BYTES = 1024;
/** JSON.stringify writes at most 6 bytes per UTF-16 code unit ('\u001f', lone surrogates). */
const MAX_BYTES_PER_UNIT = 6;
const MAX_VALUE_UNITS = MAX_VALUE_CHARS + TRUNCATION_MARKER.length;

function units(s: string): number {
  return s.length > MAX_VALUE_UNITS ? MAX_VALUE_UNITS : s.length;
}

function routeUnits(route: RouteRef | null): number {
  return route === null ? 0 : units(route.namespace) + units(route.ingress) + units(route.service);
}

/** The path up to any '?', by its end index (no slice in the common case of no query). */
function pathEnd(path: string): number {
  const q = path.indexOf('?');
  return q === -1 ? path.length : q;
}

export const JSON_LINE_ENCODER: LineEncoder<ExchangeRecord> = Object.freeze({
  maxBytes(r: ExchangeRecord): number {
    const strings = units(r.clientAddress) + units(r.host) + units(r.method) + units(r.path) + units(r.protocol) + units(r.upstream) + units(r.requestId) + units(r.tls) + units(r.traceId) + routeUnits(r.route);
    return FIXED_BYTES + MAX_BYTES_PER_UNIT * strings;
  },

  encode(r: ExchangeRecord, out: Uint8Array, pos: number): number {
    const memo = memoOf(r);
    pos = putTime(out, pos, r.startedWall);
    pos = putPeer(out, pos, r, memo);
    const path = r.path;
    const end = pathEnd(path);
    pos = putJsonString(out, pos, end === path.length ? path : path.slice(0, end));
    pos = putProtocolThenStatusKey(out, pos, r.protocol);
    pos = putNumber(out, pos, r.status);
    pos = put(out, pos, K_BYTES_RECEIVED);
    pos = putNumber(out, pos, r.bytesIn);
    pos = put(out, pos, K_BYTES_SENT);
    pos = putNumber(out, pos, r.bytesOut);
    pos = put(out, pos, K_DURATION);
    pos = putMillis(out, pos, r.endedAt - r.startedAt);
    pos = put(out, pos, K_UPSTREAM_DURATION);
    pos = r.upstreamStartedAt > 0 && r.upstreamHeadAt > 0 ? putMillis(out, pos, r.upstreamHeadAt - r.upstreamStartedAt) : put(out, pos, NULL);
    pos = putTarget(out, pos, r, memo);
    pos = putJsonString(out, pos, r.requestId);
    pos = putTlsThenTraceKey(out, pos, r.tls);
    pos = putJsonString(out, pos, r.traceId);
    out[pos] = 0x7d; // }
    out[pos + 1] = 0x0a;
    return pos + 2;
  },
});

/** A finished line (a template's) as UTF-8 plus '\n'. */
export const STRING_LINE_ENCODER: LineEncoder<string> = Object.freeze({
  maxBytes(line: string): number {
    return line.length * 3 + 1;
  },
  encode(line: string, out: Uint8Array, pos: number): number {
    const n = line.length;
    let i = 0;
    for (; i < n; i++) {
      const c = line.charCodeAt(i);
      if (c > 0x7f) break;
      out[pos + i] = c;
    }
    pos = i === n ? pos + n : putUtf8(out, pos + i, i === 0 ? line : line.slice(i));
    out[pos] = 0x0a;
    return pos + 1;
  },
});
