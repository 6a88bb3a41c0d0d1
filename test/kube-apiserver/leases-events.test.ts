import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApiServer, type TestApiServer } from './index.ts';
import { call } from './test-client.ts';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/default/leases';
const EVENTS_V1 = '/apis/events.k8s.io/v1/namespaces/default/events';
const CORE_EVENTS = '/api/v1/namespaces/default/events';

function lease(name: string, renewTime: string): Record<string, unknown> {
  return {
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name },
    spec: { holderIdentity: 'pod-a_1', leaseDurationSeconds: 15, acquireTime: renewTime, renewTime, leaseTransitions: 0 },
  };
}

function newEvent(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name, namespace: 'default' },
    eventTime: '2026-01-02T03:04:05.123456Z', reportingController: 'martello.dev/ingress-controller',
    reportingInstance: 'martello-0', action: 'Sync', reason: 'Sync', type: 'Normal', note: 'Scheduled for sync',
    regarding: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'default', name: 'web', uid: 'u-1' },
    ...extra,
  };
}

describe('test API server: Leases', () => {
  let server: TestApiServer;
  before(async () => {
    server = await startTestApiServer();
  });
  after(() => server.close());

  it('accepts MicroTime with six fractional digits and refuses millisecond times with 400', async () => {
    const ok = await call(server.url, 'POST', LEASES, { body: lease('leader', '2026-01-02T03:04:05.123456Z') });
    assert.equal(ok.status, 201);
    assert.equal((ok.json['spec'] as Record<string, unknown>)['renewTime'], '2026-01-02T03:04:05.123456Z');
    const bad = await call(server.url, 'POST', LEASES, { body: lease('bad', new Date(Date.UTC(2026, 0, 2)).toISOString()) });
    assert.equal(bad.status, 400);
    assert.equal(bad.json['kind'], 'Status');
    assert.equal(bad.json['reason'], 'BadRequest');
    assert.match(String(bad.json['message']), /parsing time "2026-01-02T00:00:00.000Z" as "2006-01-02T15:04:05.000000Z07:00"/);
    const noFraction = await call(server.url, 'POST', LEASES, { body: lease('bad2', '2026-01-02T03:04:05Z') });
    assert.equal(noFraction.status, 400);
  });

  it('checks MicroTime on update and patch too, and needs a resourceVersion to update', async () => {
    const current = server.get('coordination.k8s.io/v1', 'Lease', 'default', 'leader')!;
    const renewed = structuredClone(current) as { spec: Record<string, unknown> };
    renewed.spec['renewTime'] = '2026-01-02T03:04:06.5Z';
    assert.equal((await call(server.url, 'PUT', `${LEASES}/leader`, { body: renewed })).status, 400);
    renewed.spec['renewTime'] = '2026-01-02T03:04:06.500000Z';
    const put = await call(server.url, 'PUT', `${LEASES}/leader`, { body: renewed });
    assert.equal(put.status, 200);
    const patch = await call(server.url, 'PATCH', `${LEASES}/leader`, {
      contentType: 'application/merge-patch+json', body: { spec: { renewTime: '2026-01-02T03:04:07.000Z' } },
    });
    assert.equal(patch.status, 400);
    const unconditional = structuredClone(put.json) as { metadata: Record<string, unknown> };
    delete unconditional.metadata['resourceVersion'];
    const res = await call(server.url, 'PUT', `${LEASES}/leader`, { body: unconditional });
    assert.equal(res.status, 422, 'Leases do not allow unconditional updates');
  });

  it('detects a lost race with 409 Conflict', async () => {
    const current = server.get('coordination.k8s.io/v1', 'Lease', 'default', 'leader') as { spec: Record<string, unknown> };
    const a = structuredClone(current);
    const b = structuredClone(current);
    a.spec['holderIdentity'] = 'pod-a';
    b.spec['holderIdentity'] = 'pod-b';
    assert.equal((await call(server.url, 'PUT', `${LEASES}/leader`, { body: a })).status, 200);
    const lost = await call(server.url, 'PUT', `${LEASES}/leader`, { body: b });
    assert.equal(lost.status, 409);
    assert.match(String(lost.json['message']), /^Operation cannot be fulfilled on leases.coordination.k8s.io "leader"/);
  });
});

