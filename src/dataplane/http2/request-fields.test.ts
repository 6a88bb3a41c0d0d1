// The HTTP/2 request and trailer checks (RFC 9113 §8.2, §8.3; §8.5 for
// CONNECT): every header list the server hands on has passed them, so
// whatever they accept must be safe to read and to forward. Table-driven:
// each row is [description, fields, expected], expected being null
// (well-formed) or a substring of the problem reported. Then what they fill
// in `out`, and two properties (fast-check): lists built only from valid
// parts are accepted with :path read back unchanged, and inserting any one
// invalid element anywhere in such a list makes it malformed.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { checkRequestFields, checkTrailerFields, type RequestPseudo } from './request-fields.ts';

type Row = readonly [description: string, fields: readonly string[], expected: string | null];

/** A request with every pseudo-field; `extra` follows as [name, value, ...]. */
function req(method: string, path: string, ...extra: string[]): string[] {
  return [':method', method, ':scheme', 'https', ':authority', 'example.test', ':path', path, ...extra];
}
/** A GET for "/" with `extra` fields. */
function get(...extra: string[]): string[] {
  return req('GET', '/', ...extra);
}
function freshOut(): RequestPseudo {
  return { method: '', path: '', contentLength: -1 };
}
function hex2(c: number): string {
  return `0x${c.toString(16).padStart(2, '0')}`;
}
function check(fields: readonly string[], expected: string | null, got: string | null): void {
  if (expected === null) {
    assert.equal(got, null, `accepted (${JSON.stringify(fields)})`);
  } else {
    assert.notEqual(got, null, `refused (${JSON.stringify(fields)})`);
    assert.ok(got!.includes(expected), `problem ${JSON.stringify(got)} should name ${JSON.stringify(expected)}`);
  }
}

const CONNECTION_SPECIFIC = ['connection', 'proxy-connection', 'keep-alive', 'transfer-encoding', 'upgrade'];
/** Every C0 control but HTAB, and DEL: never allowed in a value. */
const CONTROLS = [...Array.from({ length: 0x20 }, (_, c) => c).filter((c) => c !== 0x09), 0x7f];
const LATIN1_HIGH = String.fromCharCode(...Array.from({ length: 0x80 }, (_, k) => 0x80 + k));

