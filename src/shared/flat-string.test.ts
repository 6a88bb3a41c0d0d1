import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flatString } from './flat-string.ts';

test('flatString returns the same characters, for concatenations, slices and non-ASCII text', () => {
  const port = 19080;
  for (const s of [`${'10.244.1.17'}:${port}`, 'x'.repeat(40).slice(3, 30), 'caf\u00e9 \ud83d\ude00 "q" \\', '', '\u2028\u0000']) {
    const f = flatString(s);
    assert.equal(f, s);
    assert.equal(f.length, s.length);
  }
});
