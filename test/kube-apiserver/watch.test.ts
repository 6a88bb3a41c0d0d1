import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer, type TestApiServer } from './index.ts';
import { call, ingress, INGRESSES, nextMatching, openWatch } from './test-client.ts';

const ALL_INGRESSES = '/apis/networking.k8s.io/v1/ingresses';

describe('test API server: watch', () => {
  let server: TestApiServer;
  before(async () => {
    server = await startTestApiServer({ bookmarkIntervalMs: 200, historySize: 50 });
    server.create(ingress('a'));
    server.create(ingress('b'));
  });
  after(() => server.close());

  it('flushes headers at once, even with nothing to send', async () => {
    const w = await openWatch(server.url, '/api/v1/namespaces/default/configmaps', { resourceVersion: server.resourceVersion });
    assert.equal(w.status, 200);
    assert.equal(w.headers['content-type'], 'application/json');
    assert.equal(w.headers['transfer-encoding'], 'chunked');
    w.close();
  });

  it('from "0" sends the current state as ADDED, then live changes', async () => {
    const w = await openWatch(server.url, INGRESSES, { resourceVersion: '0' });
    const first = await w.next();
    const second = await w.next();
    assert.deepEqual([first!.type, second!.type], ['ADDED', 'ADDED']);
    assert.deepEqual([first!.object.metadata['name'], second!.object.metadata['name']], ['a', 'b']);
    assert.equal(first!.object['kind'], 'Ingress', 'watch objects carry kind');
    assert.equal(first!.object['apiVersion'], 'networking.k8s.io/v1');
    server.patch('networking.k8s.io/v1', 'Ingress', 'default', 'a', { metadata: { labels: { x: '1' } } });
    const mod = await w.next();
    assert.equal(mod!.type, 'MODIFIED');
    assert.equal(mod!.object.metadata['resourceVersion'], server.resourceVersion);
    w.close();
  });

  it('from an RV replays only later changes; DELETED carries a new RV', async () => {
    const rv = server.resourceVersion;
    server.create(ingress('c'));
    server.delete('networking.k8s.io/v1', 'Ingress', 'default', 'c');
    const w = await openWatch(server.url, ALL_INGRESSES, { resourceVersion: rv });
    const added = await w.next();
    const deleted = await w.next();
    assert.equal(added!.type, 'ADDED');
    assert.equal(deleted!.type, 'DELETED');
    assert.equal(deleted!.object.metadata['name'], 'c');
    assert.equal(Number(deleted!.object.metadata['resourceVersion']), Number(added!.object.metadata['resourceVersion']) + 1);
    w.close();
  });

  it('sends bookmarks with only kind, apiVersion and metadata.resourceVersion when asked', async () => {
    const w = await openWatch(server.url, INGRESSES, { resourceVersion: server.resourceVersion, allowWatchBookmarks: 'true' });
    const b = await w.next(2000);
    assert.equal(b!.type, 'BOOKMARK');
    assert.deepEqual(b!.object, { kind: 'Ingress', apiVersion: 'networking.k8s.io/v1', metadata: { resourceVersion: server.resourceVersion } });
    w.close();
    const quiet = await openWatch(server.url, INGRESSES, { resourceVersion: server.resourceVersion });
    await assert.rejects(quiet.next(500), /no watch event/, 'no bookmarks unless allowWatchBookmarks=true');
    quiet.close();
  });

  it('ends cleanly at timeoutSeconds, with a last bookmark', async () => {
    const started = Date.now();
    const w = await openWatch(server.url, INGRESSES, { resourceVersion: server.resourceVersion, timeoutSeconds: '1', allowWatchBookmarks: 'true' });
    const types: string[] = [];
    for (let e = await w.next(3000); e !== undefined; e = await w.next(3000)) types.push(e.type);
    await w.ended;
    const took = Date.now() - started;
    assert.ok(took >= 900 && took < 2500, `closed after ${took} ms`);
    assert.equal(types.at(-1), 'BOOKMARK');
  });

  it('answers a too-old RV with 200, one ERROR 410 Expired event, then closes', async () => {
    const old = server.resourceVersion;
    for (let i = 0; i < 60; i++) server.patch('networking.k8s.io/v1', 'Ingress', 'default', 'b', { metadata: { annotations: { n: String(i) } } });
    const w = await openWatch(server.url, INGRESSES, { resourceVersion: old });
    assert.equal(w.status, 200);
    const e = await w.next();
    assert.equal(e!.type, 'ERROR');
    assert.equal(e!.object['kind'], 'Status');
    assert.equal(e!.object['apiVersion'], 'v1');
    assert.equal(e!.object['status'], 'Failure');
    assert.equal(e!.object['reason'], 'Expired');
    assert.equal(e!.object['code'], 410);
    assert.match(String(e!.object['message']), new RegExp(`^too old resource version: ${old} \\(\\d+\\)$`));
    assert.equal(await w.next(), undefined);
    await w.ended;
  });

  it('gives 410 for any earlier RV after compact()', async () => {
    const rv = server.resourceVersion;
    server.patch('networking.k8s.io/v1', 'Ingress', 'default', 'b', { metadata: { annotations: { n: 'compact' } } });
    server.faults.compact();
    const w = await openWatch(server.url, INGRESSES, { resourceVersion: rv });
    assert.equal((await w.next())!.type, 'ERROR');
    await w.ended;
    const current = await openWatch(server.url, INGRESSES, { resourceVersion: server.resourceVersion });
    server.create(ingress('after-compact'));
    assert.equal((await w.next()), undefined);
    assert.equal((await current.next())!.type, 'ADDED', 'watching from the current RV still works');
    current.close();
  });

  it('answers an RV from the future with 504 ResourceVersionTooLarge', async () => {
    const res = await call(server.url, 'GET', INGRESSES, { query: { watch: '1', resourceVersion: String(Number(server.resourceVersion) + 100) } });
    assert.equal(res.status, 504);
    const details = res.json['details'] as { causes: Array<{ reason: string }> };
    assert.equal(details.causes[0]!.reason, 'ResourceVersionTooLarge');
  });

  it('turns selector transitions into ADDED and DELETED', async () => {
    const w = await openWatch(server.url, INGRESSES, { resourceVersion: server.resourceVersion, labelSelector: 'tier=front' });
    server.patch('networking.k8s.io/v1', 'Ingress', 'default', 'a', { metadata: { labels: { tier: 'front' } } });
    const added = await w.next();
    assert.equal(added!.type, 'ADDED');
    server.patch('networking.k8s.io/v1', 'Ingress', 'default', 'a', { metadata: { annotations: { touched: 'yes' } } });
    assert.equal((await w.next())!.type, 'MODIFIED');
    server.patch('networking.k8s.io/v1', 'Ingress', 'default', 'a', { metadata: { labels: { tier: 'back' } } });
    const left = await w.next();
    assert.equal(left!.type, 'DELETED');
    assert.equal((left!.object.metadata['labels'] as Record<string, string>)['tier'], 'front', 'the last matching state');
    assert.equal(left!.object.metadata['resourceVersion'], server.resourceVersion, 'stamped with the change RV');
    server.patch('networking.k8s.io/v1', 'Ingress', 'default', 'b', { metadata: { annotations: { other: 'x' } } });
    await assert.rejects(w.next(300), /no watch event/, 'non-matching objects stay invisible');
    w.close();
  });

  it('filters watches by namespace and field selector', async () => {
    const w = await openWatch(server.url, ALL_INGRESSES, { resourceVersion: server.resourceVersion, fieldSelector: 'metadata.name=b' });
    server.patch('networking.k8s.io/v1', 'Ingress', 'default', 'a', { metadata: { annotations: { f: '1' } } });
    server.patch('networking.k8s.io/v1', 'Ingress', 'default', 'b', { metadata: { annotations: { f: '1' } } });
    const e = await w.next();
    assert.equal(e!.object.metadata['name'], 'b');
    w.close();
  });

  it('streams initial events with sendInitialEvents and an initial-events-end bookmark', async () => {
    const w = await openWatch(server.url, INGRESSES, {
      sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: 'true', resourceVersion: '',
    });
    const names: string[] = [];
    let e = await w.next();
    while (e!.type === 'ADDED') {
      names.push(String(e!.object.metadata['name']));
      e = await w.next();
    }
    assert.deepEqual(names, ['a', 'after-compact', 'b']);
    assert.equal(e!.type, 'BOOKMARK');
    assert.deepEqual(e!.object.metadata, { resourceVersion: server.resourceVersion, annotations: { 'k8s.io/initial-events-end': 'true' } });
    server.create(ingress('live'));
    const live = await nextMatching(w, (x) => x.type !== 'BOOKMARK');
    assert.equal(live.type, 'ADDED');
    w.close();
  });

  it('rejects sendInitialEvents without resourceVersionMatch=NotOlderThan with 422', async () => {
    const res = await call(server.url, 'GET', INGRESSES, { query: { watch: 'true', sendInitialEvents: 'true', allowWatchBookmarks: 'true' } });
    assert.equal(res.status, 422);
    assert.equal(res.json['reason'], 'Invalid');
  });

  it('can refuse sendInitialEvents as with the WatchList gate off', async () => {
    const off = await startTestApiServer({ watchList: false });
    try {
      const res = await call(off.url, 'GET', INGRESSES, {
        query: { watch: 'true', sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: 'true' },
      });
      assert.equal(res.status, 422);
      assert.match(String(res.json['message']), /sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled/);
    } finally {
      await off.close();
    }
  });
});
