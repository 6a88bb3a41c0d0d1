// PROXY protocol v1 and v2 (HAProxy doc/proxy-protocol.txt): valid headers,
// hostile ones, truncation at every byte, and the property that a valid
// header split anywhere is 'incomplete' before its end and the same 'done'
// after it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PROXY_V1_MAX_LENGTH, PROXY_V2_MAX_LENGTH, type ProxyHeaderResult, crc32c, parseProxyHeader } from './proxy-protocol.ts';

const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

interface Tlv {
  type: number;
  value: number[];
}

/** Builds a v2 header by hand. */
function v2(options: {
  versionCommand?: number;
  family?: number;
  addresses?: number[];
  tlvs?: Tlv[];
  length?: number;
  crc?: boolean | number;
}): Buffer {
  const body: number[] = [...(options.addresses ?? [])];
  const tlvs = [...(options.tlvs ?? [])];
  let crcAt = -1;
  if (options.crc !== undefined && options.crc !== false) tlvs.push({ type: 0x03, value: [0, 0, 0, 0] });
  for (const t of tlvs) {
    if (t.type === 0x03 && options.crc !== undefined && options.crc !== false) crcAt = 16 + body.length + 3;
    body.push(t.type, t.value.length >> 8, t.value.length & 0xff, ...t.value);
  }
  const length = options.length ?? body.length;
  const buf = Buffer.from([...SIG, options.versionCommand ?? 0x21, options.family ?? 0x11, length >> 8, length & 0xff, ...body]);
  if (crcAt >= 0) {
    const value = typeof options.crc === 'number' ? options.crc : crc32c(buf);
    buf.writeUInt32BE(value >>> 0, crcAt);
  }
  return buf;
}

const ipv4Block = (src: number[], dst: number[], sp: number, dp: number): number[] => [...src, ...dst, sp >> 8, sp & 255, dp >> 8, dp & 255];

function ipv6Bytes(text: string): number[] {
  // test helper: expand via URL's canonical IPv6 serialisation, then the groups
  const host = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const [head, tail] = host.includes('::') ? host.split('::') : [host, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const v = parseInt(g, 16);
    return [v >> 8, v & 255];
  });
}

function done(consumed: number, source?: [string, number], destination?: [string, number]): ProxyHeaderResult {
  if (source === undefined) return { kind: 'done', consumed };
  return { kind: 'done', consumed, source: { address: source[0], port: source[1] }, destination: { address: destination![0], port: destination![1] } };
}

function expectError(buf: Buffer, reason: string): void {
  assert.deepEqual(parseProxyHeader(buf), { kind: 'error', reason }, JSON.stringify(buf.toString('latin1')));
}

function expectEveryPrefixIncomplete(buf: Buffer, headerLength: number): void {
  for (let k = 0; k < headerLength; k++) {
    assert.deepEqual(parseProxyHeader(buf.subarray(0, k)), { kind: 'incomplete' }, `prefix of ${k} bytes`);
  }
}

test('v1: TCP4, TCP6 and UNKNOWN headers', () => {
  const rows: Array<[string, ProxyHeaderResult]> = [
    ['PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n', done(47, ['192.168.0.1', 56324], ['192.168.0.11', 443])],
    ['PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n', done(44, ['0.0.0.0', 0], ['255.255.255.255', 65535])],
    ['PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n', done(40, ['2001:db8::1', 1], ['2001:db8::2', 2])],
    ['PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 1 2\r\n', done(41, ['2001:db8::1', 1], ['::1', 2])],
    ['PROXY TCP6 ::ffff:10.1.2.3 ::ffff:10.1.2.4 1000 80\r\n', done(52, ['::ffff:10.1.2.3', 1000], ['::ffff:10.1.2.4', 80])],
    ['PROXY UNKNOWN\r\n', done(15)],
    ['PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n', done(107)],
    ['PROXY UNKNOWN whatever the sender wrote\r\n', done(41)],
  ];
  for (const [text, expected] of rows) {
    const header = latin1(text);
    assert.equal(header.length, (expected as { consumed: number }).consumed, text);
    assert.deepEqual(parseProxyHeader(header), expected, text);
    // Followed by the proxied stream: the same answer.
    assert.deepEqual(parseProxyHeader(Buffer.concat([header, latin1('GET / HTTP/1.1\r\nHost: a\r\n\r\n')])), expected, text);
    expectEveryPrefixIncomplete(header, header.length);
  }
});

