import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointAddress, HashKey, HashTableKind } from '../../../model/model.ts';
import { endpointIds } from './endpoint-id.ts';
import { HashBalancer } from './hash-balancer.ts';
import { contextOf, endpointsOf, runLoadBalancerContract } from './load-balancer.contract.ts';

const SERVICE = 'shop/web';
const BY_USER: HashKey = { source: 'header', name: 'x-user' };

function balancer(eps: readonly EndpointAddress[], table: HashTableKind, seed = 0, key: HashKey = BY_USER): HashBalancer {
  return new HashBalancer(eps, endpointIds(SERVICE, eps), key, table, { seed });
}

for (const table of ['maglev', 'ring'] as const) {
  runLoadBalancerContract(`hash (${table}), no key: round-robin`, (eps, seed) => balancer(eps, table, seed), { exactRotation: true });

  test(`hash (${table}): every key source is honoured and deterministic across replicas`, () => {
    const eps = endpointsOf(8);
    const keys: Array<[HashKey, (i: number) => Parameters<typeof contextOf>[0]]> = [
      [{ source: 'header', name: 'x-user' }, (i) => ({ headers: { 'x-user': `user-${i}` } })],
      [{ source: 'cookie', name: 'sid' }, (i) => ({ headers: { cookie: `theme=dark; sid=s${i}; other=1` } })],
      [{ source: 'client-ip' }, (i) => ({ clientAddress: `198.51.100.${i}` })],
      [{ source: 'uri' }, (i) => ({ uri: `/item/${i}?q=1` })],
    ];
    for (const [key, parts] of keys) {
      const a = balancer(eps, table, 1, key);
      const b = balancer(eps, table, 999, key); // another replica, another seed
      const seen = new Set<EndpointAddress>();
      for (let i = 0; i < 200; i++) {
        const first = a.pick(contextOf(parts(i)));
        assert.equal(a.pick(contextOf(parts(i))), first, `${key.source}: same key, same endpoint`);
        assert.equal(b.pick(contextOf(parts(i))), first, `${key.source}: same on another replica`);
        seen.add(first!);
      }
      assert.equal(seen.size, 8, `${key.source}: keys spread over every endpoint`);
    }
  });

  test(`hash (${table}): a cookie value in quotes hashes like the bare value; a missing cookie falls back`, () => {
    const eps = endpointsOf(8);
    const lb = balancer(eps, table, 0, { source: 'cookie', name: 'sid' });
    for (let i = 0; i < 50; i++) {
      assert.equal(lb.pick(contextOf({ headers: { cookie: `sid="v${i}"` } })), lb.pick(contextOf({ headers: { cookie: `sid=v${i}` } })));
    }
    const fallback = new Set<EndpointAddress>();
    for (let i = 0; i < 8; i++) fallback.add(lb.pick(contextOf({ headers: { cookie: 'sidx=1; xsid=2' } }))!);
    assert.equal(fallback.size, 8, 'requests without the key are spread round-robin');
  });

  test(`hash (${table}): 10,000 keys spread evenly over 10 endpoints`, () => {
    const eps = endpointsOf(10);
    const lb = balancer(eps, table);
    const counts = new Map<EndpointAddress, number>();
    for (let i = 0; i < 10_000; i++) {
      const e = lb.pick(contextOf({ headers: { 'x-user': `user-${i}` } }))!;
      counts.set(e, (counts.get(e) ?? 0) + 1);
    }
    for (const [e, c] of counts) assert.ok(Math.abs(c - 1000) <= 150, `${e.address}: ${c}`);
  });

  test(`hash (${table}): removing one endpoint of ten moves about a tenth of the keys, nearly all from it`, () => {
    const eps = endpointsOf(10);
    const before = balancer(eps, table);
    const removed = eps[4]!;
    const after = balancer(eps.filter((e) => e !== removed), table, 77);
    let moved = 0;
    let movedFromOthers = 0;
    for (let i = 0; i < 10_000; i++) {
      const ctx = contextOf({ headers: { 'x-user': `user-${i}` } });
      const a = before.pick(ctx);
      const b = after.pick(ctx);
      if (a !== b) {
        moved++;
        if (a !== removed) movedFromOthers++;
      }
    }
    assert.ok(moved <= 1000 + 200, `moved ${moved} of 10000`);
    // A ring moves exactly the removed endpoint's keys; Maglev a few more (0.2 % here), its price for O(1) lookup.
    if (table === 'ring') assert.equal(movedFromOthers, 0);
    else assert.ok(movedFromOthers <= 100, `moved ${movedFromOthers} keys that were not on the removed endpoint`);
  });

  test(`hash (${table}): adding an eleventh endpoint moves about 1/11 of the keys, all to it`, () => {
    const eps = endpointsOf(11);
    const before = balancer(eps.slice(0, 10), table);
    const after = balancer(eps, table);
    let moved = 0;
    let movedElsewhere = 0;
    for (let i = 0; i < 10_000; i++) {
      const ctx = contextOf({ headers: { 'x-user': `user-${i}` } });
      const a = before.pick(ctx);
      const b = after.pick(ctx);
      if (a !== b) {
        moved++;
        if (b !== eps[10]) movedElsewhere++;
      }
    }
    assert.ok(Math.abs(moved - 10_000 / 11) <= 200, `moved ${moved} of 10000, expected about 909`);
    if (table === 'ring') assert.equal(movedElsewhere, 0);
    else assert.ok(movedElsewhere <= 100, `moved ${movedElsewhere} keys between old endpoints`);
  });

  test(`hash (${table}): weights set each endpoint's share of keys`, () => {
    const eps: EndpointAddress[] = [1, 2, 3, 4].map((weight, i) => ({ address: `10.0.0.${i + 1}`, port: 80, weight }));
    const lb = balancer(eps, table);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20_000; i++) counts[eps.indexOf(lb.pick(contextOf({ headers: { 'x-user': `u${i}` } }))!)]!++;
    counts.forEach((c, i) => assert.ok(Math.abs(c - 2000 * (i + 1)) <= 2000 * (i + 1) * 0.15, `weight ${i + 1}: ${c} keys`));
  });

  test(`hash (${table}): a retry that excludes the key's endpoint lands consistently elsewhere`, () => {
    const eps = endpointsOf(6);
    const lb = balancer(eps, table);
    for (let i = 0; i < 100; i++) {
      const headers = { 'x-user': `user-${i}` };
      const first = lb.pick(contextOf({ headers }))!;
      const exclude = new Set([first]);
      const retry = lb.pick(contextOf({ headers, exclude }));
      assert.ok(retry !== undefined && retry !== first);
      assert.equal(lb.pick(contextOf({ headers, exclude })), retry);
    }
  });
}
