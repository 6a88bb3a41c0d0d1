import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointAddress } from '../../../model/model.ts';
import { contextOf, endpointsOf, runLoadBalancerContract } from './load-balancer.contract.ts';
import { RoundRobin } from './round-robin.ts';

runLoadBalancerContract('round-robin', (endpoints, seed) => new RoundRobin(endpoints, seed), { exactRotation: true });
runLoadBalancerContract('round-robin, all weights 3', (endpoints, seed) => new RoundRobin(endpoints, seed), { exactRotation: true, weight: 3 });

test('round-robin: the seed sets the first endpoint, negative seeds included', () => {
  const eps = [{ address: 'a', port: 1 }, { address: 'b', port: 1 }, { address: 'c', port: 1 }];
  assert.equal(new RoundRobin(eps, 0).pick()?.address, 'a');
  assert.equal(new RoundRobin(eps, 4).pick()?.address, 'b');
  assert.equal(new RoundRobin(eps, -1).pick()?.address, 'c');
});

function weighted(weights: number[]): EndpointAddress[] {
  return weights.map((weight, i) => ({ address: `10.0.0.${i + 1}`, port: 80, weight }));
}

test('weighted round-robin: exact weight ratios over every full cycle', () => {
  for (const weights of [[5, 1, 1], [1, 2, 3, 4], [10, 1], [7, 7, 1]]) {
    for (const seed of [0, 3, 99]) {
      const eps = weighted(weights);
      const lb = new RoundRobin(eps, seed);
      const total = weights.reduce((a, b) => a + b, 0);
      const counts = new Map<EndpointAddress, number>();
      for (let i = 0; i < total * 20; i++) {
        const e = lb.pick()!;
        counts.set(e, (counts.get(e) ?? 0) + 1);
      }
      eps.forEach((e, i) => assert.equal(counts.get(e), weights[i]! * 20, `weights ${weights}, seed ${seed}, endpoint ${i}`));
    }
  }
});

test('weighted round-robin: smooth, heavy endpoints are interleaved rather than sent in bursts', () => {
  const eps = weighted([5, 1, 1]);
  const lb = new RoundRobin(eps, 0);
  const order = Array.from({ length: 14 }, () => lb.pick()!.address.slice(-1)).join('');
  assert.equal(order, '11213111121311');
});

test('weighted round-robin: exclusion keeps ratios among the rest', () => {
  const eps = weighted([3, 1, 1]);
  const lb = new RoundRobin(eps, 1);
  const exclude = new Set([eps[0]!]);
  const counts = [0, 0, 0];
  for (let i = 0; i < 100; i++) counts[eps.indexOf(lb.pick(contextOf({ exclude }))!)]!++;
  assert.deepEqual(counts, [0, 50, 50]);
});

test('round-robin: invalid weights count as 1', () => {
  const eps = endpointsOf(2).map((e, i) => ({ ...e, weight: i === 0 ? 0 : -3 }));
  const lb = new RoundRobin(eps, 0);
  assert.equal(lb.totalWeight, 2);
});
