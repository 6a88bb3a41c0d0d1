// The serialisers: exact bytes, refusal of anything that could inject a line
// or framing, and round trips: serialise → our parser gives back the same
// model (property, fast-check), and serialised requests and responses are
// read identically by node:http (a real server and a real client on
// 127.0.0.1).

import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { ACCEPTED_METHODS } from './methods.ts';
import { CHUNK_END, checkedRequestHead, chunkHeader, LAST_CHUNK, lastChunk, type RequestBody, SerializeError, serializeRequestHead, serializeResponseHead, writeChunkHeader } from './serialize.ts';
import { parseRequests, parseResponses } from './test-support/collect.ts';
import { LlhttpOracle } from './test-support/llhttp-oracle.ts';

describe('serialised bytes', () => {
  test('request head', () => {
    assert.equal(serializeRequestHead('GET', '/a?b', ['Host', 'x', 'Accept', '*/*'], 'none').toString('latin1'), 'GET /a?b HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n');
    assert.equal(serializeRequestHead('POST', '/', ['host', 'x'], 0).toString('latin1'), 'POST / HTTP/1.1\r\nhost: x\r\nContent-Length: 0\r\n\r\n');
    assert.equal(serializeRequestHead('PUT', '/', ['Host', 'x'], 'chunked').toString('latin1'), 'PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
    assert.equal(serializeRequestHead('GET', '/', ['Host', 'x', 'X', 'caf\xe9', 'E', ''], 'none').toString('latin1'), 'GET / HTTP/1.1\r\nHost: x\r\nX: caf\xe9\r\nE: \r\n\r\n');
  });

  test('response head', () => {
    assert.equal(serializeResponseHead(200, ['Server', 'martello'], 5).toString('latin1'), 'HTTP/1.1 200 OK\r\nServer: martello\r\nContent-Length: 5\r\n\r\n');
    assert.equal(serializeResponseHead(204, [], 'none').toString('latin1'), 'HTTP/1.1 204 No Content\r\n\r\n');
    assert.equal(serializeResponseHead(299, [], 'chunked').toString('latin1'), 'HTTP/1.1 299\r\nTransfer-Encoding: chunked\r\n\r\n');
    assert.equal(serializeResponseHead(200, [], 'close', 'Fine').toString('latin1'), 'HTTP/1.1 200 Fine\r\n\r\n');
    assert.equal(serializeResponseHead(304, ['ETag', '"v"'], 42).toString('latin1'), 'HTTP/1.1 304 Not Modified\r\nETag: "v"\r\nContent-Length: 42\r\n\r\n');
    assert.equal(serializeResponseHead(100, [], 'none').toString('latin1'), 'HTTP/1.1 100 Continue\r\n\r\n');
  });

  test('chunk framing', () => {
    assert.equal(chunkHeader(1).toString(), '1\r\n');
    assert.equal(chunkHeader(0x1f00).toString(), '1f00\r\n');
    assert.equal(CHUNK_END.toString(), '\r\n');
    assert.equal(LAST_CHUNK.toString(), '0\r\n\r\n');
    assert.equal(lastChunk(), LAST_CHUNK);
    assert.equal(lastChunk(['X-Digest', 'abc']).toString(), '0\r\nX-Digest: abc\r\n\r\n');
    const buf = Buffer.alloc(20, 0x2e);
    assert.equal(writeChunkHeader(buf, 3, 255), 7);
    assert.equal(buf.toString('latin1', 0, 8), '...ff\r\n.');
  });

  test('anything that could inject a line, a field or framing is refused', () => {
    const bad: Array<() => unknown> = [
      () => serializeRequestHead('GET', '/\r\nX: y', ['Host', 'a'], 'none'),
      () => serializeRequestHead('GET', '/ HTTP/1.1', ['Host', 'a'], 'none'),
      () => serializeRequestHead('GET', '/#f', ['Host', 'a'], 'none'),
      () => serializeRequestHead('GET', '', ['Host', 'a'], 'none'),
      () => serializeRequestHead('G T', '/', ['Host', 'a'], 'none'),
      () => serializeRequestHead('', '/', ['Host', 'a'], 'none'),
      () => serializeRequestHead('GET', '/', ['Host', 'a\r\nX: y'], 'none'),
      () => serializeRequestHead('GET', '/', ['Host', 'a\nb'], 'none'),
      () => serializeRequestHead('GET', '/', ['Host', 'a\x00'], 'none'),
      () => serializeRequestHead('GET', '/', ['Host', 'a', 'X', '\u0100'], 'none'),
      () => serializeRequestHead('GET', '/', ['Host', 'a', 'X', ' padded'], 'none'),
      () => serializeRequestHead('GET', '/', ['Host', 'a', 'X: y', 'z'], 'none'),
      () => serializeRequestHead('GET', '/', ['Host', 'a', 'X Y', 'z'], 'none'),
      () => serializeRequestHead('GET', '/', ['Host', 'a', '', 'z'], 'none'),
      () => serializeRequestHead('GET', '/', ['Host', 'a', 'X'], 'none'),
      () => serializeRequestHead('GET', '/', [], 'none'),
      () => serializeRequestHead('GET', '/', ['Host', 'a', 'host', 'b'], 'none'),
      () => serializeRequestHead('POST', '/', ['Host', 'a', 'Content-Length', '5'], 5),
      () => serializeRequestHead('POST', '/', ['Host', 'a', 'transfer-encoding', 'chunked'], 'chunked'),
      () => serializeRequestHead('POST', '/', ['Host', 'a'], -1),
      () => serializeRequestHead('POST', '/', ['Host', 'a'], 1.5),
      () => serializeResponseHead(99, [], 'none'),
      () => serializeResponseHead(600, [], 'none'),
      () => serializeResponseHead(200, [], 'none', 'OK\r\nX: y'),
      () => serializeResponseHead(204, [], 0),
      () => serializeResponseHead(101, [], 'chunked'),
      () => serializeResponseHead(304, [], 'chunked'),
      () => serializeResponseHead(200, ['Content-Length', '1'], 1),
      () => chunkHeader(0),
      () => chunkHeader(-1),
      () => chunkHeader(2.5),
      () => lastChunk(['Content-Length', '1']),
      () => lastChunk(['Host', 'b']),
      () => lastChunk(['X', 'a\r\nContent-Length: 1']),
    ];
    bad.forEach((f, i) => assert.throws(f, SerializeError, `case ${i}`));
  });
});

const tokenChars = "abcxyzABCXYZ0189-_!#$%&'*+.^`|~".split('');
const token = fc.array(fc.constantFrom(...tokenChars), { minLength: 1, maxLength: 10 }).map((a) => a.join(''));
const valueChars = 'abc XYZ 019,;=/"()\t\xe9\xff'.split('');
const value = fc.array(fc.constantFrom(...valueChars), { maxLength: 12 }).map((a) => a.join('').trim());
const reserved = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'expect', 'upgrade', 'keep-alive', 'te', 'trailer', 'proxy-connection']);
const header = fc.tuple(token.filter((n) => !reserved.has(n.toLowerCase())), value);
const targetChars = "abcXYZ019-._~!$&'()*+,;=:@%/?".split('');
const target = fc.array(fc.constantFrom(...targetChars), { maxLength: 20 }).map((a) => `/${a.join('')}`);
const bodyBytes = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));
const model = fc.record({
  method: fc.constantFrom(...ACCEPTED_METHODS),
  target,
  host: fc.constantFrom('a', 'example.com', '[::1]:8080', 'b.example:443'),
  headers: fc.array(header, { maxLength: 6 }),
  bodyKind: fc.constantFrom('none', 'length', 'chunked'),
  body: bodyBytes,
  pieces: fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 5 }),
  trailers: fc.array(header, { maxLength: 2 }),
});
type Model = typeof model extends fc.Arbitrary<infer T> ? T : never;

