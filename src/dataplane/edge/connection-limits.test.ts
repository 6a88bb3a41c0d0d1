// Connection admission: the global cap, the per-address cap, release
// bookkeeping, IPv4-mapped peers, and trusted proxies exempt from the
// per-address cap only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidrSet } from './cidr.ts';
import { ConnectionLimits } from './connection-limits.ts';

test('per-address cap: the n+1-th connection from one address is refused, others still admitted', () => {
  const limits = new ConnectionLimits({ maxConnections: 0, maxConnectionsPerAddress: 3 });
  for (let i = 0; i < 3; i++) assert.equal(limits.admit('192.0.2.1'), null);
  assert.equal(limits.admit('192.0.2.1'), 'max_connections_per_ip');
  assert.equal(limits.admit('192.0.2.2'), null);
  assert.equal(limits.open, 4);
  assert.equal(limits.openFrom('192.0.2.1'), 3);
  limits.release('192.0.2.1');
  assert.equal(limits.admit('192.0.2.1'), null, 'a slot freed by a close is reusable');
});

test('global cap: refused whatever the address, freed by any release', () => {
  const limits = new ConnectionLimits({ maxConnections: 2, maxConnectionsPerAddress: 10 });
  assert.equal(limits.admit('192.0.2.1'), null);
  assert.equal(limits.admit('192.0.2.2'), null);
  assert.equal(limits.admit('192.0.2.3'), 'max_connections');
  assert.equal(limits.openFrom('192.0.2.3'), 0, 'a refused connection is not counted');
  limits.release('192.0.2.1');
  assert.equal(limits.admit('192.0.2.3'), null);
});

test('release forgets an address once its last connection closes (the map stays bounded)', () => {
  const limits = new ConnectionLimits({ maxConnections: 0, maxConnectionsPerAddress: 5 });
  for (let i = 0; i < 100; i++) {
    assert.equal(limits.admit(`10.0.0.${i}`), null);
    limits.release(`10.0.0.${i}`);
  }
  assert.equal(limits.open, 0);
  assert.equal(limits.addresses, 0);
});

test('an IPv4 peer reported IPv4-mapped counts as the same address', () => {
  const limits = new ConnectionLimits({ maxConnections: 0, maxConnectionsPerAddress: 2 });
  assert.equal(limits.admit('192.0.2.9'), null);
  assert.equal(limits.admit('::ffff:192.0.2.9'), null);
  assert.equal(limits.admit('192.0.2.9'), 'max_connections_per_ip');
  limits.release('::ffff:192.0.2.9');
  assert.equal(limits.openFrom('192.0.2.9'), 1);
});

test('trusted proxies are exempt from the per-address cap, not from the global one', () => {
  const limits = new ConnectionLimits({ maxConnections: 5, maxConnectionsPerAddress: 1 }, parseCidrSet('10.0.0.0/8'));
  for (let i = 0; i < 4; i++) assert.equal(limits.admit('10.1.2.3'), null);
  assert.equal(limits.admit('192.0.2.1'), null);
  assert.equal(limits.admit('10.1.2.3'), 'max_connections');
  assert.equal(limits.admit('192.0.2.1'), 'max_connections');
  limits.release('10.1.2.3');
  assert.equal(limits.admit('192.0.2.1'), 'max_connections_per_ip');
});

test('caps of 0 admit everything; a connection without a known address counts globally only', () => {
  const open = new ConnectionLimits({ maxConnections: 0, maxConnectionsPerAddress: 0 });
  for (let i = 0; i < 1000; i++) assert.equal(open.admit('192.0.2.1'), null);
  assert.equal(open.addresses, 0);
  const capped = new ConnectionLimits({ maxConnections: 2, maxConnectionsPerAddress: 1 });
  assert.equal(capped.admit(undefined), null);
  assert.equal(capped.admit(undefined), null);
  assert.equal(capped.admit(undefined), 'max_connections');
  capped.release(undefined);
  assert.equal(capped.open, 1);
});