test('v1: the longest line is 107 bytes', () => {
  const longest = latin1(`PROXY TCP6 ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`);
  assert.equal(longest.length, 104);
  assert.equal(parseProxyHeader(longest).kind, 'done');
  const unknown107 = latin1(`PROXY UNKNOWN ${'x'.repeat(PROXY_V1_MAX_LENGTH - 16)}\r\n`);
  assert.equal(unknown107.length, 107);
  assert.deepEqual(parseProxyHeader(unknown107), done(107));
  const unknown108 = latin1(`PROXY UNKNOWN ${'x'.repeat(PROXY_V1_MAX_LENGTH - 15)}\r\n`);
  expectError(unknown108, 'v1-too-long');
  expectError(unknown108.subarray(0, 107), 'v1-too-long'); // CR as the 107th byte: LF could only be the 108th
  expectError(latin1(`PROXY UNKNOWN ${'x'.repeat(200)}`), 'v1-too-long');
  assert.deepEqual(parseProxyHeader(latin1(`PROXY UNKNOWN ${'x'.repeat(91)}`)), { kind: 'incomplete' }); // CR may still be byte 106
  expectError(latin1(`PROXY UNKNOWN ${'x'.repeat(92)}`), 'v1-too-long'); // 106 bytes without CR: the line would be 108
  expectError(latin1(`PROXY TCP4 ${'1'.repeat(96)}`), 'v1-too-long');
});

test('v1: hostile and malformed lines', () => {
  const rows: Array<[string, string]> = [
    ['GET / HTTP/1.1\r\n\r\n', 'not-proxy-protocol'],
    ['\x16\x03\x01', 'not-proxy-protocol'],
    [' PROXY TCP4 1.1.1.1 2.2.2.2 1 2\r\n', 'not-proxy-protocol'],
    ['proxy TCP4 1.1.1.1 2.2.2.2 1 2\r\n', 'not-proxy-protocol'],
    ['PROXX', 'v1-bad-signature'],
    ['PROXY\r\n', 'v1-bad-signature'],
    ['PROXY  TCP4 1.1.1.1 2.2.2.2 1 2\r\n', 'v1-bad-protocol'],
    ['PROXY TCP5', 'v1-bad-protocol'],
    ['PROXY tcp4 1.1.1.1 2.2.2.2 1 2\r\n', 'v1-bad-protocol'],
    ['PROXY UDP4 1.1.1.1 2.2.2.2 1 2\r\n', 'v1-bad-protocol'],
    ['PROXY TCP4\r\n', 'v1-bad-protocol'],
    ['PROXY TCP4 1.1.1.1 2.2.2.2 1 2\n', 'v1-bare-lf'],
    ['PROXY TCP4 1.1.1.1 2.2.2.2 1 2\rX', 'v1-bare-cr'],
    ['PROXY TCP4 1.1.1.1 2.2.2.2 1 2\r\r\n', 'v1-bare-cr'],
    ['PROXY TCP4 1.1.1.1\n2.2.2.2 1 2\r\n', 'v1-bare-lf'],
    ['PROXY TCP4 1.1.1.1 2.2.2.2 1 2\0\r\n', 'v1-invalid-character'],
    ['PROXY TCP4 1.1.1.1\t2.2.2.2 1 2\r\n', 'v1-invalid-character'],
    ['PROXY UNKNOWN \xff\r\n', 'v1-invalid-character'],
    ['PROXY TCP4 1.1.1.1 2.2.2.2 1 65536\r\n', 'v1-bad-port'],
    ['PROXY TCP4 1.1.1.1 2.2.2.2 99999 1\r\n', 'v1-bad-port'],
    ['PROXY TCP4 1.1.1.1 2.2.2.2 080 1\r\n', 'v1-bad-port'],
    ['PROXY TCP4 1.1.1.1 2.2.2.2 00 1\r\n', 'v1-bad-port'],
    ['PROXY TCP4 1.1.1.1 2.2.2.2 -1 1\r\n', 'v1-bad-port'],
    ['PROXY TCP4 1.1.1.1 2.2.2.2 +1 1\r\n', 'v1-bad-port'],
    ['PROXY TCP4 1.1.1.1 2.2.2.2 0x10 1\r\n', 'v1-bad-port'],
    ['PROXY TCP4 1.1.1.1 2.2.2.2 1  1\r\n', 'v1-bad-fields'],
    ['PROXY TCP4 1.1.1.1 2.2.2.2 1 1 \r\n', 'v1-bad-fields'],
    ['PROXY TCP4 1.1.1.1 2.2.2.2 1\r\n', 'v1-bad-fields'],
    ['PROXY TCP4 1.1.1.1 2.2.2.2 1 2 3\r\n', 'v1-bad-fields'],
    ['PROXY TCP4 010.1.1.1 2.2.2.2 1 2\r\n', 'v1-bad-address'],
    ['PROXY TCP4 1.1.1.01 2.2.2.2 1 2\r\n', 'v1-bad-address'],
    ['PROXY TCP4 256.1.1.1 2.2.2.2 1 2\r\n', 'v1-bad-address'],
    ['PROXY TCP4 1.1.1 2.2.2.2 1 2\r\n', 'v1-bad-address'],
    ['PROXY TCP4 ::1 2.2.2.2 1 2\r\n', 'v1-bad-address'],
    ['PROXY TCP6 1.1.1.1 ::1 1 2\r\n', 'v1-bad-address'],
    ['PROXY TCP6 ::1 ::g 1 2\r\n', 'v1-bad-address'],
    ['PROXY TCP6 [::1] ::2 1 2\r\n', 'v1-bad-address'],
    ['PROXY TCP6 fe80::1%eth0 ::2 1 2\r\n', 'v1-bad-address'],
    ['PROXY TCP4 localhost 2.2.2.2 1 2\r\n', 'v1-bad-address'],
    ['PROXY UNKNOWNX\r\n', 'v1-bad-fields'],
  ];
  for (const [text, reason] of rows) expectError(latin1(text), reason);
});

