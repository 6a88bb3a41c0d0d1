import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { silentLogger } from '../../../shared/log.ts';
import { requestsTo, startHarness, type Harness } from '../../kube/test-support/api-server.ts';
import { endpointSlice, eventually, ingress, ingressClass, namespace, opaqueSecret, RecordingSink, service, tlsSecret } from '../../kube/test-support/fixtures.ts';
import { KubeSource, type KubeSourceOptions } from './kube-source.ts';

let h: Harness | undefined;
let source: KubeSource | undefined;
afterEach(async () => {
  await source?.stop();
  source = undefined;
  await h?.close();
  h = undefined;
});

async function seeded(serverOptions: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  h = await startHarness(serverOptions);
  for (const ns of ['apps', 'other']) {
    h.server.create(namespace(ns));
    h.server.create(ingress(ns, 'web'));
    h.server.create(service(ns, 'web'));
    h.server.create(endpointSlice(ns, 'web-1', 'web'));
    h.server.create(tlsSecret(ns, 'cert'));
    h.server.create(opaqueSecret(ns, 'password'));
  }
  h.server.create(ingressClass('martello'));
  return h;
}

function newSource(harness: Harness, o: Partial<KubeSourceOptions> = {}): KubeSource {
  source = new KubeSource({ client: harness.client, namespaces: 'all', logger: silentLogger, backoff: { baseMs: 20, capMs: 200 }, ...o });
  return source;
}

