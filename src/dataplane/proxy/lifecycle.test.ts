// close(): stops accepting, lets the request in flight finish (with
// Connection: close), closes idle keep-alive connections and resolves; and
// the counters a future /metrics reads.

import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { Client } from 'undici';
import { echo, startBackend } from './test-support/backends.ts';
import { eventually, HTTP1_ENGINES, startProxy } from './test-support/harness.ts';

for (const engine of HTTP1_ENGINES) {
  describe(`[${engine}] lifecycle`, () => {
    test('counters, then close() drains the in-flight request and closes idle connections', async () => {
      let heldRes: ServerResponse | undefined;
      const held = Promise.withResolvers<void>();
      const backend = await startBackend('life', (req, res, b) => {
        if (req.url === '/hold') {
          req.resume();
          heldRes = res;
          held.resolve();
          return;
        }
        echo(req, res, b);
      });
      const p = await startProxy({ hosts: [{ host: 'life.test', routes: [{ path: '/', cluster: 'l' }] }], clusters: { l: [backend.port] } }, { engine });
      const idle = new Client(p.origin);
      const busy = new Client(p.origin);
      try {
        const ok = await idle.request({ path: '/x', method: 'GET', headers: { host: 'life.test' } });
        await ok.body.text();
        const nf = await idle.request({ path: '/x', method: 'GET', headers: { host: 'none.test' } });
        await nf.body.text();
        const stats = p.proxy.stats();
        assert.equal(stats.requests, 2);
        assert.equal(stats.responsesByClass['2xx'], 1);
        assert.equal(stats.responsesByClass['4xx'], 1);
        assert.equal(stats.activeConnections, 1);

        const inFlight = busy.request({ path: '/hold', method: 'GET', headers: { host: 'life.test' } });
        await held.promise;
        assert.equal(p.proxy.activeConnections, 2);
        const closed = p.close();
        // New connections are refused once close() has been called.
        await assert.rejects(
          new Promise<void>((resolve, reject) => {
            const s = connect(p.port, '127.0.0.1');
            s.on('connect', () => {
              s.destroy();
              resolve();
            });
            s.on('error', reject);
          }),
        );
        // The idle keep-alive connection is closed, the busy one is not.
        await eventually(() => p.proxy.activeConnections === 1, 10_000, 'idle connection to close');
        heldRes!.end('drained');
        const res = await inFlight;
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['connection'], 'close');
        assert.equal(await res.body.text(), 'drained');
        await closed;
        assert.equal(p.proxy.activeConnections, 0);
        assert.equal(p.proxy.upstreamPools, 0);
      } finally {
        await idle.destroy();
        await busy.destroy();
        await p.close();
        await backend.close();
      }
    });
  });
}
