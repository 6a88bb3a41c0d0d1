import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeObject } from '../k8s/decode.ts';
import type { KubeObject } from '../k8s/objects.ts';
import { silentLogger } from '../shared/log.ts';
import { DEFAULT_TRANSLATE_OPTIONS } from '../translate/options.ts';
import { ReconcileLoop, type ModelUpdate } from './reconcile-loop.ts';
import type { ResourceEvent, Source, SourceSink } from './sources/source.ts';

/** A Source driven by the test: our own interface, not a Kubernetes stand-in. */
class ScriptedSource implements Source {
  readonly name = 'scripted';
  sink: SourceSink | undefined;
  readonly #initial: readonly ResourceEvent[];
  constructor(initial: readonly ResourceEvent[]) {
    this.#initial = initial;
  }
  async start(sink: SourceSink): Promise<void> {
    this.sink = sink;
    sink.events(this.#initial);
    sink.synced();
  }
  async stop(): Promise<void> {}
}

function obj(value: unknown): KubeObject {
  const r = decodeObject(value);
  assert.equal(r.ok, true, JSON.stringify(r));
  return (r as { object: KubeObject }).object;
}

const rawIngress = {
  apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: 'default' },
  spec: { rules: [{ host: 'a.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'used', port: { number: 80 } } } }] } }] },
};
const ingress = obj(rawIngress);
const service = (name: string): KubeObject => obj({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
const slice = (serviceName: string, address: string): KubeObject => obj({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
  metadata: { name: `${serviceName}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': serviceName } },
  addressType: 'IPv4', endpoints: [{ addresses: [address] }], ports: [{ port: 8080 }],
});
const upsert = (object: KubeObject): ResourceEvent => ({ type: 'upsert', object });

async function startLoop(): Promise<{ loop: ReconcileLoop; source: ScriptedSource; updates: ModelUpdate[] }> {
  const updates: ModelUpdate[] = [];
  const source = new ScriptedSource([upsert(ingress), upsert(service('used')), upsert(slice('used', '10.0.0.1'))]);
  const loop = new ReconcileLoop({
    sources: [source], translateOptions: DEFAULT_TRANSLATE_OPTIONS, logger: silentLogger,
    apply: (u) => updates.push(u), holdoffMs: 1, maxDelayMs: 5,
  });
  await loop.start();
  return { loop, source, updates };
}

test('reconcile loop: first build after sync, generation 1', async () => {
  const { loop, updates } = await startLoop();
  assert.equal(updates.length, 1);
  assert.equal(updates[0]!.generation, 1);
  assert.deepEqual(updates[0]!.model.clusters[0]!.endpoints, [{ address: '10.0.0.1', port: 8080 }]);
  await loop.stop();
});

test('reconcile loop: changes to Services and slices no Ingress uses schedule no rebuild', async () => {
  const { loop, source } = await startLoop();
  source.sink!.events([upsert(service('unused')), upsert(slice('unused', '10.9.9.9'))]);
  assert.equal(loop.rebuildPending, false);
  source.sink!.events([{ type: 'delete', key: { kind: 'Service', namespace: 'default', name: 'unused' } }]);
  assert.equal(loop.rebuildPending, false);
  source.sink!.events([upsert(slice('used', '10.0.0.2'))]);
  assert.equal(loop.rebuildPending, true, 'a slice of a used Service is relevant');
  await loop.stop();
});

test('reconcile loop: a relevant change yields a new generation; an identical model yields none', async () => {
  const { loop, source, updates } = await startLoop();
  source.sink!.events([upsert(slice('used', '10.0.0.2'))]);
  await loop.waitFor((s) => s.generation === 2);
  assert.deepEqual(updates[1]!.model.clusters[0]!.endpoints, [{ address: '10.0.0.2', port: 8080 }]);
  const rebuilds = loop.state.rebuilds;
  source.sink!.events([upsert(ingress)]); // same object again: no change at all
  assert.equal(loop.rebuildPending, false);
  const relabelled = obj({ ...rawIngress, metadata: { ...rawIngress.metadata, labels: { touched: 'yes' } } }); // same routes
  source.sink!.events([upsert(relabelled)]);
  await loop.waitFor((s) => s.rebuilds > rebuilds);
  assert.equal(loop.state.generation, 2, 'a rebuild with an identical model applies nothing');
  assert.equal(updates.length, 2);
  await loop.stop();
});

test('reconcile loop: an Ingress change that only touches status schedules no rebuild', async () => {
  const { loop, source } = await startLoop();
  const withStatus = obj({ ...rawIngress, metadata: { ...rawIngress.metadata, resourceVersion: '42' }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } });
  assert.deepEqual(withStatus.kind === 'Ingress' && withStatus.status.loadBalancer.ingress, [{ ip: '192.0.2.1' }]);
  source.sink!.events([upsert(withStatus)]);
  assert.equal(loop.rebuildPending, false);
  source.sink!.events([upsert(obj({ ...rawIngress, metadata: { ...rawIngress.metadata, annotations: { a: 'b' } } }))]);
  assert.equal(loop.rebuildPending, true, 'an annotation change is relevant');
  await loop.stop();
});
