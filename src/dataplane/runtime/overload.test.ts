// The overload monitor with injected readings: it flips `shedding` by the
// policy, keeps the gauge in step, counts shed requests and logs each change once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestMetrics } from '../../observability/metrics/request-metrics.ts';
import type { OverloadReading } from '../edge/overload-policy.ts';
import { OverloadMonitor } from './overload.ts';

test('shedding follows the readings; the gauge, the counter and the log follow shedding', () => {
  const metrics = new RequestMetrics();
  const warnings: string[] = [];
  const logger = { warn: (msg: string) => warnings.push(msg) } as unknown as ConstructorParameters<typeof OverloadMonitor>[0]['logger'];
  let reading: OverloadReading = { eventLoopDelayMs: 0, heapPercent: 10 };
  const monitor = new OverloadMonitor({ settings: { eventLoopDelayMs: 100, heapPercent: 90 }, metrics, logger, read: () => reading, intervalMs: 60_000 });
  try {
    assert.equal(monitor.shedding, false);
    reading = { eventLoopDelayMs: 250, heapPercent: 10 };
    monitor.check();
    assert.equal(monitor.shedding, true);
    assert.equal(metrics.overloadActive, 1);
    monitor.noteShed();
    monitor.noteShed();
    assert.equal(metrics.overloadShed, 2);
    monitor.check();
    assert.equal(warnings.length, 1, 'one warning per change, not per check');
    reading = { eventLoopDelayMs: 70, heapPercent: 10 };
    monitor.check();
    assert.equal(monitor.shedding, true, 'hysteresis: still over half the threshold');
    reading = { eventLoopDelayMs: 5, heapPercent: 10 };
    monitor.check();
    assert.equal(monitor.shedding, false);
    assert.equal(metrics.overloadActive, 0);
    assert.equal(warnings.length, 2);
  } finally {
    monitor.stop();
  }
});
