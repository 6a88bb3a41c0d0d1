// Generated request IDs: RFC 9562 version-4 UUID text (what crypto.randomUUID
// gives, and what docs/proxy.md promises), distinct across pool refills.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAcceptableRequestId, newRequestId } from './request-id.ts';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('generated IDs are version-4 UUIDs, acceptable as request IDs, and do not repeat across pool refills', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const id = newRequestId();
    assert.match(id, V4);
    assert.equal(isAcceptableRequestId(id), true);
    seen.add(id);
  }
  assert.equal(seen.size, 5000);
});

test('every hex digit position varies (the bytes are random, not a counter)', () => {
  const ids = Array.from({ length: 2000 }, () => newRequestId());
  for (let pos = 0; pos < 36; pos++) {
    if ([8, 13, 18, 23, 14].includes(pos)) continue; // dashes and the version digit
    const distinct = new Set(ids.map((id) => id[pos]));
    assert.ok(distinct.size >= (pos === 19 ? 4 : 12), `position ${pos}: ${distinct.size} distinct digits`);
  }
});
