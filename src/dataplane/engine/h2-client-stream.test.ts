// HTTP/2 clients served by the martello engine (h2-client-stream.ts), on
// each HTTP/2 server: Martello's own (h2-connection.ts) and node:http2's
// core stream API; forwarding to HTTP/1.1 upstreams over the engine's own
// pools: what only this path does or must guarantee. Request
// bodies stream up with backpressure and the upstream connection is reused
// by the next stream; a client reset discards the upstream connection;
// chunked upstream trailers become HTTP/2 trailers; deadlines answer 504 (a
// gRPC status for gRPC requests); a failure after the head resets the
// stream; HEAD, 204 and Content-Length framing; counters. The shared proxy
// suites (tls.test.ts, shutdown.test.ts, ...) cover the rest on both engines.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { constants as h2, type ClientHttp2Session, type ClientHttp2Stream, connect as h2connect } from 'node:http2';
import type { Socket } from 'node:net';
import { after, before as beforeAll, describe, test } from 'node:test';
import { startBackend, type TestBackend } from '../proxy/test-support/backends.ts';
import { type H2Backend, h2Fetch, startH2Backend } from '../proxy/test-support/h2-front.ts';
import { eventually, H2_SERVERS, type RunningProxy, startProxy } from '../proxy/test-support/harness.ts';

const A = { ':authority': 'a.test' } as const;

interface Counted extends TestBackend {
  /** TCP connections accepted, and closed, so far. */
  readonly sockets: { opened: number; closed: number };
}

async function counted(name: string, responder: Parameters<typeof startBackend>[1]): Promise<Counted> {
  const b = await startBackend(name, responder);
  const sockets = { opened: 0, closed: 0 };
  b.server.on('connection', (s: Socket) => {
    sockets.opened++;
    s.once('close', () => sockets.closed++);
  });
  return Object.assign(b, { sockets });
}

