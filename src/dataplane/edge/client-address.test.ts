// Client address selection with trusted proxies: table of peers and
// X-Forwarded-For chains (several field lines, spaces, empty elements,
// garbage), and properties: an untrusted peer is always the answer, and the
// answer never comes from left of an entry nobody we trust vouched for.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NO_TRUSTED_PROXIES, parseCidrSet } from './cidr.ts';
import { clientAddress } from './client-address.ts';

const TRUSTED = parseCidrSet('10.0.0.0/8,192.168.0.0/16,::1/128,2001:db8::/32');

test('an untrusted peer is the client, whatever X-Forwarded-For says', () => {
  assert.equal(clientAddress('203.0.113.7', TRUSTED, '1.2.3.4'), '203.0.113.7');
  assert.equal(clientAddress('203.0.113.7', TRUSTED, ['1.2.3.4', '10.0.0.1']), '203.0.113.7');
  assert.equal(clientAddress('203.0.113.7', TRUSTED, undefined), '203.0.113.7');
  assert.equal(clientAddress('10.0.0.1', NO_TRUSTED_PROXIES, '1.2.3.4'), '10.0.0.1');
  assert.equal(clientAddress('::ffff:203.0.113.7', TRUSTED, '1.2.3.4'), '::ffff:203.0.113.7');
  assert.equal(clientAddress('garbage', TRUSTED, '1.2.3.4'), 'garbage');
});

test('a trusted peer: walk X-Forwarded-For from the right', () => {
  const rows: Array<[peer: string, xff: string | string[] | undefined, expected: string]> = [
    ['10.0.0.1', undefined, '10.0.0.1'],
    ['10.0.0.1', '', '10.0.0.1'],
    ['10.0.0.1', [], '10.0.0.1'],
    ['10.0.0.1', '203.0.113.7', '203.0.113.7'],
    ['::ffff:10.0.0.1', '203.0.113.7', '203.0.113.7'],
    ['::1', '203.0.113.7', '203.0.113.7'],
    // the client lies on the left; the first untrusted from the right wins
    ['10.0.0.1', '6.6.6.6, 203.0.113.7', '203.0.113.7'],
    ['10.0.0.1', '6.6.6.6, 203.0.113.7, 10.1.1.1', '203.0.113.7'],
    ['10.0.0.1', '6.6.6.6,203.0.113.7,10.1.1.1,192.168.1.1', '203.0.113.7'],
    // several field lines are one list
    ['10.0.0.1', ['6.6.6.6, 203.0.113.7', '10.1.1.1'], '203.0.113.7'],
    ['10.0.0.1', ['6.6.6.6', '203.0.113.7, 10.1.1.1', '192.168.0.9'], '203.0.113.7'],
    ['10.0.0.1', ['203.0.113.7', ''], '203.0.113.7'],
    // spaces, tabs, empty elements
    ['10.0.0.1', '  203.0.113.7  ', '203.0.113.7'],
    ['10.0.0.1', '\t6.6.6.6 ,\t203.0.113.7\t', '203.0.113.7'],
    ['10.0.0.1', '203.0.113.7, , 10.1.1.1,', '203.0.113.7'],
    ['10.0.0.1', ',,203.0.113.7,,', '203.0.113.7'],
    ['10.0.0.1', ' , ', '10.0.0.1'],
    // every entry trusted: the leftmost
    ['10.0.0.1', '10.2.2.2, 192.168.1.1', '10.2.2.2'],
    ['10.0.0.1', ['::1', '10.2.2.2'], '::1'],
    // IPv6 answers are canonical
    ['10.0.0.1', '2001:DB9:0:0::1', '2001:db9::1'],
    ['10.0.0.1', '6.6.6.6, 2001:0db8::5', '6.6.6.6'],
    ['10.0.0.1', '::FFFF:203.0.113.7', '::ffff:203.0.113.7'],
    ['10.0.0.1', '::ffff:10.9.9.9, 203.0.113.7, ::ffff:10.1.1.1', '203.0.113.7'],
    // garbage stops the walk: the last trusted address is the answer
    ['10.0.0.1', 'unknown', '10.0.0.1'],
    ['10.0.0.1', '6.6.6.6, unknown', '10.0.0.1'],
    ['10.0.0.1', '6.6.6.6, garbage, 10.1.1.1', '10.1.1.1'],
    ['10.0.0.1', '6.6.6.6, 010.1.1.1, 10.1.1.1', '10.1.1.1'],
    ['10.0.0.1', '6.6.6.6, 203.0.113.7:443', '10.0.0.1'],
    ['10.0.0.1', '6.6.6.6, [2001:db9::1]', '10.0.0.1'],
    ['10.0.0.1', '6.6.6.6, "203.0.113.7"', '10.0.0.1'],
    ['10.0.0.1', '6.6.6.6, 203.0.113.7 10.1.1.1', '10.0.0.1'],
    ['10.0.0.1', '6.6.6.6, fe80::1%eth0', '10.0.0.1'],
    ['10.0.0.1', '6.6.6.6, for=203.0.113.7', '10.0.0.1'],
    ['10.0.0.1', ['6.6.6.6', 'x', '10.1.1.1, 192.168.7.7'], '10.1.1.1'],
    ['10.0.0.1', '_hidden, 10.1.1.1', '10.1.1.1'],
  ];
  for (const [peer, xff, expected] of rows) {
    assert.equal(clientAddress(peer, TRUSTED, xff), expected, `${peer} / ${JSON.stringify(xff)}`);
  }
});

test('a large hostile X-Forwarded-For costs one backward scan', () => {
  const xff = `${'6.6.6.6,'.repeat(2000)}203.0.113.7,${'10.1.1.1,'.repeat(2000)}10.2.2.2`;
  assert.equal(clientAddress('10.0.0.1', TRUSTED, xff), '203.0.113.7');
  assert.equal(clientAddress('10.0.0.1', TRUSTED, ','.repeat(10000)), '10.0.0.1');
});

const untrusted = fc.tuple(fc.integer({ min: 11, max: 191 }), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const trusted = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => `10.${p.join('.')}`);
const garbage = fc.constantFrom('unknown', 'x', '1.2.3', '010.0.0.1', '1.2.3.4:80', '[::1]', '_obf');
const entry = fc.oneof(untrusted, trusted, garbage);

test('property: the answer is the peer, a trusted entry or the first untrusted entry from the right, never anything left of it', () => {
  fc.assert(
    fc.property(fc.oneof(untrusted, trusted), fc.array(entry, { maxLength: 8 }), fc.nat(3), (peer, entries, lines) => {
      // Split the list over some field lines.
      const split: string[] = [];
      const per = Math.max(1, Math.ceil(entries.length / (lines + 1)));
      for (let i = 0; i < entries.length; i += per) split.push(entries.slice(i, i + per).join(' ,'));
      const got = clientAddress(peer, TRUSTED, split);
      if (!TRUSTED.contains(peer)) {
        assert.equal(got, peer);
        return;
      }
      // Model: walk from the right.
      let expected = peer;
      for (let i = entries.length - 1; i >= 0; i--) {
        const e = entries[i]!;
        if (!/^\d+\.\d+\.\d+\.\d+$/.test(e) || /(^|\.)0\d/.test(e)) break;
        expected = e;
        if (!TRUSTED.contains(e)) break;
      }
      assert.equal(got, expected, `${peer} ${JSON.stringify(split)}`);
    }),
    { numRuns: 3000 },
  );
});
