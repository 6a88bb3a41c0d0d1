import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer, type TestApiServer } from './index.ts';
import { call, ingress, INGRESSES } from './test-client.ts';

describe('test API server: discovery', () => {
  let server: TestApiServer;
  before(async () => {
    server = await startTestApiServer();
  });
  after(() => server.close());

  it('serves /version, /api and /apis', async () => {
    const version = await call(server.url, 'GET', '/version');
    assert.equal(version.status, 200);
    assert.equal(version.json['major'], '1');
    const api = await call(server.url, 'GET', '/api');
    assert.equal(api.json['kind'], 'APIVersions');
    assert.deepEqual(api.json['versions'], ['v1']);
    const apis = await call(server.url, 'GET', '/apis');
    assert.equal(apis.json['kind'], 'APIGroupList');
    const names = (apis.json['groups'] as Array<{ name: string; preferredVersion: { groupVersion: string } }>).map((g) => g.name);
    assert.deepEqual(names.sort(), ['apps', 'autoscaling', 'coordination.k8s.io', 'discovery.k8s.io', 'events.k8s.io', 'networking.k8s.io', 'policy', 'rbac.authorization.k8s.io']);
  });

  it('lists resources with status subresources, scope, verbs and short names', async () => {
    const res = await call(server.url, 'GET', '/apis/networking.k8s.io/v1');
    assert.equal(res.json['kind'], 'APIResourceList');
    assert.equal(res.json['groupVersion'], 'networking.k8s.io/v1');
    const resources = res.json['resources'] as Array<Record<string, unknown>>;
    const ing = resources.find((r) => r['name'] === 'ingresses')!;
    assert.equal(ing['namespaced'], true);
    assert.equal(ing['kind'], 'Ingress');
    assert.equal(ing['singularName'], 'ingress');
    assert.deepEqual(ing['shortNames'], ['ing']);
    assert.ok((ing['verbs'] as string[]).includes('watch'));
    assert.ok(resources.some((r) => r['name'] === 'ingresses/status'));
    assert.equal(resources.find((r) => r['name'] === 'ingressclasses')!['namespaced'], false);
    const core = await call(server.url, 'GET', '/api/v1');
    const coreNames = (core.json['resources'] as Array<{ name: string }>).map((r) => r.name);
    for (const n of ['services', 'services/status', 'secrets', 'configmaps', 'namespaces', 'events']) assert.ok(coreNames.includes(n), n);
  });

  it('answers unknown paths with a NotFound Status', async () => {
    const res = await call(server.url, 'GET', '/apis/example.com/v1/widgets');
    assert.equal(res.status, 404);
    assert.deepEqual(res.json, {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
      message: 'the server could not find the requested resource', reason: 'NotFound', details: {}, code: 404,
    });
  });
});

