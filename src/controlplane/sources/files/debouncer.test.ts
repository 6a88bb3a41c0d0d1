import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { Debouncer } from './debouncer.ts';

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'] }));
afterEach(() => mock.timers.reset());

test('fires once, quietMs after the last poke', () => {
  let fired = 0;
  const d = new Debouncer(100, 500, () => fired++);
  d.poke();
  mock.timers.tick(60);
  d.poke();
  mock.timers.tick(99);
  assert.equal(fired, 0);
  mock.timers.tick(1);
  assert.equal(fired, 1);
  mock.timers.tick(1000);
  assert.equal(fired, 1);
});

test('a continuous stream of pokes still fires after maxMs', () => {
  let fired = 0;
  const d = new Debouncer(100, 500, () => fired++);
  for (let t = 0; t < 500; t += 50) {
    d.poke();
    mock.timers.tick(50);
  }
  assert.equal(fired, 1, 'fired at the 500 ms bound despite pokes every 50 ms');
  d.poke();
  mock.timers.tick(99);
  assert.equal(fired, 1, 'the bound restarts with the next burst');
  mock.timers.tick(1);
  assert.equal(fired, 2);
});

test('cancel drops a pending fire', () => {
  let fired = 0;
  const d = new Debouncer(100, 500, () => fired++);
  d.poke();
  d.cancel();
  mock.timers.tick(1000);
  assert.equal(fired, 0);
});