/** The request bytes for a model: head from the serialiser, body framed with the chunk helpers. */
function wire(m: Model): { bytes: Buffer; headers: string[]; body: Buffer; trailers: string[] } {
  const headers = ['Host', m.host, ...m.headers.flat()];
  const body = m.bodyKind === 'none' ? Buffer.alloc(0) : m.body;
  if (m.bodyKind === 'chunked') {
    const parts: Buffer[] = [serializeRequestHead(m.method, m.target, headers, 'chunked')];
    let at = 0;
    for (let k = 0; at < body.length; k++) {
      const n = Math.min(body.length - at, m.pieces[k % m.pieces.length]!);
      parts.push(chunkHeader(n), body.subarray(at, at + n), CHUNK_END);
      at += n;
    }
    const trailers = m.trailers.flat();
    parts.push(lastChunk(trailers));
    return { bytes: Buffer.concat(parts), headers: [...headers, 'Transfer-Encoding', 'chunked'], body, trailers };
  }
  const framing = m.bodyKind === 'length' ? body.length : 'none';
  const head = serializeRequestHead(m.method, m.target, headers, framing);
  return { bytes: Buffer.concat([head, body]), headers: m.bodyKind === 'length' ? [...headers, 'Content-Length', String(body.length)] : headers, body, trailers: [] };
}

