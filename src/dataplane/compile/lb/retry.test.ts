import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { RetryCondition, RetryPolicy } from '../../../model/model.ts';
import { DEFAULT_RETRY_POLICY, RETRY_CONDITIONS } from '../../../model/upstream-defaults.ts';
import { isIdempotent, mergeExclusions, RetryBudget, shouldRetry, type AttemptFailure } from './retry.ts';

function failure(parts: Partial<AttemptFailure>): AttemptFailure {
  return { kind: 'connect', responseStarted: false, requestBodySent: false, method: 'GET', elapsedMs: 0, ...parts };
}

const GATEWAY: RetryPolicy = { on: ['connect-failure', 'reset', 'timeout', 'http-502', 'http-503', 'http-504'], tries: 3, nonIdempotent: false };

test('shouldRetry: a table of cases', () => {
  const cases: Array<[string, RetryPolicy, number, Partial<AttemptFailure>, boolean]> = [
    ['GET, connect failure, first attempt', DEFAULT_RETRY_POLICY, 1, { kind: 'connect' }, true],
    ['GET, reset after sending', DEFAULT_RETRY_POLICY, 1, { kind: 'reset', requestBodySent: true }, true],
    ['GET, timeout waiting for the head', DEFAULT_RETRY_POLICY, 2, { kind: 'timeout', requestBodySent: true }, true],
    ['third attempt of 3 tries: no more', DEFAULT_RETRY_POLICY, 3, { kind: 'connect' }, false],
    ['tries 1: never', { ...DEFAULT_RETRY_POLICY, tries: 1 }, 1, { kind: 'connect' }, false],
    ['tries 0: no limit of its own', { ...DEFAULT_RETRY_POLICY, tries: 0 }, 50, { kind: 'connect' }, true],
    ['502 not in the default conditions', DEFAULT_RETRY_POLICY, 1, { kind: 'status', status: 502, requestBodySent: true }, false],
    ['502 with http_502', GATEWAY, 1, { kind: 'status', status: 502, requestBodySent: true }, true],
    ['500 without http_500', GATEWAY, 1, { kind: 'status', status: 500, requestBodySent: true }, false],
    ['429 with http_429', { on: ['http-429'], tries: 2, nonIdempotent: false }, 1, { kind: 'status', status: 429, requestBodySent: true }, true],
    ['200 is never a retry condition', GATEWAY, 1, { kind: 'status', status: 200, requestBodySent: true }, false],
    ['status without a status number', GATEWAY, 1, { kind: 'status', requestBodySent: true }, false],
    ['response started: never', GATEWAY, 1, { kind: 'reset', responseStarted: true, requestBodySent: true }, false],
    ['response started, even a connect-looking failure', { ...GATEWAY, nonIdempotent: true, tries: 0 }, 1, { kind: 'connect', responseStarted: true }, false],
    ['off: never', { on: [], tries: 1, nonIdempotent: false }, 1, { kind: 'connect' }, false],
    ['connect failure not in the conditions', { on: ['timeout'], tries: 3, nonIdempotent: false }, 1, { kind: 'connect' }, false],
    ['reset not in the conditions (timeout only)', { on: ['timeout'], tries: 3, nonIdempotent: false }, 1, { kind: 'reset', requestBodySent: true }, false],
    ['POST, connect failure, nothing sent', DEFAULT_RETRY_POLICY, 1, { kind: 'connect', method: 'POST' }, true],
    ['POST, connect timeout, nothing sent', DEFAULT_RETRY_POLICY, 1, { kind: 'timeout', method: 'POST' }, true],
    ['POST, reset after sending', DEFAULT_RETRY_POLICY, 1, { kind: 'reset', method: 'POST', requestBodySent: true }, false],
    ['POST, reset before sending is still a reset', DEFAULT_RETRY_POLICY, 1, { kind: 'reset', method: 'POST' }, false],
    ['POST, timeout after sending', DEFAULT_RETRY_POLICY, 1, { kind: 'timeout', method: 'POST', requestBodySent: true }, false],
    ['POST, 503 with non_idempotent', { ...GATEWAY, nonIdempotent: true }, 1, { kind: 'status', status: 503, method: 'POST', requestBodySent: true }, true],
    ['PATCH, reset, non_idempotent', { ...DEFAULT_RETRY_POLICY, nonIdempotent: true }, 1, { kind: 'reset', method: 'PATCH', requestBodySent: true }, true],
    ['LOCK, reset after sending', DEFAULT_RETRY_POLICY, 1, { kind: 'reset', method: 'LOCK', requestBodySent: true }, false],
    ['unknown method counts as non-idempotent', DEFAULT_RETRY_POLICY, 1, { kind: 'reset', method: 'PURGE', requestBodySent: true }, false],
    ['lower-case get is not GET', DEFAULT_RETRY_POLICY, 1, { kind: 'reset', method: 'get', requestBodySent: true }, false],
    ['PUT and DELETE are idempotent', DEFAULT_RETRY_POLICY, 1, { kind: 'reset', method: 'DELETE', requestBodySent: true }, true],
    ['within the budget', { ...DEFAULT_RETRY_POLICY, budgetMs: 1000 }, 1, { kind: 'connect', elapsedMs: 999 }, true],
    ['budget spent', { ...DEFAULT_RETRY_POLICY, budgetMs: 1000 }, 1, { kind: 'connect', elapsedMs: 1000 }, false],
  ];
  for (const [name, policy, attempt, parts, expected] of cases) {
    assert.equal(shouldRetry(policy, attempt, failure(parts)), expected, name);
  }
});

