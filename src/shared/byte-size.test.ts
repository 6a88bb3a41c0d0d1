import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatByteSize, parseByteSize } from './byte-size.ts';

test('nginx sizes: bytes, k, m, g (binary, either case); 0 is a value', () => {
  assert.equal(parseByteSize('0'), 0);
  assert.equal(parseByteSize('100'), 100);
  assert.equal(parseByteSize('8k'), 8192);
  assert.equal(parseByteSize('10m'), 10 * 1024 * 1024);
  assert.equal(parseByteSize('1G'), 1024 ** 3);
  assert.equal(parseByteSize('1M'), 1024 * 1024);
});

test('anything else is refused: spaces, fractions, other units, signs, empty, overflow', () => {
  for (const bad of ['', ' 1m', '1m ', '1.5m', '1mb', '1t', '-1', '+1', 'm', '1 m', '0x10', '1e6', '9999999999999999g', '１m']) {
    assert.equal(parseByteSize(bad), undefined, JSON.stringify(bad));
  }
});

test('formatByteSize is the shortest spelling and parses back', () => {
  for (const [bytes, text] of [[0, '0'], [100, '100'], [1536 * 1024, '1536k'], [10 * 1024 ** 2, '10m'], [2 * 1024 ** 3, '2g']] as const) {
    assert.equal(formatByteSize(bytes), text);
    assert.equal(parseByteSize(text), bytes);
  }
});
