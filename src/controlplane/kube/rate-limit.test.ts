import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { retryDelayMs, TokenBucket } from './rate-limit.ts';

describe('TokenBucket', () => {
  test('allows a burst, then refills at the rate', () => {
    let now = 1000;
    const bucket = new TokenBucket({ perSecond: 10, burst: 3, now: () => now });
    assert.equal(bucket.tryTake(), true);
    assert.equal(bucket.tryTake(), true);
    assert.equal(bucket.tryTake(), true);
    assert.equal(bucket.tryTake(), false);
    assert.equal(bucket.waitMs(), 100);
    now += 50;
    assert.equal(bucket.tryTake(), false);
    assert.equal(bucket.waitMs(), 50);
    now += 50;
    assert.equal(bucket.tryTake(), true);
    assert.equal(bucket.tryTake(), false);
  });

  test('never holds more than the burst', () => {
    let now = 0;
    const bucket = new TokenBucket({ perSecond: 100, burst: 2, now: () => now });
    now += 60_000;
    assert.equal(bucket.tokens, 2);
    assert.equal(bucket.full, true);
    bucket.tryTake();
    assert.equal(bucket.full, false);
  });

  test('caps a storm: 1000 attempts over 9.99 s at 10/s with burst 5 pass 5 + 99 times', () => {
    let now = 0;
    const bucket = new TokenBucket({ perSecond: 10, burst: 5, now: () => now });
    let passed = 0;
    for (let i = 0; i < 1000; i++) {
      if (bucket.tryTake()) passed++;
      now += 10;
    }
    assert.equal(passed, 5 + 99);
  });

  test('a clock going backwards adds nothing', () => {
    let now = 10_000;
    const bucket = new TokenBucket({ perSecond: 1, burst: 1, now: () => now });
    bucket.tryTake();
    now -= 5000;
    assert.equal(bucket.tryTake(), false);
  });

  test('refuses nonsense settings', () => {
    assert.throws(() => new TokenBucket({ perSecond: 0, burst: 1, now: () => 0 }), RangeError);
    assert.throws(() => new TokenBucket({ perSecond: 1, burst: 0, now: () => 0 }), RangeError);
  });
});

describe('retryDelayMs', () => {
  test('doubles from the initial delay up to the cap', () => {
    const fixed = { initialMs: 100, maxMs: 1000, jitter: 0 };
    assert.deepEqual([1, 2, 3, 4, 5, 50].map((n) => retryDelayMs(n, fixed)), [100, 200, 400, 800, 1000, 1000]);
  });

  test('jitter shortens by at most its share', () => {
    assert.equal(retryDelayMs(1, { initialMs: 1000, jitter: 0.2, random: () => 0 }), 800);
    assert.equal(retryDelayMs(1, { initialMs: 1000, jitter: 0.2, random: () => 1 }), 1000);
  });
});
