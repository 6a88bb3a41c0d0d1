import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeLoadBalancerStatus } from '../../k8s/decode-ingress.ts';
import type { LoadBalancerIngress } from '../../k8s/objects.ts';
import { silentLogger } from '../../shared/log.ts';
import { decodeObject } from '../../k8s/decode.ts';
import type { Ingress } from '../../k8s/objects.ts';
import { desiredStatus, IngressStatusWriter, needsWrite, statusIngresses, type StatusIngress } from './status-writer.ts';
import { eventually, startLiveApi, type LiveApi } from './test-support/live-api.ts';

const PUBLISHED: LoadBalancerIngress[] = [{ hostname: 'lb.example.com' }, { ip: '203.0.113.10' }];
const OTHER: LoadBalancerIngress[] = [{ ip: '198.51.100.99' }];

const ours = (e: readonly LoadBalancerIngress[]): boolean => JSON.stringify(e) === JSON.stringify([{ ip: '203.0.113.9' }]);

describe('desired status (pure)', () => {
  test('owned: the published addresses, in canonical order', () => {
    assert.deepEqual(desiredStatus({ owned: true, current: [] }, PUBLISHED, ours), [{ ip: '203.0.113.10' }, { hostname: 'lb.example.com' }]);
    assert.deepEqual(desiredStatus({ owned: true, current: OTHER }, [], ours), []);
  });

  test('not owned, carrying an address we published: cleared', () => {
    assert.deepEqual(desiredStatus({ owned: false, current: [{ ip: '203.0.113.9' }] }, PUBLISHED, ours), []);
  });

  test('not owned otherwise: untouched (another controller, or empty)', () => {
    assert.equal(desiredStatus({ owned: false, current: OTHER }, PUBLISHED, ours), undefined);
    assert.equal(desiredStatus({ owned: false, current: [] }, PUBLISHED, ours), undefined);
  });

  test('a write is needed only for a difference, whatever the order', () => {
    assert.equal(needsWrite({ owned: true, current: [{ ip: '203.0.113.10' }, { hostname: 'lb.example.com' }] }, PUBLISHED, ours), false);
    assert.equal(needsWrite({ owned: true, current: [{ ip: '203.0.113.10' }] }, PUBLISHED, ours), true);
    assert.equal(needsWrite({ owned: false, current: OTHER }, PUBLISHED, ours), false);
    assert.equal(needsWrite({ owned: false, current: [{ ip: '203.0.113.9' }] }, PUBLISHED, ours), true);
  });
});

function decode(name: string, status?: unknown): Ingress {
  const r = decodeObject({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: 'shop' }, spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } }, status });
  assert.equal(r.ok, true);
  return (r as { object: Ingress }).object;
}

describe('statusIngresses (pure)', () => {
  test('every cached Ingress, owned as translation says, with its current status', () => {
    const list = statusIngresses(
      [decode('web'), decode('theirs', { loadBalancer: { ingress: OTHER } }), decode('unmentioned')],
      [
        { ingress: 'shop/web', owned: true, reason: 'class martello' },
        { ingress: 'shop/theirs', owned: false, reason: 'class nginx' },
      ],
    );
    assert.deepEqual(list, [
      { namespace: 'shop', name: 'web', owned: true, current: [] },
      { namespace: 'shop', name: 'theirs', owned: false, current: OTHER },
      { namespace: 'shop', name: 'unmentioned', owned: false, current: [] },
    ]);
  });
});

