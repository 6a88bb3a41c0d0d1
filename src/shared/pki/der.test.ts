// DER writer against hand-checked encodings from X.690 and RFC 5280, plus a
// property test that every INTEGER is minimal two's complement.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as der from './der.ts';

const hex = (b: Buffer): string => b.toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1 ');
const ascii = (s: string): string => hex(Buffer.from(s, 'latin1'));

test('INTEGER from numbers and bigints: minimal two\'s complement (X.690 8.3)', () => {
  const cases: Array<[bigint | number, string]> = [
    [0, '02 01 00'],
    [1, '02 01 01'],
    [127, '02 01 7F'],
    [128, '02 02 00 80'],
    [255, '02 02 00 FF'],
    [256, '02 02 01 00'],
    [-1, '02 01 FF'],
    [-128, '02 01 80'],
    [-129, '02 02 FF 7F'],
    [-256, '02 02 FF 00'],
    [-32768, '02 02 80 00'],
    [-32769, '02 03 FF 7F FF'],
    [1n << 64n, '02 09 01 00 00 00 00 00 00 00 00'],
    [1n << 63n, '02 09 00 80 00 00 00 00 00 00 00'],
  ];
  for (const [value, expected] of cases) assert.equal(hex(der.integer(value)), expected, `INTEGER ${value}`);
  assert.throws(() => der.integer(0.5), RangeError);
  assert.throws(() => der.integer(2 ** 60), RangeError);
});

test('INTEGER from a Buffer is an unsigned magnitude: redundant zeros dropped, 0x00 added before a set top bit', () => {
  const cases: Array<[number[], string]> = [
    [[], '02 01 00'],
    [[0x00], '02 01 00'],
    [[0x00, 0x00, 0x7f], '02 01 7F'],
    [[0x80], '02 02 00 80'],
    [[0x00, 0x80], '02 02 00 80'],
    [[0xff, 0xff], '02 03 00 FF FF'],
    [[0x01, 0x00], '02 02 01 00'],
  ];
  for (const [bytes, expected] of cases) assert.equal(hex(der.integer(Buffer.from(bytes))), expected, `INTEGER ${bytes.join(',')}`);
});

test('INTEGER round-trips and is never padded more than needed (property)', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(1n << 300n), max: 1n << 300n }), (value) => {
      const encoded = der.integer(value);
      const { content } = der.readElement(encoded);
      assert.equal(BigInt.asIntN(content.length * 8, BigInt('0x' + content.toString('hex'))), value);
      const [b0 = 0, b1 = 0] = content;
      // X.690 8.3.2: the first nine bits are never all zeros or all ones.
      assert.ok(content.length === 1 || !((b0 === 0x00 && b1 < 0x80) || (b0 === 0xff && b1 >= 0x80)));
    }),
  );
});

test('lengths use the short form up to 127 and the shortest long form after (X.690 8.1.3)', () => {
  assert.equal(hex(der.encodeLength(0)), '00');
  assert.equal(hex(der.encodeLength(127)), '7F');
  assert.equal(hex(der.encodeLength(128)), '81 80');
  assert.equal(hex(der.encodeLength(255)), '81 FF');
  assert.equal(hex(der.encodeLength(256)), '82 01 00');
  assert.equal(hex(der.encodeLength(65536)), '83 01 00 00');
  assert.equal(hex(der.octetString(Buffer.alloc(200)).subarray(0, 3)), '04 81 C8');
  assert.throws(() => der.encodeLength(-1), RangeError);
});

