import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatMicroTime, formatTime, parseMicroTime } from './microtime.ts';

describe('MicroTime', () => {
  test('formats with exactly six fractional digits', () => {
    const ms = Date.UTC(2026, 10, 23, 20, 0, 0, 123);
    assert.equal(formatMicroTime(ms), '2026-11-23T20:00:00.123000Z');
    assert.equal(formatMicroTime(ms + 0.456), '2026-11-23T20:00:00.123456Z');
    assert.equal(formatMicroTime(Date.UTC(2026, 0, 1)), '2026-01-01T00:00:00.000000Z');
    assert.equal(formatMicroTime(Date.UTC(2026, 0, 1) + 0.001), '2026-01-01T00:00:00.000001Z');
    assert.match(formatMicroTime(Date.now()), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
  });

  test('parses what it formats, to the microsecond', () => {
    for (const value of ['2026-11-23T20:00:00.123456Z', '2024-02-29T23:59:59.999999Z', '1970-01-01T00:00:00.000001Z']) {
      const ms = parseMicroTime(value);
      assert.notEqual(ms, undefined, value);
      assert.equal(formatMicroTime(ms!), value);
    }
    assert.equal(parseMicroTime('2026-11-23T20:00:00.123456Z'), Date.UTC(2026, 10, 23, 20, 0, 0, 123) + 0.456);
  });

  test('rejects anything but six digits and Z', () => {
    for (const bad of [
      '2026-11-23T20:00:00Z',
      '2026-11-23T20:00:00.123Z',
      '2026-11-23T20:00:00.1234567Z',
      '2026-11-23T20:00:00.123456789Z',
      '2026-11-23T20:00:00.123456+00:00',
      '2026-11-23 20:00:00.123456Z',
      '2026-11-23T20:00:00.123456z',
      '2026-13-23T20:00:00.123456Z',
      '2026-02-31T20:00:00.123456Z',
      '2026-11-23T24:00:00.123456Z',
      '',
    ]) {
      assert.equal(parseMicroTime(bad), undefined, bad);
    }
  });

  test('core/v1 timestamps have second precision', () => {
    assert.equal(formatTime(Date.UTC(2026, 10, 23, 20, 0, 5, 999)), '2026-11-23T20:00:05Z');
  });

  test('non-finite times are refused', () => {
    assert.throws(() => formatMicroTime(Number.NaN), RangeError);
  });
});
