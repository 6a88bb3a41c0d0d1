// The pure rules of the HTTP/2 session guard, fed synthetic events on a
// made-up clock (ms). The guard on real sessions is exercised by
// test/attacks/h2-floods.test.ts.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HeaderPhase, PrematureResetRule } from './h2-session-guard.ts';

/** Feeds `n` closed streams, each opened `lifetime` ms before it closed; returns the 1-based stream that tripped the rule, or 0. */
function feed(rule: PrematureResetRule, n: number, opts: { lifetime: number; responseStarted: boolean; t0?: number }): number {
  let t = opts.t0 ?? 10_000;
  for (let i = 1; i <= n; i++) {
    t += 1;
    if (rule.streamClosed(t - opts.lifetime, t, opts.responseStarted)) return i;
  }
  return 0;
}

describe('PrematureResetRule (200 streams, 1 s)', () => {
  test('a rapid reset trips at the 100th premature reset', () => {
    assert.equal(feed(new PrematureResetRule(200, 1000), 1000, { lifetime: 1, responseStarted: false }), 100);
  });

  test('streams answered before the reset never count', () => {
    assert.equal(feed(new PrematureResetRule(200, 1000), 10_000, { lifetime: 1, responseStarted: true }), 0);
  });

  test('streams closed at or after the lifetime never count (a user giving up on a slow request)', () => {
    assert.equal(feed(new PrematureResetRule(200, 1000), 10_000, { lifetime: 1000, responseStarted: false }), 0);
    assert.equal(feed(new PrematureResetRule(200, 1000), 1000, { lifetime: 999, responseStarted: false }), 100);
  });

  test('fewer than half of the streams reset prematurely: never trips', () => {
    const rule = new PrematureResetRule(200, 1000);
    // 49 of every 100 streams reset, forever.
    for (let i = 0; i < 100_000; i++) {
      const premature = i % 100 < 49;
      assert.equal(rule.streamClosed(i, premature ? i + 1 : i + 5000, false), false, `tripped at stream ${i + 1}`);
    }
  });

  test('half of the first 200: 99 good streams then resets trip at stream 199 (100 premature)', () => {
    const rule = new PrematureResetRule(200, 1000);
    assert.equal(feed(rule, 99, { lifetime: 1, responseStarted: true }), 0);
    assert.equal(feed(rule, 200, { lifetime: 1, responseStarted: false }), 100);
  });

  test('after a long warm-up of good streams, a burst of resets still trips within about 200 streams', () => {
    const rule = new PrematureResetRule(200, 1000);
    assert.equal(feed(rule, 100_037, { lifetime: 5, responseStarted: true }), 0);
    const at = feed(rule, 1000, { lifetime: 1, responseStarted: false });
    assert.ok(at >= 100 && at <= 200, `tripped after ${at} resets`);
  });

  test('resets split across a window boundary are still counted together', () => {
    const rule = new PrematureResetRule(200, 1000);
    // Window of 100 streams: 50 good, then 50 resets ending the window; the next window's first 50 resets trip.
    assert.equal(feed(rule, 50, { lifetime: 1, responseStarted: true }), 0);
    assert.equal(feed(rule, 50, { lifetime: 1, responseStarted: false }), 0);
    assert.equal(rule.recent, 50);
    assert.equal(feed(rule, 100, { lifetime: 1, responseStarted: false }), 50);
  });

  test('old resets age out: 99 resets, then 200 good streams, then 99 resets → no trip', () => {
    const rule = new PrematureResetRule(200, 1000);
    assert.equal(feed(rule, 99, { lifetime: 1, responseStarted: false }), 0);
    assert.equal(feed(rule, 200, { lifetime: 1, responseStarted: true }), 0);
    assert.equal(rule.recent, 0);
    assert.equal(feed(rule, 99, { lifetime: 1, responseStarted: false }), 0);
  });

  test('0 streams: the rule is off', () => {
    assert.equal(feed(new PrematureResetRule(0, 1000), 10_000, { lifetime: 1, responseStarted: false }), 0);
  });
});

describe('HeaderPhase', () => {
  test('a block that began and never finished expires after the timeout, from when it was first seen', () => {
    const h = new HeaderPhase();
    h.observe(1, 1000);
    assert.equal(h.pending, 1);
    assert.equal(h.expired(1499, 500), false);
    // More CONTINUATION bytes: same stream, the clock does not restart.
    h.observe(1, 1400);
    assert.equal(h.expired(1499, 500), false);
    assert.equal(h.expired(1500, 500), true);
  });

  test('a block that finished (delivered) is not pending', () => {
    const h = new HeaderPhase();
    h.observe(1, 1000);
    h.delivered = 1;
    h.observe(1, 1100);
    assert.equal(h.pending, 0);
    assert.equal(h.expired(100_000, 500), false);
  });

  test('each new block gets its own deadline', () => {
    const h = new HeaderPhase();
    h.delivered = 5;
    h.observe(5, 0);
    assert.equal(h.pending, 0);
    h.observe(7, 1000);
    assert.equal(h.expired(1600, 500), true);
    h.delivered = 7;
    h.observe(9, 1700);
    assert.equal(h.pending, 9);
    assert.equal(h.expired(1800, 500), false);
    assert.equal(h.expired(2200, 500), true);
  });

  test('timeout 0: never expires', () => {
    const h = new HeaderPhase();
    h.observe(3, 0);
    assert.equal(h.expired(1e12, 0), false);
  });

  test('an unknown last stream (a destroyed session reports none) is not pending', () => {
    const h = new HeaderPhase();
    h.observe(Number.NaN, 0);
    assert.equal(h.pending, 0);
  });
});
