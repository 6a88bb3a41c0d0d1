import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runLoadBalancerContract } from './load-balancer.contract.ts';
import { RoundRobin } from './round-robin.ts';

runLoadBalancerContract('round-robin', (endpoints, seed) => new RoundRobin(endpoints, seed));

test('round-robin: the seed sets the first endpoint, negative seeds included', () => {
  const eps = [{ address: 'a', port: 1 }, { address: 'b', port: 1 }, { address: 'c', port: 1 }];
  assert.equal(new RoundRobin(eps, 0).pick()?.address, 'a');
  assert.equal(new RoundRobin(eps, 4).pick()?.address, 'b');
  assert.equal(new RoundRobin(eps, -1).pick()?.address, 'c');
});
