// The HTTP/2 session pool against real node:http2 backends on 127.0.0.1:
// one session reused across requests; a new one after the backend's GOAWAY;
// graceful close that lets an open stream finish; a second session once the
// peer's SETTINGS_MAX_CONCURRENT_STREAMS is reached; idle sessions closed;
// connection failures (refused, connect deadline, TLS peer without ALPN h2)
// reported on the queued streams with a recognisable reason.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type ClientHttp2Stream, type ServerHttp2Stream } from 'node:http2';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { toUpstreamEndpoint } from '../compile/cluster.ts';
import { makeTestCertificate, startH2Backend, type H2Backend } from '../proxy/test-support/h2-front.ts';
import { H2_ALPN_MISMATCH, H2_CONNECT_TIMEOUT, H2_POOL_CLOSED, H2SessionPool, type H2SessionPoolOptions } from './h2-session-pool.ts';

const OPTIONS: H2SessionPoolOptions = { connectTimeoutMs: 5_000, idleTimeoutMs: 30_000, maxSessions: 4 };

interface Reply {
  status: number;
  body: string;
}

function get(pool: H2SessionPool, path: string): { stream: ClientHttp2Stream; reply: Promise<Reply> } {
  const stream = pool.request({ ':method': 'GET', ':path': path, ':scheme': 'http', ':authority': 'backend.test' }, { endStream: true });
  const reply = new Promise<Reply>((resolve, reject) => {
    let status = 0;
    let body = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (c: string) => (body += c));
    stream.on('end', () => resolve({ status, body }));
    stream.on('error', reject);
  });
  // Failure tests observe the stream's 'error' themselves.
  reply.catch(() => {});
  return { stream, reply };
}

/** The error a stream failed with, and its cause's code (node:http2 wraps the reason a queued stream was cancelled). */
async function failure(stream: ClientHttp2Stream): Promise<{ code: unknown; causeCode: unknown }> {
  const [err] = (await once(stream, 'error')) as [Error & { code?: unknown; cause?: { code?: unknown } }];
  return { code: err.code, causeCode: err.cause?.code };
}

function turns(n: number): Promise<void> {
  let p = Promise.resolve();
  for (let i = 0; i < n; i++) p = p.then(() => new Promise((r) => setImmediate(r)));
  return p;
}

describe('H2SessionPool over h2c', () => {
  let backend: H2Backend;
  /** Streams the backend holds until released. */
  const held: ServerHttp2Stream[] = [];
  let onHeld: (() => void) | undefined;

  before(async () => {
    backend = await startH2Backend(
      (stream, headers) => {
        const path = String(headers[':path']);
        if (path.startsWith('/hold')) {
          held.push(stream);
          onHeld?.();
          return;
        }
        stream.respond({ ':status': 200 });
        stream.end(`ok ${path}`);
        if (path === '/bye') stream.session?.close();
      },
      { settings: { maxConcurrentStreams: 2 } },
    );
  });

  after(() => backend.close());

  function endpoint() {
    return toUpstreamEndpoint({ address: '127.0.0.1', port: backend.port }, 'h2c');
  }

  async function heldCount(n: number): Promise<void> {
    while (held.length < n) await new Promise<void>((r) => (onHeld = r));
  }

  function releaseAll(): void {
    for (const s of held.splice(0)) {
      s.respond({ ':status': 200 });
      s.end('released');
    }
  }

  test('one session serves consecutive requests', async () => {
    const pool = new H2SessionPool(endpoint(), OPTIONS);
    const sessionsBefore = backend.sessions;
    for (let i = 0; i < 3; i++) assert.deepEqual(await get(pool, `/r${i}`).reply, { status: 200, body: `ok /r${i}` });
    assert.equal(backend.sessions - sessionsBefore, 1);
    assert.equal(pool.sessionCount, 1);
    await pool.close();
    assert.equal(pool.openSessionCount, 0);
  });

  test('after the backend sends GOAWAY, the next request gets a new session', async () => {
    const pool = new H2SessionPool(endpoint(), OPTIONS);
    const sessionsBefore = backend.sessions;
    assert.equal((await get(pool, '/first').reply).status, 200);
    const first = pool.sessions()[0]!;
    assert.equal((await get(pool, '/bye').reply).body, 'ok /bye');
    if (!first.destroyed) await once(first, 'close');
    assert.equal(pool.sessionCount, 0);
    assert.deepEqual(await get(pool, '/again').reply, { status: 200, body: 'ok /again' });
    assert.equal(backend.sessions - sessionsBefore, 2);
    await pool.close();
  });

  test('close() is graceful: an open stream finishes, new requests are refused', async () => {
    const pool = new H2SessionPool(endpoint(), OPTIONS);
    const { reply } = get(pool, '/hold/graceful');
    await heldCount(1);
    let closed = false;
    const closing = pool.close().then(() => (closed = true));
    await turns(20);
    assert.equal(closed, false, 'close() must wait for the open stream');
    assert.throws(() => pool.request({ ':path': '/' }, { endStream: true }), (err: { code?: unknown }) => err.code === H2_POOL_CLOSED);
    releaseAll();
    assert.deepEqual(await reply, { status: 200, body: 'released' });
    await closing;
    assert.equal(pool.openSessionCount, 0);
  });

  test('close() right after the first request, while the session still connects, lets that request finish', async () => {
    const pool = new H2SessionPool(endpoint(), OPTIONS);
    const { reply } = get(pool, '/early');
    const closing = pool.close();
    assert.deepEqual(await reply, { status: 200, body: 'ok /early' });
    await closing;
  });

  test('a second session opens when the first carries maxConcurrentStreams streams', async () => {
    const pool = new H2SessionPool(endpoint(), OPTIONS);
    const sessionsBefore = backend.sessions;
    const a = get(pool, '/hold/a');
    const first = pool.sessions()[0]!;
    if (first.remoteSettings.maxConcurrentStreams !== 2) await once(first, 'remoteSettings');
    const b = get(pool, '/hold/b');
    await heldCount(2);
    assert.equal(pool.sessionCount, 1);
    const c = get(pool, '/hold/c');
    await heldCount(3);
    assert.equal(pool.sessionCount, 2);
    assert.equal(backend.sessions - sessionsBefore, 2);
    releaseAll();
    for (const r of [a, b, c]) assert.equal((await r.reply).status, 200);
    // Freed streams make the first session the choice again.
    assert.equal((await get(pool, '/after').reply).status, 200);
    assert.equal(backend.sessions - sessionsBefore, 2);
    await pool.close();
  });

  test('the session count is bounded: beyond maxSessions, streams queue on the least busy one', async () => {
    const pool = new H2SessionPool(endpoint(), { ...OPTIONS, maxSessions: 1 });
    const a = get(pool, '/hold/1');
    const first = pool.sessions()[0]!;
    if (first.remoteSettings.maxConcurrentStreams !== 2) await once(first, 'remoteSettings');
    const rest = [get(pool, '/hold/2'), get(pool, '/hold/3')];
    await heldCount(2);
    assert.equal(pool.sessionCount, 1);
    // The third waits in nghttp2's queue until a slot frees.
    releaseAll();
    await heldCount(1);
    releaseAll();
    for (const r of [a, ...rest]) assert.equal((await r.reply).status, 200);
    await pool.close();
  });

  test('a session idle for idleTimeoutMs is closed; the next request dials again', async () => {
    const pool = new H2SessionPool(endpoint(), { ...OPTIONS, idleTimeoutMs: 50 });
    assert.equal((await get(pool, '/idle').reply).status, 200);
    const session = pool.sessions()[0]!;
    await once(session, 'close');
    assert.equal(pool.sessionCount, 0);
    assert.equal(pool.openSessionCount, 0);
    assert.equal((await get(pool, '/idle-again').reply).status, 200);
    await pool.close();
  });
});

