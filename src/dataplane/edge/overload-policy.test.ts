// The shedding decision: each signal alone starts it, both must be clear to
// end it (hysteresis), and a threshold of 0 switches a signal off.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shouldShed } from './overload-policy.ts';

const settings = { eventLoopDelayMs: 100, heapPercent: 90 };

test('either signal over its threshold starts shedding', () => {
  assert.equal(shouldShed(false, { eventLoopDelayMs: 101, heapPercent: 10 }, settings), true);
  assert.equal(shouldShed(false, { eventLoopDelayMs: 1, heapPercent: 91 }, settings), true);
  assert.equal(shouldShed(false, { eventLoopDelayMs: 100, heapPercent: 90 }, settings), false, 'at the threshold is not over it');
});

test('shedding ends only when both signals are well clear (delay < half, heap 5 points under)', () => {
  assert.equal(shouldShed(true, { eventLoopDelayMs: 60, heapPercent: 10 }, settings), true, 'delay between half and threshold: keep shedding');
  assert.equal(shouldShed(true, { eventLoopDelayMs: 10, heapPercent: 87 }, settings), true, 'heap within 5 points: keep shedding');
  assert.equal(shouldShed(true, { eventLoopDelayMs: 49, heapPercent: 84 }, settings), false);
  assert.equal(shouldShed(false, { eventLoopDelayMs: 60, heapPercent: 87 }, settings), false, 'the same reading does not start shedding');
});

test('a threshold of 0 switches that signal off', () => {
  const delayOnly = { eventLoopDelayMs: 100, heapPercent: 0 };
  assert.equal(shouldShed(false, { eventLoopDelayMs: 10, heapPercent: 100 }, delayOnly), false);
  assert.equal(shouldShed(true, { eventLoopDelayMs: 10, heapPercent: 100 }, delayOnly), false);
  const off = { eventLoopDelayMs: 0, heapPercent: 0 };
  assert.equal(shouldShed(false, { eventLoopDelayMs: 60_000, heapPercent: 100 }, off), false);
});
