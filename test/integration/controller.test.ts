// The real `martello controller` process against the in-repo Kubernetes API
// server: initial sync, routing to Pod endpoints, changes, Ingress status,
// Events, the Lease, an API-server outage, and leader failover between two
// replicas. Waits on /debug/config and on the server's state, never on sleeps.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startTestApiServer, type TestApiServer } from '../kube-apiserver/index.ts';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../support/echo-backend.ts';
import { eventually } from '../support/eventually.ts';
import { startController, type MartelloProcess } from '../support/martello-process.ts';
import { scrapeMetrics, sumSamples } from '../support/metrics.ts';

type Obj = Record<string, unknown>;

const ingress = (name: string, host: string, service: string, className = 'martello'): Obj => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: 'default' },
  spec: { ingressClassName: className, rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: 80 } } } }] } }] },
});
const service = (name: string): Obj => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 80, targetPort: 8080 }] } });
const slice = (svc: string, port: number): Obj => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
  metadata: { name: `${svc}-abc`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
  addressType: 'IPv4', endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }], ports: [{ name: '', port, protocol: 'TCP' }],
});

async function get(port: number, host: string): Promise<{ status: number; body: string }> {
  const res = await request(`http://127.0.0.1:${port}/x`, { headers: { host } });
  return { status: res.statusCode, body: await res.body.text() };
}

