import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointAddress } from '../../../model/model.ts';
import { endpointsOf, runLoadBalancerContract } from './load-balancer.contract.ts';
import { FAILURE_PENALTY_MS, PeakEwma } from './peak-ewma.ts';

runLoadBalancerContract('peak-ewma', (endpoints, seed) => new PeakEwma(endpoints, 10_000, { seed }), { exactRotation: false });

/** A fake clock the test advances. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** Simulates sequential requests: each takes the endpoint's latency. */
function drive(lb: PeakEwma, latency: (e: EndpointAddress) => number, c: ReturnType<typeof clock>, requests: number): Map<EndpointAddress, number> {
  const counts = new Map<EndpointAddress, number>();
  for (let i = 0; i < requests; i++) {
    const e = lb.pick()!;
    counts.set(e, (counts.get(e) ?? 0) + 1);
    lb.onStart(e);
    const ms = latency(e);
    c.advance(ms);
    lb.onEnd(e, ms, true);
  }
  return counts;
}

test('peak-ewma: a slow endpoint gets little traffic once measured', () => {
  const eps = endpointsOf(4);
  const c = clock();
  const lb = new PeakEwma(eps, 10_000, { seed: 5, now: c.now });
  const counts = drive(lb, (e) => (e === eps[1] ? 500 : 10), c, 2000);
  const slow = counts.get(eps[1]!) ?? 0;
  assert.ok(slow < 2000 * 0.02, `slow endpoint got ${slow} of 2000`);
  for (const i of [0, 2, 3]) assert.ok(counts.get(eps[i]!)! > 500, `endpoint ${i}: ${counts.get(eps[i]!)}`);
});

test('peak-ewma: the peak is taken at once, recovery decays over the decay time', () => {
  const eps = endpointsOf(2);
  const c = clock();
  const lb = new PeakEwma(eps, 1000, { now: c.now });
  lb.onStart(eps[0]!);
  lb.onEnd(eps[0]!, 20, true);
  assert.equal(lb.latencyOf(eps[0]!), 20);
  lb.onStart(eps[0]!);
  lb.onEnd(eps[0]!, 400, true);
  assert.equal(lb.latencyOf(eps[0]!), 400, 'a slower sample replaces the average at once');
  c.advance(1000);
  const decayed = lb.latencyOf(eps[0]!)!;
  assert.ok(Math.abs(decayed - 400 / Math.E) < 1e-6, `after one decay time: ${decayed}`);
  lb.onStart(eps[0]!);
  lb.onEnd(eps[0]!, 20, true);
  const blended = lb.latencyOf(eps[0]!)!;
  const w = Math.exp(-1);
  assert.ok(Math.abs(blended - (400 * w + 20 * (1 - w))) < 1e-6, `a faster sample blends in with weight 1 - e^(-elapsed/decay): ${blended}`);
});

test('peak-ewma: a slow endpoint is tried again after its average decays', () => {
  const eps = endpointsOf(2);
  const c = clock();
  const lb = new PeakEwma(eps, 1000, { seed: 2, now: c.now });
  lb.onStart(eps[0]!);
  lb.onEnd(eps[0]!, 5000, true);
  lb.onStart(eps[1]!);
  lb.onEnd(eps[1]!, 50, true);
  assert.equal(lb.pick(), eps[1]);
  c.advance(10_000); // ten decay times: 5000 ms has decayed to about 0.23 ms
  lb.onStart(eps[1]!);
  lb.onEnd(eps[1]!, 50, true); // the fast one is measured again just now
  assert.equal(lb.pick(), eps[0], 'the long-unused slow endpoint now looks cheaper and gets a probe');
});

test('peak-ewma: failures count as slow, so an endpoint that fails fast does not attract traffic', () => {
  const eps = endpointsOf(3);
  const c = clock();
  const lb = new PeakEwma(eps, 10_000, { seed: 8, now: c.now });
  const counts = new Map<EndpointAddress, number>();
  for (let i = 0; i < 1000; i++) {
    const e = lb.pick()!;
    counts.set(e, (counts.get(e) ?? 0) + 1);
    lb.onStart(e);
    const failing = e === eps[0];
    c.advance(failing ? 1 : 30);
    lb.onEnd(e, failing ? 1 : 30, !failing);
  }
  assert.ok((counts.get(eps[0]!) ?? 0) < 20, `failing endpoint got ${counts.get(eps[0]!)}`);
  assert.ok(lb.latencyOf(eps[0]!)! > 30 && FAILURE_PENALTY_MS >= 1000);
});

test('peak-ewma: unmeasured endpoints with a request in flight are avoided', () => {
  const eps = endpointsOf(2);
  const c = clock();
  const lb = new PeakEwma(eps, 10_000, { seed: 1, now: c.now });
  lb.onStart(eps[0]!); // first request, no answer yet
  for (let i = 0; i < 50; i++) assert.equal(lb.pick(), eps[1]);
});
