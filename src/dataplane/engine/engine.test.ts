// The martello engine on real sockets, for what only it does or must
// guarantee on its own: smuggling attempts refused and closed without
// reaching the backend as two requests; upstream connections never reused
// after an anomaly (counted on a raw backend); pipelining in order;
// 100-continue; re-chunking of close-delimited responses; HEAD/204/304
// framing; keep-alive limits; parse errors; the WebSocket hand-over and the
// HTTP/2 upstream bridge. The shared proxy suites run against this engine
// too (src/dataplane/proxy/*.test.ts, "[martello]" tests).

import assert from 'node:assert/strict';
import { after, before as beforeAll, describe, test } from 'node:test';
import { request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { type EchoReply, startEcho, type TestBackend } from '../proxy/test-support/backends.ts';
import { startH2Backend, type H2Backend } from '../proxy/test-support/h2-front.ts';
import { type RunningProxy, startProxy } from '../proxy/test-support/harness.ts';
import { countRequests, header, type RawBackend, rawRequest, startRawBackend } from './test-support/raw.ts';

const ENGINE = { engine: 'martello' } as const;

describe('[martello] request smuggling is refused and closed', () => {
  let echo: TestBackend;
  let p: RunningProxy;

  beforeAll(async () => {
    echo = await startEcho('smuggle');
    p = await startProxy({ hosts: [{ host: '*', routes: [{ path: '/', cluster: 'e' }] }], clusters: { e: [echo.port] } }, ENGINE);
  });

  after(async () => {
    await p.close();
    await echo.close();
  });

  const attacks: Record<string, string> = {
    'CL.TE': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG',
    'TE.CL': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n',
    'TE ,chunked': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
    'TE chunked, identity': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
    'TE xchunked': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
    'TE with tab': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
    'TE twice': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
    'TE on HTTP/1.0': 'POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
    'duplicate CL': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
    'CL list': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0, 0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
    'obs-fold TE': 'POST / HTTP/1.1\r\nHost: a\r\nX: y\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
    'bare LF': 'GET / HTTP/1.1\nHost: a\n\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
    'two Hosts': 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
  };

  for (const [name, payload] of Object.entries(attacks)) {
    test(`${name}: 400 or 501 with Connection: close, then closed; the backend sees no request`, async () => {
      const start = echo.requests;
      const r = await rawRequest(p.port, payload, 1, [], true);
      assert.equal(r.responses.length, 1, r.text);
      const status = r.responses[0]!.head.status;
      assert.ok(status === 400 || status === 501, `status ${status}`);
      assert.equal(header(r.responses[0]!.head, 'connection'), 'close');
      assert.equal(r.closed, true);
      assert.equal(r.leftover, 0, 'nothing after the refusal');
      assert.equal(echo.requests, start, 'no request reached the backend');
    });
  }

  test('a parse error after a good request: the first is answered, the second refused, the connection closed', async () => {
    const start = echo.requests;
    const r = await rawRequest(p.port, 'GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx', 2, [], true);
    assert.deepEqual(r.responses.map((x) => x.head.status), [200, 400]);
    assert.equal((JSON.parse(r.responses[0]!.body.toString()) as EchoReply).url, '/one');
    assert.equal(r.closed, true);
    assert.equal(echo.requests, start + 1);
  });

  test('an oversized head is 431 and a bad version 505, both closing', async () => {
    const big = await rawRequest(p.port, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 1, [], true);
    assert.equal(big.responses[0]!.head.status, 431);
    assert.equal(big.closed, true);
    const v = await rawRequest(p.port, 'GET / HTTP/1.2\r\nHost: a\r\n\r\n', 1, [], true);
    assert.equal(v.responses[0]!.head.status, 505);
    assert.equal(v.closed, true);
  });
});

describe('[martello] upstream connections are discarded on any anomaly', () => {
  let raw: RawBackend;
  let p: RunningProxy;
  /** What the raw backend answers per request path. */
  const answers: Record<string, string> = {
    '/ok': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    '/extra': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA',
    '/ambiguous': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
    '/close-delimited': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello, close-delimited',
    '/head': 'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n',
    '/nocontent': 'HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n',
    '/notmodified': 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n',
    '/trailers': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 42\r\n\r\n',
    '/hopbyhop': 'HTTP/1.1 200 OK\r\nConnection: X-Secret, keep-alive\r\nX-Secret: s\r\nKeep-Alive: timeout=5\r\nX-Request-ID: theirs\r\nContent-Length: 2\r\n\r\nok',
  };

  beforeAll(async () => {
    raw = await startRawBackend((_index, received, socket) => {
      // Answer each complete request head once (bodies are ignored unless /early).
      const heads = received.split('\r\n\r\n');
      const answered = (socket as { answered?: number }).answered ?? 0;
      for (let i = answered; i < heads.length - 1; i++) {
        const line = heads[i]!.split('\r\n')[0] ?? '';
        const path = line.split(' ')[1] ?? '';
        if (!/^[A-Z]+ \//.test(line)) continue;
        (socket as { answered?: number }).answered = i + 1;
        if (path === '/early') {
          // Answers before the body arrived, and leaves the body unread.
          socket.write('HTTP/1.1 413 Content Too Large\r\nContent-Length: 4\r\n\r\nnope');
        } else if (path === '/close-delimited') {
          socket.end(answers[path] ?? '');
        } else {
          socket.write(answers[path] ?? answers['/ok'] ?? '');
        }
      }
    });
    p = await startProxy({ hosts: [{ host: '*', routes: [{ path: '/', cluster: 'r' }] }], clusters: { r: [raw.port] } }, { ...ENGINE, upstreamMaxConnections: 1 });
  });

  after(async () => {
    await p.close();
    await raw.close();
  });

  async function get(path: string, method = 'GET'): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
    const res = await request(`${p.origin}${path}`, { method: method as 'GET', headers: { host: 'r.test' } });
    return { status: res.statusCode, body: await res.body.text(), headers: res.headers };
  }

  test('a clean keep-alive exchange reuses the connection', async () => {
    const start = raw.connections;
    assert.equal((await get('/ok')).body, 'ok');
    assert.equal((await get('/ok')).body, 'ok');
    assert.ok(raw.connections - start <= 1, 'one connection at most for two clean exchanges');
  });

  test('bytes after the response: the response is delivered, the connection is not reused', async () => {
    await get('/ok');
    const start = raw.connections;
    assert.equal((await get('/extra')).body, 'ok');
    assert.equal((await get('/ok')).body, 'ok');
    assert.equal(raw.connections - start, 1, 'the request after the anomaly dialled a new connection');
  });

  test('a framing error (CL with TE) is 502 and the connection is not reused', async () => {
    await get('/ok');
    const start = raw.connections;
    assert.equal((await get('/ambiguous')).status, 502);
    assert.equal((await get('/ok')).body, 'ok');
    assert.equal(raw.connections - start, 1);
  });

  test('an early response to an upload: relayed, the client connection closes, the upstream connection is not reused', async () => {
    await get('/ok');
    const start = raw.connections;
    const r = await rawRequest(p.port, 'POST /early HTTP/1.1\r\nHost: r.test\r\nContent-Length: 100000\r\n\r\nstart-of-body', 1, [], true);
    assert.equal(r.responses[0]!.head.status, 413);
    assert.equal(r.responses[0]!.body.toString(), 'nope');
    assert.equal(header(r.responses[0]!.head, 'connection'), 'close');
    assert.equal(r.closed, true);
    assert.equal((await get('/ok')).body, 'ok');
    assert.equal(raw.connections - start, 1);
  });

  test('close-delimited upstream: re-chunked to an HTTP/1.1 client (which keeps its connection), close-delimited to HTTP/1.0', async () => {
    const r = await rawRequest(p.port, 'GET /close-delimited HTTP/1.1\r\nHost: r.test\r\n\r\nGET /ok HTTP/1.1\r\nHost: r.test\r\n\r\n', 2);
    const first = r.responses[0]!;
    assert.equal(header(first.head, 'transfer-encoding'), 'chunked');
    assert.equal(first.body.toString(), 'hello, close-delimited');
    assert.equal(r.responses[1]!.body.toString(), 'ok');
    const old = await rawRequest(p.port, 'GET /close-delimited HTTP/1.0\r\nHost: r.test\r\n\r\n', 1, [], true);
    assert.equal(old.responses[0]!.head.framing, 'close');
    assert.equal(old.responses[0]!.body.toString(), 'hello, close-delimited');
    assert.equal(old.closed, true);
  });

  test('HEAD keeps the advertised length without a body; 204 and 304 have no body; the connection carries on', async () => {
    const r = await rawRequest(
      p.port,
      'HEAD /head HTTP/1.1\r\nHost: r.test\r\n\r\nGET /nocontent HTTP/1.1\r\nHost: r.test\r\n\r\nGET /notmodified HTTP/1.1\r\nHost: r.test\r\n\r\nGET /ok HTTP/1.1\r\nHost: r.test\r\n\r\n',
      4,
      ['HEAD', 'GET', 'GET', 'GET'],
    );
    assert.deepEqual(r.responses.map((x) => x.head.status), [200, 204, 304, 200]);
    assert.equal(header(r.responses[0]!.head, 'content-length'), '1234');
    assert.equal(r.responses[0]!.body.length, 0);
    assert.equal(header(r.responses[1]!.head, 'content-length'), undefined);
    assert.equal(header(r.responses[1]!.head, 'transfer-encoding'), undefined);
    assert.equal(header(r.responses[1]!.head, 'x-a'), 'b');
    assert.equal(header(r.responses[2]!.head, 'etag'), '"x"');
    assert.equal(r.responses[3]!.body.toString(), 'ok');
    assert.equal(r.leftover, 0);
  });

  test('chunked trailers reach an HTTP/1.1 client; hop-by-hop and Connection-listed headers do not', async () => {
    const r = await rawRequest(p.port, 'GET /trailers HTTP/1.1\r\nHost: r.test\r\n\r\nGET /hopbyhop HTTP/1.1\r\nHost: r.test\r\n\r\n', 2);
    assert.equal(r.responses[0]!.body.toString(), 'abc');
    assert.deepEqual(r.responses[0]!.trailers, ['X-Sum', '42']);
    const h = r.responses[1]!.head;
    assert.equal(header(h, 'x-secret'), undefined);
    assert.equal(header(h, 'keep-alive'), undefined);
    assert.equal(header(h, 'connection'), undefined);
    assert.notEqual(header(h, 'x-request-id'), 'theirs');
  });

  test('the request the backend receives is re-serialised: one Host, our framing, no hop-by-hop', async () => {
    const seen = raw.received.length;
    await rawRequest(p.port, 'POST /ok HTTP/1.1\r\nHost: r.test\r\nContent-Length: 005\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\nX-Keep: 2\r\n\r\nhello', 1);
    const all = raw.received.slice(Math.max(0, seen - 1)).join('');
    const req = all.slice(all.lastIndexOf('POST /ok'));
    assert.match(req, /\r\nContent-Length: 5\r\n/);
    assert.doesNotMatch(req, /X-Drop/i);
    assert.match(req, /\r\nX-Keep: 2\r\n/);
    assert.doesNotMatch(req, /\r\nConnection:/i);
    assert.equal(countRequests(req), 1);
    assert.ok(req.endsWith('\r\n\r\nhello'));
  });
});

describe('[martello] client side: pipelining, 100-continue, keep-alive limits', () => {
  let echo: TestBackend;
  let p: RunningProxy;

  beforeAll(async () => {
    echo = await startEcho('pipe');
    p = await startProxy({ hosts: [{ host: '*', routes: [{ path: '/', cluster: 'e' }] }], clusters: { e: [echo.port] } }, { ...ENGINE, maxRequestsPerSocket: 3 });
  });

  after(async () => {
    await p.close();
    await echo.close();
  });

  test('pipelined requests are answered in order', async () => {
    const payload = ['/a', '/b', '/c'].map((u) => `GET ${u} HTTP/1.1\r\nHost: e.test\r\n\r\n`).join('');
    const r = await rawRequest(p.port, payload, 3);
    assert.deepEqual(r.responses.map((x) => (JSON.parse(x.body.toString()) as EchoReply).url), ['/a', '/b', '/c']);
  });

  test('maxRequestsPerSocket: the last allowed response says Connection: close and the connection ends', async () => {
    const payload = ['/1', '/2', '/3', '/4'].map((u) => `GET ${u} HTTP/1.1\r\nHost: e.test\r\n\r\n`).join('');
    const r = await rawRequest(p.port, payload, 4, [], true);
    assert.equal(r.responses.length, 3);
    assert.equal(header(r.responses[2]!.head, 'connection'), 'close');
    assert.equal(r.closed, true);
  });

  test('maxRequestsPerSocket counts local answers once: the third OPTIONS * says Connection: close, the first two keep the connection', async () => {
    const payload = Array.from({ length: 4 }, () => 'OPTIONS * HTTP/1.1\r\nHost: e.test\r\n\r\n').join('');
    const r = await rawRequest(p.port, payload, 4, [], true);
    assert.equal(r.responses.length, 3);
    assert.deepEqual(r.responses.map((x) => x.head.status), [200, 200, 200]);
    assert.deepEqual(r.responses.map((x) => header(x.head, 'connection') ?? null), [null, null, 'close']);
    assert.equal(r.closed, true);
  });

  test('Expect: 100-continue gets 100 Continue before the body is sent, then the upstream answer', async () => {
    const { connect } = await import('node:net');
    const text = await new Promise<string>((resolve, reject) => {
      const s = connect(p.port, '127.0.0.1');
      let got = '';
      let sentBody = false;
      s.on('error', reject);
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (!sentBody && got.includes('\r\n\r\n')) {
          sentBody = true;
          assert.match(got, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
          s.write('hello');
        }
        if (got.includes('"bodyLength":5')) {
          s.destroy();
          resolve(got);
        }
      });
      s.write('PUT /up HTTP/1.1\r\nHost: e.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
    });
    assert.match(text, /HTTP\/1\.1 200 OK/);
    assert.doesNotMatch(text.slice(text.indexOf('HTTP/1.1 200')), /expect/i);
  });

  test('HTTP/1.0 keep-alive is honoured and said', async () => {
    const r = await rawRequest(p.port, 'GET /x HTTP/1.0\r\nHost: e.test\r\nConnection: keep-alive\r\n\r\nGET /y HTTP/1.0\r\nHost: e.test\r\n\r\n', 2, [], true);
    assert.equal(header(r.responses[0]!.head, 'connection'), 'keep-alive');
    assert.equal(header(r.responses[1]!.head, 'connection'), 'close');
    assert.equal(r.closed, true);
  });
});

describe('[martello] WebSocket hand-over and HTTP/2 upstreams', () => {
  let wss: WebSocketServer;
  let wsPort: number;
  let h2: H2Backend;
  let p: RunningProxy;

  beforeAll(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    wsPort = (wss.address() as { port: number }).port;
    wss.on('connection', (ws) => ws.on('message', (m: Buffer) => ws.send(`echo:${m.toString()}`)));
    h2 = await startH2Backend((stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'x-done': 'yes' }));
        stream.end(`h2 ${headers[':method']} ${headers[':path']} ${headers[':authority']} body=${body}`);
      });
    });
    p = await startProxy(
      {
        hosts: [{ host: '*', routes: [{ path: '/ws', cluster: 'ws' }, { path: '/h2', cluster: 'h2' }] }],
        clusters: { ws: [wsPort], h2: [h2.port] },
        protocols: { h2: 'h2c' },
      },
      ENGINE,
    );
  });

  after(async () => {
    await p.close();
    await h2.close();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });

  test('a WebSocket handshake becomes a tunnel (frames sent right after the head included)', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${p.port}/ws`, { headers: { host: 'ws.test' } });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('hi'));
      ws.on('message', (m: Buffer) => resolve(m.toString()));
      ws.on('error', reject);
    });
    assert.equal(reply, 'echo:hi');
    ws.close();
  });

  test('a WebSocket handshake with another version is refused 426; Upgrade: h2c is an ordinary request', async () => {
    const r = await rawRequest(p.port, 'GET /ws HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n', 1, [], true);
    assert.equal(r.responses[0]!.head.status, 426);
    const h = await rawRequest(p.port, 'POST /h2/x HTTP/1.1\r\nHost: h.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Length: 3\r\n\r\nabc', 1);
    assert.equal(h.responses[0]!.head.status, 200);
    assert.equal(h.responses[0]!.body.toString(), 'h2 POST /h2/x h.test body=abc');
  });

  test('an HTTP/1.1 client reaches an h2c upstream: body both ways, chunked with trailers', async () => {
    const r = await rawRequest(p.port, 'PUT /h2/y?q=1 HTTP/1.1\r\nHost: h.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET /h2/z HTTP/1.1\r\nHost: h.test\r\n\r\n', 2);
    assert.equal(r.responses[0]!.body.toString(), 'h2 PUT /h2/y?q=1 h.test body=abcde');
    assert.equal(header(r.responses[0]!.head, 'transfer-encoding'), 'chunked');
    assert.deepEqual(r.responses[0]!.trailers, ['x-done', 'yes']);
    assert.equal(r.responses[1]!.body.toString(), 'h2 GET /h2/z h.test body=');
  });
});

describe('[martello] large bodies stream with bounded memory', () => {
  const MiB = 1024 * 1024;
  const TOTAL = 64 * MiB;
  const block = Buffer.alloc(MiB, 7);
  let p: RunningProxy;
  let backend: TestBackend;
  const upload = { received: 0, release: (): void => {}, done: Promise.withResolvers<number>() };
  const download = { written: 0, blocked: false };

  beforeAll(async () => {
    const { startBackend } = await import('../proxy/test-support/backends.ts');
    backend = await startBackend('big', (req, res) => {
      if (req.url === '/upload') {
        // Reads nothing until released: the proxy must stop reading the client.
        req.pause();
        upload.release = () => {
          req.on('data', (c: Buffer) => (upload.received += c.length));
          req.on('end', () => {
            upload.done.resolve(upload.received);
            res.end('stored');
          });
          req.resume();
        };
        return;
      }
      res.writeHead(200, { 'content-length': String(TOTAL) });
      const pump = (): void => {
        while (download.written < TOTAL) {
          download.written += block.length;
          if (!res.write(block)) {
            download.blocked = true;
            return;
          }
        }
        res.end();
      };
      res.on('drain', pump);
      pump();
    });
    // 64 MiB uploads: over the default --max-body-size (10 MiB), so no limit here.
    p = await startProxy({ hosts: [{ host: '*', routes: [{ path: '/', cluster: 'b' }] }], clusters: { b: [backend.port] } }, { ...ENGINE, maxBodySize: 0 });
  });

  after(async () => {
    await p.close();
    await backend.close();
  });

  test('64 MiB upload to a backend that does not read: the client is held back, memory stays flat, then it all arrives', async () => {
    const { connect } = await import('node:net');
    const { eventually } = await import('../proxy/test-support/harness.ts');
    const baseline = process.memoryUsage().arrayBuffers;
    const s = connect(p.port, '127.0.0.1');
    s.on('error', () => {});
    let queued = 0;
    let stalledTurns = 0;
    let lastWritten = -1;
    const reply = Promise.withResolvers<string>();
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('stored')) reply.resolve(text);
    });
    const pump = (): void => {
      while (queued < TOTAL) {
        queued += block.length;
        if (!s.write(block)) return;
      }
    };
    s.on('drain', pump);
    s.write(`POST /upload HTTP/1.1\r\nHost: b.test\r\nContent-Length: ${TOTAL}\r\n\r\n`);
    pump();
    // Stalled: bytesWritten no longer moves over many event-loop turns.
    await eventually(() => {
      if (s.bytesWritten === lastWritten) stalledTurns++;
      else stalledTurns = 0;
      lastWritten = s.bytesWritten;
      return stalledTurns > 300;
    }, 20_000, 'the upload to stall');
    assert.ok(s.bytesWritten < TOTAL, `the client could write ${s.bytesWritten} bytes: nothing held it back`);
    const grown = process.memoryUsage().arrayBuffers - baseline;
    assert.ok(grown < 16 * MiB, `buffers grew by ${(grown / MiB).toFixed(1)} MiB while the backend read nothing`);
    upload.release();
    assert.equal(await upload.done.promise, TOTAL);
    assert.match(await reply.promise, /^HTTP\/1\.1 200 OK/);
    s.destroy();
  });

  test('64 MiB download to a client that does not read: the backend is held back, memory stays flat, then it all arrives', async () => {
    const { connect } = await import('node:net');
    const { eventually } = await import('../proxy/test-support/harness.ts');
    const baseline = process.memoryUsage().arrayBuffers;
    const s = connect(p.port, '127.0.0.1');
    s.on('error', () => {});
    s.write('GET /download HTTP/1.1\r\nHost: b.test\r\n\r\n');
    s.pause();
    await eventually(() => download.blocked, 20_000, 'the backend to block');
    for (let i = 0; i < 300; i++) await new Promise((r) => setImmediate(r));
    assert.ok(download.written < TOTAL, 'the backend could write everything: nothing held it back');
    const grown = process.memoryUsage().arrayBuffers - baseline;
    assert.ok(grown < 16 * MiB, `buffers grew by ${(grown / MiB).toFixed(1)} MiB while the client read nothing`);
    let received = 0;
    let headEnd = -1;
    const done = Promise.withResolvers<void>();
    let head = '';
    s.on('data', (d: Buffer) => {
      if (headEnd === -1) {
        head += d.toString('latin1');
        headEnd = head.indexOf('\r\n\r\n');
        if (headEnd !== -1) received = Buffer.byteLength(head, 'latin1') - headEnd - 4;
      } else {
        received += d.length;
      }
      if (received >= TOTAL) done.resolve();
    });
    s.resume();
    await done.promise;
    assert.equal(received, TOTAL);
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    s.destroy();
  });
});

describe('[martello] a client that half-closes in the middle of its request body', () => {
  test('the exchange ends at once: the upstream request is aborted and the client connection closed (not held to the request deadline)', async () => {
    const { createServer } = await import('node:http');
    const { connect } = await import('node:net');
    let upstreamGone: () => void;
    const aborted = new Promise<void>((resolve) => (upstreamGone = resolve));
    let completed = 0;
    const backend = createServer((req, res) => {
      req.on('data', () => {});
      req.on('end', () => {
        completed++;
        res.end('complete');
      });
      req.on('close', () => {
        if (!req.complete) upstreamGone();
      });
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const port = (backend.address() as { port: number }).port;
    // A request deadline far beyond the test's: only the half-close can end this exchange in time.
    const proxy = await startProxy({ hosts: [{ host: '*', routes: [{ path: '/', cluster: 'b' }] }], clusters: { b: [port] } }, { ...ENGINE, requestTimeoutMs: 60_000 });
    try {
      const started = Date.now();
      const socket = connect(proxy.port, '127.0.0.1');
      socket.on('error', () => {});
      await new Promise<void>((resolve) => socket.once('connect', resolve));
      socket.write('POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789');
      // Let the head and the first bytes reach the backend, then FIN.
      await new Promise((r) => setTimeout(r, 200));
      socket.end();
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      await Promise.race([Promise.all([closed, aborted]), new Promise((_, reject) => setTimeout(() => reject(new Error('still open after 5 s')), 5000))]);
      assert.ok(Date.now() - started < 5000);
      assert.equal(completed, 0, 'the backend saw a complete (short) request');
    } finally {
      await proxy.close();
      backend.closeAllConnections();
      await new Promise<void>((resolve) => backend.close(() => resolve()));
    }
  });
});