function connect(p: RunningProxy): ClientHttp2Session {
  const session = h2connect(`http://127.0.0.1:${p.port}`);
  session.on('error', () => {});
  return session;
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function streamClosed(stream: ClientHttp2Stream): Promise<number> {
  return new Promise((resolve) => stream.once('close', () => resolve(stream.rstCode ?? -1)));
}

for (const h2Server of H2_SERVERS) describe(`[martello, h2Server ${h2Server}] HTTP/2 clients to HTTP/1.1 upstreams (core stream API, engine pools)`, () => {
  let backend: Counted;
  let p: RunningProxy;
  let session: ClientHttp2Session;
  /** The backend holds the request body unread while this is set. */
  let hold: Promise<void> | null = null;

  beforeAll(async () => {
    backend = await counted('h1', (req, res) => {
      const url = req.url ?? '/';
      if (url.startsWith('/upload')) {
        const h = createHash('sha256');
        let n = 0;
        const read = (): void => {
          req.on('data', (c: Buffer) => {
            n += c.length;
            h.update(c);
          });
          req.on('end', () => {
            const body = JSON.stringify({ n, sha: h.digest('hex'), cl: req.headers['content-length'] ?? null, te: req.headers['transfer-encoding'] ?? null });
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
            res.end(body);
          });
          req.resume();
        };
        req.pause();
        if (hold === null) read();
        else void hold.then(read);
        return;
      }
      if (url === '/trailers') {
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum', connection: 'x-private', 'x-private': 'secret', 'keep-alive': 'timeout=5' });
        res.write('part one, ');
        res.write('part two');
        res.addTrailers({ 'x-checksum': 'abc123', 'x-count': '2' });
        res.end();
        return;
      }
      if (url === '/chunked-plain') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('a');
        res.end('b');
        return;
      }
      if (url === '/slow-body') {
        // A head and a first chunk, then nothing until the client gives up.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('x'.repeat(1000));
        return;
      }
      if (url === '/die-after-head') {
        // Chunked: without a reset the client could not tell the body was cut.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('x'.repeat(10), () => setTimeout(() => req.socket.destroy(), 50));
        return;
      }
      if (url === '/never') return;
      if (url === '/no-content') {
        res.writeHead(204, { 'x-a': '1' });
        res.end();
        return;
      }
      const body = `hello ${req.method} ${url}`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'x-request-id': 'from-backend', 'strict-transport-security': 'max-age=1' });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    p = await startProxy(
      { hosts: [{ host: 'a.test', routes: [{ path: '/', cluster: 'b' }] }], clusters: { b: [backend.port] } },
      // maxBodySize 0: the 48 MiB upload is over the default limit (10 MiB).
      { engine: 'martello', h2Server, h2c: true, maxBodySize: 0 },
    );
    session = connect(p);
  });

  after(async () => {
    session.close();
    await p.close();
    await backend.close();
  });

  test('GET: Content-Length response, hop-by-hop and backend X-Request-ID replaced, counted', async () => {
    const classes = { ...p.proxy.counters.responsesByClass };
    const requests = p.proxy.counters.requests;
    const r = await h2Fetch(session, { ...A, ':path': '/hello', 'x-request-id': 'client-id-1' });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'hello GET /hello');
    assert.equal(r.headers['content-length'], String(r.body.length));
    assert.equal(r.headers['x-request-id'], 'client-id-1');
    // No HSTS configured on plain h2c: the backend's header passes.
    assert.equal(r.headers['strict-transport-security'], 'max-age=1');
    assert.equal(p.proxy.counters.requests, requests + 1);
    assert.equal(p.proxy.counters.responsesByClass['2xx'], classes['2xx'] + 1);
  });

  test('HEAD keeps the advertised length without a body; 204 has none', async () => {
    const head = await h2Fetch(session, { ...A, ':path': '/hello', ':method': 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers['content-length'], String('hello HEAD /hello'.length));
    const nc = await h2Fetch(session, { ...A, ':path': '/no-content' });
    assert.equal(nc.status, 204);
    assert.equal(nc.headers['x-a'], '1');
    assert.equal(nc.body.length, 0);
  });

  test('a request body streams up with backpressure, and the pooled upstream connection carries the next stream', async () => {
    const s = connect(p);
    try {
      // Warm one upstream connection, then count from there.
      await h2Fetch(s, { ...A, ':path': '/hello' });
      const opened = backend.sockets.opened;
      let release!: () => void;
      hold = new Promise<void>((r) => (release = r));
      const total = 48 * 1024 * 1024;
      const chunk = Buffer.alloc(64 * 1024, 7);
      const hash = createHash('sha256');
      const stream = s.request({ ...A, ':path': '/upload', ':method': 'POST', 'content-length': String(total) });
      let flushed = 0;
      const reply = new Promise<{ status: number; body: string }>((resolve, reject) => {
        let status = 0;
        const parts: Buffer[] = [];
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.on('data', (c: Buffer) => parts.push(c));
        stream.on('end', () => resolve({ status, body: Buffer.concat(parts).toString() }));
        stream.on('error', reject);
      });
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          sent += chunk.length;
          hash.update(chunk);
          const ok = stream.write(chunk, () => (flushed += chunk.length));
          if (!ok) {
            stream.once('drain', pump);
            return;
          }
        }
        stream.end();
      };
      pump();
      // The backend reads nothing: flow control must stop the client well short of the whole body.
      await new Promise((r) => setTimeout(r, 600));
      const whileHeld = flushed;
      assert.ok(whileHeld < total / 2, `the client could send ${whileHeld} of ${total} bytes while the backend read nothing`);
      release();
      const r = await reply;
      hold = null;
      assert.equal(r.status, 200);
      const got = JSON.parse(r.body) as { n: number; sha: string; cl: string | null; te: string | null };
      assert.equal(got.n, total);
      assert.equal(got.sha, hash.digest('hex'));
      assert.equal(got.cl, String(total), 'the client Content-Length is sent upstream');
      assert.equal(got.te, null);
      // A body without Content-Length goes up chunked.
      const small = Buffer.from('x'.repeat(5000));
      const chunked = await h2Fetch(s, { ...A, ':path': '/upload', ':method': 'POST' }, small);
      const cj = JSON.parse(chunked.body.toString()) as { n: number; sha: string; cl: string | null; te: string | null };
      assert.deepEqual([cj.n, cj.sha, cj.cl, cj.te], [small.length, sha(small), null, 'chunked']);
      // A bodiless POST announces Content-Length: 0.
      const empty = await h2Fetch(s, { ...A, ':path': '/upload', ':method': 'POST' });
      assert.equal((JSON.parse(empty.body.toString()) as { cl: string | null }).cl, '0');
      const last = await h2Fetch(s, { ...A, ':path': '/hello' });
      assert.equal(last.status, 200);
      assert.equal(backend.sockets.opened, opened, 'one upstream connection carried every request');
    } finally {
      hold = null;
      s.close();
    }
  });

  test('a client RST_STREAM mid-response discards the upstream connection', async () => {
    const s = connect(p);
    try {
      await h2Fetch(s, { ...A, ':path': '/hello' });
      const { opened, closed } = backend.sockets;
      const errors = p.proxy.counters.upstreamErrors;
      const stream = s.request({ ...A, ':path': '/slow-body' }, { endStream: true });
      stream.on('error', () => {});
      await new Promise<void>((resolve) => stream.once('data', () => resolve()));
      const done = streamClosed(stream);
      stream.close(h2.NGHTTP2_CANCEL);
      await done;
      await eventually(() => backend.sockets.closed === closed + 1, 5_000, 'the backend sees its connection closed');
      assert.equal(backend.sockets.opened, opened, 'no new connection yet');
      const next = await h2Fetch(s, { ...A, ':path': '/hello' });
      assert.equal(next.status, 200);
      assert.equal(backend.sockets.opened, opened + 1, 'the next stream needed a new upstream connection');
      assert.equal(p.proxy.counters.upstreamErrors, errors, 'a client that leaves is not an upstream error');
    } finally {
      s.close();
    }
  });

  test('trailers of a chunked upstream response arrive as HTTP/2 trailers; connection-specific fields are dropped', async () => {
    const r = await h2Fetch(session, { ...A, ':path': '/trailers' });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'part one, part two');
    assert.equal(r.headers['content-length'], undefined);
    for (const name of ['connection', 'keep-alive', 'trailer', 'transfer-encoding', 'x-private']) assert.equal(r.headers[name], undefined, name);
    assert.equal(typeof r.headers['x-request-id'], 'string');
    assert.deepEqual({ checksum: r.trailers?.['x-checksum'], count: r.trailers?.['x-count'] }, { checksum: 'abc123', count: '2' });
    // A chunked response without trailers still ends cleanly (no trailers frame).
    const plain = await h2Fetch(session, { ...A, ':path': '/chunked-plain' });
    assert.equal(plain.body.toString(), 'ab');
    assert.equal(plain.trailers, null);
  });

  test('no response head within the deadline: 504 (a gRPC status for gRPC); the connection is not reused', async () => {
    const pt = await startProxy(
      { hosts: [{ host: 'a.test', routes: [{ path: '/', cluster: 'b' }] }], clusters: { b: [backend.port] } },
      { engine: 'martello', h2Server, h2c: true, responseHeaderTimeoutMs: 300 },
    );
    const ts = connect(pt);
    try {
    const { closed } = backend.sockets;
    const errors = pt.proxy.counters.upstreamErrors;
    const r = await h2Fetch(ts, { ...A, ':path': '/never', 'x-request-id': 'slow-1' });
    assert.equal(r.status, 504);
    assert.equal(r.headers['x-request-id'], 'slow-1');
    assert.match(r.body.toString(), /504/);
    const g = await h2Fetch(ts, { ...A, ':path': '/never', ':method': 'POST', 'content-type': 'application/grpc' }, Buffer.alloc(5));
    assert.equal(g.status, 200);
    assert.equal(g.headersEndedStream, true, 'Trailers-Only: one HEADERS frame with END_STREAM');
    assert.equal(g.headers['grpc-status'], '4');
    assert.equal(pt.proxy.counters.upstreamErrors, errors + 2);
    assert.equal(pt.proxy.counters.responsesByClass['5xx'], 1);
    await eventually(() => backend.sockets.closed >= closed + 2, 5_000, 'both timed-out connections closed');
    } finally {
      ts.close();
      await pt.close();
    }
  });

  test('an upstream that fails after the head resets the stream with INTERNAL_ERROR', async () => {
    const stream = session.request({ ...A, ':path': '/die-after-head' }, { endStream: true });
    let status = 0;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('error', () => {});
    let ended = false;
    stream.on('end', () => (ended = true));
    stream.resume();
    const code = await streamClosed(stream);
    assert.equal(status, 200);
    assert.equal(code, h2.NGHTTP2_INTERNAL_ERROR);
    assert.equal(ended, false, 'no END_STREAM: the truncation is visible');
  });

  test('with one upstream connection allowed, concurrent streams wait in the pool queue, bodies held, and all complete on it', async () => {
    const pq = await startProxy(
      { hosts: [{ host: 'a.test', routes: [{ path: '/', cluster: 'b' }] }], clusters: { b: [backend.port] } },
      { engine: 'martello', h2Server, h2c: true, upstreamMaxConnections: 1 },
    );
    const qs = connect(pq);
    try {
      const opened = backend.sockets.opened;
      const bodies = Array.from({ length: 6 }, (_, i) => Buffer.alloc(100_000 + i, 65 + i));
      const replies = await Promise.all(bodies.map((b, i) => h2Fetch(qs, { ...A, ':path': `/upload/${i}`, ':method': 'PUT', 'content-length': String(b.length) }, b)));
      for (const [i, r] of replies.entries()) {
        assert.equal(r.status, 200);
        const got = JSON.parse(r.body.toString()) as { n: number; sha: string };
        assert.deepEqual([got.n, got.sha], [bodies[i]!.length, sha(bodies[i]!)]);
      }
      assert.equal(backend.sockets.opened, opened + 1, 'one upstream connection carried them all');
    } finally {
      qs.close();
      await pq.close();
    }
  });

  test('local answers: 404 with its body and X-Request-ID, a gRPC 404 as UNIMPLEMENTED Trailers-Only', async () => {
    const r = await h2Fetch(session, { ':authority': 'nowhere.test', ':path': '/x?y=1' });
    assert.equal(r.status, 404);
    assert.match(r.body.toString(), /no route for host nowhere\.test path \/x/);
    assert.equal(r.headers['server'], 'martello');
    assert.equal(typeof r.headers['x-request-id'], 'string');
    const g = await h2Fetch(session, { ':authority': 'nowhere.test', ':path': '/pkg.Svc/M', ':method': 'POST', 'content-type': 'application/grpc' }, Buffer.alloc(5));
    assert.equal(g.status, 200);
    assert.equal(g.headersEndedStream, true);
    assert.equal(g.headers['grpc-status'], '12');
  });
});