const REQUEST_ROWS: Row[] = [
  // Well-formed requests.
  ['minimal GET', [':method', 'GET', ':scheme', 'https', ':path', '/'], null],
  ['GET with :authority and regular fields', get('accept', '*/*', 'user-agent', 'test/1.0'), null],
  ['pseudo-fields in any order', [':path', '/', ':authority', 'example.test', ':scheme', 'http', ':method', 'GET'], null],
  ['path with a query and empty segments', req('GET', '//a/./b?c=d&e=%20'), null],
  ['method is case-sensitive: lowercase "get" is a token', req('get', '/'), null],
  ['extension method of token characters', req("M-SEARCH!#$%&'*+.^_`|~", '/'), null],
  ['POST with content-length', req('POST', '/upload', 'content-length', '42'), null],
  ['content-length 0', req('POST', '/', 'content-length', '0'), null],
  ['content-length with leading zeros', req('POST', '/', 'content-length', '007'), null],
  ['content-length of 15 digits', req('POST', '/', 'content-length', '999999999999999'), null],
  ['OPTIONS with :path "*"', req('OPTIONS', '*'), null],
  ['CONNECT with only :authority', [':method', 'CONNECT', ':authority', 'example.test:443'], null],
  ['te: trailers', get('te', 'trailers'), null],
  ['HTAB inside a value', get('x-v', 'a\tb'), null],
  ['SP inside a value', get('x-v', 'a b  c'), null],
  ['latin1 bytes 0x80-0xff in a value', get('x-v', LATIN1_HIGH), null],
  ['latin1 value made only of 0xa0 (NBSP is not whitespace here)', get('x-v', '\xa0'), null],
  ['empty value', get('x-empty', ''), null],
  ['empty :authority value', [':method', 'GET', ':scheme', 'https', ':authority', '', ':path', '/'], null],
  ['names using every lowercase token character', get("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz", 'v'), null],
  ['names close to forbidden ones', get('connections', '1', 'x-upgrade', '1', 'tea', 'gzip', 'content-lengths', 'x'), null],

  // :path and the method.
  ['GET with :path "*"', req('GET', '*'), '":path *" without OPTIONS'],
  ['HEAD with :path "*"', req('HEAD', '*'), '":path *" without OPTIONS'],
  ['OPTIONS with :path "**"', req('OPTIONS', '**'), ':path not starting with "/"'],
  [':path not starting with "/"', req('GET', 'index.html'), ':path not starting with "/"'],
  [':path in absolute form', req('GET', 'https://example.test/'), ':path not starting with "/"'],
  [':path in authority form', req('GET', 'example.test:443'), ':path not starting with "/"'],
  ['SP in :path', req('GET', '/a b'), 'invalid character in :path'],
  ['HTAB in :path', req('GET', '/a\tb'), 'invalid character in :path'],
  ['a control character in :path', req('GET', '/a\x01b'), 'invalid value of :path'],
  ['DEL in :path', req('GET', '/a\x7fb'), 'invalid value of :path'],
  ['a latin1 byte in :path', req('GET', '/caf\xe9'), 'invalid character in :path'],
  ['method with SP', req('GE T', '/'), 'invalid :method'],
  ['method with "("', req('GET(', '/'), 'invalid :method'],
  ['method with "/"', req('GET/1', '/'), 'invalid :method'],
  ['method with a latin1 byte', req('G\xc9T', '/'), 'invalid :method'],

  // CONNECT (§8.5).
  ['CONNECT with :path', [':method', 'CONNECT', ':authority', 'example.test:443', ':path', '/'], 'CONNECT with :scheme or :path'],
  ['CONNECT with :scheme', [':method', 'CONNECT', ':authority', 'example.test:443', ':scheme', 'https'], 'CONNECT with :scheme or :path'],
  ['CONNECT with :scheme and :path (a full request)', req('CONNECT', '/'), 'CONNECT with :scheme or :path'],
  // §8.5: ":authority ... contains the host and port to connect to"; "a
  // CONNECT request that does not conform to these restrictions is malformed".
  ['CONNECT without :authority', [':method', 'CONNECT'], 'CONNECT'],

  // Missing or empty pseudo-fields.
  ['no pseudo-fields at all', [], 'no :method'],
  ['missing :method', [':scheme', 'https', ':authority', 'example.test', ':path', '/'], 'no :method'],
  ['empty :method', req('', '/'), 'no :method'],
  ['missing :scheme', [':method', 'GET', ':authority', 'example.test', ':path', '/'], 'no :scheme'],
  ['empty :scheme', [':method', 'GET', ':scheme', '', ':path', '/'], 'no :scheme'],
  ['missing :path', [':method', 'GET', ':scheme', 'https', ':authority', 'example.test'], 'no :path'],
  ['empty :path', req('GET', ''), 'no :path'],

  // Repeated, unknown and misplaced pseudo-fields.
  ['duplicate :method', [':method', 'GET', ...req('GET', '/')], 'repeated :method'],
  ['duplicate :method with another value', [':method', 'GET', ':method', 'POST', ':scheme', 'https', ':path', '/'], 'repeated :method'],
  ['duplicate :scheme', [':method', 'GET', ':scheme', 'https', ':scheme', 'https', ':path', '/'], 'repeated :scheme'],
  ['duplicate :authority', [':method', 'GET', ':scheme', 'https', ':authority', 'a', ':authority', 'a', ':path', '/'], 'repeated :authority'],
  ['duplicate :path', [':method', 'GET', ':scheme', 'https', ':path', '/', ':path', '/'], 'repeated :path'],
  ['unknown pseudo-field', [':foo', 'bar', ...get()], 'unknown pseudo-field :foo'],
  ['response pseudo-field :status in a request', [':status', '200', ...get()], 'unknown pseudo-field :status'],
  ['a bare ":" as name', [...get().slice(0, 6), ':', 'x', ':path', '/'], 'unknown pseudo-field'],
  ['uppercase pseudo-field :METHOD', [':METHOD', 'GET', ':scheme', 'https', ':path', '/'], 'unknown pseudo-field :METHOD'],
  [':protocol (extended CONNECT is not offered)', [':method', 'CONNECT', ':protocol', 'websocket', ':scheme', 'https', ':authority', 'example.test', ':path', '/chat'], 'unknown pseudo-field :protocol'],
  [':protocol on a GET', [':method', 'GET', ':protocol', 'websocket', ':scheme', 'https', ':path', '/'], 'unknown pseudo-field :protocol'],
  ['pseudo-field after a regular field', [':method', 'GET', ':scheme', 'https', 'accept', '*/*', ':path', '/'], 'pseudo-field :path after a regular field'],
  ['pseudo-field after the last regular field', [...get('accept', '*/*'), ':authority', 'x'], 'pseudo-field :authority after a regular field'],

  // Names.
  ['empty name', get('', 'x'), 'empty field name'],
  ['uppercase letter in a name', get('Accept', '*/*'), 'invalid field name "Accept"'],
  ['one uppercase letter inside a name', get('x-Forwarded-for', '1'), 'invalid field name'],
  ['SP in a name', get('x y', '1'), 'invalid field name'],
  ['colon inside a name', get('x:y', '1'), 'invalid field name'],
  ['non-token character in a name', get('x"y', '1'), 'invalid field name'],
  ['latin1 byte in a name', get('caf\xe9', '1'), 'invalid field name'],
  ['control character in a name', get('x\ny', '1'), 'invalid field name'],
  ...CONNECTION_SPECIFIC.map((name): Row => [`connection-specific ${name}`, get(name, 'close'), `connection-specific field ${name}`]),
  ['connection-specific field with an empty value', get('upgrade', ''), 'connection-specific field upgrade'],
  ['te: gzip', get('te', 'gzip'), 'te other than "trailers"'],
  ['te: trailers, gzip', get('te', 'trailers, gzip'), 'te other than "trailers"'],
  ['te: Trailers (not the exact token)', get('te', 'Trailers'), 'te other than "trailers"'],
  ['te with an empty value', get('te', ''), 'te other than "trailers"'],

  // content-length.
  ['two equal content-length fields', req('POST', '/', 'content-length', '5', 'content-length', '5'), 'content-length'],
  ['two different content-length fields', req('POST', '/', 'content-length', '5', 'content-length', '6'), 'content-length'],
  ['content-length not all digits', req('POST', '/', 'content-length', '1a'), 'content-length'],
  ['content-length as a list', req('POST', '/', 'content-length', '5, 5'), 'content-length'],
  ['content-length with a decimal point', req('POST', '/', 'content-length', '1.0'), 'content-length'],
  ['content-length in hex', req('POST', '/', 'content-length', '0x10'), 'content-length'],
  ['negative content-length', req('POST', '/', 'content-length', '-1'), 'content-length'],
  ['content-length with a plus sign', req('POST', '/', 'content-length', '+1'), 'content-length'],
  ['content-length of 16 digits', req('POST', '/', 'content-length', '1000000000000000'), 'content-length'],
  ['empty content-length', req('POST', '/', 'content-length', ''), 'content-length'],
  ['content-length of non-ASCII digits', req('POST', '/', 'content-length', '\u0661'), 'content-length'],

  // Values.
  ...CONTROLS.map((c): Row => [`${hex2(c)} inside a value`, get('x-v', `a${String.fromCharCode(c)}b`), 'invalid value of x-v']),
  ['NUL alone as a value', get('x-v', '\0'), 'invalid value of x-v'],
  ['CRLF at the end of a value', get('x-v', 'a\r\n'), 'invalid value of x-v'],
  ['LF in a pseudo-field value', [':method', 'GET', ':scheme', 'https', ':authority', 'a\nb', ':path', '/'], 'invalid value of :authority'],
  ['CR in :method', req('GET\r', '/'), 'invalid value of :method'],
  ['leading SP', get('x-v', ' a'), 'invalid value of x-v'],
  ['trailing SP', get('x-v', 'a '), 'invalid value of x-v'],
  ['leading HTAB', get('x-v', '\ta'), 'invalid value of x-v'],
  ['trailing HTAB', get('x-v', 'a\t'), 'invalid value of x-v'],
  ['a value of one SP', get('x-v', ' '), 'invalid value of x-v'],
  ['a value of one HTAB', get('x-v', '\t'), 'invalid value of x-v'],
  ['leading SP in :path', req('GET', ' /'), 'invalid value of :path'],
  ['trailing SP in content-length', req('POST', '/', 'content-length', '5 '), 'invalid value of content-length'],
];

