// Request smuggling and desync through a real proxy (security.md R5, R6):
// every ambiguous framing or malformed head is answered with one error
// response and a closed connection, and the lenient backend behind the proxy
// sees exactly zero requests (or exactly the one legitimate request). Run on
// both HTTP/1.1 engines; where the node engine (llhttp) is weaker, the case
// says so in `node` and docs/security-tests.md lists it.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HTTP1_ENGINES, type RunningProxy, startProxy } from '../../src/dataplane/proxy/test-support/harness.ts';
import { type CountingBackend, headerOf, rawSend, req, startCountingBackend } from './support.ts';

interface Expect {
  /** The one response status the client gets; null: the connection is cut without an answer. */
  readonly status: number | null;
  /** The proxy closes the connection after it. */
  readonly closed: boolean;
  /** Complete requests the backend parsed, by URL. */
  readonly backend: readonly string[];
}

interface Case {
  readonly name: string;
  readonly payload: string;
  readonly expect: Expect;
  /** What the node engine does instead, when it differs (weaker or another status). */
  readonly node?: Expect;
  /** Give up waiting for an answer after this long (cases where the proxy rightly waits for more bytes). */
  readonly timeoutMs?: number;
}

const REJECT_400: Expect = { status: 400, closed: true, backend: [] };
/** node:http reports a body error after the request was dispatched: the proxy can only cut the connection. */
const NODE_CUT: Expect = { status: null, closed: true, backend: [] };
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n';

