// The reconcile loop's debounce arithmetic (rebuildDelay): holdoff after the
// latest change, rest after the last rebuild, both capped by maxDelay.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_TIMING, rebuildDelay } from './reconcile-loop.ts';

const timing = { holdoffMs: 20, maxDelayMs: 500, restFactor: 1 };

test('a change long after the last rebuild waits the holdoff only', () => {
  assert.equal(rebuildDelay(1_000, 1_000, undefined, timing), 20);
  assert.equal(rebuildDelay(1_000, 1_000, { endedAt: 500, durationMs: 30 }, timing), 20);
});

test('a change right after a slow rebuild waits until the thread has rested as long as the rebuild took', () => {
  // Rebuild of 100 ms ended at t=1000; a change at t=1010 waits until t=1100.
  assert.equal(rebuildDelay(1_010, 1_010, { endedAt: 1_000, durationMs: 100 }, timing), 90);
  assert.equal(rebuildDelay(1_010, 1_010, { endedAt: 1_000, durationMs: 100 }, { ...timing, restFactor: 3 }), 290);
});

test('neither holdoff nor rest pushes a rebuild past maxDelay after the first pending change', () => {
  // Changes keep coming: the first pending one was at t=1000, now is t=1490.
  assert.equal(rebuildDelay(1_490, 1_000, undefined, timing), 10);
  assert.equal(rebuildDelay(1_200, 1_000, { endedAt: 1_190, durationMs: 2_000 }, timing), 300);
  assert.equal(rebuildDelay(1_600, 1_000, undefined, timing), 0, 'already overdue: at once');
});

test('the defaults are the documented ones', () => {
  assert.deepEqual(DEFAULT_TIMING, { holdoffMs: 20, maxDelayMs: 500, restFactor: 0.5 });
});