describe('checkRequestFields: table', () => {
  for (const [description, fields, expected] of REQUEST_ROWS) {
    test(description, () => {
      check(fields, expected, checkRequestFields(fields, freshOut()));
    });
  }
});

describe('checkRequestFields: what it fills in', () => {
  test('a minimal GET', () => {
    const out = freshOut();
    assert.equal(checkRequestFields([':method', 'GET', ':scheme', 'https', ':path', '/a?b'], out), null);
    assert.deepEqual(out, { method: 'GET', path: '/a?b', contentLength: -1 });
  });

  test('content-length is read as a number', () => {
    for (const [value, n] of [
      ['42', 42],
      ['0', 0],
      ['007', 7],
      ['999999999999999', 999_999_999_999_999],
    ] as const) {
      const out = freshOut();
      assert.equal(checkRequestFields(req('POST', '/upload', 'content-length', value), out), null);
      assert.equal(typeof out.contentLength, 'number');
      assert.equal(out.contentLength, n);
      assert.equal(out.method, 'POST');
      assert.equal(out.path, '/upload');
    }
  });

  test('OPTIONS "*" keeps "*" as the path', () => {
    const out = freshOut();
    assert.equal(checkRequestFields(req('OPTIONS', '*'), out), null);
    assert.deepEqual(out, { method: 'OPTIONS', path: '*', contentLength: -1 });
  });

  test('CONNECT: the path is empty, whatever `out` held before', () => {
    const out: RequestPseudo = { method: 'stale', path: '/stale', contentLength: 99 };
    assert.equal(checkRequestFields([':method', 'CONNECT', ':authority', 'example.test:443'], out), null);
    assert.deepEqual(out, { method: 'CONNECT', path: '', contentLength: -1 });
  });
});

