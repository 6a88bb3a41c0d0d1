// The contract every LoadBalancer implementation must meet. Exported as a
// function so each implementation's test file runs the same assertions
// against its own factory.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointAddress } from '../../../model/model.ts';
import type { LoadBalancer } from './load-balancer.ts';

export type LoadBalancerFactory = (endpoints: readonly EndpointAddress[], seed: number) => LoadBalancer;

function endpointsOf(n: number): EndpointAddress[] {
  return Array.from({ length: n }, (_, i) => ({ address: `10.0.0.${i + 1}`, port: 8080 }));
}

function keyOf(e: EndpointAddress): string {
  return `${e.address}:${e.port}`;
}

export function runLoadBalancerContract(name: string, factory: LoadBalancerFactory): void {
  test(`${name}: empty endpoint list picks undefined`, () => {
    const lb = factory([], 7);
    for (let i = 0; i < 5; i++) assert.equal(lb.pick(), undefined);
  });

  test(`${name}: a single endpoint is always picked`, () => {
    const only = endpointsOf(1);
    const lb = factory(only, 3);
    for (let i = 0; i < 10; i++) assert.deepEqual(lb.pick(), only[0]);
  });

  for (const n of [2, 3, 7]) {
    for (const seed of [0, 1, 12345]) {
      test(`${name}: ${n} endpoints, seed ${seed}: even spread and every endpoint picked`, () => {
        const eps = endpointsOf(n);
        const lb = factory(eps, seed);
        const rounds = 50;
        const counts = new Map<string, number>();
        for (let i = 0; i < n * rounds; i++) {
          const e = lb.pick();
          assert.ok(e !== undefined, 'pick returned undefined with endpoints present');
          assert.ok(eps.some((x) => keyOf(x) === keyOf(e)), `picked an unknown endpoint ${keyOf(e)}`);
          counts.set(keyOf(e), (counts.get(keyOf(e)) ?? 0) + 1);
        }
        assert.equal(counts.size, n, 'every endpoint must be picked');
        for (const [k, c] of counts) assert.equal(c, rounds, `${k} picked ${c} times, expected ${rounds}`);
      });
    }
  }

  test(`${name}: any window of N consecutive picks covers all N endpoints`, () => {
    const eps = endpointsOf(4);
    const lb = factory(eps, 2);
    lb.pick(); // start mid-cycle
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(keyOf(lb.pick()!));
    assert.equal(seen.size, 4);
  });

  test(`${name}: exposes its endpoints`, () => {
    const eps = endpointsOf(3);
    assert.deepEqual([...factory(eps, 0).endpoints].map(keyOf), eps.map(keyOf));
  });
}
