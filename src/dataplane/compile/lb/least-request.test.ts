import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointAddress } from '../../../model/model.ts';
import { LoadRegistry } from './endpoint-load.ts';
import { LeastRequest } from './least-request.ts';
import { contextOf, endpointsOf, runLoadBalancerContract } from './load-balancer.contract.ts';

runLoadBalancerContract('least-request', (endpoints, seed) => new LeastRequest(endpoints, { seed }), { exactRotation: false });
runLoadBalancerContract('least-request, all weights 2', (endpoints, seed) => new LeastRequest(endpoints, { seed }), { exactRotation: false, weight: 2 });

test('least-request: a busy endpoint gets nothing while the others have fewer requests in flight', () => {
  const eps = endpointsOf(4);
  const lb = new LeastRequest(eps, { seed: 42 });
  for (let i = 0; i < 10; i++) lb.onStart(eps[2]!); // ten slow requests stuck on endpoint 2
  const counts = new Map<EndpointAddress, number>();
  for (let i = 0; i < 3000; i++) {
    const e = lb.pick()!;
    counts.set(e, (counts.get(e) ?? 0) + 1);
    lb.onStart(e);
    lb.onEnd(e, 1, true); // fast requests finish at once
  }
  assert.equal(counts.get(eps[2]!), undefined);
  for (const i of [0, 1, 3]) assert.ok(counts.get(eps[i]!)! > 800, `endpoint ${i}: ${counts.get(eps[i]!)}`);
});

test('least-request: in-flight requests spread evenly when nothing finishes', () => {
  const eps = endpointsOf(5);
  const lb = new LeastRequest(eps, { seed: 7 });
  const active = new Map<EndpointAddress, number>();
  for (let i = 0; i < 500; i++) {
    const e = lb.pick()!;
    lb.onStart(e);
    active.set(e, (active.get(e) ?? 0) + 1);
  }
  for (const e of eps) assert.ok(Math.abs(active.get(e)! - 100) <= 10, `${e.address}: ${active.get(e)}`);
});

test('least-request: unequal weights bias sampling and load towards heavier endpoints', () => {
  const eps: EndpointAddress[] = [{ address: '10.0.0.1', port: 80, weight: 1 }, { address: '10.0.0.2', port: 80, weight: 3 }];
  const lb = new LeastRequest(eps, { seed: 1 });
  const active = [0, 0];
  for (let i = 0; i < 400; i++) {
    const e = lb.pick()!;
    lb.onStart(e);
    active[eps.indexOf(e)]!++;
  }
  // Steady state: (active + 1) / weight equal, so about 1:3.
  assert.ok(Math.abs(active[1]! / active[0]! - 3) < 0.3, `${active}`);
});

test('least-request: load records shared through a registry survive a new balancer', () => {
  const eps = endpointsOf(3);
  const registry = new LoadRegistry();
  const keys = eps.map((e) => `${e.address}:${e.port}`);
  const first = new LeastRequest(eps, { seed: 1, loads: keys.map((k) => registry.get(k)) });
  for (let i = 0; i < 5; i++) first.onStart(eps[0]!);
  const second = new LeastRequest(eps, { seed: 2, loads: keys.map((k) => registry.get(k)) });
  for (let i = 0; i < 200; i++) assert.notEqual(second.pick(), eps[0]);
  for (let i = 0; i < 5; i++) second.onEnd(eps[0]!, 1, true); // requests started under the old table end under the new
  assert.equal(registry.get(keys[0]!).active, 0);
  registry.retain(new Set(keys.slice(1)));
  assert.equal(registry.size, 2);
});

test('least-request: a retry never returns an excluded endpoint, even the least loaded', () => {
  const eps = endpointsOf(3);
  const lb = new LeastRequest(eps, { seed: 3 });
  lb.onStart(eps[1]!);
  lb.onStart(eps[2]!);
  for (let i = 0; i < 100; i++) assert.notEqual(lb.pick(contextOf({ exclude: new Set([eps[0]!]) })), eps[0]);
});
