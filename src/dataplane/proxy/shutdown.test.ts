// close() ends by the drain deadline even when upstream requests never
// finish: a backend that accepts and never answers, with requests from an
// HTTP/1.1 client (both engines) and an HTTP/2 client (h2c) in flight.

import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import type { Http1EngineKind } from './options.ts';
import { eventually, startProxy } from './test-support/harness.ts';

describe('shutdown with upstream requests that never finish', () => {
  let silent: Server;
  let silentPort: number;
  const accepted = new Set<Socket>();

  before(async () => {
    // Accepts, reads, never answers.
    silent = createServer((s) => {
      accepted.add(s);
      s.on('error', () => {});
      s.on('close', () => accepted.delete(s));
      s.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as AddressInfo).port;
  });

  after(async () => {
    for (const s of accepted) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  for (const engine of ['martello', 'node'] as Http1EngineKind[]) {
    test(`[${engine}] close() resolves by the drain deadline with HTTP/1.1 and HTTP/2 requests stuck upstream`, { timeout: 20_000 }, async () => {
      const p = await startProxy(
        { hosts: [{ host: 'a.test', routes: [{ path: '/', cluster: 'silent' }] }], clusters: { silent: [silentPort] } },
        { engine, h2c: true, drainTimeoutMs: 400 },
      );
      const h1 = request(`${p.origin}/stuck`, { headers: { host: 'a.test' } }).then((r) => r.statusCode, (err: Error) => err.message);
      const session = h2connect(`http://127.0.0.1:${p.port}`);
      session.on('error', () => {});
      const stream = session.request({ ':authority': 'a.test', ':path': '/stuck-h2' });
      stream.on('error', () => {});
      stream.end();
      await eventually(() => accepted.size >= 2, 10_000, 'both requests reach the silent backend');
      const started = Date.now();
      await p.close();
      const took = Date.now() - started;
      assert.ok(took < 5_000, `close() took ${took} ms with a 400 ms drain deadline`);
      await h1;
      session.destroy();
    });
  }
});

test('an HTTP/2 client that vanishes mid-request aborts its upstream requests (nothing is left for close() to wait on)', { timeout: 20_000 }, async () => {
  const backend = createHttpServer((_req, res) => setTimeout(() => res.end('x'.repeat(100_000)), 100));
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const port = (backend.address() as AddressInfo).port;
  const p = await startProxy({ hosts: [{ host: 'a.test', routes: [{ path: '/', cluster: 'b' }] }], clusters: { b: [port] } }, { h2c: true, drainTimeoutMs: 10_000 });
  try {
    const session = h2connect(`http://127.0.0.1:${p.port}`);
    session.on('error', () => {});
    let seen = 0;
    backend.on('request', () => seen++);
    for (let i = 0; i < 20; i++) {
      const stream = session.request({ ':authority': 'a.test', ':path': '/' });
      stream.on('error', () => {});
      stream.end();
    }
    await eventually(() => seen === 20, 10_000, 'all requests reach the backend');
    session.destroy();
    await eventually(() => p.proxy.activeConnections === 0, 10_000, 'the client connection is gone');
    const started = Date.now();
    await p.close();
    const took = Date.now() - started;
    // Before the fix the HTTP/2 compatibility response hid the client's
    // departure and close() waited for the whole drain deadline.
    assert.ok(took < 3_000, `close() took ${took} ms`);
  } finally {
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  }
});

test('HTTP/2 streams reset right after their HEADERS leave no upstream request behind', { timeout: 20_000 }, async () => {
  const backend = createHttpServer((_req, res) => setTimeout(() => res.end('x'.repeat(100_000)), 200));
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const port = (backend.address() as AddressInfo).port;
  const p = await startProxy({ hosts: [{ host: 'a.test', routes: [{ path: '/', cluster: 'b' }] }], clusters: { b: [port] } }, { h2c: true, drainTimeoutMs: 10_000 });
  try {
    const session = h2connect(`http://127.0.0.1:${p.port}`);
    session.on('error', () => {});
    let seen = 0;
    backend.on('request', () => seen++);
    for (let i = 0; i < 20; i++) {
      const stream = session.request({ ':authority': 'a.test', ':path': '/' });
      stream.on('error', () => {});
      stream.end();
      stream.close(0x8 /* CANCEL */);
    }
    await eventually(() => seen > 0 || p.proxy.requests >= 20, 10_000, 'the proxy saw the requests');
    session.close();
    await eventually(() => p.proxy.activeConnections === 0, 10_000, 'the client connection is gone');
    const started = Date.now();
    await p.close();
    const took = Date.now() - started;
    assert.ok(took < 3_000, `close() took ${took} ms`);
  } finally {
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  }
});
