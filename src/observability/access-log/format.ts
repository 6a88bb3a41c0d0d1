// Access log lines: one line per exchange, built from the ExchangeRecord when
// the exchange ends. Pure: no I/O, no clock (the time comes from the record).
//
// Two formats:
//   - 'json' (the default): one JSON object with the keys of
//     ACCESS_LOG_VARIABLES, in that order, always all of them; absent values
//     are null, numbers are numbers (durations in milliseconds, 3 decimals).
//   - a template with nginx-style variables: `$status`, `${status}` (when
//     letters follow), `$$` for a literal dollar. Absent values print as '-'.
//
// One exchange is always exactly one line, whatever the client sent: JSON
// strings are escaped (lone surrogates as \udXXX so the line stays valid
// UTF-8, U+2028/U+2029 too), template values have control characters, '"' and '\'
// escaped as \xHH (like nginx's escape=default), and every string value
// longer than MAX_VALUE_CHARS is truncated with TRUNCATION_MARKER (host,
// path and request ID all come from the client).
//
// Never logged, by construction (the record does not even carry them):
//   - query strings: tokens, session IDs, password-reset codes and signed
//     URL signatures travel in queries (`?access_token=`, `?X-Amz-Signature=`);
//     `path` is the path the route was matched on, without the query (and
//     should one ever arrive with a '?', everything from it is cut);
//   - header values: Authorization, Cookie, Set-Cookie, Proxy-Authorization,
//     X-Api-Key and friends carry credentials. There is deliberately no
//     `$http_<name>` variable, so a format string cannot ask for them.
//
// Cost: format() is on the hot path (once per logged exchange). The JSON
// formatter is one string concatenation; strings that are plain printable
// ASCII without '"' or '\' (nearly all of them) are inserted after a single
// scan, anything else falls back to JSON.stringify. Methods, protocols and
// TLS versions of the usual sets are constants, the route labels are
// rendered once per RouteRef, durations are printed with integer arithmetic,
// and the ISO time of the current second is cached, so a timestamp is one
// concatenation with the milliseconds.

import type { ExchangeRecord, RouteRef } from '../exchange-record.ts';

/** Every variable, in the order of the JSON keys. */
export const ACCESS_LOG_VARIABLES = Object.freeze([
  'time',
  'client',
  'host',
  'method',
  'path',
  'protocol',
  'status',
  'bytes_received',
  'bytes_sent',
  'duration_ms',
  'upstream_duration_ms',
  'upstream',
  'namespace',
  'ingress',
  'service',
  'request_id',
  'tls',
  'trace_id',
] as const);

export type AccessLogVariable = (typeof ACCESS_LOG_VARIABLES)[number];

/** String values longer than this (in UTF-16 code units) are cut and marked. */
export const MAX_VALUE_CHARS = 2048;
/** Appended to a value that was cut at MAX_VALUE_CHARS. */
export const TRUNCATION_MARKER = '...[truncated]';

export interface AccessLogFormatter {
  readonly kind: 'json' | 'template';
  /** The variables a line shows, in order of appearance (JSON: all of them). */
  readonly variables: readonly AccessLogVariable[];
  /** One line, without the trailing newline. */
  format(rec: ExchangeRecord): string;
}

/** 'json', or a template with $name / ${name} variables ($$ for '$'). */
export function compileAccessLogFormat(spec: string): AccessLogFormatter | { error: string } {
  if (spec === 'json') return JSON_FORMATTER;
  return compileTemplate(spec);
}

// ---------------------------------------------------------------------------
// Time

// '000Z' .. '999Z'
const MILLIS: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0') + 'Z');
let cachedSecond = Number.NaN;
let cachedPrefix = '';

/** ISO 8601 UTC with milliseconds ('2026-01-02T03:04:05.678Z'); null when the wall time is unset (≤ 0) or not a date. */
export function formatIsoTime(wallMs: number): string | null {
  if (!(wallMs > 0 && wallMs <= 8.64e15)) return null;
  const ms = Math.floor(wallMs);
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const iso = new Date(second * 1000).toISOString();
    // Everything up to and including the '.': '2026-01-02T03:04:05.'
    cachedPrefix = iso.slice(0, iso.length - 4);
    cachedSecond = second;
  }
  return cachedPrefix + (MILLIS[ms - second * 1000] as string);
}

// ---------------------------------------------------------------------------
// Values shared by both formats

function truncate(s: string): string {
  let cut = MAX_VALUE_CHARS;
  const last = s.charCodeAt(cut - 1);
  // Do not split a surrogate pair.
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  return s.slice(0, cut) + TRUNCATION_MARKER;
}

/**
 * The record's path never has a query; this makes sure of it (a transport
 * that forgot to cut it must not leak `?access_token=` into the logs).
 */
function withoutQuery(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}

export function intOf(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}

// ---------------------------------------------------------------------------
// JSON

/** A JSON string literal for s, or null for ''. */
export function jsonString(s: string): string {
  if (s.length === 0) return 'null';
  if (s.length > MAX_VALUE_CHARS) s = truncate(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Printable ASCII except '"' (0x22) and '\' (0x5c) needs no escaping.
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return escapeSlow(s);
  }
  return '"' + s + '"';
}