describe('KubeSource', () => {
  it('reports synced once, only after every kind has listed, with the initial state delivered first', async () => {
    const harness = await seeded();
    // The first lists fail: those reflectors retry while the others are done.
    harness.server.faults.failNext(3, 503);
    const s = newSource(harness);
    const sink = new RecordingSink();
    let healthAtSync: ReturnType<KubeSource['health']> | undefined;
    let objectsAtSync = 0;
    const synced = sink.synced.bind(sink);
    sink.synced = () => {
      healthAtSync = s.health();
      objectsAtSync = sink.objects.size;
      synced();
    };
    await s.start(sink);
    assert.equal(sink.syncedCalls, 1);
    assert.ok(healthAtSync !== undefined);
    assert.equal(healthAtSync.reflectors.length, 5);
    assert.ok(healthAtSync.reflectors.every((r) => r.synced), 'every reflector synced before synced()');
    assert.equal(objectsAtSync, 9, 'initial state delivered before synced()');
    assert.equal(sink.batches.length, 1, 'the initial state is one batch');
    assert.deepEqual(sink.names('IngressClass'), ['martello']);
    assert.deepEqual(sink.names('Ingress'), ['apps/web', 'other/web']);
    assert.deepEqual(sink.names('Service'), ['apps/web', 'other/web']);
    assert.deepEqual(sink.names('EndpointSlice'), ['apps/web-1', 'other/web-1']);
    assert.deepEqual(sink.names('Secret'), ['apps/cert', 'other/cert']);
    assert.equal(harness.server.journal.filter((e) => e.status === 503).length, 3);
    const health = s.health();
    assert.equal(health.connected, true);
    assert.equal(health.stale, false);
  });

  it('reads only TLS Secrets, filtered by the API server', async () => {
    const harness = await seeded();
    const s = newSource(harness);
    const sink = new RecordingSink();
    await s.start(sink);
    await eventually(() => requestsTo(harness.server, '/api/v1/secrets').watches.length === 1, 'the secrets watch');
    const { lists, watches } = requestsTo(harness.server, '/api/v1/secrets');
    for (const req of [...lists, ...watches]) assert.equal(req.query.fieldSelector, 'type=kubernetes.io/tls');
    harness.server.create(opaqueSecret('apps', 'another-password'));
    harness.server.create(tlsSecret('apps', 'another-cert'));
    await sink.waitFor(() => sink.objects.has('Secret/apps/another-cert'), 'the new TLS secret');
    assert.deepEqual(sink.names('Secret'), ['apps/another-cert', 'apps/cert', 'other/cert']);
    // Other kinds carry no selector.
    assert.equal(requestsTo(harness.server, '/api/v1/services').lists[0]?.query.fieldSelector, undefined);
  });

  it('with --watch-namespace reads only those namespaces (IngressClasses cluster-wide)', async () => {
    const harness = await seeded();
    const s = newSource(harness, { namespaces: ['apps'] });
    const sink = new RecordingSink();
    await s.start(sink);
    assert.deepEqual([...sink.objects.keys()].sort(), [
      'EndpointSlice/apps/web-1',
      'Ingress/apps/web',
      'IngressClass//martello',
      'Secret/apps/cert',
      'Service/apps/web',
    ]);
    const paths = new Set(harness.server.journal.map((e) => e.path));
    assert.deepEqual([...paths].sort(), [
      '/api/v1/namespaces/apps/secrets',
      '/api/v1/namespaces/apps/services',
      '/apis/discovery.k8s.io/v1/namespaces/apps/endpointslices',
      '/apis/networking.k8s.io/v1/ingressclasses',
      '/apis/networking.k8s.io/v1/namespaces/apps/ingresses',
    ]);
    // Changes elsewhere never arrive; the change in "apps" created after them does.
    harness.server.create(ingress('other', 'late'));
    harness.server.create(service('other', 'late'));
    harness.server.create(ingress('apps', 'late'));
    await sink.waitFor(() => sink.objects.has('Ingress/apps/late'), 'the change in apps');
    assert.ok(![...sink.objects.keys()].some((k) => k.includes('/other/')));
    assert.deepEqual(
      s.health().reflectors.map((r) => `${r.resource} ${r.namespace ?? '*'}`).sort(),
      ['endpointslices apps', 'ingressclasses *', 'ingresses apps', 'secrets apps', 'services apps'],
    );
  });

  it('coalesces events that arrive together into one batch and forwards decode problems', async () => {
    const harness = await seeded();
    const s = newSource(harness, { coalesceMs: 100 });
    const sink = new RecordingSink();
    await s.start(sink);
    await eventually(() => s.health().reflectors.every((r) => r.connected), 'all watches open');
    const before = sink.batches.length;
    harness.server.create(ingress('apps', 'one'));
    harness.server.create(service('apps', 'one'));
    harness.server.create(endpointSlice('apps', 'one-1', 'one'));
    const bad = ingress('apps', 'bad');
    (bad.spec as { rules: Array<{ host: string }> }).rules[0]!.host = 'Bad Host';
    harness.server.create(bad);
    await sink.waitFor(() => sink.objects.has('EndpointSlice/apps/one-1') && sink.objects.has('Ingress/apps/one') && sink.objects.has('Service/apps/one'), 'the new objects');
    assert.ok(sink.batches.length - before < 3, `${sink.batches.length - before} batches for 3 changes`);
    await sink.waitFor(() => sink.lastProblems.some((p) => p.object === 'Ingress apps/bad' && p.field === 'spec.rules[0].host'), 'the decode problem');
    assert.ok(!sink.objects.has('Ingress/apps/bad'));
  });

  it('health() shows disconnected and stale while the API server is down, connected after', async () => {
    const harness = await seeded({ bookmarkIntervalMs: 60_000 });
    const s = newSource(harness);
    const sink = new RecordingSink();
    await s.start(sink);
    await eventually(() => s.health().connected, 'connected');
    const contactBefore = s.health().lastContact;
    assert.ok(contactBefore !== undefined);
    const restarted = harness.server.faults.restart(700);
    const down = await eventually(() => {
      const health = s.health();
      return health.connected ? undefined : health;
    }, 'disconnected');
    assert.equal(down.stale, true);
    assert.ok(down.lastError !== undefined);
    // The last good state stays with the sink: nothing was deleted.
    assert.equal(sink.objects.size, 9);
    harness.server.create(ingress('apps', 'during-outage'));
    await restarted;
    await sink.waitFor(() => sink.objects.has('Ingress/apps/during-outage'), 'catching up');
    const up = await eventually(() => {
      const health = s.health();
      return health.connected ? health : undefined;
    }, 'connected again');
    assert.equal(up.stale, false);
    assert.equal(up.lastError, undefined);
    assert.ok(up.reflectors.some((r) => r.restarts > 0));
  });

  it('stop() ends every watch promptly', async () => {
    const harness = await seeded();
    const s = newSource(harness);
    await s.start(new RecordingSink());
    await eventually(() => s.health().reflectors.every((r) => r.connected), 'all watches open');
    const started = performance.now();
    await s.stop();
    assert.ok(performance.now() - started < 1000);
    source = undefined;
  });

  it('stop() during start resolves start()', async () => {
    const harness = await seeded();
    harness.server.faults.failNext(1000, 503);
    const s = newSource(harness);
    const starting = s.start(new RecordingSink());
    await eventually(() => harness.server.journal.length >= 5, 'first attempts');
    await s.stop();
    await starting;
    source = undefined;
  });
});