/** The bytes as latin1, or 'refused' for a SerializeError. */
function outcome(f: () => Buffer): string {
  try {
    return f().toString('latin1');
  } catch (err) {
    assert.ok(err instanceof SerializeError, String(err));
    return 'refused';
  }
}

describe('request head: the ASCII fast path', () => {
  // serializeRequestHead writes ASCII heads with one native write per string
  // and checks the bytes; anything else goes to the char-by-char checks
  // (checkedRequestHead). Both must agree on every input: the same bytes,
  // or both refuse.
  const piece = fc.constantFrom(
    'GET', 'x', 'Host', 'HOST', 'host', 'Content-Length', 'content-LENGTH', 'Transfer-Encoding', 'transfer-encoding', 'hoSt',
    '/', '/a?b=c', '#', ' ', '\t', ':', '\r', '\n', '\0', '\x7f', '\x1f', '\xe9', '\xff', '\x80', '\u0100', '\u017f', '\u{1f600}', 'é', 'a b', '',
  );
  const text = fc.array(piece, { maxLength: 4 }).map((parts) => parts.join(''));
  // Mostly valid heads, so that one bad piece is what decides.
  const mostly = (valid: readonly string[]): fc.Arbitrary<string> => fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...valid) }, { weight: 1, arbitrary: text });
  const anyMethod = mostly(['GET', 'POST', 'M-SEARCH']);
  const anyTarget = mostly(['/', '/a?b=c', '*', 'http://a.test/x']);
  const name = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom('x-a', 'Accept', 'Date', 'X_Y', 'x-forwarded-for') },
    { weight: 1, arbitrary: fc.constantFrom('Host', 'hOST', 'content-length', 'Content-Length', 'Transfer-Encoding', 'TRANSFER-ENCODING') },
    { weight: 1, arbitrary: text },
  );
  const anyValue = fc.oneof({ weight: 1, arbitrary: fc.constantFrom('v', 'a b', '', '\t', 'x\t', ' x') }, { weight: 3, arbitrary: text });
  const body = fc.oneof({ weight: 6, arbitrary: fc.constantFrom<RequestBody[]>('none', 'chunked', 0, 7) }, { weight: 1, arbitrary: fc.constantFrom<RequestBody[]>(-1, 1.5, Number.NaN, 2 ** 53) });

  test('the same bytes as the checked path, or both refuse', () => {
    fc.assert(
      fc.property(anyMethod, anyTarget, fc.array(fc.tuple(name, anyValue), { maxLength: 5 }), fc.nat(9), fc.nat(9), body, (m, t, fields, noHost, odd, b) => {
        const headers = noHost > 0 ? ['Host', 'a.test', ...fields.flat()] : fields.flat();
        if (odd === 0) headers.push('x-odd');
        assert.equal(outcome(() => serializeRequestHead(m, t, headers, b)), outcome(() => checkedRequestHead(m, t, headers, b)));
      }),
      { numRuns: 5000 },
    );
  });

  test('strings node:http2 and concatenation hand out (external, cons, sliced) are written as they read', () => {
    const cons = ['x-a', 'b'].join('') + String(Date.now()).slice(0, 0);
    const sliced = 'padding-padding-padding-padding-value-after'.slice(16);
    const head = serializeRequestHead('GET', '/' + cons, ['Host', 'a', cons, sliced, 'x-b', `${cons}, ${sliced}`], 'none').toString('latin1');
    assert.equal(head, `GET /${cons} HTTP/1.1\r\nHost: a\r\n${cons}: ${sliced}\r\nx-b: ${cons}, ${sliced}\r\n\r\n`);
  });
});

