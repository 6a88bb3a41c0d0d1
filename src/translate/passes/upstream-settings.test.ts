import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_RETRY_POLICY, DEFAULT_UPSTREAM_TIMEOUTS, retryPolicyOf, timeoutsOf } from '../../model/upstream-defaults.ts';
import { describeRetry, parseNextUpstream } from './upstream-settings.ts';

test('proxy-next-upstream: nginx words map to Martello conditions in a fixed order', () => {
  assert.deepEqual(parseNextUpstream('error timeout'), { on: ['connect-failure', 'reset', 'timeout'], nonIdempotent: false });
  assert.deepEqual(parseNextUpstream('timeout error'), parseNextUpstream('error timeout'));
  assert.deepEqual(parseNextUpstream('invalid_header'), { on: ['reset'], nonIdempotent: false });
  assert.deepEqual(parseNextUpstream('http_429 http_404 http_403 http_504 http_503 http_502 http_500'),
    { on: ['http-500', 'http-502', 'http-503', 'http-504', 'http-403', 'http-404', 'http-429'], nonIdempotent: false });
  assert.deepEqual(parseNextUpstream('  error\tnon_idempotent  '), { on: ['connect-failure', 'reset'], nonIdempotent: true });
  assert.deepEqual(parseNextUpstream('ERROR Timeout'), { on: ['connect-failure', 'reset', 'timeout'], nonIdempotent: false });
  assert.deepEqual(parseNextUpstream('off'), { on: [], nonIdempotent: false });
  assert.deepEqual(parseNextUpstream('off off'), { on: [], nonIdempotent: false });
  assert.deepEqual(parseNextUpstream('non_idempotent'), { on: [], nonIdempotent: true });
});

test('proxy-next-upstream: anything else is refused', () => {
  for (const bad of ['', '   ', 'error off', 'off non_idempotent', 'http_501', 'error,timeout', 'http_5xx', 'updating', 'error timeout;', 'constructor', '__proto__']) {
    assert.equal(parseNextUpstream(bad), undefined, JSON.stringify(bad));
  }
});

test('defaults: ingress-nginx\'s, and what the data path reads for a cluster without settings', () => {
  assert.deepEqual(DEFAULT_RETRY_POLICY, { on: ['connect-failure', 'reset', 'timeout'], tries: 3, nonIdempotent: false });
  assert.deepEqual(DEFAULT_UPSTREAM_TIMEOUTS, { connectMs: 5000, responseHeaderMs: 60_000, idleMs: 60_000, sendIdleMs: 60_000 });
  assert.equal(retryPolicyOf({}), DEFAULT_RETRY_POLICY);
  assert.deepEqual(timeoutsOf({ timeouts: { connectMs: 2000 } }), { ...DEFAULT_UPSTREAM_TIMEOUTS, connectMs: 2000 });
  assert.equal(describeRetry({ on: [], tries: 1, nonIdempotent: false }), 'off,tries=1');
});
