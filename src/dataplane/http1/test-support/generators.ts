// fast-check arbitraries for the differential tests: structurally valid
// HTTP/1.x requests (with the variations real clients and attackers use:
// case, whitespace, absolute-form, chunk-size spellings, extensions,
// trailers, pipelining) and byte-level mutations of them (insert, delete,
// replace, duplicate a line, inject a hostile header, break a CRLF, swap the
// version, truncate). Shared by differential.test.ts and scripts/fuzz-http1.ts.

import fc from 'fast-check';

const pick = <T>(...values: T[]): fc.Arbitrary<T> => fc.constantFrom(...values);
const chars = (pool: string, min: number, max: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...pool.split('')), { minLength: min, maxLength: max }).map((a) => a.join(''));

const PATH_CHARS = "abcXYZ019-._~!$&'()*+,;=:@%/";
const ODD_PATH_CHARS = '\\{}|^`"<>[]';
const VALUE_CHARS = 'abc XYZ 019 ,;=/"()\t\xe9\xff';
const BODY_CHARS = 'ab\r\n0;:\x00\xff';
const TOKEN_CHARS = "abcxyzABC-_019!#$%&'*+.^`|~";

const method = fc.oneof(
  { arbitrary: pick('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'), weight: 12 },
  { arbitrary: pick('PROPFIND', 'QUERY', 'TRACE', 'MKCOL', 'PURGE'), weight: 2 },
  { arbitrary: pick('get', 'CONNECT', 'M-SEARCH', 'BREW', 'PRI'), weight: 1 },
);

const hostName = pick('a', 'example.com', 'EXAMPLE.com', 'www.example.com.', 'a_b.c', '1.2.3.4', '[::1]', '[2001:db8::1]', 'xn--bcher-kva.example');
const port = fc.oneof({ arbitrary: fc.constant(''), weight: 4 }, { arbitrary: pick(':80', ':443', ':8080', ':1'), weight: 1 });
const authority = fc.tuple(hostName, port).map(([h, p]) => h + p);

const originTarget = fc
  .tuple(
    fc.array(fc.oneof({ arbitrary: chars(PATH_CHARS, 0, 6), weight: 8 }, { arbitrary: chars(PATH_CHARS + ODD_PATH_CHARS, 1, 4), weight: 1 }), { minLength: 0, maxLength: 3 }),
    fc.option(chars(`${PATH_CHARS}?`, 0, 8), { nil: undefined }),
  )
  .map(([segments, query]) => `/${segments.join('/')}${query === undefined ? '' : `?${query}`}`);

export interface GeneratedRequest {
  method: string;
  target: string;
  version: string;
  /** [name, value, leading OWS, trailing OWS] */
  headers: Array<[string, string, string, string]>;
  body: GeneratedBody;
}

export type GeneratedBody =
  | { kind: 'none' }
  | { kind: 'length'; data: string; lengthText: string }
  | { kind: 'chunked'; chunks: Array<{ data: string; sizeText: string; ext: string }>; lastExt: string; trailers: Array<[string, string]> };

const ows = fc.oneof({ arbitrary: fc.constant(''), weight: 3 }, { arbitrary: fc.constant(' '), weight: 3 }, { arbitrary: pick('\t', '  ', ' \t'), weight: 1 });

function caseVariant(name: string): fc.Arbitrary<string> {
  return pick(name, name.toLowerCase(), name.toUpperCase());
}

const extraHeader: fc.Arbitrary<[string, string]> = fc.oneof(
  { arbitrary: fc.tuple(caseVariant('X-Test'), chars(VALUE_CHARS, 0, 10)), weight: 4 },
  { arbitrary: fc.tuple(caseVariant('Accept'), pick('*/*', 'text/html, application/json;q=0.9')), weight: 2 },
  { arbitrary: fc.tuple(caseVariant('User-Agent'), pick('curl/8.0', 'Mozilla/5.0 (X11)')), weight: 1 },
  { arbitrary: fc.tuple(caseVariant('Connection'), pick('close', 'keep-alive', 'Keep-Alive', 'upgrade', 'foo, close', 'close, foo', ',close', 'closed')), weight: 2 },
  { arbitrary: fc.tuple(caseVariant('Expect'), pick('100-continue', '100-Continue')), weight: 1 },
  { arbitrary: fc.tuple(caseVariant('Upgrade'), pick('websocket', 'h2c')), weight: 1 },
  { arbitrary: fc.tuple(chars(TOKEN_CHARS, 1, 8), chars(VALUE_CHARS, 0, 6)), weight: 2 },
  { arbitrary: fc.tuple(pick('Cookie', 'X_Under', 'TE', 'Trailer', 'Keep-Alive'), pick('a=b', 'trailers', 'timeout=5')), weight: 1 },
);