describe('martello controller against the test API server', () => {
  let api: TestApiServer;
  let dir: string;
  let kubeconfig: string;
  let web: EchoBackend;
  let shop: EchoBackend;
  let first: MartelloProcess;

  before(async () => {
    api = await startTestApiServer({ bookmarkIntervalMs: 500 });
    dir = await mkdtemp(join(tmpdir(), 'martello-controller-'));
    kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, api.kubeconfig());
    [web, shop] = await Promise.all([startEchoBackend('web'), startEchoBackend('shop')]);
    api.create({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'martello' }, spec: { controller: 'martello.dev/ingress-controller' } });
    api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'martello-lb', namespace: 'default' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } });
    api.patchStatus('v1', 'Service', 'default', 'martello-lb', { status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } });
    api.create(service('web'));
    api.create(slice('web', web.port));
    api.create(ingress('web', 'web.test', 'web'));
    api.create(ingress('theirs', 'theirs.test', 'web', 'nginx'));
    first = await startController(kubeconfig, ['--publish-service', 'default/martello-lb']);
    await first.waitFor((c) => c.generation >= 1);
  });

  after(async () => {
    await first?.stop();
    await Promise.all([web?.close(), shop?.close()]);
    await api?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('routes to the Pod endpoints of the Ingresses of its class only', async () => {
    const res = await get(first.httpPort, 'web.test');
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body) as EchoReply).backend, 'web');
    assert.equal((await get(first.httpPort, 'theirs.test')).status, 404, 'an Ingress of another class is ignored');
  });

  test('publishes the load-balancer address into the status of its Ingresses only', async () => {
    await eventually('status of default/web', () => {
      const ing = api.get('networking.k8s.io/v1', 'Ingress', 'default', 'web') as { status?: { loadBalancer?: { ingress?: unknown[] } } };
      const lb = ing.status?.loadBalancer?.ingress;
      return lb !== undefined && lb.length > 0 ? lb : undefined;
    }).then((lb) => assert.deepEqual(lb, [{ ip: '192.0.2.10' }]));
    const theirs = api.get('networking.k8s.io/v1', 'Ingress', 'default', 'theirs') as { status?: { loadBalancer?: { ingress?: unknown[] } } };
    assert.deepEqual(theirs.status?.loadBalancer?.ingress ?? [], [], 'another controller\'s Ingress is untouched');
    const statusWrites = api.journal.filter((r) => r.method === 'PATCH' && r.path.endsWith('/ingresses/web/status'));
    assert.ok(statusWrites.length >= 1 && statusWrites.every((r) => r.contentType?.startsWith('application/merge-patch+json')));
  });

  test('holds the Lease in its namespace and reports a Sync event on the Ingress', async () => {
    const lease = await eventually('lease', () => api.get('coordination.k8s.io/v1', 'Lease', 'default', 'martello-leader') as { spec?: { holderIdentity?: string; renewTime?: string } } | undefined);
    assert.match(lease.spec?.holderIdentity ?? '', /_\d+$/);
    assert.match(lease.spec?.renewTime ?? '', /\.\d{6}Z$/, 'MicroTime with six fractional digits');
    await eventually('Sync event', () => api.list('events.k8s.io/v1', 'Event', 'default')
      .find((e) => (e['regarding'] as { name?: string } | undefined)?.name === 'web' && e['reason'] === 'Sync'));
  });

  test('a new Ingress and a Service change apply without a restart', async () => {
    const startGeneration = (await first.debugConfig()).generation;
    api.create(service('shop'));
    api.create(slice('shop', shop.port));
    api.create(ingress('shop', 'shop.test', 'shop'));
    await first.waitFor((c) => c.generation > startGeneration && c.routes.some((r) => r.host === 'shop.test' && r.endpoints.length === 1));
    assert.equal((JSON.parse((await get(first.httpPort, 'shop.test')).body) as EchoReply).backend, 'shop');
  });

  test('a missing Service is a Warning event on the Ingress and a 503 for that route only', async () => {
    api.create(ingress('broken', 'broken.test', 'nope'));
    await first.waitFor((c) => c.routes.some((r) => r.host === 'broken.test'));
    assert.equal((await get(first.httpPort, 'broken.test')).status, 503);
    assert.equal((await get(first.httpPort, 'web.test')).status, 200);
    const warning = await eventually('ServiceNotFound event', () => api.list('events.k8s.io/v1', 'Event', 'default')
      .find((e) => (e['regarding'] as { name?: string } | undefined)?.name === 'broken' && e['type'] === 'Warning'));
    assert.match(String(warning['note']), /Service default\/nope not found/);
  });

  test('keeps serving the last good configuration while the API server is down, and says so', async () => {
    const healthy = await scrapeMetrics(first.adminPort);
    assert.equal(sumSamples(healthy, 'martello_kube_watch_up', { resource: 'ingresses' }), 1);
    assert.ok(sumSamples(healthy, 'martello_kube_watch_events_total', { resource: 'ingresses', type: 'ADDED' }) >= 1);
    assert.ok(sumSamples(healthy, 'martello_kube_watch_last_activity_timestamp_seconds', { resource: 'ingresses' }) > Date.now() / 1000 - 60);
    const restartsBefore = sumSamples(healthy, 'martello_kube_watch_restarts_total');
    const outage = api.faults.restart(3000);
    const down = await first.waitFor((c) => c.kubernetes?.connected === false, 10_000);
    assert.equal(down.kubernetes?.stale, true);
    assert.equal(sumSamples(await scrapeMetrics(first.adminPort), 'martello_kube_watch_up', { resource: 'ingresses' }), 0, 'the watch is reported down');
    assert.equal((await get(first.httpPort, 'web.test')).status, 200, 'traffic still routed during the outage');
    assert.equal((await request(`http://127.0.0.1:${first.adminPort}/readyz`)).statusCode, 200, 'still ready');
    await outage;
    await first.waitFor((c) => c.kubernetes?.connected === true, 20_000);
    assert.ok(sumSamples(await scrapeMetrics(first.adminPort), 'martello_kube_watch_restarts_total') > restartsBefore, 'restarts counted');
    const startGeneration = (await first.debugConfig()).generation;
    api.delete('networking.k8s.io/v1', 'Ingress', 'default', 'broken');
    await first.waitFor((c) => c.generation > startGeneration && !c.routes.some((r) => r.host === 'broken.test'));
  });

  test('a second replica serves traffic too, and takes over the Lease when the leader stops', async () => {
    const second = await startController(kubeconfig, ['--publish-service', 'default/martello-lb']);
    try {
      await second.waitFor((c) => c.generation >= 1);
      assert.equal((await get(second.httpPort, 'web.test')).status, 200);
      const views = await Promise.all([first.debugConfig(), second.debugConfig()]);
      assert.equal(views.filter((v) => v.leader?.isLeader === true).length, 1, 'exactly one leader');
      assert.equal(views[1]!.leader?.isLeader, false, 'the first replica keeps the Lease');
      assert.equal(await first.stop(), 0);
      await second.waitFor((c) => c.leader?.isLeader === true, 10_000);
      const lease = api.get('coordination.k8s.io/v1', 'Lease', 'default', 'martello-leader') as { spec: { holderIdentity: string; leaseTransitions?: number } };
      assert.equal(lease.spec.holderIdentity, views[1]!.leader!.identity);
      assert.ok((lease.spec.leaseTransitions ?? 0) >= 1);
    } finally {
      await second.stop();
    }
  });
});