describe('IngressStatusWriter against the test API server', () => {
  let api: LiveApi;
  before(async () => {
    api = await startLiveApi();
  });
  after(async () => {
    await api.close();
  });

  function createIngress(namespace: string, name: string, status?: LoadBalancerIngress[]): void {
    api.server.create({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, namespace },
      spec: { ingressClassName: 'martello', defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
    });
    if (status !== undefined) api.server.patchStatus('networking.k8s.io/v1', 'Ingress', namespace, name, { status: { loadBalancer: { ingress: status } } });
  }

  function statusOf(namespace: string, name: string): readonly LoadBalancerIngress[] {
    const obj = api.server.get('networking.k8s.io/v1', 'Ingress', namespace, name);
    assert.ok(obj, `${namespace}/${name} exists`);
    return decodeLoadBalancerStatus(obj).loadBalancer.ingress;
  }

  /** What the informer would hand over: every Ingress in the namespace with its current status. */
  function picture(namespace: string, owned: ReadonlySet<string>): StatusIngress[] {
    return api.server.list('networking.k8s.io/v1', 'Ingress', namespace).map((obj) => {
      const name = String((obj['metadata'] as { name: string }).name);
      return { namespace, name, owned: owned.has(name), current: decodeLoadBalancerStatus(obj).loadBalancer.ingress };
    });
  }

  function statusWrites(namespace: string, name?: string): Array<{ path: string; contentType?: string; body?: unknown; status: number }> {
    const prefix = `/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses/`;
    return api.server.journal.filter((e) => e.method !== 'GET' && e.path.startsWith(prefix) && e.path.endsWith('/status') && (name === undefined || e.path === `${prefix}${name}/status`));
  }

  function requestsTo(namespace: string): number {
    return api.server.journal.filter((e) => e.path.startsWith(`/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses`)).length;
  }

  async function createNamespace(name: string): Promise<void> {
    api.server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }

  test('writes each change exactly once, with the right shape, and leaves other controllers alone', async () => {
    await createNamespace('shape');
    createIngress('shape', 'web');
    createIngress('shape', 'foreign', OTHER);
    createIngress('shape', 'plain');
    const writer = new IngressStatusWriter({ client: await api.client(), logger: silentLogger });
    writer.setAddresses(PUBLISHED);
    writer.setLeader(true);
    writer.reconcile(picture('shape', new Set(['web'])));
    await writer.whenIdle();

    assert.deepEqual(statusOf('shape', 'web'), [{ ip: '203.0.113.10' }, { hostname: 'lb.example.com' }]);
    const raw = api.server.get('networking.k8s.io/v1', 'Ingress', 'shape', 'web') as { status: unknown };
    assert.deepEqual(raw.status, { loadBalancer: { ingress: [{ ip: '203.0.113.10' }, { hostname: 'lb.example.com' }] } });
    const writes = statusWrites('shape');
    assert.equal(writes.length, 1);
    assert.equal(writes[0]!.path, '/apis/networking.k8s.io/v1/namespaces/shape/ingresses/web/status');
    assert.equal((writes[0] as { method?: string }).method, 'PATCH');
    assert.match(writes[0]!.contentType ?? '', /^application\/merge-patch\+json/);
    const body = writes[0]!.body as { metadata: { resourceVersion: string }; status: unknown };
    assert.equal(typeof body.metadata.resourceVersion, 'string');
    assert.deepEqual(body.status, { loadBalancer: { ingress: [{ ip: '203.0.113.10' }, { hostname: 'lb.example.com' }] } });
    assert.equal(writes[0]!.status, 200);
    assert.deepEqual(statusOf('shape', 'foreign'), OTHER);
    assert.deepEqual(writer.stats, { writes: 1, conflicts: 0, errors: 0 });

    // A stale picture (the cache has not caught up with our write) costs a read, not a second write.
    writer.reconcile([{ namespace: 'shape', name: 'web', owned: true, current: [] }, ...picture('shape', new Set(['web'])).filter((i) => i.name !== 'web')]);
    await writer.whenIdle();
    // The fresh picture needs nothing at all.
    const requestsBefore = requestsTo('shape');
    writer.reconcile(picture('shape', new Set(['web'])));
    await writer.whenIdle();
    assert.equal(requestsTo('shape'), requestsBefore);
    assert.equal(statusWrites('shape').length, 1);
    await writer.stop();
  });

  test('clears the status of an Ingress that stops being ours, not of others', async () => {
    await createNamespace('clear');
    createIngress('clear', 'web');
    createIngress('clear', 'foreign', OTHER);
    const writer = new IngressStatusWriter({ client: await api.client(), logger: silentLogger });
    writer.setAddresses(PUBLISHED);
    writer.setLeader(true);
    writer.reconcile(picture('clear', new Set(['web'])));
    await writer.whenIdle();
    assert.equal(statusOf('clear', 'web').length, 2);

    writer.reconcile(picture('clear', new Set()));
    await writer.whenIdle();
    assert.deepEqual(statusOf('clear', 'web'), []);
    assert.deepEqual(statusOf('clear', 'foreign'), OTHER);
    assert.equal(statusWrites('clear', 'web').length, 2);
    assert.equal(statusWrites('clear', 'foreign').length, 0);
    await writer.stop();
  });

  test('a new address replaces the old one on owned Ingresses and clears it on abandoned ones', async () => {
    await createNamespace('move');
    createIngress('move', 'a');
    createIngress('move', 'b');
    const writer = new IngressStatusWriter({ client: await api.client(), logger: silentLogger });
    writer.setAddresses([{ ip: '203.0.113.1' }]);
    writer.setLeader(true);
    writer.reconcile(picture('move', new Set(['a', 'b'])));
    await writer.whenIdle();
    writer.setAddresses([{ ip: '203.0.113.2' }]);
    writer.reconcile(picture('move', new Set(['a'])));
    await writer.whenIdle();
    assert.deepEqual(statusOf('move', 'a'), [{ ip: '203.0.113.2' }]);
    assert.deepEqual(statusOf('move', 'b'), []); // it carried our earlier address
    await writer.stop();
  });

  test('only the leader writes; becoming leader reconciles everything once', async () => {
    await createNamespace('leader');
    createIngress('leader', 'web');
    createIngress('leader', 'api');
    const writer = new IngressStatusWriter({ client: await api.client(), logger: silentLogger });
    writer.setAddresses(PUBLISHED);
    writer.reconcile(picture('leader', new Set(['web', 'api'])));
    await writer.whenIdle();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(requestsTo('leader'), 0);

    writer.setLeader(true);
    await writer.whenIdle();
    assert.equal(statusWrites('leader').length, 2);
    assert.equal(statusOf('leader', 'api').length, 2);

    writer.setLeader(false);
    writer.reconcile(picture('leader', new Set()));
    await writer.whenIdle();
    assert.equal(statusWrites('leader').length, 2);
    await writer.stop();
  });

  test('nothing is written before the addresses are known', async () => {
    await createNamespace('noaddr');
    createIngress('noaddr', 'web', [{ ip: '203.0.113.77' }]);
    const writer = new IngressStatusWriter({ client: await api.client(), logger: silentLogger });
    writer.setLeader(true);
    writer.reconcile(picture('noaddr', new Set(['web'])));
    await writer.whenIdle();
    assert.equal(requestsTo('noaddr'), 0);
    await writer.stop();
  });

  test('a conflict (the Ingress changed between read and write) is re-read and retried', async () => {
    await createNamespace('conflict');
    createIngress('conflict', 'web');
    const writer = new IngressStatusWriter({ client: await api.client(), logger: silentLogger });
    writer.setAddresses(PUBLISHED);
    writer.setLeader(true);
    // Every answer is delayed, so the PATCH is on its way while we change the object.
    api.server.faults.delay(150);
    try {
      writer.reconcile(picture('conflict', new Set(['web'])));
      await eventually(() => statusWrites('conflict').length > 0, 5000, 'the first PATCH');
      api.server.patch('networking.k8s.io/v1', 'Ingress', 'conflict', 'web', { metadata: { annotations: { touched: 'yes' } } });
      await writer.whenIdle();
    } finally {
      api.server.faults.delay(0);
    }
    const writes = statusWrites('conflict');
    assert.deepEqual(writes.map((w) => w.status), [409, 200]);
    const rvs = writes.map((w) => (w.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
    assert.notEqual(rvs[0], rvs[1]);
    assert.equal(statusOf('conflict', 'web').length, 2);
    assert.equal(writer.stats.conflicts, 1);
    assert.equal(writer.stats.writes, 1);
    await writer.stop();
  });

  test('a vanished Ingress is dropped; server errors are retried with backoff, never thrown', async () => {
    await createNamespace('errors');
    createIngress('errors', 'web');
    const writer = new IngressStatusWriter({ client: await api.client(), logger: silentLogger, retryDelayMs: 20 });
    writer.setAddresses(PUBLISHED);
    writer.setLeader(true);
    writer.reconcile([{ namespace: 'errors', name: 'ghost', owned: true, current: [] }]);
    await writer.whenIdle();
    assert.deepEqual(writer.stats, { writes: 0, conflicts: 0, errors: 0 });

    api.server.faults.failNext(2, 500);
    writer.reconcile(picture('errors', new Set(['web'])));
    await writer.whenIdle();
    assert.equal(statusOf('errors', 'web').length, 2);
    assert.equal(writer.stats.errors, 2);
    assert.equal(writer.stats.writes, 1);
    await writer.stop();
  });

  test('writes are rate limited', async () => {
    await createNamespace('rate');
    const names = Array.from({ length: 8 }, (_, i) => `ing-${i}`);
    for (const n of names) createIngress('rate', n);
    const writer = new IngressStatusWriter({ client: await api.client(), logger: silentLogger, minIntervalMs: 40, burst: 2 });
    writer.setAddresses(PUBLISHED);
    writer.setLeader(true);
    const started = performance.now();
    writer.reconcile(picture('rate', new Set(names)));
    await writer.whenIdle();
    const elapsed = performance.now() - started;
    assert.equal(statusWrites('rate').length, 8);
    // 2 at once, then 6 more at one per 40 ms: at least ~240 ms.
    assert.ok(elapsed >= 200, `8 writes took only ${elapsed} ms`);
    await writer.stop();
  });
});