describe('serialiser round trips', () => {
  let oracle: LlhttpOracle;
  before(async () => {
    oracle = await LlhttpOracle.start();
  });
  after(async () => {
    await oracle.close();
  });

  test('serialise → our parser gives the same request', () => {
    fc.assert(
      fc.property(model, (m) => {
        const w = wire(m);
        const run = parseRequests(w.bytes);
        assert.equal(run.outcome, 'clean', run.error?.code ?? '');
        assert.equal(run.messages.length, 1);
        const got = run.messages[0]!;
        assert.equal(got.head.method, m.method);
        assert.equal(got.head.target, m.target);
        assert.deepEqual(got.head.headers, w.headers);
        assert.deepEqual(got.body, w.body);
        assert.deepEqual(got.trailers, w.trailers);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  test('serialised requests are read identically by a node:http server', async () => {
    await fc.assert(
      fc.asyncProperty(model, async (m) => {
        const w = wire(m);
        const events = await oracle.run(w.bytes);
        assert.equal(events.length, 1, JSON.stringify(events));
        const e = events[0]!;
        assert.equal(e.kind, 'request');
        if (e.kind !== 'request') return;
        assert.equal(e.complete, true);
        assert.equal(e.method, m.method);
        assert.equal(e.url, m.target);
        assert.deepEqual(e.rawHeaders, w.headers);
        assert.deepEqual(e.body, w.body);
        assert.deepEqual(e.rawTrailers, w.trailers);
      }),
      { numRuns: 100, seed: 8 },
    );
  });

  test('serialised responses: our parser and a node:http client read the same response', async () => {
    let reply = Buffer.alloc(0);
    const server = createServer((socket: Socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end(reply));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const responses = fc.record({
      status: fc.constantFrom(200, 201, 203, 404, 418, 500, 599),
      headers: fc.array(header, { maxLength: 5 }),
      chunked: fc.boolean(),
      body: bodyBytes,
      trailers: fc.array(header, { maxLength: 2 }),
    });
    try {
      await fc.assert(
        fc.asyncProperty(responses, async (r) => {
          const headers = r.headers.flat();
          const trailers = r.chunked ? r.trailers.flat() : [];
          reply = r.chunked
            ? Buffer.concat([serializeResponseHead(r.status, headers, 'chunked'), ...(r.body.length > 0 ? [chunkHeader(r.body.length), r.body, CHUNK_END] : []), lastChunk(trailers)])
            : Buffer.concat([serializeResponseHead(r.status, headers, r.body.length), r.body]);
          const expectedHeaders = [...headers, ...(r.chunked ? ['Transfer-Encoding', 'chunked'] : ['Content-Length', String(r.body.length)])];

          const ours = parseResponses(reply, ['GET'], undefined, false);
          assert.equal(ours.outcome, 'clean', ours.error?.code ?? '');
          assert.equal(ours.responses[0]?.head.status, r.status);
          assert.deepEqual(ours.responses[0]?.head.headers, expectedHeaders);
          assert.deepEqual(ours.responses[0]?.body, r.body);
          assert.deepEqual(ours.responses[0]?.trailers, trailers);

          const seen = await new Promise<{ status: number; rawHeaders: string[]; body: Buffer; trailers: string[] }>((resolve, reject) => {
            const req = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks), trailers: res.rawTrailers }));
              res.on('error', reject);
            });
            req.on('error', reject);
            req.end();
          });
          assert.equal(seen.status, r.status);
          assert.deepEqual(seen.rawHeaders, expectedHeaders);
          assert.deepEqual(seen.body, r.body);
          assert.deepEqual(seen.trailers, trailers);
        }),
        { numRuns: 60, seed: 9 },
      );
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
