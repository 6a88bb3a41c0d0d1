import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, sleep } from './backoff.ts';

describe('Backoff', () => {
  it('doubles the ceiling up to the cap, with full jitter', () => {
    const b = new Backoff({ baseMs: 200, capMs: 1000, random: () => 0.999999, now: () => 0 });
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [199, 399, 799, 999, 999]);
    const low = new Backoff({ baseMs: 200, random: () => 0, now: () => 0 });
    assert.equal(low.next(), 0);
  });

  it('never waits less than Retry-After', () => {
    const b = new Backoff({ baseMs: 200, random: () => 0.5, now: () => 0 });
    assert.equal(b.next(3), 3000);
    assert.equal(b.next(0.2), 200);
    assert.equal(new Backoff({ maxRetryAfterMs: 5000, random: () => 0, now: () => 0 }).next(3600), 5000);
  });

  it('starts again from the base after a healthy period', () => {
    let now = 0;
    const b = new Backoff({ baseMs: 100, resetAfterMs: 1000, random: () => 0.999999, now: () => now });
    b.next();
    b.next();
    assert.equal(b.next(), 399);
    now = 5000;
    assert.equal(b.next(), 99);
    b.reset();
    assert.equal(b.attempts, 0);
  });
});

describe('sleep', () => {
  it('ends early when the signal aborts', async () => {
    const ctrl = new AbortController();
    const started = performance.now();
    const done = sleep(60_000, ctrl.signal);
    ctrl.abort();
    await done;
    assert.ok(performance.now() - started < 1000);
  });
});
