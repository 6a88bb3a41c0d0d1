import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpointsOf, runLoadBalancerContract } from './load-balancer.contract.ts';
import { LeastRequest } from './least-request.ts';
import { RoundRobin } from './round-robin.ts';
import { DEFAULT_SLOW_START_CONFIG, effectiveWeight, SlowStart, slowStartFactor, SlowStartRegistry, type SlowStartConfig } from './slow-start.ts';

const LINEAR: SlowStartConfig = { windowMs: 60_000, aggression: 1, minWeightPercent: 10 };

test('factor over time: Envoy\'s formula, floored and capped', () => {
  const at = (s: number, c: SlowStartConfig = LINEAR): number => slowStartFactor(s * 1000, c);
  assert.equal(at(0), 0.1, 'max(age, 1 s) / window = 1/60, floored at 10 %');
  assert.equal(at(3), 0.1);
  assert.equal(at(6), 0.1);
  assert.ok(Math.abs(at(15) - 0.25) < 1e-12);
  assert.ok(Math.abs(at(30) - 0.5) < 1e-12);
  assert.ok(Math.abs(at(59) - 59 / 60) < 1e-12);
  assert.equal(at(60), 1);
  assert.equal(at(3600), 1);
  assert.equal(slowStartFactor(Infinity, LINEAR), 1, 'established endpoints');
  const aggressive = { ...LINEAR, aggression: 2 };
  assert.ok(Math.abs(at(15, aggressive) - 0.5) < 1e-12, 'aggression 2: square root, faster early');
  const gentle = { ...LINEAR, aggression: 0.5, minWeightPercent: 0 };
  assert.ok(Math.abs(at(30, gentle) - 0.25) < 1e-12, 'aggression 0.5: square, slower early');
  assert.equal(slowStartFactor(1000, { ...LINEAR, windowMs: 0 }), 1, 'window 0: off');
  assert.equal(effectiveWeight(4, 30_000, LINEAR), 2);
  assert.deepEqual({ ...DEFAULT_SLOW_START_CONFIG }, { windowMs: 30_000, aggression: 1, minWeightPercent: 10 });
});

test('factor never leaves (0, 1] and never falls as time goes on', () => {
  for (const c of [LINEAR, { ...LINEAR, aggression: 3 }, { ...LINEAR, aggression: 0.3, minWeightPercent: 1 }]) {
    let last = 0;
    for (let ms = 0; ms <= 70_000; ms += 250) {
      const f = slowStartFactor(ms, c);
      assert.ok(f > 0 && f <= 1, `${f} at ${ms}`);
      assert.ok(f >= last, `fell at ${ms}`);
      last = f;
    }
  }
});

function keyOf(e: { address: string; port: number }): string {
  return `${e.address}:${e.port}`;
}

function share(lb: SlowStart, picks: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < picks; i++) {
    const e = lb.pick()!;
    counts.set(keyOf(e), (counts.get(keyOf(e)) ?? 0) + 1);
  }
  return counts;
}

test('round-robin: a new endpoint gets factor × a full share, rising over the window', () => {
  const eps = endpointsOf(5);
  let now = 0;
  const joined = [-Infinity, -Infinity, -Infinity, -Infinity, 0];
  const lb = new SlowStart(new RoundRobin(eps, 3), joined, LINEAR, { now: () => now, seed: 11 });
  const fresh = keyOf(eps[4]!);
  const observed: number[] = [];
  for (const seconds of [1, 15, 30, 45]) {
    now = seconds * 1000;
    const counts = share(lb, 40_000);
    const f = slowStartFactor(now, LINEAR);
    const expected = f / (4 + f); // weights 1,1,1,1,f
    const got = (counts.get(fresh) ?? 0) / 40_000;
    assert.ok(Math.abs(got - expected) < 0.01, `at ${seconds} s: share ${got.toFixed(4)}, expected ${expected.toFixed(4)}`);
    for (const e of eps.slice(0, 4)) assert.ok(Math.abs((counts.get(keyOf(e)) ?? 0) / 40_000 - 1 / (4 + f)) < 0.01);
    observed.push(got);
  }
  assert.ok(observed.every((s, i) => i === 0 || s > observed[i - 1]!), `shares rise: ${observed.join(', ')}`);
  now = 60_000;
  assert.equal(lb.ramping, true);
  const after = share(lb, 5000);
  assert.equal(after.get(fresh), 1000, 'past the window: exact rotation again');
  assert.equal(lb.ramping, false);
});

