import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toUpstreamEndpoint } from '../compile/cluster.ts';
import { UpstreamRegistry } from './upstream-registry.ts';

class FakePool {
  closed = 0;
  readonly key: string;
  constructor(key: string) {
    this.key = key;
  }
  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}

const e1 = toUpstreamEndpoint({ address: '10.0.0.1', port: 80 });
const e2 = toUpstreamEndpoint({ address: 'fd00::2', port: 8080 });

test('pools are created once per endpoint and survive swaps that keep the endpoint', () => {
  const made: FakePool[] = [];
  const reg = new UpstreamRegistry((e) => {
    const p = new FakePool(e.key);
    made.push(p);
    return p;
  }, new Set([e1.key, e2.key]));
  const p1 = reg.acquire(e1);
  reg.release(e1);
  assert.equal(reg.acquire(e1), p1);
  reg.acquire(e2);
  reg.retain(new Set([e1.key]));
  assert.equal(made.length, 2);
  assert.equal(made[0]!.closed, 0, 'kept endpoint must keep its pool');
  assert.equal(made[1]!.closed, 1, 'removed endpoint is closed gracefully');
  assert.equal(reg.size, 1);
  assert.equal(e2.key, 'fd00::2:8080');
  assert.equal(e2.origin, 'http://[fd00::2]:8080');
});

test('a request that picked an endpoint no table lists any more gets a pool that closes right after it', () => {
  const made: FakePool[] = [];
  const reg = new UpstreamRegistry((e) => {
    const p = new FakePool(e.key);
    made.push(p);
    return p;
  }, new Set([e1.key]));
  reg.acquire(e2);
  reg.release(e2);
  assert.equal(made[0]!.closed, 1);
  assert.equal(reg.has(e2.key), false);
});

test('close() closes every pool and waits for them', async () => {
  const made: FakePool[] = [];
  const reg = new UpstreamRegistry((e) => {
    const p = new FakePool(e.key);
    made.push(p);
    return p;
  }, new Set([e1.key, e2.key]));
  reg.acquire(e1);
  reg.acquire(e2);
  await reg.close();
  assert.deepEqual(made.map((p) => p.closed), [1, 1]);
  assert.equal(reg.size, 0);
});