const TRAILER_ROWS: Row[] = [
  ['no trailers', [], null],
  ['plain trailers', ['grpc-status', '0', 'grpc-message', 'all good', 'x-checksum', 'sha256=abc'], null],
  ['latin1 bytes and inner HTAB in a trailer value', ['x-v', `a\tb${LATIN1_HIGH}`], null],
  ['empty trailer value', ['x-empty', ''], null],
  ['pseudo-field :path', ['x-a', '1', ':path', '/'], 'pseudo-field :path'],
  ['pseudo-field :status', [':status', '200'], 'pseudo-field :status'],
  ['pseudo-field :method first', [':method', 'GET', 'x-a', '1'], 'pseudo-field :method'],
  ['empty name (any problem)', ['', 'x'], ''],
  ['uppercase name', ['Grpc-Status', '0'], 'invalid field name "Grpc-Status"'],
  ['SP in a name', ['x y', '0'], 'invalid field name'],
  ['NUL in a value', ['x-v', 'a\0b'], 'invalid value of x-v'],
  ['CR in a value', ['x-v', 'a\rb'], 'invalid value of x-v'],
  ['LF in a value', ['x-v', 'a\nb'], 'invalid value of x-v'],
  ['DEL in a value', ['x-v', 'a\x7fb'], 'invalid value of x-v'],
  ['leading SP in a value', ['x-v', ' a'], 'invalid value of x-v'],
  ['trailing HTAB in a value', ['x-v', 'a\t'], 'invalid value of x-v'],
  ['bad value after good trailers', ['x-a', '1', 'x-b', '2', 'x-c', 'bad\x01'], 'invalid value of x-c'],
  // §8.2.2: "any message containing connection-specific header fields MUST
  // be treated as malformed"; trailers are part of the message, and the
  // module's own doc promises "the same name and value rules as the head".
  ...CONNECTION_SPECIFIC.map((name): Row => [`connection-specific ${name}`, [name, 'close'], 'connection-specific']),
];

describe('checkTrailerFields: table', () => {
  for (const [description, fields, expected] of TRAILER_ROWS) {
    test(description, () => {
      check(fields, expected, checkTrailerFields(fields));
    });
  }
});

// Properties -------------------------------------------------------------------------------------

const TCHAR_LOWER = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz";
const TCHAR = `${TCHAR_LOWER}ABCDEFGHIJKLMNOPQRSTUVWXYZ`;
/** Names that are valid only with particular values (te, content-length) or never. */
const SPECIAL_NAMES = new Set([...CONNECTION_SPECIFIC, 'te', 'content-length']);

const nameArb: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ unit: fc.constantFrom(...TCHAR_LOWER), minLength: 1, maxLength: 16 }),
    fc.constantFrom('accept', 'accept-encoding', 'cookie', 'host', 'user-agent', 'x-forwarded-for', 'content-type', 'connections', 'tea', 'upgrade-insecure-requests'),
  )
  .filter((name) => !SPECIAL_NAMES.has(name));

const valueCharArb: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0x21, max: 0x7e }) },
    { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
    { weight: 2, arbitrary: fc.constantFrom(0x20, 0x09) },
  )
  .map((c) => String.fromCharCode(c));
/** Valid values: no controls but inner HTAB, no leading or trailing SP/HTAB; may be empty. */
const valueArb: fc.Arbitrary<string> = fc.string({ unit: valueCharArb, maxLength: 24 }).map((v) => v.replace(/^[ \t]+|[ \t]+$/g, ''));