const sizeText = (n: number): fc.Arbitrary<string> =>
  fc.tuple(pick('', '', '', '0', '000'), pick(n.toString(16), n.toString(16).toUpperCase())).map(([zeros, hex]) => zeros + hex);
const chunkExt = fc.oneof({ arbitrary: fc.constant(''), weight: 6 }, { arbitrary: pick(';a', ';a=b', ';name="quoted \\" value"', ';a;b=c'), weight: 1 });

const chunk = chars(BODY_CHARS, 1, 12).chain((data) => fc.record({ data: fc.constant(data), sizeText: sizeText(data.length), ext: chunkExt }));

const body: fc.Arbitrary<GeneratedBody> = fc.oneof(
  { arbitrary: fc.constant<GeneratedBody>({ kind: 'none' }), weight: 4 },
  {
    arbitrary: chars(BODY_CHARS, 0, 20).chain((data) =>
      pick(String(data.length), `0${data.length}`).map((lengthText): GeneratedBody => ({ kind: 'length', data, lengthText })),
    ),
    weight: 3,
  },
  {
    arbitrary: fc
      .record({
        chunks: fc.array(chunk, { minLength: 0, maxLength: 3 }),
        lastExt: chunkExt,
        trailers: fc.array(fc.tuple(caseVariant('X-Trailer'), chars(VALUE_CHARS, 0, 6)), { maxLength: 2 }),
      })
      .map((c): GeneratedBody => ({ kind: 'chunked', ...c })),
    weight: 3,
  },
);

/** A request that our parser should accept (before mutation), in a canonical-but-varied spelling. */
export const requestArb: fc.Arbitrary<GeneratedRequest> = fc
  .record({
    method,
    version: fc.oneof({ arbitrary: fc.constant('HTTP/1.1'), weight: 6 }, { arbitrary: fc.constant('HTTP/1.0'), weight: 1 }),
    targetKind: fc.oneof({ arbitrary: fc.constant('origin'), weight: 8 }, { arbitrary: pick('absolute', 'asterisk'), weight: 1 }),
    origin: originTarget,
    scheme: pick('http', 'https', 'HTTP'),
    host: authority,
    hostName: caseVariant('Host'),
    hostPosition: fc.nat(),
    extra: fc.array(fc.tuple(extraHeader, ows, ows), { maxLength: 5 }),
    hostOws: fc.tuple(ows, ows),
    body,
  })
  .map((r): GeneratedRequest => {
    const target = r.targetKind === 'absolute' ? `${r.scheme}://${r.host}${r.origin}` : r.targetKind === 'asterisk' ? '*' : r.origin;
    const headers: GeneratedRequest['headers'] = r.extra.map(([[n, v], a, b]) => [n, v, a, b]);
    headers.splice(r.hostPosition % (headers.length + 1), 0, [r.hostName, r.host, r.hostOws[0], r.hostOws[1]]);
    const version = r.body.kind === 'chunked' ? 'HTTP/1.1' : r.version;
    return { method: r.method, target, version, headers, body: r.body };
  });

/** The bytes of a generated request, as a latin1 string. */
export function renderRequest(r: GeneratedRequest): string {
  let s = `${r.method} ${r.target} ${r.version}\r\n`;
  for (const [name, value, pre, post] of r.headers) s += `${name}:${pre}${value}${value === '' ? '' : post}\r\n`;
  const b = r.body;
  if (b.kind === 'length') s += `Content-Length: ${b.lengthText}\r\n\r\n${b.data}`;
  else if (b.kind === 'chunked') {
    s += 'Transfer-Encoding: chunked\r\n\r\n';
    for (const c of b.chunks) s += `${c.sizeText}${c.ext}\r\n${c.data}\r\n`;
    s += `0${b.lastExt}\r\n`;
    for (const [n, v] of b.trailers) s += `${n}: ${v}\r\n`;
    s += '\r\n';
  } else s += '\r\n';
  return s;
}

const INTERESTING_BYTES = ['\r', '\n', ' ', '\t', '\x00', '\x0b', '\x0c', '\x7f', '\x80', '\xff', ':', ',', ';', '=', '"', '#', '-', '+', '0', '9', 'a', 'A', 'x'];

const HOSTILE_HEADERS = [
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: Chunked',
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: identity, chunked',
  'Transfer-Encoding: ,chunked',
  'Transfer-Encoding: xchunked',
  'Transfer-Encoding: gzip, chunked',
  'Transfer-Encoding:\tchunked',
  'Transfer-Encoding : chunked',
  ' Transfer-Encoding: chunked',
  'Transfer-Encoding: \x0bchunked',
  'Transfer-Encoding: chunked\x00',
  'Transfer-Encoding:\r\n chunked',
  'Content-Length: 0',
  'Content-Length: 3',
  'Content-Length: 3, 3',
  'Content-Length: +3',
  'Content-Length: 0x3',
  'Content-Length:  03 ',
  'Content-Length : 3',
  'Content-Length: 99999999999999999999',
  'Host: b',
  'Host: a:80',
  'Host: a b',
  'Host:',
  'Expect: 100-continue',
  'Expect: y 100-continue',
  'Expect: 100-continue, foo',
  'Connection: close',
  'Connection: keep-alive',
  'Connection: upgrade',
  'Connection: close x',
  'Upgrade: websocket',
  'X: a\r\n b',
  'X: a\rb',
  'X: a\nb',
];

