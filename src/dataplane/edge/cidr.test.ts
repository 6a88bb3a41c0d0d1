// Address parsing and CIDR sets: strict syntax tables, IPv4-mapped IPv6,
// errors that name the bad entry, and a property check against node:net's
// BlockList as an independent implementation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList, isIP } from 'node:net';
import fc from 'fast-check';
import { CidrSyntaxError, NO_TRUSTED_PROXIES, canonicalAddress, formatIpv6, parseCidrSet, parseIpv4, parseIpv6 } from './cidr.ts';

test('IPv4: dotted quads only, no leading zeros', () => {
  const good: Array<[string, number]> = [
    ['0.0.0.0', 0],
    ['255.255.255.255', 0xffffffff],
    ['10.1.2.3', 0x0a010203],
    ['192.168.0.1', 0xc0a80001],
    ['1.0.0.0', 0x01000000],
  ];
  for (const [text, value] of good) assert.equal(parseIpv4(text), value, text);
  const bad = [
    '', '1', '1.2.3', '1.2.3.4.5', '010.1.1.1', '1.01.1.1', '1.1.1.00', '00.1.1.1', '256.1.1.1', '1.2.3.999', '1..2.3',
    '.1.2.3', '1.2.3.', ' 1.2.3.4', '1.2.3.4 ', '+1.2.3.4', '0x1.2.3.4', '1.2.3.4/8', '1.2.3.a', '1111.1.1.1', '1.2.3.4:80',
    '١.٢.٣.٤',
  ];
  for (const text of bad) assert.equal(parseIpv4(text), -1, JSON.stringify(text));
});

