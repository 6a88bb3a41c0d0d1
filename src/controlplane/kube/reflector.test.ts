import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, it } from 'node:test';
import type { Ingress } from '../../k8s/objects.ts';
import { silentLogger } from '../../shared/log.ts';
import { RESOURCES, resourcePath } from './api.ts';
import { Reflector, type ReflectorOptions } from './reflector.ts';
import { requestsTo, startHarness, type Harness } from './test-support/api-server.ts';
import { eventually, ingress, namespace, RecordingSink, service } from './test-support/fixtures.ts';

const INGRESSES = resourcePath(RESOURCES.ingresses, 'apps');

let current: Harness | undefined;
let reflector: Reflector | undefined;
afterEach(async () => {
  await reflector?.stop();
  reflector = undefined;
  await current?.close();
  current = undefined;
});

async function setup(
  serverOptions: Parameters<typeof startHarness>[0] = {},
  seed = 0,
): Promise<{ h: Harness; sink: RecordingSink; start: (o?: Partial<ReflectorOptions>) => Reflector }> {
  const harness = await startHarness(serverOptions);
  current = harness;
  harness.server.create(namespace('apps'));
  harness.server.create(namespace('other'));
  for (let i = 0; i < seed; i++) harness.server.create(ingress('apps', `a-${i}`));
  const sink = new RecordingSink();
  const start = (o: Partial<ReflectorOptions> = {}): Reflector => {
    reflector = new Reflector({ client: harness.client, resource: RESOURCES.ingresses, namespace: 'apps', listener: sink, logger: silentLogger, backoff: { baseMs: 20 }, ...o });
    reflector.start();
    return reflector;
  };
  return { h: harness, sink, start };
}

/** The sink and the reflector's copy hold exactly what the server holds, at the same versions. */
function assertEqualToServer(harness: Harness, sink: RecordingSink, r: Reflector): void {
  const server = harness.server.list('networking.k8s.io/v1', 'Ingress', 'apps');
  const expected = new Map(server.map((o) => {
    const m = o.metadata as { name: string; resourceVersion: string };
    return [`apps/${m.name}`, m.resourceVersion];
  }));
  assert.deepEqual(new Map([...r.versions()].sort()), new Map([...expected].sort()));
  assert.deepEqual(sink.names('Ingress'), [...expected.keys()].sort());
  for (const o of sink.objects.values()) assert.equal(o.metadata.resourceVersion, expected.get(`${o.metadata.namespace}/${o.metadata.name}`));
}

function hostOf(sink: RecordingSink, name: string): string | undefined {
  return (sink.objects.get(`Ingress/apps/${name}`) as Ingress | undefined)?.spec.rules[0]?.host;
}

