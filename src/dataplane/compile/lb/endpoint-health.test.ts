import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointAddress } from '../../../model/model.ts';
import { ClusterBalancer } from './cluster-balancer.ts';
import { ActiveHealthRegistry, ATTEMPT_CONNECT_FAILURE, attemptOfStatus, EndpointHealth, outlierConfigOf } from './endpoint-health.ts';
import { OutlierRegistry } from './outlier.ts';

type E = EndpointAddress & { readonly key: string };
const eps: E[] = ['a', 'b', 'c'].map((k, i) => ({ address: `10.0.0.${i + 1}`, port: 80, key: k }));
const config = outlierConfigOf({ consecutiveErrors: 5, baseEjectionMs: 30_000, maxEjectionPercent: 10 })!;

function balancer(now: { t: number }, health: EndpointHealth<E>, onEjection?: (e: E) => void): ClusterBalancer<E> {
  return new ClusterBalancer(eps, undefined, undefined, { service: 'ns/web', seed: 1, now: () => now.t, health, ...(onEjection === undefined ? {} : { onEjection }) });
}

test('five gateway errors in a row eject an endpoint; picks avoid it until the ejection ends', () => {
  const now = { t: 1_000 };
  const registry = new OutlierRegistry();
  const ejected: string[] = [];
  const lb = balancer(now, new EndpointHealth(eps, registry.detector('c1', eps, config)), (e) => ejected.push(e.key));
  for (let i = 0; i < 4; i++) lb.onEnd(eps[1]!, 1, false, attemptOfStatus(503));
  lb.onEnd(eps[1]!, 1, true, attemptOfStatus(404)); // a 4xx resets the count
  for (let i = 0; i < 4; i++) lb.onEnd(eps[1]!, 1, false);
  assert.deepEqual(ejected, []);
  lb.onEnd(eps[1]!, 1, false, ATTEMPT_CONNECT_FAILURE);
  assert.deepEqual(ejected, ['b']);
  for (let i = 0; i < 30; i++) assert.notEqual(lb.pick()?.key, 'b');
  now.t += 30_001;
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add(lb.pick()!.key);
  assert.ok(seen.has('b'), 'back after 30 s');
});

test('a client that went away (null) and 500s do not count', () => {
  const now = { t: 0 };
  const lb = balancer(now, new EndpointHealth(eps, new OutlierRegistry().detector('c1', eps, config)));
  for (let i = 0; i < 10; i++) lb.onEnd(eps[0]!, 1, false, null);
  for (let i = 0; i < 10; i++) lb.onEnd(eps[0]!, 1, false, attemptOfStatus(500));
  assert.equal(lb.health!.excluded(now.t).size, 0);
});

test('panic routing: when every endpoint left is excluded, the pick ignores health', () => {
  const now = { t: 0 };
  const active = new ActiveHealthRegistry();
  const view = active.cluster('c1', eps.map((e) => e.key));
  const lb = balancer(now, new EndpointHealth(eps, undefined, view));
  // All pending: nothing healthy, so all are used.
  assert.ok(lb.pick() !== undefined);
  const t = { healthyThreshold: 2, unhealthyThreshold: 3 };
  assert.equal(active.report('c1', 'a', true, t), 'healthy');
  assert.equal(active.report('c1', 'b', true, t), 'healthy');
  assert.equal(active.report('c1', 'c', false, t), 'unhealthy');
  for (let i = 0; i < 20; i++) assert.notEqual(lb.pick()!.key, 'c');
  // A retry that tried a and b goes to c rather than nowhere.
  const tried = new Set([eps[0]!, eps[1]!]);
  const ctx = { clientAddress: '', uri: '/', encrypted: false, exclude: tried, header: () => undefined };
  assert.equal(lb.pick(ctx)?.key, 'c');
  // Thresholds: 3 failures to go, 2 passes to come back.
  assert.equal(active.report('c1', 'a', false, t), undefined);
  assert.equal(active.report('c1', 'a', false, t), undefined);
  assert.equal(active.report('c1', 'a', false, t), 'unhealthy');
  assert.equal(active.report('c1', 'c', true, t), undefined);
  assert.equal(active.report('c1', 'c', true, t), 'healthy');
  assert.deepEqual([...lb.health!.excluded(now.t)].map((e) => e.key), ['a']);
});

test('outlier detection off: no detector', () => {
  assert.equal(outlierConfigOf({ consecutiveErrors: 0, baseEjectionMs: 30_000, maxEjectionPercent: 10 }), undefined);
});
