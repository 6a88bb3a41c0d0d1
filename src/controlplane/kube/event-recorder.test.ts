import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Diagnostic } from '../../shared/diagnostic.ts';
import { silentLogger } from '../../shared/log.ts';
import {
  dedupeKey,
  EventRecorder,
  eventForDiagnostic,
  eventName,
  ingressOfDiagnostic,
  reasonForCode,
  RebuildEventTracker,
  truncateNote,
  type EventRecorderOptions,
  type EventSpec,
} from './event-recorder.ts';
import { startLiveApi, type LiveApi } from './test-support/live-api.ts';

const web = { namespace: 'shop', name: 'web', uid: 'uid-web' };
const missing: Diagnostic = { severity: 'warning', code: 'service-not-found', object: 'Ingress shop/web', field: 'spec.rules[0].http.paths[0].backend.service.name', message: 'Service "api" not found' };

describe('event helpers (pure)', () => {
  test('reasons come from diagnostic codes', () => {
    assert.equal(reasonForCode('service-not-found'), 'ServiceNotFound');
    assert.equal(reasonForCode('route-conflict'), 'RouteConflict');
    assert.equal(reasonForCode('field-required'), 'FieldRequired');
    assert.equal(reasonForCode(''), 'Problem');
  });

  test('notes are cut to 1 KiB of UTF-8 on a character boundary', () => {
    assert.equal(truncateNote('short'), 'short');
    const long = truncateNote('x'.repeat(5000));
    assert.equal(new TextEncoder().encode(long).length, 1024);
    assert.ok(long.endsWith('…'));
    const wide = truncateNote('é'.repeat(1000)); // 2000 bytes
    assert.ok(new TextEncoder().encode(wide).length <= 1024);
    assert.ok(!wide.includes('\uFFFD'));
  });

  test('dedupe key: same object, type, reason, action and note', () => {
    const ev: EventSpec = { regarding: web, type: 'Warning', reason: 'ServiceNotFound', action: 'Translate', note: 'n' };
    assert.equal(dedupeKey(ev), dedupeKey({ ...ev, regarding: { ...web } }));
    assert.notEqual(dedupeKey(ev), dedupeKey({ ...ev, note: 'other' }));
    assert.notEqual(dedupeKey(ev), dedupeKey({ ...ev, reason: 'RouteConflict' }));
    assert.notEqual(dedupeKey(ev), dedupeKey({ ...ev, type: 'Normal' }));
    assert.notEqual(dedupeKey(ev), dedupeKey({ ...ev, regarding: { ...web, name: 'api' } }));
    assert.notEqual(dedupeKey(ev), dedupeKey({ ...ev, regarding: { ...web, uid: 'recreated' } }));
    assert.equal(dedupeKey({ ...ev, note: 'x'.repeat(3000) }), dedupeKey({ ...ev, note: 'x'.repeat(3001) }), 'notes compare as sent');
  });

  test('event names: regarding name and hex nanoseconds, within 253 characters', () => {
    assert.equal(eventName('web', 0x17a1b2c3d4e5f6a7n), 'web.17a1b2c3d4e5f6a7');
    assert.equal(eventName('a'.repeat(253), 1n).length, 253);
  });

  test('diagnostics about Ingresses become Warnings; others are not events', () => {
    assert.deepEqual(ingressOfDiagnostic(missing), { namespace: 'shop', name: 'web' });
    assert.deepEqual(eventForDiagnostic(missing, 'uid-web'), {
      regarding: web,
      type: 'Warning',
      reason: 'ServiceNotFound',
      action: 'Translate',
      note: 'spec.rules[0].http.paths[0].backend.service.name: Service "api" not found',
    });
    assert.equal(eventForDiagnostic({ ...missing, object: 'Service shop/api' }), undefined);
    assert.equal(eventForDiagnostic({ severity: 'error', code: 'x', message: 'no object' }), undefined);
  });

  test('rebuild tracker: new problems and changed owned Ingresses only', () => {
    const tracker = new RebuildEventTracker();
    const ingresses = [
      { ...web, generation: 1, owned: true },
      { namespace: 'shop', name: 'theirs', uid: 'u2', generation: 1, owned: false },
    ];
    const first = tracker.next({ modelGeneration: 1, ingresses, diagnostics: [missing, missing] });
    assert.deepEqual(first.map((e) => [e.type, e.reason, e.regarding.name, e.note]), [
      ['Warning', 'ServiceNotFound', 'web', 'spec.rules[0].http.paths[0].backend.service.name: Service "api" not found'],
      ['Normal', 'Sync', 'web', 'Configuration applied, generation 1'],
    ]);
    assert.equal(first[0]!.regarding.uid, 'uid-web');
    assert.deepEqual(tracker.next({ modelGeneration: 1, ingresses, diagnostics: [missing] }), [], 'nothing new, nothing said');
    const edited = tracker.next({ modelGeneration: 2, ingresses: [{ ...web, generation: 2, owned: true }, ingresses[1]!], diagnostics: [] });
    assert.deepEqual(edited.map((e) => [e.reason, e.note]), [['Sync', 'Configuration applied, generation 2']]);
    const back = tracker.next({ modelGeneration: 2, ingresses: [{ ...web, generation: 2, owned: true }], diagnostics: [missing] });
    assert.deepEqual(back.map((e) => e.reason), ['ServiceNotFound'], 'a problem that comes back is reported again');
  });
});

