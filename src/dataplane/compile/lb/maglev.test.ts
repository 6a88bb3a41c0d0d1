import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpointIds } from './endpoint-id.ts';
import { endpointsOf } from './load-balancer.contract.ts';
import { MaglevTable, maglevTableSize } from './maglev.ts';
import { RingTable } from './ring.ts';

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

test('maglev: table sizes are primes of at least 100 × endpoints, fixed from 1 to 655 endpoints', () => {
  assert.equal(maglevTableSize(1), 65537);
  assert.equal(maglevTableSize(655), 65537);
  assert.equal(maglevTableSize(656), 131071);
  assert.equal(maglevTableSize(5000), 524287);
  for (const n of [1, 10, 655, 656, 1310, 1311, 2621, 5242, 10485]) {
    const m = maglevTableSize(n);
    assert.ok(isPrime(m), `${m} is prime`);
    assert.ok(m >= 100 * n, `${m} ≥ 100 × ${n}`);
  }
});

test('maglev: equal weights give every endpoint ⌊M/n⌋ or ⌈M/n⌉ slots', () => {
  for (const n of [1, 3, 10, 300]) {
    const ids = endpointIds('ns/svc', endpointsOf(n));
    const table = new MaglevTable(ids, ids.map(() => 1));
    const counts = Array.from({ length: n }, () => 0);
    for (let s = 0; s < table.size; s++) counts[table.at(s)]!++;
    const lo = Math.floor(table.size / n);
    for (const c of counts) assert.ok(c === lo || c === lo + 1, `n=${n}: ${c} slots, expected ${lo} or ${lo + 1}`);
  }
});

test('maglev: tables are identical for identical inputs (every replica builds the same)', () => {
  const ids = endpointIds('ns/svc', endpointsOf(12));
  const a = new MaglevTable(ids, ids.map(() => 1));
  const b = new MaglevTable(ids, ids.map(() => 1));
  for (let s = 0; s < a.size; s++) if (a.at(s) !== b.at(s)) assert.fail(`slot ${s} differs`);
});

test('maglev: more than 255 endpoints are indexed correctly', () => {
  const ids = endpointIds('ns/svc', endpointsOf(300));
  const table = new MaglevTable(ids, ids.map(() => 1));
  const seen = new Set<number>();
  for (let s = 0; s < table.size; s++) seen.add(table.at(s));
  assert.equal(seen.size, 300);
});

test('ring: an endpoint has 160 points per unit of weight; lookups wrap around', () => {
  const ids = endpointIds('ns/svc', endpointsOf(3));
  const ring = new RingTable(ids, [1, 2, 1]);
  assert.equal(ring.size, 160 * 4);
  assert.equal(ring.pointOf(0xffffffff), 0, 'a hash above the last point belongs to the first');
  assert.equal(ring.lookup(0xffffffff), ring.at(0));
});

test('ring: positions drawn for an endpoint belong to it, spread over its arcs', () => {
  for (const n of [1, 2, 7]) {
    const ids = endpointIds('ns/svc', endpointsOf(n));
    const ring = new RingTable(ids, ids.map(() => 1));
    for (let owner = 0; owner < n; owner++) {
      const seen = new Set<number>();
      for (let k = 0; k < 200; k++) {
        const position = ring.positionOf(owner, k / 200);
        assert.equal(ring.lookup(position), owner);
        seen.add(ring.pointOf(position));
      }
      assert.ok(seen.size > 50, `n=${n}: positions fall on ${seen.size} different arcs`);
    }
  }
});