/** node's internal AbortError (destroying an HTTP/2 stream with it resets with CANCEL). */
const abortError: Promise<Error> = once(new EventEmitter(), 'never', { signal: AbortSignal.abort() }).then(
  () => new Error('not aborted'),
  (err: unknown) => err as Error,
);

for (const h2Server of H2_SERVERS) describe(`[martello, h2Server ${h2Server}] HTTP/2 clients to an h2c upstream (H2Exchange on the shared session pools)`, () => {
  let backend: H2Backend;
  let p: RunningProxy;
  let session: ClientHttp2Session;
  const refused = new Set<string>();

  beforeAll(async () => {
    backend = await startH2Backend((stream, headers) => {
      const path = String(headers[':path']);
      if (path.startsWith('/refuse-once')) {
        if (refused.has(path)) {
          stream.respond({ ':status': 200 });
          stream.end('served on the second attempt');
        } else {
          refused.add(path);
          stream.close(h2.NGHTTP2_REFUSED_STREAM);
        }
        return;
      }
      if (path === '/grpc-ok') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'x-te': headers['te'] === 'trailers' ? 'seen' : 'missing' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' }));
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
        return;
      }
      if (path === '/grpc-error') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'not found' }, { endStream: true });
        return;
      }
      if (path === '/cancel-after-head') {
        stream.respond({ ':status': 200 });
        // destroy() with node's AbortError sends RST_STREAM CANCEL without END_STREAM (close() would end the stream first).
        stream.write('partial', () => void abortError.then((e) => stream.destroy(e)));
        return;
      }
      stream.respond({ ':status': 404 });
      stream.end();
    });
    p = await startProxy(
      { hosts: [{ host: 'a.test', routes: [{ path: '/', cluster: 'g' }] }], clusters: { g: [backend.port] }, protocols: { g: 'h2c' } },
      { engine: 'martello', h2Server, h2c: true },
    );
    session = connect(p);
  });

  after(async () => {
    session.close();
    await p.close();
    await backend.close();
  });

  test('a refused bodiless stream is sent again once', async () => {
    const streams = backend.streams;
    const r = await h2Fetch(session, { ...A, ':path': '/refuse-once/1' });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'served on the second attempt');
    assert.equal(backend.streams, streams + 2);
  });

  test('gRPC: te: trailers goes up, trailers come back as trailers, a Trailers-Only answer stays one HEADERS frame', async () => {
    const grpc = { ...A, ':method': 'POST', 'content-type': 'application/grpc' };
    const ok = await h2Fetch(session, { ...grpc, ':path': '/grpc-ok' }, Buffer.from([0, 0, 0, 0, 0]));
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-te'], 'seen');
    assert.deepEqual([ok.trailers?.['grpc-status'], ok.trailers?.['grpc-message']], ['0', 'ok']);
    const err = await h2Fetch(session, { ...grpc, ':path': '/grpc-error' }, Buffer.from([0, 0, 0, 0, 0]));
    assert.equal(err.headersEndedStream, true);
    assert.equal(err.headers['grpc-status'], '5');
  });

  test('an upstream CANCEL after the head is passed on as CANCEL', async () => {
    // (node:http2 emits 'end' on a stream reset with CANCEL, so the code is what tells.)
    const stream = session.request({ ...A, ':path': '/cancel-after-head' }, { endStream: true });
    stream.on('error', () => {});
    stream.resume();
    assert.equal(await streamClosed(stream), h2.NGHTTP2_CANCEL);
  });
});