describe('test API server: Events', () => {
  let server: TestApiServer;
  before(async () => {
    server = await startTestApiServer();
  });
  after(() => server.close());

  it('stores events.k8s.io/v1 events and serves them through core/v1 with the field mapping', async () => {
    const res = await call(server.url, 'POST', EVENTS_V1, { body: newEvent('web.1') });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json['apiVersion'], 'events.k8s.io/v1');
    const core = await call(server.url, 'GET', `${CORE_EVENTS}/web.1`);
    assert.equal(core.status, 200);
    assert.equal(core.json['apiVersion'], 'v1');
    assert.deepEqual(core.json['involvedObject'], newEvent('x')['regarding']);
    assert.equal(core.json['message'], 'Scheduled for sync');
    assert.equal(core.json['reportingComponent'], 'martello.dev/ingress-controller');
    assert.equal(core.json['eventTime'], '2026-01-02T03:04:05.123456Z');
    // kubectl describe's query.
    const list = await call(server.url, 'GET', CORE_EVENTS, {
      query: { fieldSelector: 'involvedObject.name=web,involvedObject.namespace=default,involvedObject.kind=Ingress,involvedObject.uid=u-1' },
    });
    assert.equal((list.json['items'] as unknown[]).length, 1);
    const none = await call(server.url, 'GET', CORE_EVENTS, { query: { fieldSelector: 'involvedObject.name=other' } });
    assert.equal((none.json['items'] as unknown[]).length, 0);
  });

  it('serves core events written with core/v1 through events.k8s.io/v1', async () => {
    const res = await call(server.url, 'POST', CORE_EVENTS, {
      body: {
        apiVersion: 'v1', kind: 'Event', metadata: { name: 'web.2' }, reason: 'Old', message: 'legacy', type: 'Warning',
        involvedObject: { kind: 'Ingress', namespace: 'default', name: 'web' }, source: { component: 'old' },
        firstTimestamp: '2026-01-02T03:04:05Z', lastTimestamp: '2026-01-02T03:04:05Z', count: 3,
      },
    });
    assert.equal(res.status, 201);
    const v1 = await call(server.url, 'GET', `${EVENTS_V1}/web.2`);
    assert.equal(v1.json['note'], 'legacy');
    assert.equal(v1.json['deprecatedCount'], 3);
    assert.deepEqual(v1.json['deprecatedSource'], { component: 'old' });
    assert.deepEqual((v1.json['regarding'] as Record<string, unknown>)['name'], 'web');
  });

  it('refuses a millisecond eventTime with 400', async () => {
    const res = await call(server.url, 'POST', EVENTS_V1, { body: newEvent('web.3', { eventTime: '2026-01-02T03:04:05.123Z' }) });
    assert.equal(res.status, 400);
    const series = await call(server.url, 'POST', EVENTS_V1, { body: newEvent('web.3', { series: { count: 2, lastObservedTime: '2026-01-02T03:04:05Z' } }) });
    assert.equal(series.status, 400, 'series.lastObservedTime is MicroTime too');
  });

  it('enforces the events.k8s.io/v1 required fields with 422 Invalid', async () => {
    const body = newEvent('web.4');
    for (const f of ['reportingController', 'reportingInstance', 'action', 'reason']) delete body[f];
    body['type'] = 'Info';
    body['deprecatedCount'] = 4;
    const res = await call(server.url, 'POST', EVENTS_V1, { body });
    assert.equal(res.status, 422);
    const fields = (res.json['details'] as { causes: Array<{ field: string }> }).causes.map((c) => c.field).sort();
    assert.deepEqual(fields, ['action', 'deprecatedCount', 'reason', 'reportingController', 'reportingInstance', 'type']);
    const noTime = newEvent('web.5');
    delete noTime['eventTime'];
    assert.equal((await call(server.url, 'POST', EVENTS_V1, { body: noTime })).status, 422);
  });

  it('takes series updates by merge patch', async () => {
    const res = await call(server.url, 'PATCH', `${EVENTS_V1}/web.1`, {
      contentType: 'application/strategic-merge-patch+json',
      body: { series: { count: 2, lastObservedTime: '2026-01-02T03:05:05.000001Z' } },
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual(res.json['series'], { count: 2, lastObservedTime: '2026-01-02T03:05:05.000001Z' });
    const bad = await call(server.url, 'PATCH', `${EVENTS_V1}/web.1`, {
      contentType: 'application/merge-patch+json', body: { series: { count: 1, lastObservedTime: '2026-01-02T03:05:05.000001Z' } },
    });
    assert.equal(bad.status, 422);
  });
});
