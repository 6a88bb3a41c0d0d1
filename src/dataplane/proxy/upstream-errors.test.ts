// Failure handling through real sockets: 502 for a refused endpoint, 504 for
// a backend that never answers, a truncated upstream response cuts the
// client connection instead of faking completion, and clients that vanish
// mid-request or mid-response abort the upstream without hurting the proxy.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { refusedPort, startBackend, type TestBackend } from './test-support/backends.ts';
import { HTTP1_ENGINES } from './options.ts';
import { type RunningProxy, startProxy } from './test-support/harness.ts';

for (const engine of HTTP1_ENGINES) describe(`[${engine}] proxy upstream errors`, () => {
  let backend: TestBackend;
  let p: RunningProxy;
  /** Resolved when the backend sees the proxy's upstream request for /endless close. */
  const endlessClosed = Promise.withResolvers<void>();
  const uploadAborted = Promise.withResolvers<void>();
  const uploadStarted = Promise.withResolvers<void>();

  before(async () => {
    backend = await startBackend('err', (req, res) => {
      const url = req.url ?? '';
      if (url === '/hang') {
        // Never answers; the proxy's response-header timeout must fire.
        return;
      }
      if (url === '/truncated-length') {
        res.writeHead(200, { 'content-length': '100000' });
        res.write(Buffer.alloc(1000, 'a'), () => res.destroy());
        return;
      }
      if (url === '/truncated-chunked') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write(Buffer.alloc(1000, 'b'), () => res.destroy());
        return;
      }
      if (url === '/endless') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(16 * 1024, 'e');
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk));
        };
        res.on('drain', pump);
        res.on('close', () => endlessClosed.resolve());
        pump();
        return;
      }
      if (url === '/upload') {
        req.on('data', () => uploadStarted.resolve());
        req.on('close', () => {
          if (!req.complete) uploadAborted.resolve();
        });
        req.on('end', () => res.end('complete'));
        return;
      }
      res.end('fine');
    });
    const dead = await refusedPort();
    p = await startProxy(
      {
        hosts: [{ host: '*', routes: [{ path: '/', cluster: 'ok' }, { path: '/dead', cluster: 'dead' }] }],
        clusters: { ok: [backend.port], dead: [dead] },
      },
      { engine, responseHeaderTimeoutMs: 300 },
    );
  });

  after(async () => {
    await p.close();
    await backend.close();
  });

  async function stillServing(): Promise<void> {
    const res = await request(`${p.origin}/fine`, { headers: { host: 'x.test' } });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'fine');
  }

  test('502 for a refused endpoint, with Server and request ID', async () => {
    const res = await request(`${p.origin}/dead/x`, { headers: { host: 'x.test', 'x-request-id': 'dead-1' } });
    const body = await res.body.text();
    assert.equal(res.statusCode, 502);
    assert.equal(res.headers['server'], 'martello');
    assert.equal(res.headers['x-request-id'], 'dead-1');
    assert.equal(res.headers['content-length'], String(body.length));
    assert.equal(body, '502 Bad Gateway\n');
    assert.ok(p.proxy.counters.upstreamErrors >= 1);
  });

  test('504 when the backend never sends response headers', async () => {
    const started = Date.now();
    const res = await request(`${p.origin}/hang`, { headers: { host: 'x.test' } });
    const body = await res.body.text();
    assert.equal(res.statusCode, 504);
    assert.equal(body, '504 Gateway Timeout\n');
    assert.equal(res.headers['server'], 'martello');
    assert.ok(Date.now() - started < 10_000, 'the short header timeout option was not applied');
    await stillServing();
  });

  for (const path of ['/truncated-length', '/truncated-chunked']) {
    test(`upstream failure after the head (${path}) cuts the client connection`, async () => {
      const res = await request(`${p.origin}${path}`, { headers: { host: 'x.test' } });
      assert.equal(res.statusCode, 200);
      await assert.rejects(res.body.arrayBuffer(), 'a truncated response must not look complete');
      await stillServing();
    });
  }

  test('a client that disconnects mid-response aborts the upstream; the proxy keeps serving', async () => {
    const before5xx = p.proxy.counters.responsesByClass['5xx'];
    const res = await request(`${p.origin}/endless`, { headers: { host: 'x.test' } });
    assert.equal(res.statusCode, 200);
    let received = 0;
    for await (const chunk of res.body) {
      received += (chunk as Buffer).length;
      if (received > 256 * 1024) break; // leaving the loop destroys the body and the connection
    }
    await endlessClosed.promise;
    await stillServing();
    assert.equal(p.proxy.counters.responsesByClass['5xx'], before5xx, 'an aborted client is not an upstream error');
  });

  test('a client that disconnects mid-upload aborts the upstream request; the proxy keeps serving', async () => {
    const socket = connect(p.port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('POST /upload HTTP/1.1\r\nHost: x.test\r\nContent-Length: 1000000\r\n\r\n');
    socket.write(Buffer.alloc(64 * 1024, 'u'));
    // Wait until body bytes reach the backend, then vanish.
    await uploadStarted.promise;
    socket.destroy();
    await uploadAborted.promise;
    await stillServing();
  });
});
