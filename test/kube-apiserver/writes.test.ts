import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer, type TestApiServer } from './index.ts';
import { call, ingress, INGRESSES, openWatch } from './test-client.ts';

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> };

describe('test API server: updates, status and patches', () => {
  let server: TestApiServer;
  before(async () => {
    server = await startTestApiServer();
  });
  after(() => server.close());

  it('PUT on the main resource keeps status and bumps generation only on spec changes', async () => {
    const created = server.create(ingress('gen')) as Obj;
    server.patchStatus('networking.k8s.io/v1', 'Ingress', 'default', 'gen', { status: { loadBalancer: { ingress: [{ ip: '192.0.2.7' }] } } });
    const current = server.get('networking.k8s.io/v1', 'Ingress', 'default', 'gen') as Obj;
    assert.equal(current.metadata['generation'], 1, 'status writes do not bump generation');

    const labelsOnly = structuredClone(current);
    labelsOnly.metadata['labels'] = { l: '1' };
    labelsOnly['status'] = { loadBalancer: { ingress: [{ ip: '198.51.100.1' }] } };
    const r1 = await call(server.url, 'PUT', `${INGRESSES}/gen`, { body: labelsOnly });
    assert.equal(r1.status, 200);
    assert.equal((r1.json as Obj).metadata['generation'], 1, 'metadata change: same generation');
    assert.deepEqual(r1.json['status'], { loadBalancer: { ingress: [{ ip: '192.0.2.7' }] } }, 'status from the body is ignored');

    const specChange = structuredClone(r1.json) as Obj;
    specChange['spec'] = { defaultBackend: { service: { name: 'other', port: { number: 8080 } } } };
    const r2 = await call(server.url, 'PUT', `${INGRESSES}/gen`, { body: specChange });
    assert.equal((r2.json as Obj).metadata['generation'], 2);
    assert.equal((r2.json as Obj).metadata['uid'], created.metadata['uid']);
    assert.equal((r2.json as Obj).metadata['creationTimestamp'], created.metadata['creationTimestamp']);
  });

  it('PUT and PATCH on /status keep the spec and change only status', async () => {
    const current = server.create(ingress('st')) as Obj;
    const body = structuredClone(current);
    body['spec'] = { defaultBackend: { service: { name: 'hijack', port: { number: 1 } } } };
    body['status'] = { loadBalancer: { ingress: [{ hostname: 'lb.example.com' }] } };
    const put = await call(server.url, 'PUT', `${INGRESSES}/st/status`, { body });
    assert.equal(put.status, 200);
    assert.deepEqual(put.json['spec'], current['spec']);
    assert.deepEqual(put.json['status'], { loadBalancer: { ingress: [{ hostname: 'lb.example.com' }] } });
    const patch = await call(server.url, 'PATCH', `${INGRESSES}/st/status`, {
      contentType: 'application/merge-patch+json',
      body: { spec: { defaultBackend: null }, status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } } },
    });
    assert.equal(patch.status, 200);
    assert.deepEqual(patch.json['spec'], current['spec']);
    assert.deepEqual(patch.json['status'], { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } });
    const get = await call(server.url, 'GET', `${INGRESSES}/st/status`);
    assert.deepEqual(get.json['status'], patch.json['status']);
  });

  it('validates status addresses', async () => {
    server.create(ingress('addr'));
    const bad = await call(server.url, 'PATCH', `${INGRESSES}/addr/status`, {
      contentType: 'application/merge-patch+json',
      body: { status: { loadBalancer: { ingress: [{ ip: '300.1.1.1' }, { hostname: '10.0.0.1' }, { hostname: 'Bad_Host' }] } } },
    });
    assert.equal(bad.status, 422);
    const fields = (bad.json['details'] as { causes: Array<{ field: string }> }).causes.map((c) => c.field);
    assert.deepEqual(fields, ['status.loadBalancer.ingress[0].ip', 'status.loadBalancer.ingress[1].hostname', 'status.loadBalancer.ingress[2].hostname']);
    const v6 = await call(server.url, 'PATCH', `${INGRESSES}/addr/status`, {
      contentType: 'application/merge-patch+json', body: { status: { loadBalancer: { ingress: [{ ip: '2001:db8::1' }] } } },
    });
    assert.equal(v6.status, 200);
  });

  it('answers a stale resourceVersion with the exact 409 Conflict, and an omitted one overwrites', async () => {
    const first = server.create(ingress('cf')) as Obj;
    server.patch('networking.k8s.io/v1', 'Ingress', 'default', 'cf', { metadata: { labels: { bump: '1' } } });
    const stale = structuredClone(first);
    stale.metadata['labels'] = { mine: 'yes' };
    const res = await call(server.url, 'PUT', `${INGRESSES}/cf`, { body: stale });
    assert.equal(res.status, 409);
    assert.deepEqual(res.json, {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
      message: 'Operation cannot be fulfilled on ingresses.networking.k8s.io "cf": the object has been modified; please apply your changes to the latest version and try again',
      reason: 'Conflict', details: { name: 'cf', group: 'networking.k8s.io', kind: 'ingresses' }, code: 409,
    });
    delete stale.metadata['resourceVersion'];
    const forced = await call(server.url, 'PUT', `${INGRESSES}/cf`, { body: stale });
    assert.equal(forced.status, 200);
    assert.deepEqual((forced.json as Obj).metadata['labels'], { mine: 'yes' });
  });

  it('treats metadata.resourceVersion in a merge patch as a precondition', async () => {
    const obj = server.create(ingress('pre')) as Obj;
    const rv = String(obj.metadata['resourceVersion']);
    const ok = await call(server.url, 'PATCH', `${INGRESSES}/pre/status`, {
      contentType: 'application/merge-patch+json',
      body: { metadata: { resourceVersion: rv }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } },
    });
    assert.equal(ok.status, 200);
    const stale = await call(server.url, 'PATCH', `${INGRESSES}/pre/status`, {
      contentType: 'application/merge-patch+json',
      body: { metadata: { resourceVersion: rv }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.2' }] } } },
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.json['reason'], 'Conflict');
  });

  it('applies RFC 7386 merge patches (null deletes, arrays replace)', async () => {
    server.create(ingress('mp', { metadata: { labels: { keep: 'k', drop: 'd' } }, spec: { rules: [{ host: 'a.example' }, { host: 'b.example' }] } }));
    const res = await call(server.url, 'PATCH', `${INGRESSES}/mp`, {
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { drop: null, add: 'a' } }, spec: { rules: [{ host: 'c.example' }] } },
    });
    assert.equal(res.status, 200);
    assert.deepEqual((res.json as Obj).metadata['labels'], { keep: 'k', add: 'a' });
    assert.deepEqual((res.json['spec'] as { rules: unknown }).rules, [{ host: 'c.example' }]);
  });

  it('applies RFC 6902 JSON patches and fails a failed test with 422', async () => {
    server.create(ingress('jp', { metadata: { labels: { a: '1' } }, spec: { rules: [{ host: 'x.example' }] } }));
    const res = await call(server.url, 'PATCH', `${INGRESSES}/jp`, {
      contentType: 'application/json-patch+json',
      body: [
        { op: 'test', path: '/metadata/labels/a', value: '1' },
        { op: 'add', path: '/metadata/labels/b', value: '2' },
        { op: 'replace', path: '/spec/rules/0/host', value: 'y.example' },
        { op: 'add', path: '/spec/rules/-', value: { host: 'z.example' } },
        { op: 'copy', from: '/metadata/labels/a', path: '/metadata/labels/c' },
        { op: 'move', from: '/metadata/labels/b', path: '/metadata/labels/d' },
        { op: 'remove', path: '/metadata/labels/a' },
      ],
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual((res.json as Obj).metadata['labels'], { c: '1', d: '2' });
    assert.deepEqual((res.json['spec'] as { rules: unknown }).rules, [{ host: 'y.example' }, { host: 'z.example' }]);
    const failed = await call(server.url, 'PATCH', `${INGRESSES}/jp`, {
      contentType: 'application/json-patch+json', body: [{ op: 'test', path: '/metadata/labels/c', value: 'nope' }],
    });
    assert.equal(failed.status, 422);
    const notArray = await call(server.url, 'PATCH', `${INGRESSES}/jp`, { contentType: 'application/json-patch+json', body: { a: 1 } });
    assert.equal(notArray.status, 400);
  });

  it('takes strategic merge patches as merge patches and refuses apply patches with 415', async () => {
    server.create(ingress('smp'));
    const smp = await call(server.url, 'PATCH', `${INGRESSES}/smp`, {
      contentType: 'application/strategic-merge-patch+json', body: { metadata: { annotations: { s: '1' } } },
    });
    assert.equal(smp.status, 200);
    assert.deepEqual((smp.json as Obj).metadata['annotations'], { s: '1' });
    const apply = await call(server.url, 'PATCH', `${INGRESSES}/smp`, {
      contentType: 'application/apply-patch+yaml', body: { metadata: { annotations: { s: '2' } } },
    });
    assert.equal(apply.status, 415);
    assert.equal(apply.json['reason'], 'UnsupportedMediaType');
  });

  it('makes no-op writes invisible: same RV, no watch event', async () => {
    const obj = server.create(ingress('noop', { metadata: { labels: { same: 'yes' } } })) as Obj;
    const w = await openWatch(server.url, INGRESSES, { resourceVersion: server.resourceVersion, fieldSelector: 'metadata.name=noop' });
    const rv = server.resourceVersion;
    const put = await call(server.url, 'PUT', `${INGRESSES}/noop`, { body: obj });
    const patch = await call(server.url, 'PATCH', `${INGRESSES}/noop`, { contentType: 'application/merge-patch+json', body: { metadata: { labels: { same: 'yes' } } } });
    const status = await call(server.url, 'PATCH', `${INGRESSES}/noop/status`, { contentType: 'application/merge-patch+json', body: { status: { loadBalancer: {} } } });
    for (const r of [put, patch, status]) {
      assert.equal(r.status, 200);
      assert.equal((r.json as Obj).metadata['resourceVersion'], obj.metadata['resourceVersion']);
    }
    assert.equal(server.resourceVersion, rv);
    await assert.rejects(w.next(300), /no watch event/);
    w.close();
  });

  it('keeps objects with finalizers until the last finalizer goes', async () => {
    server.create(ingress('fin', { metadata: { finalizers: ['martello.dev/cleanup'] } }));
    const del = await call(server.url, 'DELETE', `${INGRESSES}/fin`);
    assert.equal(del.status, 200);
    assert.equal(del.json['kind'], 'Ingress');
    assert.ok((del.json as Obj).metadata['deletionTimestamp']);
    assert.ok(server.get('networking.k8s.io/v1', 'Ingress', 'default', 'fin'));
    const rm = await call(server.url, 'PATCH', `${INGRESSES}/fin`, { contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } });
    assert.equal(rm.status, 200);
    assert.equal(server.get('networking.k8s.io/v1', 'Ingress', 'default', 'fin'), undefined);
  });

  it('checks delete preconditions', async () => {
    const obj = server.create(ingress('dp')) as Obj;
    const res = await call(server.url, 'DELETE', `${INGRESSES}/dp`, { body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'not-the-uid' } } });
    assert.equal(res.status, 409);
    const ok = await call(server.url, 'DELETE', `${INGRESSES}/dp`, { body: { preconditions: { uid: obj.metadata['uid'], resourceVersion: obj.metadata['resourceVersion'] } } });
    assert.equal(ok.status, 200);
  });

  it('refuses a mismatched name or apiVersion with 400, and PUT of a missing object with 404', async () => {
    const obj = server.create(ingress('nm')) as Obj;
    const renamed = { ...obj, metadata: { ...obj.metadata, name: 'other' } };
    assert.equal((await call(server.url, 'PUT', `${INGRESSES}/nm`, { body: renamed })).status, 400);
    assert.equal((await call(server.url, 'POST', INGRESSES, { body: { ...ingress('v'), apiVersion: 'extensions/v1beta1' } })).status, 400);
    assert.equal((await call(server.url, 'PUT', `${INGRESSES}/missing`, { body: ingress('missing') })).status, 404);
  });
});