describe('test API server: create, get, list', () => {
  let server: TestApiServer;
  before(async () => {
    server = await startTestApiServer();
    server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
    for (let i = 0; i < 7; i++) {
      const ns = i < 5 ? 'default' : 'other';
      server.create(ingress(`ing-${i}`, { metadata: { namespace: ns, labels: { app: i % 2 === 0 ? 'even' : 'odd', idx: String(i) } } }));
    }
  });
  after(() => server.close());

  it('creates with server-set metadata, 201, and a global resourceVersion', async () => {
    const rvBefore = Number(server.resourceVersion);
    const res = await call(server.url, 'POST', INGRESSES, { body: ingress('fresh', { status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } }) });
    assert.equal(res.status, 201);
    const meta = res.json['metadata'] as Record<string, unknown>;
    assert.equal(meta['resourceVersion'], String(rvBefore + 1));
    assert.match(String(meta['uid']), /^[0-9a-f-]{36}$/);
    assert.match(String(meta['creationTimestamp']), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.equal(meta['generation'], 1);
    assert.deepEqual(res.json['status'], { loadBalancer: {} }, 'status is stripped on create');
    const got = await call(server.url, 'GET', `${INGRESSES}/fresh`);
    assert.deepEqual(got.json, res.json);
    await call(server.url, 'DELETE', `${INGRESSES}/fresh`);
  });

  it('refuses a duplicate with AlreadyExists and a missing namespace with 404', async () => {
    const dup = await call(server.url, 'POST', INGRESSES, { body: ingress('ing-0') });
    assert.equal(dup.status, 409);
    assert.equal(dup.json['reason'], 'AlreadyExists');
    assert.equal(dup.json['message'], 'ingresses.networking.k8s.io "ing-0" already exists');
    const missing = await call(server.url, 'POST', '/apis/networking.k8s.io/v1/namespaces/nope/ingresses', { body: ingress('x', { metadata: { namespace: 'nope' } }) });
    assert.equal(missing.status, 404);
    assert.equal(missing.json['message'], 'namespaces "nope" not found');
  });

  it('refuses invalid names with 422 Invalid and field causes', async () => {
    const res = await call(server.url, 'POST', INGRESSES, { body: ingress('Bad_Name') });
    assert.equal(res.status, 422);
    assert.equal(res.json['reason'], 'Invalid');
    const details = res.json['details'] as { causes: Array<{ field: string }>; kind: string };
    assert.equal(details.kind, 'Ingress');
    assert.equal(details.causes[0]!.field, 'metadata.name');
    const svc = await call(server.url, 'POST', '/api/v1/namespaces/default/services', { body: { metadata: { name: '1web' } } });
    assert.equal(svc.status, 422, 'Service names are DNS-1035 labels');
  });

  it('lists across namespaces in namespace/name order, items without kind/apiVersion', async () => {
    const res = await call(server.url, 'GET', '/apis/networking.k8s.io/v1/ingresses');
    assert.equal(res.json['kind'], 'IngressList');
    assert.equal(res.json['apiVersion'], 'networking.k8s.io/v1');
    assert.equal((res.json['metadata'] as Record<string, unknown>)['resourceVersion'], server.resourceVersion);
    const items = res.json['items'] as Array<Record<string, unknown> & { metadata: { namespace: string; name: string } }>;
    assert.deepEqual(items.map((i) => `${i.metadata.namespace}/${i.metadata.name}`),
      ['default/ing-0', 'default/ing-1', 'default/ing-2', 'default/ing-3', 'default/ing-4', 'other/ing-5', 'other/ing-6']);
    for (const item of items) {
      assert.equal(item['kind'], undefined);
      assert.equal(item['apiVersion'], undefined);
    }
    const ns = await call(server.url, 'GET', INGRESSES);
    assert.equal((ns.json['items'] as unknown[]).length, 5);
  });

  it('pages with limit/continue over a consistent snapshot with remainingItemCount', async () => {
    const first = await call(server.url, 'GET', '/apis/networking.k8s.io/v1/ingresses', { query: { limit: '3' } });
    const meta1 = first.json['metadata'] as Record<string, unknown>;
    assert.equal((first.json['items'] as unknown[]).length, 3);
    assert.equal(meta1['remainingItemCount'], 4);
    assert.equal(typeof meta1['continue'], 'string');
    // Changes after the first page do not show up in later pages.
    server.create(ingress('zz-late', { metadata: { namespace: 'other' } }));
    server.delete('networking.k8s.io/v1', 'Ingress', 'other', 'ing-6');
    const second = await call(server.url, 'GET', '/apis/networking.k8s.io/v1/ingresses', { query: { limit: '3', continue: String(meta1['continue']) } });
    const meta2 = second.json['metadata'] as Record<string, unknown>;
    assert.equal(meta2['resourceVersion'], meta1['resourceVersion'], 'all pages carry the snapshot revision');
    assert.equal(meta2['remainingItemCount'], 1);
    const third = await call(server.url, 'GET', '/apis/networking.k8s.io/v1/ingresses', { query: { limit: '3', continue: String(meta2['continue']) } });
    const meta3 = third.json['metadata'] as Record<string, unknown>;
    assert.equal(meta3['continue'], undefined);
    assert.equal(meta3['remainingItemCount'], undefined);
    const names = [first, second, third].flatMap((p) => (p.json['items'] as Array<{ metadata: { name: string } }>).map((i) => i.metadata.name));
    assert.deepEqual(names, ['ing-0', 'ing-1', 'ing-2', 'ing-3', 'ing-4', 'ing-5', 'ing-6']);
    // Put things back for the other tests.
    server.delete('networking.k8s.io/v1', 'Ingress', 'other', 'zz-late');
    server.create(ingress('ing-6', { metadata: { namespace: 'other', labels: { app: 'even', idx: '6' } } }));
  });

  it('expires continue tokens on compaction with 410 Expired', async () => {
    const first = await call(server.url, 'GET', INGRESSES, { query: { limit: '2' } });
    server.create(ingress('compact-me'));
    server.faults.compact();
    const next = await call(server.url, 'GET', INGRESSES, { query: { limit: '2', continue: String((first.json['metadata'] as Record<string, unknown>)['continue']) } });
    assert.equal(next.status, 410);
    assert.equal(next.json['reason'], 'Expired');
    server.delete('networking.k8s.io/v1', 'Ingress', 'default', 'compact-me');
  });

  it('filters with label selectors (=, ==, !=, in, notin, exists, !key)', async () => {
    const names = async (selector: string): Promise<string[]> => {
      const res = await call(server.url, 'GET', '/apis/networking.k8s.io/v1/ingresses', { query: { labelSelector: selector } });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      return (res.json['items'] as Array<{ metadata: { name: string } }>).map((i) => i.metadata.name);
    };
    assert.deepEqual(await names('app=odd'), ['ing-1', 'ing-3', 'ing-5']);
    assert.deepEqual(await names('app==odd,idx!=3'), ['ing-1', 'ing-5']);
    assert.deepEqual(await names('idx in (0, 6)'), ['ing-0', 'ing-6']);
    assert.deepEqual(await names('app=even,idx notin (0,2)'), ['ing-4', 'ing-6']);
    assert.deepEqual(await names('idx'), ['ing-0', 'ing-1', 'ing-2', 'ing-3', 'ing-4', 'ing-5', 'ing-6']);
    assert.deepEqual(await names('!idx'), []);
    const bad = await call(server.url, 'GET', INGRESSES, { query: { labelSelector: 'a in (b' } });
    assert.equal(bad.status, 400);
  });

  it('filters with field selectors and refuses unsupported fields with 400', async () => {
    const byName = await call(server.url, 'GET', '/apis/networking.k8s.io/v1/ingresses', { query: { fieldSelector: 'metadata.name=ing-2' } });
    assert.deepEqual((byName.json['items'] as Array<{ metadata: { name: string } }>).map((i) => i.metadata.name), ['ing-2']);
    const notNs = await call(server.url, 'GET', '/apis/networking.k8s.io/v1/ingresses', { query: { fieldSelector: 'metadata.namespace!=default' } });
    assert.equal((notNs.json['items'] as unknown[]).length, 2);
    server.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls', namespace: 'default' }, type: 'kubernetes.io/tls', data: {} });
    server.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'plain', namespace: 'default' } });
    const tls = await call(server.url, 'GET', '/api/v1/secrets', { query: { fieldSelector: 'type=kubernetes.io/tls' } });
    assert.deepEqual((tls.json['items'] as Array<{ metadata: { name: string } }>).map((i) => i.metadata.name), ['tls']);
    assert.equal(server.get('v1', 'Secret', 'default', 'plain')!['type'], 'Opaque');
    const bad = await call(server.url, 'GET', INGRESSES, { query: { fieldSelector: 'spec.rules=x' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.json['message'], 'field label not supported: spec.rules');
  });

  it('deletes with a Success Status and then answers 404', async () => {
    server.create(ingress('doomed'));
    const del = await call(server.url, 'DELETE', `${INGRESSES}/doomed`);
    assert.equal(del.status, 200);
    assert.equal(del.json['kind'], 'Status');
    assert.equal(del.json['status'], 'Success');
    const gone = await call(server.url, 'GET', `${INGRESSES}/doomed`);
    assert.equal(gone.status, 404);
    assert.equal(gone.json['message'], 'ingresses.networking.k8s.io "doomed" not found');
    assert.deepEqual(gone.json['details'], { name: 'doomed', group: 'networking.k8s.io', kind: 'ingresses' });
  });

  it('writes nothing with dryRun=All', async () => {
    const rv = server.resourceVersion;
    const res = await call(server.url, 'POST', INGRESSES, { body: ingress('dry'), query: { dryRun: 'All' } });
    assert.equal(res.status, 201);
    assert.equal(server.get('networking.k8s.io/v1', 'Ingress', 'default', 'dry'), undefined);
    const del = await call(server.url, 'DELETE', `${INGRESSES}/ing-0`, { query: { dryRun: 'All' } });
    assert.equal(del.status, 200);
    assert.ok(server.get('networking.k8s.io/v1', 'Ingress', 'default', 'ing-0'));
    assert.equal(server.resourceVersion, rv);
  });

  it('serves cluster-scoped resources without a namespace', async () => {
    const res = await call(server.url, 'POST', '/apis/networking.k8s.io/v1/ingressclasses', {
      body: { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'martello' }, spec: { controller: 'martello.dev/ingress-controller' } },
    });
    assert.equal(res.status, 201);
    assert.equal((res.json['metadata'] as Record<string, unknown>)['namespace'], undefined);
    const got = await call(server.url, 'GET', '/apis/networking.k8s.io/v1/ingressclasses/martello');
    assert.equal(got.status, 200);
    const nss = await call(server.url, 'GET', '/api/v1/namespaces');
    const names = (nss.json['items'] as Array<{ metadata: { name: string } }>).map((i) => i.metadata.name);
    assert.ok(names.includes('default') && names.includes('kube-system'));
  });

  it('records every request in the journal', async () => {
    const start = server.journal.length;
    await call(server.url, 'PATCH', `${INGRESSES}/ing-1`, { body: { metadata: { labels: { j: 'x' } } }, contentType: 'application/merge-patch+json', query: { fieldManager: 'test' } });
    const entry = server.journal[start]!;
    assert.equal(entry.method, 'PATCH');
    assert.equal(entry.path, `${INGRESSES}/ing-1`);
    assert.deepEqual(entry.query, { fieldManager: 'test' });
    assert.equal(entry.contentType, 'application/merge-patch+json');
    assert.deepEqual(entry.body, { metadata: { labels: { j: 'x' } } });
    assert.equal(entry.status, 200);
  });
});