describe('Reflector', () => {
  it('lists every page, then delivers the initial state as one batch and reports synced', async () => {
    const { h, sink, start } = await setup({}, 7);
    const withExtras = ingress('apps', 'applied');
    withExtras.metadata = {
      namespace: 'apps',
      name: 'applied',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"copy"}', keep: 'me' },
    };
    h.server.create(withExtras);
    h.server.create(ingress('other', 'elsewhere'));
    const r = start({ pageSize: 3 });
    await r.whenSynced();
    assert.equal(sink.syncedCalls, 1);
    assert.equal(sink.batches.length, 1);
    assert.equal(sink.batches[0]?.length, 8);
    assert.ok(sink.batches[0]?.every((e) => e.type === 'upsert'));
    assertEqualToServer(h, sink, r);
    assert.deepEqual({ ...sink.objects.get('Ingress/apps/applied')?.metadata.annotations }, { keep: 'me' });
    const { lists } = requestsTo(h.server, INGRESSES);
    assert.equal(lists.length, 3);
    assert.deepEqual(lists.map((l) => l.query.limit), ['3', '3', '3']);
    assert.equal(lists[0]?.query.continue, undefined);
    assert.ok(lists[1]?.query.continue !== undefined && lists[2]?.query.continue !== undefined);
    assert.equal(r.status().synced, true);
    assert.equal(r.status().resourceVersion, h.server.resourceVersion);
  });

  it('starts the list over when a continue token expires between pages', async () => {
    const { h, sink, start } = await setup({}, 7);
    let injected = false;
    const onHeaders = (m: unknown): void => {
      const { request } = m as { request: { path: string } };
      if (injected || !request.path.startsWith(`${INGRESSES}?`) || request.path.includes('continue=') || request.path.includes('watch=')) return;
      // Between the first and second page: a write, then compaction expires the token's snapshot.
      injected = true;
      h.server.create(ingress('apps', 'between-pages'));
      h.server.faults.compact();
    };
    subscribe('undici:request:headers', onHeaders);
    let r: Reflector;
    try {
      r = start({ pageSize: 3 });
      await r.whenSynced();
    } finally {
      unsubscribe('undici:request:headers', onHeaders);
    }
    const { lists } = requestsTo(h.server, INGRESSES);
    assert.deepEqual(lists.map((l) => [l.status, l.query.continue === undefined ? 'first' : 'next']), [
      [200, 'first'],
      [410, 'next'],
      [200, 'first'],
      [200, 'next'],
      [200, 'next'],
    ]);
    assert.equal(sink.batches.length, 1);
    assertEqualToServer(h, sink, r);
    assert.ok(sink.objects.has('Ingress/apps/between-pages'));
    assert.equal(r.status().relists, 0);
  });

  it('delivers additions, updates and deletions from the watch', async () => {
    const { h, sink, start } = await setup({}, 3);
    const r = start();
    await r.whenSynced();
    const listRV = r.status().resourceVersion;
    const watchOpen = (): boolean => requestsTo(h.server, INGRESSES).watches.length > 0;
    await eventually(watchOpen, 'the watch to open');
    h.server.create(ingress('apps', 'new'));
    h.server.update(ingress('apps', 'a-0', 'changed.example.com'));
    h.server.delete('networking.k8s.io/v1', 'Ingress', 'apps', 'a-1');
    h.server.create(ingress('other', 'not-mine'));
    await sink.waitFor(() => hostOf(sink, 'a-0') === 'changed.example.com' && !sink.objects.has('Ingress/apps/a-1') && sink.objects.has('Ingress/apps/new'), 'the changes');
    assertEqualToServer(h, sink, r);
    const watch = requestsTo(h.server, INGRESSES).watches[0];
    assert.equal(watch?.query.allowWatchBookmarks, 'true');
    assert.match(watch?.query.timeoutSeconds ?? '', /^\d+$/);
    assert.equal(watch?.query.resourceVersion, listRV, 'the watch starts at the list revision');
    const deletes = sink.batches.flat().filter((e) => e.type === 'delete');
    assert.deepEqual(deletes, [{ type: 'delete', key: { kind: 'Ingress', namespace: 'apps', name: 'a-1' } }]);
  });

  it('advances its resourceVersion on bookmarks and rewatches from it after a clean close, without relisting', async () => {
    const { h, start } = await setup({ bookmarkIntervalMs: 50 }, 2);
    const r = start();
    await r.whenSynced();
    const listRV = r.status().resourceVersion;
    // Changes to other kinds move the global revision; only a bookmark tells this watch.
    h.server.create(service('apps', 'web'));
    h.server.create(service('apps', 'api'));
    const latest = h.server.resourceVersion;
    assert.notEqual(latest, listRV);
    await eventually(() => r.status().resourceVersion === latest, 'a bookmark with the latest revision');
    h.server.faults.closeWatches();
    await eventually(() => requestsTo(h.server, INGRESSES).watches.length === 2, 'the rewatch');
    const watches = requestsTo(h.server, INGRESSES).watches;
    assert.equal(watches[0]?.query.resourceVersion, listRV);
    assert.equal(watches[1]?.query.resourceVersion, latest);
    assert.equal(requestsTo(h.server, INGRESSES).lists.length, 1);
    assert.equal(r.status().relists, 0);
    assert.equal(r.status().rewatches, 1);
  });

  it('rewatches when the server ends the watch at timeoutSeconds', async () => {
    const { h, sink, start } = await setup({ bookmarkIntervalMs: 60_000 }, 1);
    const r = start({ watchTimeoutSeconds: 1 });
    await r.whenSynced();
    await eventually(() => requestsTo(h.server, INGRESSES).watches.length >= 2, 'a second watch after the server-side timeout');
    h.server.create(ingress('apps', 'after-timeout'));
    await sink.waitFor(() => sink.objects.has('Ingress/apps/after-timeout'), 'the object created after the rewatch');
    assert.equal(requestsTo(h.server, INGRESSES).lists.length, 1);
    assert.equal(requestsTo(h.server, INGRESSES).watches[0]?.query.timeoutSeconds, '1');
    assert.equal(r.status().restarts, 0);
  });

  it('relists exactly once after 410 Expired and ends equal to the server, deletions included', async () => {
    const { h, sink, start } = await setup({ bookmarkIntervalMs: 60_000 }, 4);
    const r = start();
    await r.whenSynced();
    await eventually(() => requestsTo(h.server, INGRESSES).watches.length === 1, 'the watch');
    // The watch goes silent: these changes never reach it.
    h.server.faults.stall(true);
    h.server.delete('networking.k8s.io/v1', 'Ingress', 'apps', 'a-0');
    h.server.update(ingress('apps', 'a-2', 'moved.example.com'));
    h.server.create(ingress('apps', 'born-offline'));
    h.server.faults.compact();
    h.server.faults.stall(false);
    h.server.faults.closeWatches();
    await sink.waitFor(() => !sink.objects.has('Ingress/apps/a-0') && sink.objects.has('Ingress/apps/born-offline') && hostOf(sink, 'a-2') === 'moved.example.com', 'the relist');
    assertEqualToServer(h, sink, r);
    await eventually(() => requestsTo(h.server, INGRESSES).watches.length === 3, 'the watch after the relist');
    const { lists, watches } = requestsTo(h.server, INGRESSES);
    assert.equal(lists.length, 2, 'one relist');
    assert.equal(r.status().relists, 1);
    assert.equal(lists[1]?.query.resourceVersion, undefined, 'relist from the latest state (RV "")');
    assert.equal(watches[2]?.query.resourceVersion, r.status().resourceVersion);
    // The relist's diff: one delete, two upserts, the unchanged objects not re-sent.
    const relistBatch = sink.batches.at(-1) ?? [];
    assert.deepEqual(relistBatch.map((e) => (e.type === 'delete' ? `delete ${e.key.name}` : `upsert ${e.object.metadata.name}`)).sort(), ['delete a-0', 'upsert a-2', 'upsert born-offline']);
  });

  it('relists when the watch request itself answers 410', async () => {
    const { h, sink, start } = await setup({ bookmarkIntervalMs: 60_000 }, 1);
    const r = start();
    await r.whenSynced();
    await eventually(() => requestsTo(h.server, INGRESSES).watches.length === 1, 'the watch');
    h.server.faults.stall(true);
    h.server.create(ingress('apps', 'while-silent'));
    h.server.faults.compact();
    h.server.faults.stall(false);
    h.server.faults.closeWatches();
    await sink.waitFor(() => sink.objects.has('Ingress/apps/while-silent'), 'the relist');
    assert.equal(r.status().relists, 1);
  });

  it('honours Retry-After on 429', async () => {
    const { h, start } = await setup({ bookmarkIntervalMs: 60_000 }, 1);
    const r = start({ backoff: { baseMs: 1 } });
    await r.whenSynced();
    await eventually(() => requestsTo(h.server, INGRESSES).watches.length === 1, 'the watch');
    const times: Array<{ at: number; what: string }> = [];
    const onCreate = (m: unknown): void => {
      const req = (m as { request: { path: string } }).request;
      if (req.path.startsWith(INGRESSES)) times.push({ at: performance.now(), what: 'request' });
    };
    const onHeaders = (m: unknown): void => {
      const { request, response } = m as { request: { path: string }; response: { statusCode: number } };
      if (request.path.startsWith(INGRESSES)) times.push({ at: performance.now(), what: String(response.statusCode) });
    };
    subscribe('undici:request:create', onCreate);
    subscribe('undici:request:headers', onHeaders);
    try {
      h.server.faults.failNext(1, 429, { retryAfterSeconds: 1 });
      h.server.faults.closeWatches();
      await eventually(() => requestsTo(h.server, INGRESSES).watches.filter((w) => w.status === 200).length === 2, 'the watch after the 429', 10_000);
    } finally {
      unsubscribe('undici:request:create', onCreate);
      unsubscribe('undici:request:headers', onHeaders);
    }
    const limited = times.findIndex((t) => t.what === '429');
    assert.ok(limited >= 0, 'the 429 answer was seen');
    const retry = times.slice(limited).find((t) => t.what === 'request');
    assert.ok(retry !== undefined);
    const waited = retry.at - (times[limited]?.at ?? 0);
    assert.ok(waited >= 950, `waited ${Math.round(waited)} ms after Retry-After: 1`);
    // The fake server records the watch when it sends the headers; the reflector marks
    // itself connected when it reads them, a moment later.
    await eventually(() => r.status().connected, 'the reflector to see the new watch');
    assert.equal(r.status().relists, 0);
    assert.equal(r.status().restarts, 1);
  });

  it('abandons a silently stalled watch after the watchdog period and rewatches', async () => {
    const { h, sink, start } = await setup({ bookmarkIntervalMs: 100 }, 1);
    const r = start({ watchdogMs: 400 });
    await r.whenSynced();
    // Bookmarks keep a healthy watch alive past the watchdog period.
    await eventually(() => requestsTo(h.server, INGRESSES).watches.length === 1, 'the watch');
    const healthySince = performance.now();
    await eventually(() => performance.now() - healthySince > 900, 'a healthy period longer than the watchdog');
    assert.equal(requestsTo(h.server, INGRESSES).watches.length, 1, 'no restart while bookmarks arrive');
    h.server.faults.stall(true);
    await eventually(() => r.status().restarts >= 1, 'the watchdog to fire');
    assert.match(r.status().lastError ?? '', /stalled/);
    h.server.faults.stall(false);
    h.server.create(ingress('apps', 'after-stall'));
    await sink.waitFor(() => sink.objects.has('Ingress/apps/after-stall'), 'the object created after the stall');
    assert.equal(requestsTo(h.server, INGRESSES).lists.length, 1, 'no relist');
    assert.equal(r.status().connected, true);
  });

  it('backs off while the API server is down, then recovers and catches up', async () => {
    const { h, sink, start } = await setup({ bookmarkIntervalMs: 60_000 }, 2);
    const r = start({ backoff: { baseMs: 50, capMs: 200 } });
    await r.whenSynced();
    await eventually(() => requestsTo(h.server, INGRESSES).watches.length === 1, 'the watch');
    const restarted = h.server.faults.restart(800);
    await eventually(() => !r.status().connected, 'disconnected');
    const downError = r.status().lastError;
    assert.ok(downError !== undefined);
    // Changes while it is down (the store survives the restart).
    h.server.create(ingress('apps', 'during-outage'));
    h.server.delete('networking.k8s.io/v1', 'Ingress', 'apps', 'a-1');
    await restarted;
    await sink.waitFor(() => sink.objects.has('Ingress/apps/during-outage') && !sink.objects.has('Ingress/apps/a-1'), 'catching up after the restart');
    assertEqualToServer(h, sink, r);
    await eventually(() => r.status().connected, 'connected again');
    assert.ok(r.status().restarts >= 1);
  });

  it('reports an object the decoder rejects and keeps delivering the others', async () => {
    const { h, sink, start } = await setup({}, 1);
    const bad = ingress('apps', 'bad');
    (bad.spec as { rules: Array<{ http: { paths: Array<{ pathType: string }> } }> }).rules[0]!.http.paths[0]!.pathType = 'Bogus';
    h.server.create(bad);
    const r = start();
    await r.whenSynced();
    assert.deepEqual(sink.names('Ingress'), ['apps/a-0']);
    const problem = sink.lastProblems.find((p) => p.object === 'Ingress apps/bad');
    assert.equal(problem?.field, 'spec.rules[0].http.paths[0].pathType');
    assert.equal(problem?.severity, 'error');
    // Still running: later objects arrive.
    h.server.create(ingress('apps', 'later'));
    await sink.waitFor(() => sink.objects.has('Ingress/apps/later'), 'a later object');
    // A valid object turning invalid keeps its last valid version.
    const broken = ingress('apps', 'later', 'later.example.com');
    (broken.spec as { rules: Array<{ host: string }> }).rules[0]!.host = 'Not A Host!';
    h.server.update(broken);
    await sink.waitFor(() => sink.lastProblems.some((p) => p.code === 'object-kept-last-valid' && p.object === 'Ingress apps/later'), 'kept-last-valid');
    assert.equal(hostOf(sink, 'later'), 'later.example.com');
    // Fixing the bad one delivers it and clears its problems.
    h.server.update(ingress('apps', 'bad'));
    await sink.waitFor(() => sink.objects.has('Ingress/apps/bad') && !sink.lastProblems.some((p) => p.object === 'Ingress apps/bad'), 'the fixed object');
    h.server.delete('networking.k8s.io/v1', 'Ingress', 'apps', 'later');
    await sink.waitFor(() => sink.lastProblems.length === 0 && !sink.objects.has('Ingress/apps/later'), 'problems gone with the object');
  });
});