test('least-request: a new endpoint gets proportionally less traffic', () => {
  const eps = endpointsOf(4);
  const now = 10_000;
  const lb = new SlowStart(new LeastRequest(eps, { seed: 5 }), [-Infinity, -Infinity, -Infinity, 0], LINEAR, { now: () => now, seed: 2 });
  const f = slowStartFactor(now, LINEAR); // 1/6
  const counts = share(lb, 60_000);
  const got = (counts.get(keyOf(eps[3]!)) ?? 0) / 60_000;
  assert.ok(got < 0.25 * 0.5, `ramping endpoint got ${got.toFixed(3)} of the picks`);
  assert.ok(Math.abs(got - f / (3 + f)) < 0.02, `share ${got.toFixed(4)} vs about ${(f / (3 + f)).toFixed(4)}`);
});

test('least-request: with in-flight feedback the new endpoint still takes less', () => {
  const eps = endpointsOf(3);
  let now = 0;
  const lb = new SlowStart(new LeastRequest(eps, { seed: 9 }), [-Infinity, -Infinity, 0], LINEAR, { now: () => now, seed: 4 });
  const counts = new Map<string, number>();
  const inFlight: Array<(typeof eps)[number]> = [];
  for (let i = 0; i < 30_000; i++) {
    now = 5000;
    const e = lb.pick()!;
    lb.onStart(e);
    inFlight.push(e);
    if (inFlight.length > 6) lb.onEnd(inFlight.shift()!, 1, true);
    counts.set(keyOf(e), (counts.get(keyOf(e)) ?? 0) + 1);
  }
  const fresh = (counts.get(keyOf(eps[2]!)) ?? 0) / 30_000;
  const old = (counts.get(keyOf(eps[0]!)) ?? 0) / 30_000;
  assert.ok(fresh < old / 2, `fresh ${fresh.toFixed(3)} vs established ${old.toFixed(3)}`);
});

test('every endpoint ramping still picks; no endpoints picks undefined', () => {
  const eps = endpointsOf(2);
  const lb = new SlowStart(new RoundRobin(eps, 0), [0, 0], LINEAR, { now: () => 1000 });
  for (let i = 0; i < 50; i++) assert.ok(lb.pick() !== undefined, 'every endpoint ramping still picks');
  assert.equal(new SlowStart(new RoundRobin([], 0), [], LINEAR, { now: () => 0 }).pick(), undefined);
});

test('registry: first sight is established, later arrivals ramp, leavers are forgotten', () => {
  const r = new SlowStartRegistry();
  assert.deepEqual(r.joinTimes('c', ['a', 'b'], 100), [-Infinity, -Infinity]);
  assert.deepEqual(r.joinTimes('c', ['a', 'b', 'x'], 200), [-Infinity, -Infinity, 200]);
  assert.deepEqual(r.joinTimes('c', ['a', 'x'], 300), [-Infinity, 200], 'x keeps its join time across tables');
  assert.deepEqual(r.joinTimes('c', ['a', 'b', 'x'], 400), [-Infinity, 400, 200], 'b came back: ramps again');
  assert.deepEqual(r.joinTimes('d', ['x'], 500), [-Infinity], 'clusters are separate');
  r.retain(['d']);
  assert.equal(r.size, 1);
  assert.deepEqual(r.joinTimes('c', ['a', 'y'], 600), [-Infinity, -Infinity], 'a forgotten cluster starts established');
});

// The adapter keeps the LoadBalancer contract (established endpoints, and endpoints whose ramp is over).
runLoadBalancerContract('slow-start(round-robin), established', (eps, seed) => new SlowStart(new RoundRobin(eps, seed), eps.map(() => -Infinity), LINEAR, { now: () => 0 }), { exactRotation: true });
runLoadBalancerContract('slow-start(round-robin), ramp over', (eps, seed) => new SlowStart(new RoundRobin(eps, seed), eps.map(() => 0), LINEAR, { now: () => 60_000, seed }), { exactRotation: true });
runLoadBalancerContract('slow-start(least-request), established', (eps, seed) => new SlowStart(new LeastRequest(eps, { seed }), eps.map(() => -Infinity), LINEAR, { now: () => 0 }), { exactRotation: false });