test('OBJECT IDENTIFIER: first two arcs combined, base-128 subidentifiers (X.690 8.19)', () => {
  assert.equal(hex(der.oid('1.2.840.113549')), '06 06 2A 86 48 86 F7 0D');
  assert.equal(hex(der.oid('1.2.840.113549.1.1.11')), '06 09 2A 86 48 86 F7 0D 01 01 0B');
  assert.equal(hex(der.oid('1.2.840.10045.4.3.2')), '06 08 2A 86 48 CE 3D 04 03 02');
  assert.equal(hex(der.oid('2.5.29.17')), '06 03 55 1D 11');
  assert.equal(hex(der.oid('1.3.6.1.5.5.7.3.1')), '06 08 2B 06 01 05 05 07 03 01');
  assert.equal(hex(der.oid('2.999.3')), '06 03 88 37 03'); // the X.690 example
  assert.equal(hex(der.oid('0.0')), '06 01 00');
  for (const bad of ['', '1', '3.1', '1.40', '0.40', '1.2.03', '1..2', '1.2.', 'a.b']) assert.throws(() => der.oid(bad), RangeError, bad);
});

test('OBJECT IDENTIFIER arcs beyond 2^53 are exact', () => {
  // UUID OIDs (2.25.n) have arcs beyond 2^53. 2^64 is 2 * 128^9: ten base-128 digits, continuation bits on all but the last.
  const { content } = der.readElement(der.oid('2.25.18446744073709551616'));
  assert.equal(hex(content), '69 82 80 80 80 80 80 80 80 80 00');
});

test('NULL, BOOLEAN (TRUE is FF), OCTET STRING', () => {
  assert.equal(hex(der.nullValue()), '05 00');
  assert.equal(hex(der.boolean(true)), '01 01 FF');
  assert.equal(hex(der.boolean(false)), '01 01 00');
  assert.equal(hex(der.octetString(Buffer.from('0123456789ABCDEF', 'hex'))), '04 08 01 23 45 67 89 AB CD EF');
  assert.equal(hex(der.octetString(Buffer.alloc(0))), '04 00');
});

test('BIT STRING and named-bit lists with trailing zero bits removed (X.690 8.6, 11.2)', () => {
  assert.equal(hex(der.bitString(Buffer.from('0A3B5F291CD0', 'hex'), 4)), '03 07 04 0A 3B 5F 29 1C D0'); // X.690 8.6.4.2
  assert.equal(hex(der.bitString(Buffer.alloc(0))), '03 01 00');
  assert.throws(() => der.bitString(Buffer.from([0x01]), 1), RangeError); // a set unused bit is not DER
  assert.throws(() => der.bitString(Buffer.alloc(0), 3), RangeError);
  assert.throws(() => der.bitString(Buffer.from([0]), 8), RangeError);
  // KeyUsage values (RFC 5280 4.2.1.3).
  assert.equal(hex(der.namedBitString([0])), '03 02 07 80'); // digitalSignature
  assert.equal(hex(der.namedBitString([0, 2])), '03 02 05 A0'); // + keyEncipherment
  assert.equal(hex(der.namedBitString([5, 6])), '03 02 01 06'); // keyCertSign, cRLSign
  assert.equal(hex(der.namedBitString([7])), '03 02 00 01');
  assert.equal(hex(der.namedBitString([8])), '03 03 07 00 80'); // decipherOnly
  assert.equal(hex(der.namedBitString([])), '03 01 00');
});

test('character strings: UTF8String, PrintableString and IA5String with their alphabets', () => {
  assert.equal(hex(der.utf8String('é')), '0C 02 C3 A9');
  assert.equal(hex(der.utf8String('Martello')), '0C 08 ' + ascii('Martello'));
  assert.equal(hex(der.printableString('Test User 1')), '13 0B ' + ascii('Test User 1'));
  assert.throws(() => der.printableString('a@b'), RangeError);
  assert.throws(() => der.printableString('*.example.com'), RangeError);
  assert.equal(hex(der.ia5String('*.example.com')), '16 0D ' + ascii('*.example.com'));
  assert.throws(() => der.ia5String('é'), RangeError);
});

test('SEQUENCE nests in order; SET OF sorts its encodings (X.690 11.6)', () => {
  assert.equal(hex(der.sequence()), '30 00');
  assert.equal(hex(der.sequence(der.integer(1), der.boolean(true))), '30 06 02 01 01 01 01 FF');
  assert.equal(hex(der.set(der.integer(2), der.integer(1))), '31 06 02 01 01 02 01 02');
  assert.equal(hex(der.set(der.utf8String('b'), der.integer(9))), '31 06 02 01 09 0C 01 62');
});

