// Restart backoff and counter sums of the worker pool: pure functions.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { retire, sumCounters, ZERO_TOTALS } from './counters.ts';
import { FIRST_DELAY_MS, MAX_DELAY_MS, nextRestart, STABLE_RUN_MS } from './restart-backoff.ts';

describe('worker restart backoff', () => {
  test('a worker that ran long enough is replaced at once, and the backoff starts over', () => {
    assert.deepEqual(nextRestart(5, STABLE_RUN_MS), { shortRuns: 0, delayMs: 0 });
  });

  test('short runs double the delay up to the maximum', () => {
    let runs = 0;
    const delays: number[] = [];
    for (let i = 0; i < 12; i++) {
      const next = nextRestart(runs, 100);
      runs = next.shortRuns;
      delays.push(next.delayMs);
    }
    assert.equal(delays[0], FIRST_DELAY_MS);
    assert.equal(delays[1], FIRST_DELAY_MS * 2);
    assert.equal(delays[2], FIRST_DELAY_MS * 4);
    assert.equal(delays.at(-1), MAX_DELAY_MS);
    for (let i = 1; i < delays.length; i++) assert.ok(delays[i]! >= delays[i - 1]!);
    assert.equal(nextRestart(10_000, 0).delayMs, MAX_DELAY_MS);
  });
});

function stats(requests: number, open: number) {
  return { requests, responsesByClass: { '1xx': 0, '2xx': requests, '3xx': 0, '4xx': 0, '5xx': 0 }, activeConnections: open, upstreamErrors: 1, generation: 1 };
}

describe('worker counter sums', () => {
  test('live workers are summed; counters of exited workers are kept, their connections are not', () => {
    const retired = retire(ZERO_TOTALS, stats(10, 4));
    const total = sumCounters(retired, [stats(5, 2), undefined, stats(1, 1)]);
    assert.equal(total.requests, 16);
    assert.equal(total.responsesByClass['2xx'], 16);
    assert.equal(total.upstreamErrors, 3);
    assert.equal(total.activeConnections, 3);
    assert.equal(retire(retired, undefined), retired);
  });
});