const JS_LINE_SEPARATORS = /[\u2028\u2029]/g;

export function escapeSlow(s: string): string {
  // JSON.stringify escapes '"', '\', C0 controls and lone surrogates (as \udXXX, so the
  // line stays valid UTF-8); U+2028/U+2029 are valid JSON but line breaks to some readers.
  const out = JSON.stringify(s);
  return out.includes('\u2028') || out.includes('\u2029') ? out.replace(JS_LINE_SEPARATORS, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029')) : out;
}

function jsonNumber(n: number | null): string {
  return n === null ? 'null' : '' + n;
}

// '', '.001', ..., '.01', ..., '.999': the fraction of a millisecond count, trailing zeros trimmed.
const FRACTIONS: readonly string[] = Array.from({ length: 1000 }, (_, i) => (i === 0 ? '' : ('.' + String(i).padStart(3, '0')).replace(/0+$/, '')));

/**
 * Milliseconds with up to 3 decimals as text: integer arithmetic and a table
 * instead of double-to-string, the most expensive step of a line otherwise.
 * Same value as String(millis(d)) for durations below 2^53 µs.
 */
export function millisText(d: number, absent: string): string {
  if (!(d >= 0 && d < 9e12)) return d >= 9e12 && d < Number.POSITIVE_INFINITY ? '' + Math.round(d) : absent;
  const micros = Math.round(d * 1000);
  const whole = Math.floor(micros / 1000);
  return whole + (FRACTIONS[micros - whole * 1000] as string);
}

function upstreamMillisText(r: ExchangeRecord, absent: string): string {
  return r.upstreamStartedAt > 0 && r.upstreamHeadAt > 0 ? millisText(r.upstreamHeadAt - r.upstreamStartedAt, absent) : absent;
}

// Values from small sets skip the scan.
function jsonMethod(m: string): string {
  switch (m) {
    case 'GET': return '"GET"';
    case 'POST': return '"POST"';
    case 'HEAD': return '"HEAD"';
    case 'PUT': return '"PUT"';
    case 'DELETE': return '"DELETE"';
    case 'PATCH': return '"PATCH"';
    case 'OPTIONS': return '"OPTIONS"';
    default: return jsonString(m);
  }
}

function jsonProtocol(p: string): string {
  switch (p) {
    case 'HTTP/1.1': return '"HTTP/1.1"';
    case 'HTTP/2': return '"HTTP/2"';
    case 'HTTP/1.0': return '"HTTP/1.0"';
    default: return jsonString(p);
  }
}

function jsonTls(t: string): string {
  switch (t) {
    case '': return 'null';
    case 'TLSv1.3': return '"TLSv1.3"';
    case 'TLSv1.2': return '"TLSv1.2"';
    default: return jsonString(t);
  }
}

// The namespace/ingress/service part of a line, once per RouteRef (they are
// built once per route when the table is compiled and shared by its requests).
const routeFragments = new WeakMap<RouteRef, string>();
const NO_ROUTE = ',"namespace":null,"ingress":null,"service":null';

export function jsonRoute(route: RouteRef | null): string {
  if (route === null) return NO_ROUTE;
  let f = routeFragments.get(route);
  if (f === undefined) {
    f = ',"namespace":' + jsonString(route.namespace) + ',"ingress":' + jsonString(route.ingress) + ',"service":' + jsonString(route.service);
    routeFragments.set(route, f);
  }
  return f;
}

function formatJson(r: ExchangeRecord): string {
  const time = formatIsoTime(r.startedWall);
  return '{"time":' + (time === null ? 'null' : '"' + time + '"') +
    ',"client":' + jsonString(r.clientAddress) +
    ',"host":' + jsonString(r.host) +
    ',"method":' + jsonMethod(r.method) +
    ',"path":' + jsonString(withoutQuery(r.path)) +
    ',"protocol":' + jsonProtocol(r.protocol) +
    ',"status":' + jsonNumber(intOf(r.status)) +
    ',"bytes_received":' + jsonNumber(intOf(r.bytesIn)) +
    ',"bytes_sent":' + jsonNumber(intOf(r.bytesOut)) +
    ',"duration_ms":' + millisText(r.endedAt - r.startedAt, 'null') +
    ',"upstream_duration_ms":' + upstreamMillisText(r, 'null') +
    ',"upstream":' + jsonString(r.upstream) +
    jsonRoute(r.route) +
    ',"request_id":' + jsonString(r.requestId) +
    ',"tls":' + jsonTls(r.tls) +
    ',"trace_id":' + jsonString(r.traceId) +
    '}';
}

const JSON_FORMATTER: AccessLogFormatter = Object.freeze({
  kind: 'json' as const,
  variables: ACCESS_LOG_VARIABLES,
  format: formatJson,
});

// ---------------------------------------------------------------------------
// Templates

const HEX = '0123456789abcdef';

function needsTemplateEscape(c: number): boolean {
  // C0 controls, '"', '\', DEL and C1 controls.
  return c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0x7f && c <= 0x9f);
}

