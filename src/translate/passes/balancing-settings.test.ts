import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHashKey, policyOfLoadBalance } from './balancing-settings.ts';

test('upstream-hash-by: exactly four nginx variable forms become typed keys', () => {
  assert.deepEqual(parseHashKey('$remote_addr'), { source: 'client-ip' });
  assert.deepEqual(parseHashKey('$binary_remote_addr'), { source: 'client-ip' });
  assert.deepEqual(parseHashKey('$request_uri'), { source: 'uri' });
  assert.deepEqual(parseHashKey('$http_x_user_id'), { source: 'header', name: 'x-user-id' });
  assert.deepEqual(parseHashKey('$http_X_Tenant'), { source: 'header', name: 'x-tenant' });
  assert.deepEqual(parseHashKey('$cookie_SessionId'), { source: 'cookie', name: 'SessionId' });
});

test('upstream-hash-by: everything else is refused, nothing is interpolated', () => {
  for (const bad of [
    '', '$host', '$uri', '$args', '$arg_id', '${request_uri}', '$request_uri ', ' $remote_addr', '$remote_addr$request_uri',
    'prefix-$request_uri', '$http_', '$http_x-user', '$cookie_', '$cookie_a-b', '$cookie_a;b', '$http_a\nb', 'request_uri', '$$request_uri',
  ]) {
    assert.equal(parseHashKey(bad), undefined, JSON.stringify(bad));
  }
});

test('load-balance values map to policies', () => {
  assert.deepEqual(policyOfLoadBalance('round_robin'), { kind: 'round-robin' });
  assert.deepEqual(policyOfLoadBalance('least_request'), { kind: 'least-request', choices: 2 });
  assert.deepEqual(policyOfLoadBalance('ewma'), { kind: 'peak-ewma', decayMs: 10_000 });
});
