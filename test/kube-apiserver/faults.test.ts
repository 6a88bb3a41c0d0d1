import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { startTestApiServer, type TestApiServer } from './index.ts';
import { call, ingress, INGRESSES, openWatch } from './test-client.ts';

describe('test API server: fault injection', () => {
  let server: TestApiServer;
  before(async () => {
    server = await startTestApiServer({ bookmarkIntervalMs: 100 });
    server.create(ingress('f'));
  });
  after(() => server.close());

  it('closeWatches ends every watch cleanly', async () => {
    const a = await openWatch(server.url, INGRESSES, { resourceVersion: server.resourceVersion });
    const b = await openWatch(server.url, '/api/v1/services', { resourceVersion: server.resourceVersion });
    server.faults.closeWatches();
    await a.ended;
    await b.ended;
    assert.equal(await a.next(), undefined);
  });

  it('destroyConnections breaks streams mid-way', async () => {
    const w = await openWatch(server.url, INGRESSES, { resourceVersion: server.resourceVersion });
    server.faults.destroyConnections();
    await assert.rejects(w.ended);
  });

  it('failNext answers the next n requests with the given Status, then recovers', async () => {
    server.faults.failNext(2, 429, { retryAfterSeconds: 3 });
    const first = await call(server.url, 'GET', INGRESSES);
    assert.equal(first.status, 429);
    assert.equal(first.headers['retry-after'], '3');
    assert.equal(first.json['reason'], 'TooManyRequests');
    assert.deepEqual(first.json['details'], { retryAfterSeconds: 3 });
    assert.equal((await call(server.url, 'GET', INGRESSES)).status, 429);
    assert.equal((await call(server.url, 'GET', INGRESSES)).status, 200);
    server.faults.failNext(1, 500);
    const internal = await call(server.url, 'GET', INGRESSES);
    assert.equal(internal.status, 500);
    assert.equal(internal.json['reason'], 'InternalError');
    server.faults.failNext(1, 503);
    assert.equal((await call(server.url, 'GET', INGRESSES)).json['reason'], 'ServiceUnavailable');
    server.faults.failNext(1, 504);
    const tooLarge = await call(server.url, 'GET', INGRESSES, { query: { watch: '1' } });
    assert.equal(tooLarge.status, 504);
    assert.equal((tooLarge.json['details'] as { causes: Array<{ reason: string }> }).causes[0]!.reason, 'ResourceVersionTooLarge');
  });

  it('delay holds every response head', async () => {
    server.faults.delay(300);
    try {
      const started = Date.now();
      await call(server.url, 'GET', '/version');
      assert.ok(Date.now() - started >= 290);
    } finally {
      server.faults.delay(0);
    }
  });

  it('suppressBookmarks stops bookmarks, and turning it off brings them back', async () => {
    server.faults.suppressBookmarks(true);
    const w = await openWatch(server.url, INGRESSES, { resourceVersion: server.resourceVersion, allowWatchBookmarks: 'true' });
    try {
      await assert.rejects(w.next(400), /no watch event/);
      server.faults.suppressBookmarks(false);
      assert.equal((await w.next(1000))!.type, 'BOOKMARK');
    } finally {
      w.close();
    }
  });

  it('stall keeps watches open but silent, even for changes', async () => {
    const w = await openWatch(server.url, INGRESSES, { resourceVersion: server.resourceVersion, allowWatchBookmarks: 'true' });
    server.faults.stall(true);
    try {
      server.patch('networking.k8s.io/v1', 'Ingress', 'default', 'f', { metadata: { labels: { stalled: 'yes' } } });
      await assert.rejects(w.next(400), /no watch event/);
      const late = await openWatch(server.url, INGRESSES, { resourceVersion: '0' });
      await assert.rejects(late.next(300), /no watch event/, 'new watches stall too');
      late.close();
      assert.equal((await call(server.url, 'GET', `${INGRESSES}/f`)).status, 200, 'plain requests still work');
    } finally {
      server.faults.stall(false);
      w.close();
    }
    const fresh = await openWatch(server.url, INGRESSES, { resourceVersion: '0' });
    assert.equal((await fresh.next())!.type, 'ADDED');
    fresh.close();
  });

  it('restart keeps the data and the port, refusing connections while down', async () => {
    const rv = server.resourceVersion;
    const w = await openWatch(server.url, INGRESSES, { resourceVersion: rv });
    const restarting = server.faults.restart(400);
    await w.ended.catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    const agent = new Agent();
    try {
      await assert.rejects(request(`${server.url}/version`, { dispatcher: agent }), (err: Error & { code?: string }) => err.code === 'ECONNREFUSED');
    } finally {
      await agent.close();
    }
    await restarting;
    const res = await call(server.url, 'GET', `${INGRESSES}/f`);
    assert.equal(res.status, 200);
    assert.equal(server.resourceVersion, rv);
    const resumed = await openWatch(server.url, INGRESSES, { resourceVersion: rv });
    server.patch('networking.k8s.io/v1', 'Ingress', 'default', 'f', { metadata: { labels: { after: 'restart' } } });
    assert.equal((await resumed.next())!.type, 'MODIFIED', 'history survives the restart');
    resumed.close();
  });
});
