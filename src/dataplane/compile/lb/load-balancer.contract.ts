// The contract every LoadBalancer implementation must meet. Exported as a
// function so each implementation's test file runs the same assertions
// against its own factory. Deterministic: every balancer is seeded.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointAddress } from '../../../model/model.ts';
import type { LoadBalancer, PickContext } from './load-balancer.ts';

export type LoadBalancerFactory = (endpoints: readonly EndpointAddress[], seed: number) => LoadBalancer;

export interface ContractOptions {
  /**
   * pick() without a context rotates strictly: every endpoint exactly once
   * per n picks (round-robin, and hashing, which falls back to it).
   * Otherwise the spread is checked statistically.
   */
  readonly exactRotation: boolean;
  /** Give every endpoint this weight (equal weights must behave as none). */
  readonly weight?: number;
}

export function endpointsWith(n: number, weight?: number): EndpointAddress[] {
  return Array.from({ length: n }, (_, i) => ({
    address: `10.0.${i >> 8}.${(i & 255) + 1}`,
    port: 8080,
    ...(weight === undefined ? {} : { weight }),
  }));
}

function keyOf(e: EndpointAddress): string {
  return `${e.address}:${e.port}`;
}

/** A PickContext over fixed values, as the data path would build one. */
export function contextOf(parts: {
  clientAddress?: string;
  uri?: string;
  headers?: Readonly<Record<string, string>>;
  exclude?: ReadonlySet<EndpointAddress>;
  encrypted?: boolean;
}): PickContext {
  const headers = parts.headers ?? {};
  return {
    clientAddress: parts.clientAddress ?? '',
    uri: parts.uri ?? '/',
    header: (name) => (Object.hasOwn(headers, name) ? headers[name] : undefined),
    exclude: parts.exclude,
    encrypted: parts.encrypted ?? false,
  };
}

export function runLoadBalancerContract(name: string, factory: LoadBalancerFactory, options: ContractOptions): void {
  const weight = options.weight;
  test(`${name}: empty endpoint list picks undefined`, () => {
    const lb = factory([], 7);
    for (let i = 0; i < 5; i++) assert.equal(lb.pick(), undefined);
    assert.equal(lb.pick(contextOf({ clientAddress: '192.0.2.1', headers: { 'x-user': 'a', cookie: 'k=v' } })), undefined);
  });

  test(`${name}: a single endpoint is always picked`, () => {
    const only = endpointsWith(1, weight);
    const lb = factory(only, 3);
    for (let i = 0; i < 10; i++) assert.equal(lb.pick(), only[0]);
    for (let i = 0; i < 10; i++) assert.equal(lb.pick(contextOf({ clientAddress: `192.0.2.${i}`, uri: `/${i}` })), only[0]);
  });

  for (const n of [2, 3, 7]) {
    for (const seed of [0, 1, 12345]) {
      test(`${name}: ${n} endpoints, seed ${seed}: every endpoint picked, evenly`, () => {
        const eps = endpointsWith(n, weight);
        const lb = factory(eps, seed);
        const rounds = options.exactRotation ? 50 : 3000;
        const counts = new Map<string, number>();
        for (let i = 0; i < n * rounds; i++) {
          const e = lb.pick();
          assert.ok(e !== undefined, 'pick returned undefined with endpoints present');
          assert.ok(eps.includes(e), `picked an unknown endpoint ${keyOf(e)}`);
          counts.set(keyOf(e), (counts.get(keyOf(e)) ?? 0) + 1);
        }
        assert.equal(counts.size, n, 'every endpoint must be picked');
        for (const [k, c] of counts) {
          if (options.exactRotation) assert.equal(c, rounds, `${k} picked ${c} times, expected ${rounds}`);
          else assert.ok(Math.abs(c - rounds) <= rounds * 0.1, `${k} picked ${c} times, expected ${rounds} ± 10%`);
        }
      });
    }
  }

  if (options.exactRotation) {
    test(`${name}: any window of N consecutive picks covers all N endpoints`, () => {
      const eps = endpointsWith(4, weight);
      const lb = factory(eps, 2);
      lb.pick(); // start mid-cycle
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) seen.add(keyOf(lb.pick()!));
      assert.equal(seen.size, 4);
    });
  }

  test(`${name}: excluded endpoints are never picked; all excluded picks undefined`, () => {
    const eps = endpointsWith(5, weight);
    const lb = factory(eps, 9);
    const exclude = new Set([eps[0]!, eps[2]!, eps[3]!]);
    for (let i = 0; i < 200; i++) {
      const e = lb.pick(contextOf({ exclude, clientAddress: `192.0.2.${i % 50}`, uri: `/p${i}`, headers: { 'x-user': `u${i}`, cookie: `s=${i}` } }));
      assert.ok(e === eps[1] || e === eps[4], `picked excluded or unknown ${e === undefined ? 'undefined' : keyOf(e)}`);
    }
    const onlyLeft = new Set(eps.slice(1));
    for (let i = 0; i < 20; i++) assert.equal(lb.pick(contextOf({ exclude: onlyLeft, uri: `/${i}` })), eps[0]);
    assert.equal(lb.pick(contextOf({ exclude: new Set(eps) })), undefined);
  });

  test(`${name}: requests with hash inputs get known endpoints`, () => {
    const eps = endpointsWith(4, weight);
    const lb = factory(eps, 5);
    for (let i = 0; i < 100; i++) {
      const e = lb.pick(contextOf({ clientAddress: `2001:db8::${i}`, uri: `/x?i=${i}`, headers: { 'x-user': `u${i}`, cookie: `a=1; s=${i}` } }));
      assert.ok(e !== undefined && eps.includes(e));
    }
  });

  test(`${name}: feedback hooks accept any sequence without breaking picks`, () => {
    const eps = endpointsWith(3, weight);
    const lb = factory(eps, 4);
    const stranger = { address: '10.9.9.9', port: 1 };
    lb.onStart(stranger);
    lb.onEnd(stranger, 5, true);
    lb.onEnd(eps[0]!, 5, true); // without onStart: must not go negative or throw
    for (let i = 0; i < 30; i++) {
      const e = lb.pick()!;
      lb.onStart(e);
      lb.onEnd(e, i % 7, i % 5 !== 0);
    }
    for (let i = 0; i < 300; i++) {
      const e = lb.pick();
      assert.ok(e !== undefined && eps.includes(e));
    }
  });

  test(`${name}: exposes its endpoints`, () => {
    const eps = endpointsWith(3, weight);
    assert.deepEqual([...factory(eps, 0).endpoints].map(keyOf), eps.map(keyOf));
  });
}

export function endpointsOf(n: number): EndpointAddress[] {
  return endpointsWith(n, undefined);
}