describe('H2SessionPool connection failures', () => {
  test('refused connection: the stream fails with the cause, the session is dropped', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = createTcpServer();
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const pool = new H2SessionPool(toUpstreamEndpoint({ address: '127.0.0.1', port: closedPort }, 'h2c'), OPTIONS);
    const { stream } = get(pool, '/');
    stream.on('error', () => {});
    assert.deepEqual(await failure(stream), { code: 'ERR_HTTP2_STREAM_CANCEL', causeCode: 'ECONNREFUSED' });
    if (pool.openSessionCount > 0) await turns(5);
    assert.equal(pool.openSessionCount, 0);
    await pool.close();
  });

  test('connect deadline: a TLS peer that never answers the handshake', async () => {
    const sockets = new Set<Socket>();
    const silent = createTcpServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const pool = new H2SessionPool(toUpstreamEndpoint({ address: '127.0.0.1', port }, 'h2'), { ...OPTIONS, connectTimeoutMs: 100 });
      const { stream } = get(pool, '/');
      stream.on('error', () => {});
      const started = performance.now();
      assert.deepEqual(await failure(stream), { code: 'ERR_HTTP2_STREAM_CANCEL', causeCode: H2_CONNECT_TIMEOUT });
      assert.ok(performance.now() - started >= 90);
      await pool.close();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  test('h2 endpoint whose TLS server negotiates no ALPN protocol: refused before any request is sent', async (t) => {
    const cert = makeTestCertificate();
    if (cert === null) {
      t.skip('openssl CLI not installed: cannot make a test certificate');
      return;
    }
    let requestBytes = 0;
    const server = createTlsServer({ key: cert.key, cert: cert.cert }, (socket) => {
      socket.on('error', () => {});
      socket.on('data', (d: Buffer) => (requestBytes += d.length));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const pool = new H2SessionPool(toUpstreamEndpoint({ address: '127.0.0.1', port }, 'h2', { verify: false, caPem: null, serverName: null }), OPTIONS);
      const { stream } = get(pool, '/');
      stream.on('error', () => {});
      assert.deepEqual(await failure(stream), { code: 'ERR_HTTP2_STREAM_CANCEL', causeCode: H2_ALPN_MISMATCH });
      await pool.close();
      assert.equal(requestBytes, 0, 'nothing may be sent to a peer that did not agree to HTTP/2');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test('only h2c and h2 endpoints are accepted', () => {
    assert.throws(() => new H2SessionPool(toUpstreamEndpoint({ address: '127.0.0.1', port: 1 }, 'http1'), OPTIONS), TypeError);
  });
});
