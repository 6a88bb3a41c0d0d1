import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Cluster } from '../../model/model.ts';
import { compileCluster } from './cluster.ts';
import { HashBalancer } from './lb/hash-balancer.ts';
import { LeastRequest } from './lb/least-request.ts';
import { LoadRegistry } from './lb/endpoint-load.ts';
import { PeakEwma } from './lb/peak-ewma.ts';
import { RoundRobin } from './lb/round-robin.ts';
import { contextOf } from './lb/load-balancer.contract.ts';
import type { Selection } from './lb/sticky-sessions.ts';
import type { UpstreamEndpoint } from './cluster.ts';

const base: Cluster = {
  id: 'shop/web:80',
  namespace: 'shop',
  service: 'web',
  port: '80',
  protocol: 'http1',
  endpoints: [
    { address: '10.0.0.1', port: 8080, zone: 'a', forZones: ['a'] },
    { address: '10.0.0.2', port: 8080, zone: 'b', forZones: ['b'] },
    { address: '10.0.0.3', port: 8080, zone: 'b', forZones: ['b'] },
  ],
};

test('compileCluster: the policy chooses the algorithm; absent is round-robin', () => {
  assert.ok(compileCluster(base, 0).balancer.algorithm instanceof RoundRobin);
  assert.ok(compileCluster({ ...base, loadBalancing: { kind: 'least-request', choices: 2 } }, 0).balancer.algorithm instanceof LeastRequest);
  assert.ok(compileCluster({ ...base, loadBalancing: { kind: 'peak-ewma', decayMs: 10_000 } }, 0).balancer.algorithm instanceof PeakEwma);
  const hashed = compileCluster({ ...base, loadBalancing: { kind: 'hash', key: { source: 'client-ip' }, table: 'maglev' } }, 0);
  assert.ok(hashed.balancer.algorithm instanceof HashBalancer);
  assert.equal(hashed.balancer.sticky, undefined);
});

test('compileCluster: affinity yields a Set-Cookie decision through select()', () => {
  const c = compileCluster({ ...base, affinity: { kind: 'cookie', mode: 'persistent', name: 'route', changeOnFailure: false } }, 0);
  const out: Selection<UpstreamEndpoint> = { endpoint: undefined, setCookie: undefined };
  const e = c.balancer.select(contextOf({}) as never, out);
  assert.equal(out.endpoint, e);
  assert.match(out.setCookie!, /^route=[0-9a-f]{16}; Path=\/; HttpOnly$/);
  assert.equal(c.balancer.pick(), c.balancer.endpoints[1], 'pick() without context keeps working for today\'s callers');
});

test('compileCluster: zone hints narrow plain balancing, never hashing or affinity', () => {
  assert.deepEqual(compileCluster(base, 0, { zone: 'b' }).balancer.endpoints.map((e) => e.address), ['10.0.0.2', '10.0.0.3']);
  assert.equal(compileCluster(base, 0).balancer.endpoints.length, 3);
  const hashed = compileCluster({ ...base, loadBalancing: { kind: 'hash', key: { source: 'uri' }, table: 'ring' } }, 0, { zone: 'b' });
  assert.equal(hashed.balancer.endpoints.length, 3);
});

test('compileCluster: a load registry carries in-flight counts from one compile to the next', () => {
  const loads = new LoadRegistry();
  const policy = { kind: 'least-request', choices: 2 } as const;
  const first = compileCluster({ ...base, loadBalancing: policy }, 0, { loads });
  const busy = first.balancer.endpoints[0]!;
  for (let i = 0; i < 3; i++) first.balancer.onStart(busy);
  const second = compileCluster({ ...base, loadBalancing: policy }, 1, { loads });
  for (let i = 0; i < 100; i++) assert.notEqual(second.balancer.pick()!.key, busy.key);
  assert.equal(loads.get(busy.key).active, 3);
});
