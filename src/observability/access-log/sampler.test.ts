import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSampleRatio, shouldLog } from './sampler.ts';

const never = (): number => assert.fail('random must not be called');

test('server errors and cut exchanges are always logged, whatever the ratio, without drawing', () => {
  for (const status of [0, 500, 502, 503, 504, 599]) {
    for (const ratio of [0, 0.001, 0.5, 1, Number.NaN]) assert.equal(shouldLog(status, ratio, never), true, `${status} at ${ratio}`);
  }
});

test('ratio 1 (the default) logs everything without drawing; ratio 0 logs only errors and cuts', () => {
  for (const status of [101, 200, 204, 301, 308, 400, 404, 421, 499]) {
    assert.equal(shouldLog(status, 1, never), true);
    assert.equal(shouldLog(status, 2, never), true);
    assert.equal(shouldLog(status, 0, never), false);
    assert.equal(shouldLog(status, -1, never), false);
    assert.equal(shouldLog(status, Number.NaN, never), false);
  }
});

test('in between: logged when the draw is below the ratio', () => {
  assert.equal(shouldLog(200, 0.25, () => 0), true);
  assert.equal(shouldLog(200, 0.25, () => 0.2499), true);
  assert.equal(shouldLog(200, 0.25, () => 0.25), false);
  assert.equal(shouldLog(404, 0.25, () => 0.9), false);
});

test('the sample is about ratio × the non-error exchanges', () => {
  let s = 12345;
  const lcg = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const n = 100_000;
  for (const ratio of [0.01, 0.1, 0.5]) {
    let logged = 0;
    for (let i = 0; i < n; i++) if (shouldLog(200, ratio, lcg)) logged++;
    const expected = n * ratio;
    assert.ok(Math.abs(logged - expected) < 5 * Math.sqrt(expected), `ratio ${ratio}: ${logged} of ${n}`);
  }
});

test('the default draw is Math.random', () => {
  let logged = 0;
  for (let i = 0; i < 10_000; i++) if (shouldLog(200, 0.5)) logged++;
  assert.ok(logged > 4000 && logged < 6000, String(logged));
});

test('parseSampleRatio: numbers from 0 to 1', () => {
  for (const [text, want] of [['1', 1], ['0', 0], ['0.25', 0.25], ['.5', 0.5], ['1.0', 1], [' 0.1 ', 0.1], ['0.', 0]] as const) {
    assert.equal(parseSampleRatio(text), want, text);
  }
  for (const text of ['', '-0.1', '1.01', '2', 'abc', 'NaN', 'Infinity', '1e-3', '0x1', '50%']) {
    const r = parseSampleRatio(text);
    assert.ok(typeof r === 'object' && r.error.includes('0 to 1'), `${JSON.stringify(text)}: ${JSON.stringify(r)}`);
  }
});