test('context-specific tags: EXPLICIT wraps, IMPLICIT retags and keeps primitive/constructed', () => {
  assert.equal(hex(der.explicit(0, der.integer(2))), 'A0 03 02 01 02'); // the v3 version field
  assert.equal(hex(der.explicit(3, der.sequence())), 'A3 02 30 00');
  assert.equal(hex(der.implicit(2, der.ia5String('a.io'))), '82 04 ' + ascii('a.io')); // dNSName
  assert.equal(hex(der.implicit(7, der.octetString(Buffer.from([127, 0, 0, 1])))), '87 04 7F 00 00 01'); // iPAddress
  assert.equal(hex(der.implicit(0, der.sequence(der.nullValue()))), 'A0 02 05 00');
  assert.throws(() => der.explicit(31, der.nullValue()), RangeError);
  assert.throws(() => der.implicit(-1, der.nullValue()), RangeError);
  assert.throws(() => der.implicit(0, Buffer.alloc(0)), RangeError);
});

const d = (iso: string): Date => new Date(iso);

test('UTCTime covers 1950..2049 with seconds and Z; GeneralizedTime takes over from 2050 (RFC 5280 4.1.2.5)', () => {
  assert.equal(hex(der.utcTime(d('2049-12-31T23:59:59Z'))), '17 0D ' + ascii('491231235959Z'));
  assert.equal(hex(der.utcTime(d('1950-01-01T00:00:00Z'))), '17 0D ' + ascii('500101000000Z'));
  assert.equal(hex(der.utcTime(d('2026-03-04T05:06:07.890Z'))), '17 0D ' + ascii('260304050607Z')); // sub-seconds dropped
  assert.throws(() => der.utcTime(d('2050-01-01T00:00:00Z')), RangeError);
  assert.throws(() => der.utcTime(d('1949-12-31T23:59:59Z')), RangeError);
  assert.equal(hex(der.generalizedTime(d('2050-01-01T00:00:00Z'))), '18 0F ' + ascii('20500101000000Z'));
  assert.equal(hex(der.time(d('2049-12-31T23:59:59Z'))), '17 0D ' + ascii('491231235959Z'));
  assert.equal(hex(der.time(d('2050-01-01T00:00:00Z'))), '18 0F ' + ascii('20500101000000Z'));
  assert.equal(hex(der.time(d('1949-12-31T23:59:59Z'))), '18 0F ' + ascii('19491231235959Z'));
  assert.equal(hex(der.time(d('9999-12-31T23:59:59Z'))), '18 0F ' + ascii('99991231235959Z')); // "no well-defined expiration"
  assert.throws(() => der.time(new Date(Number.NaN)), RangeError);
  assert.throws(() => der.time(d('+010000-01-01T00:00:00Z')), RangeError);
});

test('the reader walks what the writer wrote, long lengths included, and refuses truncation', () => {
  const big = der.octetString(Buffer.alloc(300, 7));
  const seq = der.sequence(der.integer(5), big, der.nullValue());
  const top = der.readElement(seq);
  assert.equal(top.tag, 0x30);
  assert.ok(top.encoded.equals(seq));
  const children = der.readChildren(top.content);
  assert.deepEqual(children.map((c) => c.tag), [0x02, 0x04, 0x05]);
  assert.ok(children[1]?.encoded.equals(big));
  assert.equal(children[1]?.content.length, 300);
  assert.throws(() => der.readElement(seq.subarray(0, seq.length - 1)), RangeError);
  assert.throws(() => der.readElement(Buffer.from([0x30])), RangeError);
  assert.throws(() => der.readElement(Buffer.from([0x30, 0x80, 0x00, 0x00])), RangeError); // BER indefinite length
});