function warning(ns: string, note = 'Service "api" not found'): EventSpec {
  return { regarding: { namespace: ns, name: 'web', uid: 'uid-web' }, type: 'Warning', reason: 'ServiceNotFound', action: 'Translate', note };
}

describe('EventRecorder against the test API server', () => {
  let api: LiveApi;
  before(async () => {
    api = await startLiveApi();
  });
  after(async () => {
    await api.close();
  });

  let nsCount = 0;
  function namespace(): string {
    const name = `events-${++nsCount}`;
    api.server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    return name;
  }

  async function recorder(extra: Partial<EventRecorderOptions> = {}): Promise<EventRecorder> {
    return new EventRecorder({ client: await api.client(), logger: silentLogger, identity: 'martello-7d9f-abcde', ...extra });
  }

  function eventsIn(ns: string): Array<Record<string, unknown>> {
    return api.server.list('events.k8s.io/v1', 'Event', ns);
  }

  test('creates events.k8s.io/v1 Events with the right fields, visible to kubectl describe', async () => {
    const ns = namespace();
    const rec = await recorder();
    assert.equal(rec.record(warning(ns)), true);
    assert.equal(rec.record({ regarding: { namespace: ns, name: 'web', uid: 'uid-web' }, type: 'Normal', reason: 'Sync', action: 'Sync', note: 'Configuration applied, generation 3' }), true);
    await rec.whenIdle();
    assert.equal(rec.api, 'events.k8s.io');
    const events = eventsIn(ns);
    assert.equal(events.length, 2);
    const ev = events.find((e) => e['reason'] === 'ServiceNotFound')!;
    assert.match(String((ev['metadata'] as { name: string }).name), /^web\.[0-9a-f]+$/);
    assert.deepEqual(ev['regarding'], { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: ns, name: 'web', uid: 'uid-web' });
    assert.equal(ev['reportingController'], 'martello.dev/ingress-controller');
    assert.equal(ev['reportingInstance'], 'martello-7d9f-abcde');
    assert.equal(ev['action'], 'Translate');
    assert.equal(ev['type'], 'Warning');
    assert.equal(ev['note'], 'Service "api" not found');
    assert.match(String(ev['eventTime']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(ev['series'], undefined);
    const creates = api.server.journal.filter((e) => e.method === 'POST' && e.path === `/apis/events.k8s.io/v1/namespaces/${ns}/events`);
    assert.deepEqual(creates.map((e) => e.status), [201, 201]);

    // What `kubectl describe ingress` asks for: core/v1 events by involvedObject.
    const client = await api.client();
    const described = await client.request<{ items: Array<Record<string, unknown>> }>({
      method: 'GET',
      path: `/api/v1/namespaces/${ns}/events`,
      query: { fieldSelector: `involvedObject.name=web,involvedObject.namespace=${ns},involvedObject.kind=Ingress,involvedObject.uid=uid-web` },
    });
    assert.deepEqual(described.items.map((e) => [e['type'], e['reason'], e['message']]).sort(), [
      ['Normal', 'Sync', 'Configuration applied, generation 3'],
      ['Warning', 'ServiceNotFound', 'Service "api" not found'],
    ]);
    await rec.stop();
  });

  test('a repeated problem updates the series of the same Event', async () => {
    const ns = namespace();
    const rec = await recorder();
    rec.record(warning(ns));
    await rec.whenIdle();
    rec.record(warning(ns));
    await rec.whenIdle();
    rec.record(warning(ns));
    await rec.whenIdle();
    const events = eventsIn(ns);
    assert.equal(events.length, 1);
    const series = events[0]!['series'] as { count: number; lastObservedTime: string };
    assert.equal(series.count, 3);
    assert.match(series.lastObservedTime, /\.\d{6}Z$/);
    const patches = api.server.journal.filter((e) => e.method === 'PATCH' && e.path.startsWith(`/apis/events.k8s.io/v1/namespaces/${ns}/events/`));
    assert.equal(patches.length, 2);
    assert.ok(patches.every((p) => (p.contentType ?? '').startsWith('application/merge-patch+json') && p.status === 200));
    assert.deepEqual([rec.stats.created, rec.stats.updated], [1, 2]);

    // Another note is another Event.
    rec.record(warning(ns, 'Service "db" not found'));
    await rec.whenIdle();
    assert.equal(eventsIn(ns).length, 2);
    await rec.stop();
  });

  test('repeats still waiting in the queue cost no extra request', async () => {
    const ns = namespace();
    const rec = await recorder();
    for (let i = 0; i < 5; i++) rec.record(warning(ns));
    await rec.whenIdle();
    const events = eventsIn(ns);
    assert.equal(events.length, 1);
    assert.equal((events[0]!['series'] as { count: number }).count, 5);
    assert.deepEqual([rec.stats.created, rec.stats.updated, rec.stats.merged], [1, 1, 4]);
    await rec.stop();
  });

  test('after the dedupe window a repeat starts a new Event', async () => {
    const ns = namespace();
    let now = Date.now();
    const rec = await recorder({ now: () => now, dedupeWindowMs: 60_000 });
    rec.record(warning(ns));
    await rec.whenIdle();
    now += 61_000;
    rec.record(warning(ns));
    await rec.whenIdle();
    assert.equal(eventsIn(ns).length, 2);
    await rec.stop();
  });

  test('rate limits cap a storm per object and globally, counting the drops', async () => {
    const ns = namespace();
    const frozen = Date.now();
    const perObject = await recorder({ now: () => frozen });
    let accepted = 0;
    for (let i = 0; i < 200; i++) if (perObject.record(warning(ns, `problem ${i}`))) accepted++;
    await perObject.whenIdle();
    assert.equal(accepted, 25);
    assert.equal(eventsIn(ns).length, 25);
    assert.equal(perObject.stats.rateLimited, 175);
    assert.equal(perObject.stats.dropped, 175);
    await perObject.stop();

    const ns2 = namespace();
    const global = await recorder({ now: () => frozen, globalBurst: 10 });
    for (let i = 0; i < 50; i++) global.record({ ...warning(ns2), regarding: { namespace: ns2, name: `ing-${i}` } });
    await global.whenIdle();
    assert.equal(eventsIn(ns2).length, 10);
    assert.equal(global.stats.rateLimited, 40);
    await global.stop();
  });

  test('the queue is bounded and drops rather than grows', async () => {
    const ns = namespace();
    const rec = await recorder({ maxQueue: 5 });
    for (let i = 0; i < 20; i++) rec.record({ ...warning(ns), regarding: { namespace: ns, name: `ing-${i}` } });
    await rec.whenIdle();
    assert.equal(eventsIn(ns).length, 5);
    assert.equal(rec.stats.queueFull, 15);
    await rec.stop();
  });

  test('client errors drop the event; server errors are retried', async () => {
    const rec = await recorder({ retryDelayMs: 10 });
    rec.record(warning('no-such-namespace'));
    await rec.whenIdle();
    assert.equal(rec.stats.failed, 1);
    assert.equal(rec.api, 'events.k8s.io', 'a missing namespace is not a missing API');

    const ns = namespace();
    api.server.faults.failNext(1, 503);
    rec.record(warning(ns));
    await rec.whenIdle();
    assert.equal(eventsIn(ns).length, 1);
    assert.equal(rec.stats.failed, 1);
    await rec.stop();
  });
});