test('v1: a wrong byte is an error as soon as it arrives', () => {
  expectError(latin1('G'), 'not-proxy-protocol');
  expectError(latin1('PR0'), 'v1-bad-signature');
  expectError(latin1('PROXY X'), 'v1-bad-protocol');
  expectError(latin1('PROXY TCP4\t'), 'v1-bad-protocol');
  expectError(latin1('PROXY TCP4 1.1.1.1\n'), 'v1-bare-lf');
  expectError(latin1('PROXY TCP4 1\x00'), 'v1-invalid-character');
  assert.deepEqual(parseProxyHeader(latin1('PROXY TCP4 1.1.1.1 2.2.2.2 1 2\r')), { kind: 'incomplete' });
  assert.deepEqual(parseProxyHeader(latin1('PROXY U')), { kind: 'incomplete' });
  assert.deepEqual(parseProxyHeader(Buffer.alloc(0)), { kind: 'incomplete' });
});

test('CRC-32C check value', () => {
  assert.equal(crc32c(latin1('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
});

test('v2: TCP over IPv4 and IPv6, LOCAL, UNSPEC, UNIX', () => {
  const tcp4 = v2({ addresses: ipv4Block([192, 0, 2, 1], [198, 51, 100, 2], 51234, 443) });
  assert.equal(tcp4.length, 28);
  const tcp6 = v2({ family: 0x21, addresses: [...ipv6Bytes('2001:db8::1'), ...ipv6Bytes('2001:db8:0:0:1::2'), 0xc8, 0x22, 0x01, 0xbb] });
  const mapped = v2({ family: 0x21, addresses: [...ipv6Bytes('::ffff:10.1.2.3'), ...ipv6Bytes('::1'), 0, 1, 0, 2] });
  const local = v2({ versionCommand: 0x20, family: 0x00 });
  const localWithAddresses = v2({ versionCommand: 0x20, family: 0x11, addresses: ipv4Block([1, 1, 1, 1], [2, 2, 2, 2], 1, 2) });
  const localOddFamily = v2({ versionCommand: 0x20, family: 0xff, addresses: [1, 2, 3] });
  const unspec = v2({ family: 0x00, addresses: [9, 9, 9] });
  const unix = v2({ family: 0x31, addresses: Array(216).fill(0x41) });
  const rows: Array<[Buffer, ProxyHeaderResult]> = [
    [tcp4, done(28, ['192.0.2.1', 51234], ['198.51.100.2', 443])],
    [tcp6, done(52, ['2001:db8::1', 51234], ['2001:db8::1:0:0:2', 443])],
    [mapped, done(52, ['::ffff:10.1.2.3', 1], ['::1', 2])],
    [local, done(16)],
    [localWithAddresses, done(28)],
    [localOddFamily, done(19)],
    [unspec, done(19)],
    [unix, done(232)],
    [v2({ addresses: ipv4Block([0, 0, 0, 0], [255, 255, 255, 255], 0, 65535) }), done(28, ['0.0.0.0', 0], ['255.255.255.255', 65535])],
  ];
  for (const [buf, expected] of rows) {
    assert.deepEqual(parseProxyHeader(buf), expected);
    assert.deepEqual(parseProxyHeader(Buffer.concat([buf, latin1('\x16\x03\x01\x02\x00')])), expected);
    expectEveryPrefixIncomplete(buf, buf.length);
  }
});

const tlvExpected = (n: number): ProxyHeaderResult => done(n, ['10.0.0.1', 1000], ['10.0.0.2', 80]);

test('v2: TLVs are skipped when they tile the rest exactly; CRC32C is checked', () => {
  const addresses = ipv4Block([10, 0, 0, 1], [10, 0, 0, 2], 1000, 80);
  const alpn = { type: 0x01, value: [...latin1('h2')] };
  const authority = { type: 0x02, value: [...latin1('example.com')] };
  const noop = { type: 0x04, value: [] };
  const ssl = { type: 0x20, value: [0x01, 0, 0, 0, 0, 0x21, 0, 7, ...latin1('TLSv1.3')] };
  const custom = { type: 0xe0, value: Array(300).fill(7) };
  const withTlvs = v2({ addresses, tlvs: [alpn, authority, noop, ssl, custom] });
  assert.deepEqual(parseProxyHeader(withTlvs), tlvExpected(withTlvs.length));
  expectEveryPrefixIncomplete(withTlvs, withTlvs.length);
  const withCrc = v2({ addresses, tlvs: [authority], crc: true });
  assert.deepEqual(parseProxyHeader(withCrc), tlvExpected(withCrc.length));
  expectError(v2({ addresses, tlvs: [authority], crc: 0x12345678 }), 'v2-bad-crc32c');
  const flipped = Buffer.from(withCrc);
  flipped[20] = flipped[20]! ^ 1; // one bit of the destination address
  expectError(flipped, 'v2-bad-crc32c');
  expectError(v2({ addresses, tlvs: [{ type: 0x03, value: [1, 2, 3] }] }), 'v2-bad-tlv');
  // TLVs that do not tile the block: a value past the end, 1 or 2 stray bytes.
  const overrun = v2({ addresses, tlvs: [authority] });
  overrun.writeUInt16BE(200, 29);
  expectError(overrun, 'v2-bad-tlv');
  expectError(v2({ addresses: [...addresses, 0x04] }), 'v2-bad-tlv');
  expectError(v2({ addresses: [...addresses, 0x04, 0x00] }), 'v2-bad-tlv');
  assert.deepEqual(parseProxyHeader(v2({ addresses: [...addresses, 0x04, 0x00, 0x00] })), tlvExpected(31));
});

test('v2: hostile and malformed headers', () => {
  const addresses = ipv4Block([1, 1, 1, 1], [2, 2, 2, 2], 1, 2);
  expectError(Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x01]), 'v2-bad-signature');
  expectError(latin1('\r\nGET'), 'v2-bad-signature');
  expectError(latin1('\r\n\r\n\0\r\nQUIX'), 'v2-bad-signature');
  expectError(v2({ versionCommand: 0x11, addresses }), 'v2-bad-version');
  expectError(v2({ versionCommand: 0x31, addresses }), 'v2-bad-version');
  expectError(v2({ versionCommand: 0x01, addresses }), 'v2-bad-version');
  expectError(v2({ versionCommand: 0x22, addresses }), 'v2-bad-command');
  expectError(v2({ versionCommand: 0x2f, addresses }), 'v2-bad-command');
  for (const family of [0x01, 0x02, 0x10, 0x13, 0x20, 0x30, 0x41, 0xff]) expectError(v2({ family, addresses }), 'v2-bad-family');
  for (const family of [0x12, 0x22, 0x32]) expectError(v2({ family, addresses }), 'v2-unsupported-transport');
  expectError(v2({ family: 0x11, addresses: addresses.slice(0, 11) }), 'v2-address-too-short');
  expectError(v2({ family: 0x21, addresses: Array(35).fill(0) }), 'v2-address-too-short');
  expectError(v2({ family: 0x31, addresses: Array(215).fill(0) }), 'v2-address-too-short');
  // Lengths: the cap applies as soon as the fixed part is in, before any body arrives.
  expectError(v2({ addresses: [], length: 0xffff }).subarray(0, 16), 'v2-too-long');
  expectError(v2({ addresses: [], length: PROXY_V2_MAX_LENGTH - 15 }).subarray(0, 16), 'v2-too-long');
  const atCap = v2({ addresses: [...addresses, 0x04, (PROXY_V2_MAX_LENGTH - 31) >> 8, (PROXY_V2_MAX_LENGTH - 31) & 255, ...Array(PROXY_V2_MAX_LENGTH - 31).fill(0)] });
  assert.equal(atCap.length, PROXY_V2_MAX_LENGTH);
  assert.equal(parseProxyHeader(atCap).kind, 'done');
  // A v2 header announcing more than it sends is incomplete, not an error (the caller's deadline ends it).
  assert.deepEqual(parseProxyHeader(v2({ addresses, length: 100 })), { kind: 'incomplete' });
});

test('v2: truncated at every byte offset is incomplete, never an error', () => {
  const headers = [
    v2({ addresses: ipv4Block([1, 2, 3, 4], [5, 6, 7, 8], 9, 10), tlvs: [{ type: 0x02, value: [...latin1('a.test')] }], crc: true }),
    v2({ family: 0x21, addresses: Array(36).fill(0xab) }),
    v2({ versionCommand: 0x20, family: 0x00 }),
  ];
  for (const h of headers) expectEveryPrefixIncomplete(h, h.length);
});

// ---- property: any split point ----

const port = fc.nat(65535);
const ipv4Arb = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
const ipv6Arb = fc.array(fc.constantFrom(0, 0, 1, 0xff, 0x20, 0x01, 0xdb, 0x80), { minLength: 16, maxLength: 16 });
const tlvArb = fc.record({ type: fc.constantFrom(0x01, 0x02, 0x04, 0x05, 0x20, 0x30, 0xe0, 0xf0), value: fc.array(fc.nat(255), { maxLength: 40 }) });

const groupsText = (b: number[]): string => Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':');