const methodArb: fc.Arbitrary<string> = fc
  .oneof(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'), fc.string({ unit: fc.constantFrom(...TCHAR), minLength: 1, maxLength: 10 }))
  .filter((m) => m !== 'CONNECT');
const pathArb: fc.Arbitrary<string> = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 30 }).map((p) => `/${p}`);

interface ValidRequest {
  fields: string[];
  method: string;
  path: string;
  contentLength: number;
}

const validRequestArb: fc.Arbitrary<ValidRequest> = fc
  .record({
    method: methodArb,
    scheme: fc.constantFrom('http', 'https'),
    authority: fc.option(fc.domain(), { nil: undefined }),
    path: pathArb,
    star: fc.boolean(),
    regular: fc.array(fc.tuple(nameArb, valueArb), { maxLength: 8 }),
    te: fc.boolean(),
    contentLength: fc.option(fc.stringMatching(/^\d{1,15}$/), { nil: undefined }),
  })
  .chain((r) => {
    const path = r.method === 'OPTIONS' && r.star ? '*' : r.path;
    const pseudo: [string, string][] = [
      [':method', r.method],
      [':scheme', r.scheme],
      [':path', path],
    ];
    if (r.authority !== undefined) pseudo.push([':authority', r.authority]);
    const regular: [string, string][] = [...r.regular];
    if (r.te) regular.push(['te', 'trailers']);
    if (r.contentLength !== undefined) regular.push(['content-length', r.contentLength]);
    return fc.tuple(fc.shuffledSubarray(pseudo, { minLength: pseudo.length }), fc.shuffledSubarray(regular, { minLength: regular.length })).map(
      ([p, g]): ValidRequest => ({
        fields: [...p, ...g].flat(),
        method: r.method,
        path,
        contentLength: r.contentLength === undefined ? -1 : Number(r.contentLength),
      }),
    );
  });

/** [what is wrong, name, value]: each is malformed wherever it lands in a valid request. */
const MUTATIONS: readonly (readonly [string, string, string])[] = [
  ...CONNECTION_SPECIFIC.map((name) => [`connection-specific ${name}`, name, 'close'] as const),
  ['te other than trailers', 'te', 'gzip'],
  ['uppercase name', 'X-Upper', '1'],
  ['empty name', '', 'x'],
  ['SP in a name', 'x y', '1'],
  ['colon inside a name', 'x:y', '1'],
  ['NUL in a value', 'x-v', 'a\0b'],
  ['CR in a value', 'x-v', 'a\rb'],
  ['LF in a value', 'x-v', 'a\nb'],
  ['DEL in a value', 'x-v', 'a\x7fb'],
  ['C0 control in a value', 'x-v', '\x1b[0m'],
  ['leading SP', 'x-v', ' a'],
  ['trailing HTAB', 'x-v', 'a\t'],
  ['second :method', ':method', 'GET'],
  ['second :scheme', ':scheme', 'https'],
  ['second :path', ':path', '/'],
  [':protocol', ':protocol', 'websocket'],
  ['unknown pseudo-field', ':x', 'y'],
  ['content-length not digits', 'content-length', 'abc'],
  ['negative content-length', 'content-length', '-1'],
  ['content-length of 16 digits', 'content-length', '1234567890123456'],
  ['empty content-length', 'content-length', ''],
];

describe('checkRequestFields: properties', () => {
  test('lists built from valid parts are accepted, and :path is read back unchanged', () => {
    fc.assert(
      fc.property(validRequestArb, (r) => {
        const out = freshOut();
        assert.equal(checkRequestFields(r.fields, out), null, JSON.stringify(r.fields));
        assert.equal(out.path, r.path);
        assert.equal(out.method, r.method);
        assert.equal(out.contentLength, r.contentLength);
      }),
      { seed: 9113, numRuns: 1000 },
    );
  });

  test('one invalid element inserted anywhere makes the list malformed', () => {
    fc.assert(
      fc.property(validRequestArb, fc.constantFrom(...MUTATIONS), fc.nat(), (r, [what, name, value], at) => {
        const pairs = r.fields.length / 2;
        const k = 2 * (at % (pairs + 1));
        const fields = [...r.fields.slice(0, k), name, value, ...r.fields.slice(k)];
        assert.notEqual(checkRequestFields(fields, freshOut()), null, `${what} at pair ${k / 2}: ${JSON.stringify(fields)}`);
      }),
      { seed: 9113, numRuns: 2000 },
    );
  });
});