test('isIdempotent: RFC 9110 methods only, case-sensitive', () => {
  for (const m of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']) assert.ok(isIdempotent(m), m);
  for (const m of ['POST', 'PATCH', 'LOCK', 'CONNECT', 'PROPPATCH', 'MKCOL', 'get', '']) assert.ok(!isIdempotent(m), m);
});

const policyArb = fc.record({
  on: fc.subarray([...RETRY_CONDITIONS] as RetryCondition[]),
  tries: fc.integer({ min: 0, max: 10 }),
  budgetMs: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: undefined }),
  nonIdempotent: fc.boolean(),
}).map((p): RetryPolicy => (p.budgetMs === undefined ? { on: p.on, tries: p.tries, nonIdempotent: p.nonIdempotent } : { ...p, budgetMs: p.budgetMs }));

const failureArb = fc.record({
  kind: fc.constantFrom('connect' as const, 'timeout' as const, 'reset' as const, 'status' as const),
  status: fc.option(fc.integer({ min: 100, max: 599 }), { nil: undefined }),
  responseStarted: fc.boolean(),
  requestBodySent: fc.boolean(),
  method: fc.constantFrom('GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH', 'LOCK', 'OPTIONS', 'FOO'),
  elapsedMs: fc.integer({ min: 0, max: 20_000 }),
}).map((f): AttemptFailure => (f.status === undefined ? { kind: f.kind, responseStarted: f.responseStarted, requestBodySent: f.requestBodySent, method: f.method, elapsedMs: f.elapsedMs } : f));

test('property: never after the response started, never past tries or the budget, never an unsent-safe violation', () => {
  fc.assert(
    fc.property(policyArb, fc.integer({ min: 1, max: 12 }), failureArb, (policy, attempt, f) => {
      const yes = shouldRetry(policy, attempt, f);
      if (!yes) return;
      assert.equal(f.responseStarted, false, 'retried after a response byte reached the client');
      if (policy.tries > 0) assert.ok(attempt < policy.tries, `attempt ${attempt + 1} of at most ${policy.tries}`);
      if (policy.budgetMs !== undefined) assert.ok(f.elapsedMs < policy.budgetMs, 'retried after the budget');
      if (!policy.nonIdempotent && !isIdempotent(f.method)) {
        assert.ok(!f.requestBodySent && f.kind !== 'status' && f.kind !== 'reset', 'non-idempotent request retried after bytes were sent');
      }
      assert.ok(policy.on.length > 0);
    }),
    { seed: 6, numRuns: 5000 },
  );
});

test('property: a request never gets more attempts than tries', () => {
  fc.assert(
    fc.property(policyArb.filter((p) => p.tries > 0), failureArb, (policy, f) => {
      let attempts = 1;
      while (shouldRetry(policy, attempts, f)) {
        attempts++;
        assert.ok(attempts <= policy.tries, `${attempts} attempts, tries ${policy.tries}`);
      }
    }),
    { seed: 7, numRuns: 2000 },
  );
});

test('mergeExclusions: allocates only when both sides have endpoints', () => {
  const tried = new Set(['a']);
  const ejected = new Set(['b']);
  assert.equal(mergeExclusions(undefined, ejected), ejected);
  assert.equal(mergeExclusions(new Set<string>(), ejected), ejected);
  assert.equal(mergeExclusions(tried, undefined), tried);
  assert.equal(mergeExclusions(tried, new Set<string>()), tried);
  assert.equal(mergeExclusions<string>(undefined, undefined), undefined);
  assert.deepEqual([...mergeExclusions(tried, ejected)!].sort(), ['a', 'b']);
  assert.deepEqual([...tried], ['a'], 'inputs are not modified');
});

test('RetryBudget: max(3, 20 % of requests in flight) retries at once', () => {
  const budget = new RetryBudget();
  assert.equal(budget.limit(0), 3);
  assert.equal(budget.limit(10), 3);
  assert.equal(budget.limit(20), 4);
  assert.equal(budget.limit(100), 20);
  for (let i = 0; i < 3; i++) assert.ok(budget.tryAcquire(5));
  assert.ok(!budget.tryAcquire(5), 'a fourth retry with 5 in flight');
  assert.equal(budget.overflowTotal, 1);
  assert.ok(budget.tryAcquire(100), 'more in flight: more room');
  assert.equal(budget.active, 4);
  budget.release();
  budget.release();
  assert.equal(budget.active, 2);
  assert.ok(budget.tryAcquire(0));
  assert.equal(budget.grantedTotal, 5);
});

test('RetryBudget: release never goes below zero; options are checked', () => {
  const budget = new RetryBudget({ ratio: 0.5, minRetryConcurrency: 0 });
  budget.release();
  assert.equal(budget.active, 0);
  assert.ok(!budget.tryAcquire(1), 'floor(0.5) = 0 retries');
  assert.ok(budget.tryAcquire(2));
  assert.throws(() => new RetryBudget({ ratio: 1.5 }), RangeError);
  assert.throws(() => new RetryBudget({ ratio: Number.NaN }), RangeError);
  assert.throws(() => new RetryBudget({ minRetryConcurrency: -1 }), RangeError);
});

test('property: the budget never grants more than its limit', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 200 })), { maxLength: 300 }), (ops) => {
      const budget = new RetryBudget();
      for (const [acquire, inFlight] of ops) {
        if (acquire) {
          const before = budget.active;
          if (budget.tryAcquire(inFlight)) assert.ok(before < budget.limit(inFlight));
        } else {
          budget.release();
        }
        assert.ok(budget.active >= 0);
      }
    }),
    { seed: 8, numRuns: 300 },
  );
});