for (const h2Server of H2_SERVERS) describe(`[martello, h2Server ${h2Server}] HTTP/2 request bodies that stall before any answer`, () => {
  test('no body byte for requestTimeoutMs and no response yet: 408, the upstream request is aborted, never completed', async () => {
    const { createServer } = await import('node:http');
    let completed = 0;
    let aborted = 0;
    const backend = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        completed++;
        res.end('complete');
      });
      req.on('close', () => {
        if (!req.complete) aborted++;
      });
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const port = (backend.address() as { port: number }).port;
    const p = await startProxy({ hosts: [{ host: 'a.test', routes: [{ path: '/', cluster: 'b' }] }], clusters: { b: [port] } }, { engine: 'martello', h2Server, h2c: true, requestTimeoutMs: 500 });
    const session = connect(p);
    try {
      const started = Date.now();
      const stream = session.request({ ':authority': 'a.test', ':path': '/stall', ':method': 'POST' });
      stream.on('error', () => {});
      stream.write('first bytes, then nothing');
      const [headers] = (await once(stream, 'response')) as [Record<string, string | number>];
      assert.equal(headers[':status'], 408);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 400 && elapsed < 5000, `answered after ${elapsed} ms`);
      await eventually(() => aborted === 1, 5000, 'the upstream request aborted');
      assert.equal(completed, 0);
    } finally {
      session.destroy();
      await p.close();
      backend.closeAllConnections();
      await new Promise<void>((resolve) => backend.close(() => resolve()));
    }
  });

  test('a body that keeps arriving is not cut by the idle deadline, and an answered stream may keep its body open', async () => {
    const { createServer } = await import('node:http');
    const backend = createServer((req, res) => {
      // Answers at once, then echoes the body's length at its end: a live stream.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.flushHeaders();
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(String(n)));
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const port = (backend.address() as { port: number }).port;
    const p = await startProxy({ hosts: [{ host: 'a.test', routes: [{ path: '/', cluster: 'b' }] }], clusters: { b: [port] } }, { engine: 'martello', h2Server, h2c: true, requestTimeoutMs: 300 });
    const session = connect(p);
    try {
      const stream = session.request({ ':authority': 'a.test', ':path': '/live', ':method': 'POST' });
      stream.on('error', () => {});
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.write('a');
      const [headers] = (await once(stream, 'response')) as [Record<string, string | number>];
      assert.equal(headers[':status'], 200);
      // Answered: a pause three times the deadline does not cut the stream.
      await new Promise((r) => setTimeout(r, 900));
      stream.end('bc');
      await once(stream, 'end');
      assert.equal(Buffer.concat(chunks).toString(), '3');
    } finally {
      session.destroy();
      await p.close();
      backend.closeAllConnections();
      await new Promise<void>((resolve) => backend.close(() => resolve()));
    }
  });
});