test('IPv6: RFC 4291 text forms, RFC 5952 output', () => {
  const words = new Uint32Array(4);
  const cases: Array<[string, string]> = [
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['fe80::1:2:3:4', 'fe80::1:2:3:4'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
    ['::FFFF:0a01:0203', '::ffff:10.1.2.3'],
    ['0:0:0:0:0:ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['::192.0.2.1', '::c000:201'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ];
  for (const [text, canonical] of cases) {
    assert.ok(parseIpv6(text, 0, text.length, words), text);
    assert.equal(formatIpv6(words), canonical, text);
    assert.equal(canonicalAddress(text), canonical, text);
  }
  const bad = [
    '', ':', ':::', '1', '1:2', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::1', '::g', '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8', '1:', ':1', '1:::2', '[::1]', '::1%eth0', 'fe80::1%1', '::ffff:010.1.2.3', '::ffff:1.2.3',
    '::1.2.3.4:5', '1:2:3:4:5:6:7:1.2.3.4', ' ::1', '::1 ', '::ffff:1.2.3.4.5',
  ];
  for (const text of bad) assert.equal(parseIpv6(text, 0, text.length, words), false, JSON.stringify(text));
  assert.equal(canonicalAddress('010.1.1.1'), undefined);
  assert.equal(canonicalAddress('x 10.1.1.1 y', 2, 10), '10.1.1.1');
});

test('parseCidrSet: the list of the flag, canonical entries', () => {
  const set = parseCidrSet('10.0.0.0/8,192.168.0.0/16,::1/128,2001:db8::/32');
  assert.deepEqual(set.entries, ['10.0.0.0/8', '192.168.0.0/16', '::1/128', '2001:db8::/32']);
  assert.equal(set.size, 4);
  assert.equal(set.toString(), '10.0.0.0/8,192.168.0.0/16,::1/128,2001:db8::/32');
  assert.deepEqual(parseCidrSet(' 10.0.0.1 , 2001:DB8:0::0/32,10.0.0.1/32 ').entries, ['10.0.0.1/32', '2001:db8::/32']);
  assert.deepEqual(parseCidrSet('0.0.0.0/0').entries, ['0.0.0.0/0']);
  assert.deepEqual(parseCidrSet('::/0').entries, ['::/0']);
  assert.deepEqual(parseCidrSet('::ffff:10.0.0.0/104').entries, ['::ffff:10.0.0.0/104']);
  assert.equal(parseCidrSet(''), NO_TRUSTED_PROXIES);
  assert.equal(parseCidrSet('  '), NO_TRUSTED_PROXIES);
  assert.equal(NO_TRUSTED_PROXIES.contains('10.0.0.1'), false);
});

test('parseCidrSet: errors name the bad entry', () => {
  const bad: Array<[string, string, RegExp]> = [
    ['10.0.0.0/8,10.0.0.1/33', '10.0.0.1/33', /0 to 32/],
    ['2001:db8::/129', '2001:db8::/129', /0 to 128/],
    ['10.0.0.0/08', '10.0.0.0/08', /prefix/],
    ['10.0.0.0/', '10.0.0.0/', /prefix/],
    ['10.0.0.0/-1', '10.0.0.0/-1', /prefix/],
    ['10.0.0.0/8/8', '10.0.0.0/8/8', /prefix/],
    ['10.0.0.1/8', '10.0.0.1/8', /did you mean 10\.0\.0\.0\/8/],
    ['192.168.1.1/16', '192.168.1.1/16', /did you mean 192\.168\.0\.0\/16/],
    ['2001:db8::1/32', '2001:db8::1/32', /did you mean 2001:db8::\/32/],
    ['010.0.0.0/8', '010.0.0.0/8', /leading zeros/],
    ['10.0.0.0/8,,::1', '', /empty/],
    ['10.0.0.0/8,', '', /empty/],
    ['localhost', 'localhost', /not an IPv4 or IPv6/],
    ['fe80::1%eth0/128', 'fe80::1%eth0/128', /zone/],
    ['[::1]/128', '[::1]/128', /not an IPv4 or IPv6/],
    ['10.0.0.0 /8', '10.0.0.0 /8', /not an IPv4/],
  ];
  for (const [spec, entry, message] of bad) {
    assert.throws(
      () => parseCidrSet(spec),
      (err: unknown) => {
        assert.ok(err instanceof CidrSyntaxError, spec);
        assert.equal(err.entry.trim(), entry, spec);
        assert.match(err.message, message, spec);
        assert.ok(err.message.includes(`"${err.entry}"`), err.message);
        return true;
      },
    );
  }
});

test('contains: IPv4, IPv6 and IPv4-mapped addresses', () => {
  const set = parseCidrSet('10.0.0.0/8,192.168.0.0/16,::1/128,2001:db8::/32,172.16.5.4');
  const cases: Array<[string, boolean]> = [
    ['10.0.0.0', true],
    ['10.255.255.255', true],
    ['11.0.0.0', false],
    ['9.255.255.255', false],
    ['192.168.3.4', true],
    ['192.169.0.0', false],
    ['172.16.5.4', true],
    ['172.16.5.5', false],
    ['::ffff:10.1.2.3', true],
    ['::FFFF:10.1.2.3', true],
    ['::ffff:0a01:0203', true],
    ['::ffff:11.1.2.3', false],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::2', false],
    ['2001:db8::1', true],
    ['2001:DB8:ffff::1', true],
    ['2001:db9::1', false],
    ['::10.1.2.3', false], // IPv4-compatible, not mapped
    ['010.1.2.3', false],
    ['10.1.2.3 ', false],
    ['', false],
    ['garbage', false],
    ['fe80::1%eth0', false],
    ['[::1]', false],
    ['10.1.2.3:80', false],
  ];
  for (const [address, expected] of cases) assert.equal(set.contains(address), expected, address);
  assert.equal(set.classify('x, 10.1.2.3', 3, 11), 'inside');
  assert.equal(set.classify('x, 11.1.2.3', 3, 11), 'outside');
  assert.equal(set.classify('x, 11.1.2.', 3, 10), 'invalid');
});

test('contains: mapped networks and IPv6 networks that cover the mapped range', () => {
  const mapped = parseCidrSet('::ffff:10.0.0.0/104');
  assert.equal(mapped.contains('10.9.9.9'), true);
  assert.equal(mapped.contains('::ffff:10.9.9.9'), true);
  assert.equal(mapped.contains('11.9.9.9'), false);
  const all6 = parseCidrSet('::/0');
  assert.equal(all6.contains('1.2.3.4'), true);
  assert.equal(all6.contains('2001:db8::1'), true);
  const mappedBlock = parseCidrSet('::ffff:0:0/96');
  assert.equal(mappedBlock.contains('8.8.8.8'), true);
  assert.equal(mappedBlock.contains('::1'), false);
  const all4 = parseCidrSet('0.0.0.0/0');
  assert.equal(all4.contains('::ffff:1.2.3.4'), true);
  assert.equal(all4.contains('2001:db8::1'), false);
});

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff, 0x2001, 0xdb8, 0xabcd, 0x8000), { minLength: 8, maxLength: 8 }).map((g) =>
  g.map((x) => x.toString(16)).join(':'),
);

test('property: contains agrees with node:net BlockList; canonical text round-trips', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.tuple(ipv4, fc.nat(32)), fc.tuple(ipv6, fc.nat(128))), { minLength: 1, maxLength: 5 }),
      fc.oneof(ipv4, ipv6),
      (networks, probe) => {
        const block = new BlockList();
        const specs: string[] = [];
        for (const [address, prefix] of networks) {
          const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
          // Mask the host bits away through BlockList's own view: build the network text by hand.
          const net = maskText(address, prefix);
          block.addSubnet(net, prefix, family);
          specs.push(`${net}/${prefix}`);
        }
        const set = parseCidrSet(specs.join(','));
        const family = isIP(probe) === 4 ? 'ipv4' : 'ipv6';
        let expected = block.check(probe, family);
        // BlockList treats IPv4 and IPv6 rules as separate worlds except for the mapped form; we
        // additionally let IPv6 networks covering ::ffff:0:0/96 hold IPv4 addresses.
        if (family === 'ipv4' && !expected) expected = block.check(`::ffff:${probe}`, 'ipv6');
        assert.equal(set.contains(probe), expected, `${specs.join(',')} ∋ ${probe}`);
        const canonical = canonicalAddress(probe)!;
        assert.equal(canonicalAddress(canonical), canonical);
        assert.equal(isIP(canonical), isIP(probe));
      },
    ),
    { numRuns: 2000 },
  );
});

function maskText(address: string, prefix: number): string {
  if (isIP(address) === 4) {
    const v = parseIpv4(address);
    const mask = prefix === 0 ? 0 : (-1 << (32 - prefix)) >>> 0;
    const n = (v & mask) >>> 0;
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const w = new Uint32Array(4);
  parseIpv6(address, 0, address.length, w);
  for (let k = 0; k < 4; k++) {
    const bits = Math.max(0, Math.min(32, prefix - 32 * k));
    const mask = bits === 0 ? 0 : (-1 << (32 - bits)) >>> 0;
    w[k] = (w[k]! & mask) >>> 0;
  }
  return formatIpv6(w);
}