export type Mutation =
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number; count: number }
  | { op: 'replace'; at: number; text: string }
  | { op: 'duplicate-line'; line: number }
  | { op: 'inject-header'; line: number; header: string }
  | { op: 'break-crlf'; nth: number; into: string }
  | { op: 'version'; into: string }
  | { op: 'case'; at: number; count: number }
  | { op: 'truncate'; at: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...INTERESTING_BYTES) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), text: fc.constantFrom(...INTERESTING_BYTES) }),
  fc.record({ op: fc.constant('duplicate-line' as const), line: fc.nat() }),
  fc.record({ op: fc.constant('inject-header' as const), line: fc.nat(), header: fc.constantFrom(...HOSTILE_HEADERS) }),
  fc.record({ op: fc.constant('break-crlf' as const), nth: fc.nat(), into: pick('\n', '\r', '\r\r\n', '\n\r', '\r\n\r\n', ' \r\n') }),
  fc.record({ op: fc.constant('version' as const), into: pick('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/0.9', 'http/1.1', 'HTTP/1.1 ', 'HTTP/1.10', '') }),
  fc.record({ op: fc.constant('case' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

/** Applies a mutation; positions wrap around the current length so shrinking stays meaningful. */
export function applyMutation(s: string, m: Mutation): string {
  const n = s.length;
  switch (m.op) {
    case 'insert': {
      const at = m.at % (n + 1);
      return s.slice(0, at) + m.text + s.slice(at);
    }
    case 'delete': {
      if (n === 0) return s;
      const at = m.at % n;
      return s.slice(0, at) + s.slice(at + m.count);
    }
    case 'replace': {
      if (n === 0) return s;
      const at = m.at % n;
      return s.slice(0, at) + m.text + s.slice(at + 1);
    }
    case 'duplicate-line': {
      const starts = lineStarts(s);
      if (starts.length < 2) return s;
      const k = m.line % (starts.length - 1);
      const line = s.slice(starts[k], starts[k + 1]);
      return s.slice(0, starts[k + 1]) + line + s.slice(starts[k + 1]);
    }
    case 'inject-header': {
      // after the request line or any later header line of the first head
      const starts = lineStarts(s);
      const headEnd = s.indexOf('\r\n\r\n');
      const candidates = starts.filter((p) => p > 0 && (headEnd === -1 || p <= headEnd + 2));
      if (candidates.length === 0) return s;
      const at = candidates[m.line % candidates.length]!;
      return `${s.slice(0, at)}${m.header}\r\n${s.slice(at)}`;
    }
    case 'break-crlf': {
      const positions: number[] = [];
      for (let i = s.indexOf('\r\n'); i !== -1; i = s.indexOf('\r\n', i + 2)) positions.push(i);
      if (positions.length === 0) return s;
      const at = positions[m.nth % positions.length]!;
      return s.slice(0, at) + m.into + s.slice(at + 2);
    }
    case 'version': {
      const lineEnd = s.indexOf('\r\n');
      const sp = s.lastIndexOf(' ', lineEnd === -1 ? n : lineEnd);
      if (sp === -1 || lineEnd === -1) return s;
      return s.slice(0, m.into === '' ? sp : sp + 1) + m.into + s.slice(lineEnd);
    }
    case 'case': {
      if (n === 0) return s;
      const at = m.at % n;
      const part = s.slice(at, at + m.count);
      const flipped = part.replace(/[a-zA-Z]/g, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()));
      return s.slice(0, at) + flipped + s.slice(at + m.count);
    }
    case 'truncate':
      return s.slice(0, m.at % (n + 1));
    default:
      return s;
  }
}

function lineStarts(s: string): number[] {
  const starts = [0];
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

export interface StreamCase {
  requests: GeneratedRequest[];
  mutations: Mutation[];
  /** Seed for the random piece sizes of the incrementality check. */
  cutSeed: number;
}

/** One to three pipelined requests, with zero to three mutations over the whole stream. */
export const streamArb: fc.Arbitrary<StreamCase> = fc.record({
  requests: fc.array(requestArb, { minLength: 1, maxLength: 3 }),
  mutations: fc.oneof({ arbitrary: fc.constant([] as Mutation[]), weight: 1 }, { arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }), weight: 3 }),
  cutSeed: fc.nat(),
});

export function renderStream(c: StreamCase): string {
  let s = c.requests.map(renderRequest).join('');
  for (const m of c.mutations) s = applyMutation(s, m);
  return s;
}