const validHeader = fc.oneof(
  fc.tuple(ipv4Arb, ipv4Arb, port, port).map(([s, d, sp, dp]) => latin1(`PROXY TCP4 ${s.join('.')} ${d.join('.')} ${sp} ${dp}\r\n`)),
  fc.tuple(ipv6Arb, ipv6Arb, port, port).map(([s, d, sp, dp]) => {
    return latin1(`PROXY TCP6 ${groupsText(s)} ${groupsText(d)} ${sp} ${dp}\r\n`);
  }),
  fc.constant(latin1('PROXY UNKNOWN\r\n')),
  fc.tuple(ipv4Arb, ipv4Arb, port, port, fc.array(tlvArb, { maxLength: 4 }), fc.boolean()).map(([s, d, sp, dp, tlvs, crc]) =>
    v2({ addresses: ipv4Block(s, d, sp, dp), tlvs, crc }),
  ),
  fc.tuple(ipv6Arb, ipv6Arb, port, port, fc.array(tlvArb, { maxLength: 4 })).map(([s, d, sp, dp, tlvs]) =>
    v2({ family: 0x21, addresses: [...s, ...d, sp >> 8, sp & 255, dp >> 8, dp & 255], tlvs }),
  ),
  fc.array(fc.nat(255), { maxLength: 30 }).map((junk) => v2({ versionCommand: 0x20, family: 0x00, addresses: junk })),
);

test('property: a valid header split anywhere is incomplete before its end and the same done after', () => {
  fc.assert(
    fc.property(validHeader, fc.array(fc.nat(255), { maxLength: 20 }), fc.nat(1000), (header, trailing, splitSeed) => {
      const stream = Buffer.concat([header, Buffer.from(trailing)]);
      const whole = parseProxyHeader(stream);
      assert.equal(whole.kind, 'done');
      assert.equal((whole as { consumed: number }).consumed, header.length);
      const split = splitSeed % (stream.length + 1);
      const first = parseProxyHeader(stream.subarray(0, split));
      if (split < header.length) assert.deepEqual(first, { kind: 'incomplete' });
      else assert.deepEqual(first, whole);
      assert.deepEqual(parseProxyHeader(Buffer.from(stream)), whole);
    }),
    { numRuns: 3000 },
  );
});

test('property: random bytes never throw, and never claim more bytes than were given', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.concat([latin1('PROXY '), b])), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.concat([Buffer.from(SIG), b]))), (bytes) => {
      const r = parseProxyHeader(bytes);
      if (r.kind === 'done') assert.ok(r.consumed <= bytes.length);
    }),
    { numRuns: 5000 },
  );
});