export const SMUGGLING_CASES: readonly Case[] = [
  // Content-Length and Transfer-Encoding together (CL.TE / TE.CL)
  { name: 'CL.TE: Content-Length then Transfer-Encoding', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Content-Length: 4', 'Transfer-Encoding: chunked') + '0\r\n\r\n' + SMUGGLED, expect: REJECT_400 },
  { name: 'TE.CL: Transfer-Encoding then Content-Length', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked', 'Content-Length: 50') + '0\r\n\r\n' + SMUGGLED, expect: REJECT_400 },
  { name: 'CL.TE with Content-Length: 0', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Content-Length: 0', 'Transfer-Encoding: chunked') + '5\r\nhello\r\n0\r\n\r\n', expect: REJECT_400 },
  // Transfer-Encoding not exactly "chunked"
  { name: 'TE: chunked, identity (not ending in chunked)', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked, identity') + '0\r\n\r\n', expect: REJECT_400 },
  { name: 'TE: identity', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: identity') + '0\r\n\r\n', expect: REJECT_400, node: NODE_CUT },
  { name: 'TE: xchunked', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: xchunked') + '0\r\n\r\n', expect: REJECT_400, node: NODE_CUT },
  { name: 'TE: chunked, chunked', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked, chunked') + '0\r\n\r\n', expect: REJECT_400 },
  { name: 'TE: two fields, identity then chunked', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: identity', 'Transfer-Encoding: chunked') + '0\r\n\r\n', expect: REJECT_400, node: { status: 200, closed: false, backend: ['/'] } },
  { name: 'TE: two fields, chunked twice', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked') + '0\r\n\r\n', expect: REJECT_400 },
  { name: 'TE: ,chunked (empty first element)', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: ,chunked') + '0\r\n\r\n', expect: REJECT_400, node: { status: 200, closed: false, backend: ['/'] } },
  { name: 'TE: gzip, chunked (a coding we do not implement)', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: gzip, chunked') + '0\r\n\r\n', expect: { status: 501, closed: true, backend: [] }, node: { status: 200, closed: false, backend: ['/'] } },
  { name: 'TE: chunked with a vertical tab', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked\x0b') + '0\r\n\r\n', expect: REJECT_400 },
  { name: 'TE: "chunked" quoted', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: "chunked"') + '0\r\n\r\n', expect: REJECT_400, node: NODE_CUT },
  { name: 'TE on HTTP/1.0', payload: req('POST / HTTP/1.0', 'Host: a.test', 'Transfer-Encoding: chunked') + '0\r\n\r\n' + SMUGGLED, expect: REJECT_400, node: NODE_CUT },
  // obs-fold
  { name: 'obs-fold continuing Transfer-Encoding', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: identity', ' chunked', 'Content-Length: 5') + 'hello', expect: REJECT_400 },
  { name: 'obs-fold in an ordinary header', payload: req('GET / HTTP/1.1', 'Host: a.test', 'X-A: one', '\ttwo'), expect: REJECT_400 },
  { name: 'whitespace before the first header', payload: req('GET / HTTP/1.1', ' Host: a.test'), expect: REJECT_400 },
  // Content-Length games
  { name: 'CL twice, identical', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Content-Length: 5', 'Content-Length: 5') + 'hello', expect: REJECT_400 },
  { name: 'CL twice, conflicting', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Content-Length: 5', 'Content-Length: 41') + 'hello' + SMUGGLED, expect: REJECT_400 },
  { name: 'CL as a list "5, 5"', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Content-Length: 5, 5') + 'hello', expect: REJECT_400 },
  { name: 'CL: +5', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Content-Length: +5') + 'hello', expect: REJECT_400 },
  { name: 'CL: -1', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Content-Length: -1') + 'hello', expect: REJECT_400 },
  { name: 'CL: 0x5', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Content-Length: 0x5') + 'hello', expect: REJECT_400 },
  { name: 'CL: "5 0" (space inside)', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Content-Length: 5 0') + 'hello', expect: REJECT_400 },
  { name: 'CL: 16 digits (overflow)', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Content-Length: 9999999999999999') + 'hello', expect: REJECT_400, node: { status: 413, closed: true, backend: [] } },
  { name: 'CL with whitespace before the colon', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Content-Length : 5') + 'hello', expect: REJECT_400 },
  // chunk-size and chunk-extension abuse (the head is valid and may already be forwarded: the backend must never see a complete request)
  { name: 'chunk size overflow (17 hex digits)', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked') + '1ffffffffffffffff\r\nhello\r\n0\r\n\r\n', expect: REJECT_400, node: NODE_CUT },
  { name: 'chunk size 2^64 wrap to 5', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked') + '10000000000000005\r\nhello\r\n0\r\n\r\n', expect: REJECT_400, node: NODE_CUT },
  { name: 'chunk size garbage', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked') + 'zz\r\nhello\r\n0\r\n\r\n', expect: REJECT_400, node: NODE_CUT },
  { name: 'chunk size 0x5', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked') + '0x5\r\nhello\r\n0\r\n\r\n', expect: REJECT_400, node: NODE_CUT },
  { name: 'chunk size with a leading space', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked') + ' 5\r\nhello\r\n0\r\n\r\n', expect: REJECT_400, node: NODE_CUT },
  { name: 'chunk data longer than its size', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked') + '3\r\nhello\r\n0\r\n\r\n', expect: REJECT_400, node: NODE_CUT },
  { name: 'chunk line ending in bare LF', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked') + '5\nhello\r\n0\r\n\r\n', expect: REJECT_400, node: NODE_CUT },
  { name: 'chunk extension with a bare CR', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked') + '5;a\rb\r\nhello\r\n0\r\n\r\n', expect: REJECT_400, node: NODE_CUT },
  { name: 'chunk extension with spaces', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked') + '5 ; a = b\r\nhello\r\n0\r\n\r\n', expect: REJECT_400, node: NODE_CUT },
  { name: 'chunk extensions over 4 KiB (CVE-2024-22019)', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked') + `1;x=${'a'.repeat(5000)}\r\nh\r\n0\r\n\r\n`, expect: { status: 413, closed: true, backend: [] }, node: { status: 200, closed: false, backend: ['/'] } },
  { name: 'Content-Length in trailers', payload: req('POST / HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked') + '5\r\nhello\r\n0\r\nContent-Length: 41\r\n\r\n' + SMUGGLED, expect: REJECT_400, node: NODE_CUT },
  // line structure and header syntax
  { name: 'bare LF line endings', payload: 'GET / HTTP/1.1\nHost: a.test\n\n', expect: REJECT_400 },
  { name: 'bare LF inside the head', payload: 'GET / HTTP/1.1\r\nHost: a.test\nX-A: b\r\n\r\n', expect: REJECT_400 },
  { name: 'bare CR inside the head', payload: 'GET / HTTP/1.1\r\nHost: a.test\rX-A: b\r\n\r\n', expect: REJECT_400 },
  { name: '\\r\\n\\rX head terminator', payload: 'GET / HTTP/1.1\r\nHost: a.test\r\n\rX\r\n\r\n', expect: REJECT_400 },
  { name: 'whitespace before the colon', payload: req('GET / HTTP/1.1', 'Host: a.test', 'X-A : b'), expect: REJECT_400 },
  { name: 'tab before the colon', payload: req('GET / HTTP/1.1', 'Host: a.test', 'X-A\t: b'), expect: REJECT_400 },
  { name: 'header name with "(" ', payload: req('GET / HTTP/1.1', 'Host: a.test', 'X(A): b'), expect: REJECT_400 },
  { name: 'header name with a control character', payload: req('GET / HTTP/1.1', 'Host: a.test', 'X\x01A: b'), expect: REJECT_400 },
  { name: 'header name with non-ASCII', payload: req('GET / HTTP/1.1', 'Host: a.test', 'X-\xe9: b'), expect: REJECT_400 },
  { name: 'empty header name', payload: req('GET / HTTP/1.1', 'Host: a.test', ': b'), expect: REJECT_400 },
  { name: 'header line without a colon', payload: req('GET / HTTP/1.1', 'Host: a.test', 'X-A b'), expect: REJECT_400 },
  { name: 'NUL in a header value', payload: req('GET / HTTP/1.1', 'Host: a.test', 'X-A: a\x00b'), expect: REJECT_400 },
  { name: 'DEL in a header value', payload: req('GET / HTTP/1.1', 'Host: a.test', 'X-A: a\x7fb'), expect: REJECT_400 },
  { name: 'control character in a header value', payload: req('GET / HTTP/1.1', 'Host: a.test', 'X-A: a\x1bb'), expect: REJECT_400 },
];

/** Legitimate requests that look like smuggling: the backend sees exactly what was meant. */
interface BodyCase {
  readonly name: string;
  readonly payload: string;
  /** Statuses, in order; the connection stays open. */
  readonly statuses: readonly number[];
  /** URL and body of each request the backend parsed. */
  readonly backend: readonly { url: string; body: string; contentLength?: string }[];
}

const SMUGGLE_BODY = `GET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n`;

const BODY_CASES: readonly BodyCase[] = [
  {
    name: 'a request inside a Content-Length body stays body',
    payload: req('POST /upload HTTP/1.1', 'Host: a.test', `Content-Length: ${SMUGGLE_BODY.length}`) + SMUGGLE_BODY,
    statuses: [200],
    backend: [{ url: '/upload', body: SMUGGLE_BODY, contentLength: String(SMUGGLE_BODY.length) }],
  },
  {
    name: 'a request inside a chunked body stays body',
    payload: req('POST /upload HTTP/1.1', 'Host: a.test', 'Transfer-Encoding: chunked') + `${SMUGGLE_BODY.length.toString(16)}\r\n${SMUGGLE_BODY}\r\n0\r\n\r\n`,
    statuses: [200],
    backend: [{ url: '/upload', body: SMUGGLE_BODY }],
  },
  {
    name: 'GET with a body (0.CL bait) is framed by its Content-Length',
    payload: req('GET /a HTTP/1.1', 'Host: a.test', `Content-Length: ${SMUGGLE_BODY.length}`) + SMUGGLE_BODY,
    statuses: [200],
    backend: [{ url: '/a', body: SMUGGLE_BODY, contentLength: String(SMUGGLE_BODY.length) }],
  },
  {
    name: 'Content-Length with leading zeros is re-serialised canonically',
    payload: req('POST /z HTTP/1.1', 'Host: a.test', 'Content-Length: 005') + 'hello',
    statuses: [200],
    backend: [{ url: '/z', body: 'hello', contentLength: '5' }],
  },
  {
    name: 'two pipelined requests are two requests, in order',
    payload: req('GET /one HTTP/1.1', 'Host: a.test', 'Content-Length: 0') + req('GET /two HTTP/1.1', 'Host: a.test'),
    statuses: [200, 200],
    backend: [
      { url: '/one', body: '' },
      { url: '/two', body: '' },
    ],
  },
];

for (const engine of HTTP1_ENGINES) {
  describe(`[${engine}] attacks: request smuggling`, () => {
    let backend: CountingBackend;
    let p: RunningProxy;

    before(async () => {
      backend = await startCountingBackend('a');
      p = await startProxy({ hosts: [{ host: 'a.test', routes: [{ path: '/', cluster: 'a' }] }], clusters: { a: [backend.port] } }, { engine });
    });
    after(async () => {
      await p.close();
      await backend.close();
    });

    for (const c of SMUGGLING_CASES) {
      const expect = engine === 'node' && c.node !== undefined ? c.node : c.expect;
      const weaker = engine === 'node' && c.node !== undefined && c.node.backend.length > 0;
      test(`${c.name} → ${expect.status ?? 'cut'}${expect.closed ? ' + close' : ''}${weaker ? ' (node engine: WEAKER, forwarded)' : ''}`, async () => {
        backend.clear();
        const r = await rawSend(p.port, c.payload, { settleMs: expect.closed ? 2000 : 200, ...(c.timeoutMs === undefined ? {} : { timeoutMs: c.timeoutMs }) });
        assert.deepEqual(r.statuses, expect.status === null ? [] : [expect.status], `statuses; raw: ${JSON.stringify(r.raw.slice(0, 300))}`);
        assert.equal(r.closed, expect.closed, 'connection closed');
        assert.deepEqual(
          backend.seen.map((s) => s.url),
          expect.backend,
          'requests the backend parsed',
        );
        assert.ok(!backend.raw().includes('/smuggled'), 'the smuggled request line never reached the backend');
      });
    }

    for (const c of BODY_CASES) {
      test(c.name, async () => {
        backend.clear();
        const r = await rawSend(p.port, c.payload, { settleMs: 200 });
        assert.deepEqual(r.statuses, c.statuses);
        assert.equal(r.closed, false, 'connection kept');
        assert.deepEqual(
          backend.seen.map((s) => ({ url: s.url, body: s.body.toString('latin1') })),
          c.backend.map((b) => ({ url: b.url, body: b.body })),
        );
        c.backend.forEach((b, i) => {
          if (b.contentLength !== undefined) assert.equal(headerOf(backend.seen[i]!, 'content-length'), b.contentLength);
        });
        assert.ok(!backend.seen.some((s) => s.url === '/smuggled'), 'no request parsed from inside a body');
      });
    }
  });
}