/** A template value: '-' for '', control characters, '"' and '\' as \xHH. */
export function templateValue(s: string): string {
  if (s.length === 0) return '-';
  if (s.length > MAX_VALUE_CHARS) s = truncate(s);
  let i = 0;
  for (; i < s.length; i++) if (needsTemplateEscape(s.charCodeAt(i))) break;
  if (i === s.length) return s;
  let out = s.slice(0, i);
  let from = i;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!needsTemplateEscape(c)) continue;
    out += s.slice(from, i) + '\\x' + HEX[c >> 4] + HEX[c & 15];
    from = i + 1;
  }
  return out + s.slice(from);
}

function templateNumber(n: number | null): string {
  return n === null ? '-' : '' + n;
}

type Getter = (r: ExchangeRecord) => string;

const TEMPLATE_GETTERS: Readonly<Record<AccessLogVariable, Getter>> = Object.freeze({
  time: (r) => formatIsoTime(r.startedWall) ?? '-',
  client: (r) => templateValue(r.clientAddress),
  host: (r) => templateValue(r.host),
  method: (r) => templateValue(r.method),
  path: (r) => templateValue(withoutQuery(r.path)),
  protocol: (r) => templateValue(r.protocol),
  status: (r) => templateNumber(intOf(r.status)),
  bytes_received: (r) => templateNumber(intOf(r.bytesIn)),
  bytes_sent: (r) => templateNumber(intOf(r.bytesOut)),
  duration_ms: (r) => millisText(r.endedAt - r.startedAt, '-'),
  upstream_duration_ms: (r) => upstreamMillisText(r, '-'),
  upstream: (r) => templateValue(r.upstream),
  namespace: (r) => (r.route === null ? '-' : templateValue(r.route.namespace)),
  ingress: (r) => (r.route === null ? '-' : templateValue(r.route.ingress)),
  service: (r) => (r.route === null ? '-' : templateValue(r.route.service)),
  request_id: (r) => templateValue(r.requestId),
  tls: (r) => templateValue(r.tls),
  trace_id: (r) => templateValue(r.traceId),
});

const VALID_LIST = ACCESS_LOG_VARIABLES.map((v) => '$' + v).join(', ');
const NAME_CHAR = /[A-Za-z0-9_]/;

function isVariable(name: string): name is AccessLogVariable {
  return Object.hasOwn(TEMPLATE_GETTERS, name);
}

function compileTemplate(spec: string): AccessLogFormatter | { error: string } {
  if (spec.length === 0) return { error: `empty access log format; use "json" or a template such as '$client "$method $path" $status'` };
  // Literal text and getters alternate: literals[0] getters[0] literals[1] ... literals[n].
  const literals: string[] = [];
  const getters: Getter[] = [];
  const variables: AccessLogVariable[] = [];
  let literal = '';
  let i = 0;
  while (i < spec.length) {
    const c = spec.charCodeAt(i);
    if (c !== 0x24 /* $ */) {
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
        return { error: `access log format must be one line: control character 0x${c.toString(16).padStart(2, '0')} at position ${i}` };
      }
      literal += spec[i];
      i++;
      continue;
    }
    const next = spec[i + 1];
    let name: string;
    if (next === '$') {
      literal += '$';
      i += 2;
      continue;
    } else if (next === '{') {
      const close = spec.indexOf('}', i + 2);
      if (close === -1) return { error: `unterminated "\${" at position ${i} in access log format` };
      name = spec.slice(i + 2, close);
      if (name.length === 0) return { error: `empty variable name "\${}" at position ${i} in access log format; valid variables: ${VALID_LIST}` };
      i = close + 1;
    } else {
      let end = i + 1;
      while (end < spec.length && NAME_CHAR.test(spec[end] as string)) end++;
      if (end === i + 1) {
        return { error: `"$" at position ${i} is not followed by a variable name (write "$$" for a literal dollar); valid variables: ${VALID_LIST}` };
      }
      name = spec.slice(i + 1, end);
      i = end;
    }
    if (!isVariable(name)) return { error: `unknown access log variable "$${name}"; valid variables: ${VALID_LIST}` };
    literals.push(literal);
    literal = '';
    getters.push(TEMPLATE_GETTERS[name]);
    variables.push(name);
  }
  literals.push(literal);
  if (getters.length === 0) {
    // Most likely the shell expanded the variables away ("$status" in double quotes).
    return { error: `access log format ${JSON.stringify(spec)} has no variables (quote it in single quotes so the shell does not expand them); use "json" or a template with ${VALID_LIST}` };
  }
  const n = getters.length;
  const first = literals[0] as string;
  const format = (r: ExchangeRecord): string => {
    let out = first;
    for (let k = 0; k < n; k++) out += (getters[k] as Getter)(r) + (literals[k + 1] as string);
    return out;
  };
  return Object.freeze({ kind: 'template' as const, variables: Object.freeze(variables), format });
}
