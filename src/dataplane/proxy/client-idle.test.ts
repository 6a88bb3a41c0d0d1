// A client that stops reading a response must not hold its connection (and
// the upstream connection paused behind it) forever: after the idle timeout
// the proxy cuts it, the upstream request is aborted, and serving goes on.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { echo, startBackend, type TestBackend } from './test-support/backends.ts';
import { eventually, HTTP1_ENGINES, type RunningProxy, startProxy } from './test-support/harness.ts';

const block = randomBytes(1024 * 1024);

for (const engine of HTTP1_ENGINES) {
  describe(`[${engine}] stalled readers`, () => {
    let backend: TestBackend;
    let p: RunningProxy;
    let upstreamClosed = false;

    before(async () => {
      backend = await startBackend('big', (req, res, b) => {
        if (req.url !== '/big') return echo(req, res, b);
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.on('close', () => {
          upstreamClosed = true;
        });
        let sent = 0;
        const pump = (): void => {
          while (sent < 64) {
            sent++;
            if (!res.write(block)) return;
          }
          res.end();
        };
        res.on('drain', pump);
        pump();
      });
      p = await startProxy({ hosts: [{ host: '*', routes: [{ path: '/', cluster: 's' }] }], clusters: { s: [backend.port] } }, { engine, clientIdleTimeoutMs: 300 });
    });

    after(async () => {
      await p.close();
      await backend.close();
    });

    test('a client that stops reading is cut after the idle timeout and the upstream request is aborted', async () => {
      const socket = connect(p.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
      socket.pause(); // never read: the response backs up into the proxy
      // A paused client does not notice the close itself; watch the proxy's side.
      await eventually(() => p.proxy.activeConnections === 0 && upstreamClosed, 10_000, 'the stalled connection to be cut and its upstream response abandoned');
      socket.destroy();
      const res = await request(`${p.origin}/after`, { headers: { host: 'x' } });
      assert.equal(res.statusCode, 200);
      await res.body.text();
    });
  });
}
