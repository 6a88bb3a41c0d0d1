// HPACK (RFC 7541): the Huffman decoder, the header block decoder and the
// encoder. Huffman: every symbol alone, random strings coded bit by bit from
// huffmanCode (property, fast-check), invalid codings (EOS inside, long or
// non-ones padding), and the code lengths themselves (a complete canonical
// code: Kraft's sum is exactly 1). Known answers: the examples of RFC 7541
// Appendix C byte for byte, with the dynamic table after each block. The
// decoder against a model of the dynamic table (property), against nghttp2
// (a real node:http2 client on 127.0.0.1 whose header blocks must decode to
// the headers it was given, Huffman codes of every byte value included), and
// its edge cases: malformed blocks are COMPRESSION_ERROR, table limits hold,
// and TOO_LARGE still keeps the table in step with the peer's. The encoder:
// exact bytes, round trips through our decoder and through node:http2.

import assert from 'node:assert/strict';
import { type ClientHttp2Session, connect as http2Connect, sensitiveHeaders } from 'node:http2';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { DECODE_ERROR, DECODE_OK, DECODE_TOO_LARGE, type DecodeResult, encodedFieldsBound, encodeFields, HpackDecoder, STATIC_TABLE } from './hpack.ts';
import { huffmanCode, huffmanDecode } from './huffman.ts';

const EOS = 256;

// Helpers: bytes, bits, blocks -------------------------------------------------------------------

/** Bytes from an RFC-style hex dump ("8286 8441 ..."). */
function hex(dump: string): Buffer {
  return Buffer.from(dump.replace(/\s+/g, ''), 'hex');
}

/** The code of each symbol 0..256 as a string of '0'/'1', most significant bit first. */
const CODE_BITS: readonly string[] = Array.from({ length: 257 }, (_, symbol) => {
  const { code, length } = huffmanCode(symbol);
  return code.toString(2).padStart(length, '0');
});

function codeBits(symbol: number): string {
  return CODE_BITS[symbol]!;
}

/** Packs a bit string into bytes; with `pad`, completes the last byte with one-bits (the start of EOS). */
function packBits(bits: string, pad = true): Buffer {
  if (pad) bits += '1'.repeat((8 - (bits.length % 8)) % 8);
  assert.equal(bits.length % 8, 0, 'packBits: not a whole number of bytes');
  const out = Buffer.alloc(bits.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(bits.slice(8 * i, 8 * i + 8), 2);
  return out;
}

/** The Huffman coding of a latin1 string, built here from huffmanCode (independently of the decoder's tree). */
function huffmanEncode(s: string): Buffer {
  let bits = '';
  for (let i = 0; i < s.length; i++) bits += codeBits(s.charCodeAt(i));
  return packBits(bits);
}

/** An HPACK integer (§5.1) with an N-bit prefix; `flags` fills the bits above the prefix. */
function int(prefixBits: number, flags: number, value: number): number[] {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) return [flags | value];
  const out = [flags | mask];
  value -= mask;
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
  return out;
}

/** An HPACK string literal (§5.2), raw or Huffman-coded. */
function str(s: string, huffman = false): number[] {
  const bytes = huffman ? huffmanEncode(s) : Buffer.from(s, 'latin1');
  return [...int(7, huffman ? 0x80 : 0, bytes.length), ...bytes];
}

interface Decoded {
  result: DecodeResult;
  fields: [string, string][];
}

function pairs(list: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < list.length; i += 2) out.push([list[i]!, list[i + 1]!]);
  return out;
}

function decodeBlock(decoder: HpackDecoder, block: Uint8Array | readonly number[]): Decoded {
  const buf = block instanceof Uint8Array ? block : Uint8Array.from(block);
  const out: string[] = [];
  const result = decoder.decode(buf, 0, buf.length, out);
  return { result, fields: pairs(out) };
}

/**
 * The dynamic table, newest entry first, read back through indexed fields
 * (62, 63, ...), which leave the table unchanged.
 */
function dynamicEntries(decoder: HpackDecoder): [string, string][] {
  const block: number[] = [];
  for (let i = 0; i < decoder.tableLength; i++) block.push(...int(7, 0x80, 62 + i));
  const { result, fields } = decodeBlock(decoder, block);
  assert.equal(result, DECODE_OK, 'reading the dynamic table back');
  return fields;
}

function entrySize([name, value]: readonly [string, string]): number {
  return name.length + value.length + 32;
}

const latin1Char = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
const latin1 = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: latin1Char, maxLength });

// Huffman --------------------------------------------------------------------------------------

describe('Huffman code (RFC 7541 §5.2, Appendix B)', () => {
  test('every symbol alone, padded with ones, decodes to that one char', () => {
    for (let s = 0; s < 256; s++) {
      const coded = packBits(codeBits(s));
      assert.equal(huffmanDecode(coded, 0, coded.length), String.fromCharCode(s), `symbol ${s}`);
    }
  });

  test('all 256 symbols in one string, and the empty string', () => {
    let all = '';
    for (let s = 0; s < 256; s++) all += String.fromCharCode(s);
    const coded = huffmanEncode(all);
    assert.equal(huffmanDecode(coded, 0, coded.length), all);
    assert.equal(huffmanDecode(Buffer.alloc(0), 0, 0), '');
  });

  test('random latin1 strings round trip (property), also inside a larger buffer', () => {
    fc.assert(
      fc.property(latin1(64), fc.uint8Array({ maxLength: 4 }), fc.uint8Array({ maxLength: 4 }), (s, head, tail) => {
        const coded = huffmanEncode(s);
        assert.equal(huffmanDecode(coded, 0, coded.length), s);
        const framed = Buffer.concat([head, coded, tail]);
        assert.equal(huffmanDecode(framed, head.length, head.length + coded.length), s);
      }),
      { seed: 7541, numRuns: 500 },
    );
  });

  test('EOS inside a string is an error', () => {
    const eos = '1'.repeat(30);
    assert.equal(codeBits(EOS), eos);
    const a = codeBits(0x61);
    const b = codeBits(0x62);
    for (const bits of [eos, a + eos, eos + a, a + eos + b, a + b + eos]) {
      const coded = packBits(bits);
      assert.equal(huffmanDecode(coded, 0, coded.length), null, bits);
    }
    // 32 one-bits: EOS then two bits of padding.
    assert.equal(huffmanDecode(hex('ffffffff'), 0, 4), null);
  });

  test('padding of 8 or more one-bits is an error, 7 or fewer is fine', () => {
    assert.equal(huffmanDecode(hex('ff'), 0, 1), null);
    assert.equal(huffmanDecode(hex('ffff'), 0, 2), null);
    // '0' is 00000: three bits of padding, then a whole byte more.
    const zero = packBits(codeBits(0x30));
    assert.equal(huffmanDecode(zero, 0, 1), '0');
    assert.equal(huffmanDecode(Buffer.concat([zero, hex('ff')]), 0, 2), null);
    // 'a' x n: 5n bits, so n = 1..8 gives every padding length 3, 6, 1, 4, 7, 2, 5, 0.
    for (let n = 1; n <= 8; n++) {
      const s = 'a'.repeat(n);
      const coded = huffmanEncode(s);
      assert.equal(huffmanDecode(coded, 0, coded.length), s, `'a' x ${n}`);
      assert.equal(huffmanDecode(Buffer.concat([coded, hex('ff')]), 0, coded.length + 1), null, `'a' x ${n} + 0xff`);
    }
  });

  test('padding that is not all ones is an error', () => {
    let checked = 0;
    for (let n = 1; n <= 8; n++) {
      const bits = codeBits(0x61).repeat(n);
      const padLength = (8 - (bits.length % 8)) % 8;
      for (let pattern = 0; pattern < 2 ** padLength - 1; pattern++) {
        const pad = pattern.toString(2).padStart(padLength, '0');
        // Skip paddings that start with a whole code: those decode to one more symbol.
        let startsWithCode = false;
        for (let s = 0; s <= EOS; s++) if (pad.startsWith(codeBits(s))) startsWithCode = true;
        if (startsWithCode) continue;
        const coded = packBits(bits + pad, false);
        assert.equal(huffmanDecode(coded, 0, coded.length), null, `'a' x ${n} + padding ${pad}`);
        checked++;
      }
    }
    // 247 paddings in all (lengths 1..7), 67 of them not the start of a code.
    assert.equal(checked, 67);
  });

  test('the code is complete and canonical: Kraft sum exactly 1, the ten 5-bit codes, EOS all ones', () => {
    const lengths = Array.from({ length: 257 }, (_, s) => huffmanCode(s).length);
    const longest = Math.max(...lengths);
    // Σ 2^-len = 1, scaled by 2^longest to stay in integers.
    let sum = 0n;
    for (const length of lengths) sum += 1n << BigInt(longest - length);
    assert.equal(sum, 1n << BigInt(longest));
    assert.equal(Math.min(...lengths), 5);
    for (const c of '012aceiost') assert.equal(huffmanCode(c.charCodeAt(0)).length, 5, c);
    assert.equal(lengths.filter((l) => l === 5).length, 10);
    // EOS: 30 one-bits (RFC 7541 §5.2 pads with its most significant bits).
    assert.deepEqual(huffmanCode(EOS), { code: 2 ** 30 - 1, length: 30 });
    // Canonical: in (length, symbol) order each code is the previous one plus one, shifted to its length.
    const order = lengths.map((length, symbol) => ({ length, symbol })).sort((x, y) => x.length - y.length || x.symbol - y.symbol);
    let expected = 0;
    let previousLength = order[0]!.length;
    for (const { length, symbol } of order) {
      expected *= 2 ** (length - previousLength);
      previousLength = length;
      assert.equal(huffmanCode(symbol).code, expected, `code of ${symbol}`);
      expected++;
    }
    assert.throws(() => huffmanCode(257), RangeError);
  });
});

// RFC 7541 Appendix C ----------------------------------------------------------------------------

type Field = readonly [string, string];

interface Example {
  section: string;
  block: string;
  fields: readonly Field[];
  /** The dynamic table after the block, newest first. */
  table: readonly Field[];
  /** The table size the RFC states after the block. */
  size: number;
}

const REQUEST_1: readonly Field[] = [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']];
const REQUEST_2: readonly Field[] = [...REQUEST_1, ['cache-control', 'no-cache']];
const REQUEST_3: readonly Field[] = [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']];
const REQUEST_TABLES: readonly (readonly Field[])[] = [
  [[':authority', 'www.example.com']],
  [['cache-control', 'no-cache'], [':authority', 'www.example.com']],
  [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']],
];
const REQUEST_SIZES = [57, 110, 164];

const DATE_1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE_2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOCATION = 'https://www.example.com';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RESPONSE_1: readonly Field[] = [[':status', '302'], ['cache-control', 'private'], ['date', DATE_1], ['location', LOCATION]];
const RESPONSE_2: readonly Field[] = [[':status', '307'], ['cache-control', 'private'], ['date', DATE_1], ['location', LOCATION]];
const RESPONSE_3: readonly Field[] = [[':status', '200'], ['cache-control', 'private'], ['date', DATE_2], ['location', LOCATION], ['content-encoding', 'gzip'], ['set-cookie', COOKIE]];
const RESPONSE_TABLES: readonly (readonly Field[])[] = [
  [['location', LOCATION], ['date', DATE_1], ['cache-control', 'private'], [':status', '302']],
  [[':status', '307'], ['location', LOCATION], ['date', DATE_1], ['cache-control', 'private']],
  [['set-cookie', COOKIE], ['content-encoding', 'gzip'], ['date', DATE_2]],
];
const RESPONSE_SIZES = [222, 222, 215];

function requestExamples(prefix: string, blocks: readonly string[]): Example[] {
  const fields = [REQUEST_1, REQUEST_2, REQUEST_3];
  return blocks.map((block, i) => ({ section: `${prefix}.${i + 1}`, block, fields: fields[i]!, table: REQUEST_TABLES[i]!, size: REQUEST_SIZES[i]! }));
}

function responseExamples(prefix: string, blocks: readonly string[]): Example[] {
  const fields = [RESPONSE_1, RESPONSE_2, RESPONSE_3];
  return blocks.map((block, i) => ({ section: `${prefix}.${i + 1}`, block, fields: fields[i]!, table: RESPONSE_TABLES[i]!, size: RESPONSE_SIZES[i]! }));
}

/** C.3: requests without Huffman coding. */
const C3 = requestExamples('C.3', [
  '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
  '8286 84be 5808 6e6f 2d63 6163 6865',
  '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
]);

/** C.4: the same requests with Huffman coding. */
const C4 = requestExamples('C.4', [
  '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
  '8286 84be 5886 a8eb 1064 9cbf',
  '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
]);

/** C.5: responses without Huffman coding, 256-octet table (evictions in C.5.2 and C.5.3). */
const C5 = responseExamples('C.5', [
  `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
   2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
   6c65 2e63 6f6d`,
  '4803 3330 37c1 c0bf',
  `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
   54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
   5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
   3d31`,
]);

/** C.6: the same responses with Huffman coding. */
const C6 = responseExamples('C.6', [
  `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
   2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
  '4883 640e ffc1 c0bf',
  `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
   77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
   9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
]);

function checkExample(decoder: HpackDecoder, example: Example): void {
  const { result, fields } = decodeBlock(decoder, hex(example.block));
  assert.equal(result, DECODE_OK, example.section);
  assert.deepEqual(fields, example.fields, example.section);
  assert.deepEqual(dynamicEntries(decoder), example.table, `${example.section} table`);
  assert.equal(decoder.tableLength, example.table.length, `${example.section} table length`);
  assert.equal(decoder.tableSize, example.size, `${example.section} table size`);
  assert.equal(example.table.reduce((n, e) => n + entrySize(e), 0), example.size, `${example.section} sizes add up`);
}

describe('RFC 7541 Appendix C examples', () => {
  test('C.2.1 literal with indexing', () => {
    checkExample(new HpackDecoder(4096, 65536), {
      section: 'C.2.1',
      block: '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572',
      fields: [['custom-key', 'custom-header']],
      table: [['custom-key', 'custom-header']],
      size: 55,
    });
  });

  test('C.2.2 literal without indexing', () => {
    checkExample(new HpackDecoder(4096, 65536), { section: 'C.2.2', block: '040c 2f73 616d 706c 652f 7061 7468', fields: [[':path', '/sample/path']], table: [], size: 0 });
  });

  test('C.2.3 literal never indexed', () => {
    checkExample(new HpackDecoder(4096, 65536), { section: 'C.2.3', block: '1008 7061 7373 776f 7264 0673 6563 7265 74', fields: [['password', 'secret']], table: [], size: 0 });
  });

  test('C.2.4 indexed field', () => {
    checkExample(new HpackDecoder(4096, 65536), { section: 'C.2.4', block: '82', fields: [[':method', 'GET']], table: [], size: 0 });
  });

  for (const [name, examples, tableSize] of [
    ['C.3 requests without Huffman coding', C3, 4096],
    ['C.4 requests with Huffman coding', C4, 4096],
    ['C.5 responses without Huffman coding, 256-octet table', C5, 256],
    ['C.6 responses with Huffman coding, 256-octet table', C6, 256],
  ] as const) {
    test(`${name}: three blocks on one decoder`, () => {
      const decoder = new HpackDecoder(tableSize, 65536);
      for (const example of examples) checkExample(decoder, example);
    });
  }

  test('a block is read only within [start, end) of a larger buffer', () => {
    const decoder = new HpackDecoder(4096, 65536);
    for (const example of C4) {
      const block = hex(example.block);
      // Bytes around the block that would be fields (or errors) if read.
      const buf = Buffer.concat([hex('82 bf 3f'), block, hex('80 ff')]);
      const out: string[] = [];
      assert.equal(decoder.decode(buf, 3, 3 + block.length, out), DECODE_OK, example.section);
      assert.deepEqual(pairs(out), example.fields, example.section);
      assert.equal(decoder.tableSize, example.size, example.section);
    }
  });
});

// Decoder: the dynamic table against a model ----------------------------------------------------

type Op =
  | { kind: 'insert'; staticName: number | null; name: string; value: string; huffman: boolean }
  | { kind: 'ref'; pick: number }
  | { kind: 'plain'; never: boolean; name: string; value: string; huffman: boolean };

interface Block {
  sizeUpdate: number | null;
  ops: Op[];
}

/** The dynamic table of RFC 7541 §4, written as plainly as possible. */
class ModelTable {
  entries: [string, string][] = [];
  size = 0;
  max: number;

  constructor(max: number) {
    this.max = max;
  }

  insert(entry: [string, string]): void {
    const size = entrySize(entry);
    while (this.entries.length > 0 && this.size + size > this.max) this.size -= entrySize(this.entries.pop()!);
    if (size > this.max) return;
    this.entries.unshift(entry);
    this.size += size;
  }

  resize(max: number): void {
    this.max = max;
    while (this.size > this.max) this.size -= entrySize(this.entries.pop()!);
  }

  get(index: number): [string, string] {
    if (index < STATIC_TABLE.length) return [STATIC_TABLE[index]![0], STATIC_TABLE[index]![1]];
    return this.entries[index - STATIC_TABLE.length]!;
  }
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      staticName: fc.option(fc.integer({ min: 1, max: 61 }), { nil: null }),
      name: latin1(16),
      // Mostly small entries, sometimes one near or above the whole table.
      value: fc.oneof({ weight: 12, arbitrary: latin1(300) }, { weight: 1, arbitrary: fc.integer({ min: 3900, max: 4200 }).map((n) => 'v'.repeat(n)) }),
      huffman: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('ref' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('plain' as const), never: fc.boolean(), name: latin1(16), value: latin1(64), huffman: fc.boolean() }) },
);

const blockArb: fc.Arbitrary<Block> = fc.record({
  sizeUpdate: fc.option(fc.integer({ min: 0, max: 4096 }), { nil: null, freq: 6 }),
  ops: fc.array(opArb, { maxLength: 12 }),
});

/** Encodes `block` against the model (updating it) and returns the bytes and the expected fields. */
function encodeAgainstModel(model: ModelTable, block: Block): { bytes: number[]; expected: [string, string][] } {
  const bytes: number[] = [];
  const expected: [string, string][] = [];
  if (block.sizeUpdate !== null) {
    bytes.push(...int(5, 0x20, block.sizeUpdate));
    model.resize(block.sizeUpdate);
  }
  for (const op of block.ops) {
    if (op.kind === 'ref') {
      const dynamic = model.entries.length;
      // Two times in three a dynamic entry when there is one.
      const index = dynamic > 0 && op.pick % 3 !== 0 ? STATIC_TABLE.length + (Math.floor(op.pick / 3) % dynamic) : 1 + (op.pick % (STATIC_TABLE.length - 1));
      bytes.push(...int(7, 0x80, index));
      expected.push(model.get(index));
      continue;
    }
    const indexing = op.kind === 'insert';
    const prefixBits = indexing ? 6 : 4;
    const flags = indexing ? 0x40 : op.never ? 0x10 : 0x00;
    let name = op.name;
    if (op.kind === 'insert' && op.staticName !== null) {
      name = STATIC_TABLE[op.staticName]![0];
      bytes.push(...int(prefixBits, flags, op.staticName));
    } else {
      bytes.push(...int(prefixBits, flags, 0), ...str(name, op.huffman));
    }
    bytes.push(...str(op.value, op.huffman));
    expected.push([name, op.value]);
    if (indexing) model.insert([name, op.value]);
  }
  return { bytes, expected };
}

describe('decoder against a model of the dynamic table', () => {
  test('random blocks: fields, table entries and size match the model (property)', () => {
    fc.assert(
      fc.property(fc.array(blockArb, { minLength: 1, maxLength: 8 }), (blocks) => {
        const decoder = new HpackDecoder(4096, 1 << 24);
        const model = new ModelTable(4096);
        for (const block of blocks) {
          const { bytes, expected } = encodeAgainstModel(model, block);
          const { result, fields } = decodeBlock(decoder, bytes);
          assert.equal(result, DECODE_OK);
          assert.deepEqual(fields, expected);
          assert.equal(decoder.tableLength, model.entries.length);
          assert.equal(decoder.tableSize, model.size);
          assert.deepEqual(dynamicEntries(decoder), model.entries);
        }
      }),
      { seed: 4096, numRuns: 300 },
    );
  });

  test('128 smallest entries fill a 4096-octet table; the ring wraps around many times', () => {
    const decoder = new HpackDecoder(4096, 1 << 24);
    const model = new ModelTable(4096);
    for (let i = 0; i < 1000; i++) {
      // Empty name and value: 32 octets, the smallest entry; every 7th a bigger one.
      const value = i % 7 === 0 ? String(i) : '';
      const { bytes, expected } = encodeAgainstModel(model, { sizeUpdate: null, ops: [{ kind: 'insert', staticName: null, name: '', value, huffman: false }, { kind: 'ref', pick: 1 + 3 * (i % 50) }] });
      assert.deepEqual(decodeBlock(decoder, bytes), { result: DECODE_OK, fields: expected });
    }
    assert.equal(decoder.tableLength, model.entries.length);
    assert.ok(decoder.tableLength >= 120);
    assert.deepEqual(dynamicEntries(decoder), model.entries);
  });
});

// Decoder edge cases -----------------------------------------------------------------------------

const freshDecoder = (): HpackDecoder => new HpackDecoder(4096, 65536);

describe('decoder edge cases', () => {
  test('dynamic table size updates: only before the first field, at most the announced size', () => {
    // After a field: COMPRESSION_ERROR.
    assert.equal(decodeBlock(freshDecoder(), [0x82, 0x20]).result, DECODE_ERROR);
    assert.equal(decodeBlock(freshDecoder(), [0x82, 0x3f, 0xe1, 0x1f]).result, DECODE_ERROR);
    // Two at the start (RFC 7541 §4.2), the largest allowed being the announced 4096.
    assert.deepEqual(decodeBlock(freshDecoder(), [0x20, ...int(5, 0x20, 4096), 0x82]), { result: DECODE_OK, fields: [[':method', 'GET']] });
    // Above the announced size.
    assert.equal(decodeBlock(freshDecoder(), int(5, 0x20, 4097)).result, DECODE_ERROR);
    assert.equal(decodeBlock(new HpackDecoder(256, 65536), int(5, 0x20, 257)).result, DECODE_ERROR);
    assert.equal(decodeBlock(new HpackDecoder(0, 65536), [0x21]).result, DECODE_ERROR);
    assert.equal(decodeBlock(new HpackDecoder(0, 65536), [0x20]).result, DECODE_OK);
  });

  test('a size update evicts; size 0 empties the table and keeps it empty', () => {
    const d = freshDecoder();
    assert.equal(decodeBlock(d, [0x40, ...str('a'), ...str('1'), 0x40, ...str('b'), ...str('2')]).result, DECODE_OK);
    assert.equal(d.tableSize, 68);
    // 34 octets: room for the newest entry only.
    assert.equal(decodeBlock(d, [...int(5, 0x20, 34)]).result, DECODE_OK);
    assert.deepEqual(dynamicEntries(d), [['b', '2']]);
    assert.equal(decodeBlock(d, [0x20]).result, DECODE_OK);
    assert.equal(d.tableLength, 0);
    assert.equal(d.tableSize, 0);
    assert.deepEqual(decodeBlock(d, [0x40, ...str('c'), ...str('3')]), { result: DECODE_OK, fields: [['c', '3']] });
    assert.equal(d.tableLength, 0);
    // Back up to 4096: entries are kept again.
    assert.equal(decodeBlock(d, [...int(5, 0x20, 4096), 0x40, ...str('d'), ...str('4')]).result, DECODE_OK);
    assert.deepEqual(dynamicEntries(d), [['d', '4']]);
  });

  test('index 0 in an indexed field is an error', () => {
    assert.equal(decodeBlock(freshDecoder(), [0x80]).result, DECODE_ERROR);
    assert.equal(decodeBlock(freshDecoder(), [0x82, 0x80]).result, DECODE_ERROR);
    assert.equal(decodeBlock(freshDecoder(), [0x80, 0x82]).result, DECODE_ERROR);
  });

  test('an index beyond the static and dynamic tables is an error', () => {
    assert.equal(decodeBlock(freshDecoder(), [0xbd]).result, DECODE_OK); // 61: www-authenticate
    assert.equal(decodeBlock(freshDecoder(), [0xbe]).result, DECODE_ERROR); // 62, empty dynamic table
    assert.equal(decodeBlock(freshDecoder(), [0x7e, ...str('v')]).result, DECODE_ERROR); // name 62 with indexing
    assert.equal(decodeBlock(freshDecoder(), [0x0f, 0x2f, ...str('v')]).result, DECODE_ERROR); // name 62 without indexing
    assert.equal(decodeBlock(freshDecoder(), [0x1f, 0x2f, ...str('v')]).result, DECODE_ERROR); // name 62 never indexed
    const d = freshDecoder();
    assert.equal(decodeBlock(d, [0x40, ...str('k'), ...str('v')]).result, DECODE_OK);
    assert.deepEqual(decodeBlock(d, [0xbe]), { result: DECODE_OK, fields: [['k', 'v']] });
    assert.equal(decodeBlock(d, [0xbf]).result, DECODE_ERROR);
    assert.equal(decodeBlock(freshDecoder(), int(7, 0x80, 100_000)).result, DECODE_ERROR);
  });

  test('truncated integers and strings are errors', () => {
    for (const block of [
      [0xff], // index ≥ 127, continuation missing
      [0xff, 0x80], // continuation bit set on the last byte
      [0x7f], // name index ≥ 63 with indexing, continuation missing
      [0x3f], // size update ≥ 31, continuation missing
      [0x40], // new name, no length
      [0x40, 0x05, 0x61], // name of 5 octets, 1 present
      [0x40, 0x01, 0x61], // name, no value
      [0x40, 0x01, 0x61, 0x02, 0x62], // value of 2 octets, 1 present
      [0x04], // indexed name, no value
      [0x04, 0x7f], // value length ≥ 127, continuation missing
      [0x04, 0x7f, 0x01], // value of 128 octets, none present
      [0x04, 0x85, 0x8c, 0xf1], // Huffman value of 5 octets, 2 present
    ]) {
      assert.equal(decodeBlock(freshDecoder(), block).result, DECODE_ERROR, Buffer.from(block).toString('hex'));
      // Bytes past `end` that would complete the block are not read.
      const padded = Buffer.concat([Buffer.from(block), Buffer.alloc(300, 0x01)]);
      assert.equal(freshDecoder().decode(padded, 0, block.length, []), DECODE_ERROR, `${Buffer.from(block).toString('hex')} + 0101...`);
    }
  });

  test('integers: 4 continuation bytes are read, a 5th is an error', () => {
    // A value length of 127 written long-hand with 4 continuation bytes (the last 0).
    const long = [0x04, 0x7f, 0x80, 0x80, 0x80, 0x00, ...Buffer.alloc(127, 0x61)];
    assert.deepEqual(decodeBlock(freshDecoder(), long), { result: DECODE_OK, fields: [[':path', 'a'.repeat(127)]] });
    const tooLong = [0x04, 0x7f, 0x80, 0x80, 0x80, 0x80, 0x00, ...Buffer.alloc(127, 0x61)];
    assert.equal(decodeBlock(freshDecoder(), tooLong).result, DECODE_ERROR);
    assert.equal(decodeBlock(freshDecoder(), [0xff, 0x80, 0x80, 0x80, 0x80, 0x00]).result, DECODE_ERROR);
    assert.equal(decodeBlock(freshDecoder(), [0x3f, 0x80, 0x80, 0x80, 0x80, 0x00]).result, DECODE_ERROR);
    // The largest value of 4 continuation bytes: 127 + 2^28 - 1 as an index, beyond any table.
    assert.equal(decodeBlock(freshDecoder(), [0xff, 0xff, 0xff, 0xff, 0x7f]).result, DECODE_ERROR);
  });

  test('an invalid Huffman string inside a block is an error', () => {
    assert.equal(decodeBlock(freshDecoder(), [0x04, 0x81, 0xff]).result, DECODE_ERROR); // 8 bits of padding
    assert.equal(decodeBlock(freshDecoder(), [0x04, 0x84, 0xff, 0xff, 0xff, 0xff]).result, DECODE_ERROR); // EOS
    assert.equal(decodeBlock(freshDecoder(), [0x40, 0x81, 0x00, 0x01, 0x61]).result, DECODE_ERROR); // '0' + 000 padding
    assert.deepEqual(decodeBlock(freshDecoder(), [0x04, 0x81, 0x07]), { result: DECODE_OK, fields: [[':path', '0']] }); // '0' + 111
  });

  test('raw strings are latin1, short and long', () => {
    const high = Buffer.from(Array.from({ length: 128 }, (_, i) => 0x80 + i));
    for (const length of [1, 5, 23, 24, 25, 128]) {
      const value = high.subarray(0, length);
      const { result, fields } = decodeBlock(freshDecoder(), [0x00, ...str('x-h'), ...int(7, 0, length), ...value]);
      assert.equal(result, DECODE_OK);
      assert.deepEqual(fields, [['x-h', value.toString('latin1')]], `length ${length}`);
    }
  });

  test('an entry larger than the table empties it and is not added', () => {
    const d = new HpackDecoder(256, 65536);
    checkExample(d, C5[0]!);
    // 1 + 224 + 32 = 257 > 256.
    const big = 'x'.repeat(224);
    assert.deepEqual(decodeBlock(d, [0x40, ...str('b'), ...str(big)]), { result: DECODE_OK, fields: [['b', big]] });
    assert.equal(d.tableLength, 0);
    assert.equal(d.tableSize, 0);
    assert.equal(decodeBlock(d, [0xbe]).result, DECODE_ERROR);
    // Exactly the table size fits, alone.
    const d2 = new HpackDecoder(256, 65536);
    checkExample(d2, C5[0]!);
    assert.equal(decodeBlock(d2, [0x40, ...str('b'), ...str('x'.repeat(223))]).result, DECODE_OK);
    assert.deepEqual(dynamicEntries(d2), [['b', 'x'.repeat(223)]]);
    assert.equal(d2.tableSize, 256);
  });

  test('TOO_LARGE: the list exceeds maxListBytes, the block is still decoded to the end and the table updated', () => {
    const d = new HpackDecoder(4096, 100);
    const a = 'x'.repeat(40);
    const b = 'y'.repeat(40);
    const c = 'z'.repeat(10);
    // 73 + 73 + 43 octets of list: over 100 at the second field.
    const block = [0x40, ...str('a'), ...str(a), 0x40, ...str('b'), ...str(b, true), 0x40, ...str('c'), ...str(c)];
    assert.equal(decodeBlock(d, block).result, DECODE_TOO_LARGE);
    assert.equal(d.tableLength, 3);
    assert.equal(d.tableSize, 73 + 73 + 43);
    // The next blocks refer to all three entries, one at a time (each under the limit).
    assert.deepEqual(decodeBlock(d, [0xbe]), { result: DECODE_OK, fields: [['c', c]] });
    assert.deepEqual(decodeBlock(d, [0xbf]), { result: DECODE_OK, fields: [['b', b]] });
    assert.deepEqual(decodeBlock(d, [0xc0]), { result: DECODE_OK, fields: [['a', a]] });
    // Exactly at the limit is fine: 1 + 67 + 32 = 100.
    assert.equal(decodeBlock(new HpackDecoder(4096, 100), [0x00, ...str('n'), ...str('v'.repeat(67))]).result, DECODE_OK);
    assert.equal(decodeBlock(new HpackDecoder(4096, 100), [0x00, ...str('n'), ...str('v'.repeat(68))]).result, DECODE_TOO_LARGE);
    // A malformed block stays an error even when it is also too large.
    assert.equal(decodeBlock(new HpackDecoder(4096, 100), [...block, 0x80]).result, DECODE_ERROR);
  });

  test('decode appends to the list it is given', () => {
    const out = ['keep', 'me'];
    assert.equal(new HpackDecoder(4096, 65536).decode(hex('82 84'), 0, 2, out), DECODE_OK);
    assert.deepEqual(out, ['keep', 'me', ':method', 'GET', ':path', '/']);
  });
});

// A raw h2c server: reads the preface and frames, hands over header blocks ----------------------

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const TYPE_HEADERS = 0x1;
const TYPE_SETTINGS = 0x4;
const TYPE_CONTINUATION = 0x9;
const FLAG_ACK = 0x1;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

interface HeaderBlock {
  socket: Socket;
  streamId: number;
  block: Buffer;
  /** HEADERS + CONTINUATION frames it came in. */
  frames: number;
}

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

class RawH2cServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #onBlock: (block: HeaderBlock) => void;
  readonly #answerSettings: boolean;
  /** Protocol surprises seen by the server (the tests expect none). */
  readonly problems: string[] = [];

  private constructor(onBlock: (block: HeaderBlock) => void, answerSettings: boolean) {
    this.#onBlock = onBlock;
    this.#answerSettings = answerSettings;
    this.#server = createServer((socket) => this.#accept(socket));
  }

  /** `answerSettings`: send our empty SETTINGS and ack the client's (else the server only reads). */
  static async start(onBlock: (block: HeaderBlock) => void, answerSettings: boolean): Promise<RawH2cServer> {
    const server = new RawH2cServer(onBlock, answerSettings);
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  get authority(): string {
    return `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {});
    if (this.#answerSettings) socket.write(frame(TYPE_SETTINGS, 0, 0));
    let buf: Buffer = Buffer.alloc(0);
    let prefaceSeen = false;
    let pending: { streamId: number; fragments: Buffer[] } | null = null;
    const fail = (problem: string): void => {
      this.problems.push(problem);
      socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (!prefaceSeen) {
        if (buf.length < PREFACE.length) return;
        if (!buf.subarray(0, PREFACE.length).equals(PREFACE)) return fail('bad preface');
        prefaceSeen = true;
        buf = buf.subarray(PREFACE.length);
      }
      while (buf.length >= 9) {
        const length = buf.readUIntBE(0, 3);
        if (buf.length < 9 + length) break;
        const type = buf[3]!;
        const flags = buf[4]!;
        const streamId = buf.readUInt32BE(5) & 0x7fffffff;
        const payload = Buffer.from(buf.subarray(9, 9 + length));
        buf = buf.subarray(9 + length);
        if (pending !== null && (type !== TYPE_CONTINUATION || streamId !== pending.streamId)) return fail(`frame type ${type} inside a header block`);
        if (type === TYPE_HEADERS) {
          let from = 0;
          let to = payload.length;
          if (flags & FLAG_PADDED) {
            to -= payload[0]!;
            from = 1;
          }
          if (flags & FLAG_PRIORITY) from += 5;
          if (to < from) return fail('HEADERS padding or priority longer than the frame');
          pending = { streamId, fragments: [payload.subarray(from, to)] };
        } else if (type === TYPE_CONTINUATION) {
          if (pending === null) return fail('CONTINUATION without HEADERS');
          pending.fragments.push(payload);
        } else {
          if (type === TYPE_SETTINGS && !(flags & FLAG_ACK) && this.#answerSettings) socket.write(frame(TYPE_SETTINGS, FLAG_ACK, 0));
          continue;
        }
        if (flags & FLAG_END_HEADERS) {
          const { streamId: id, fragments } = pending;
          pending = null;
          this.#onBlock({ socket, streamId: id, block: Buffer.concat(fragments), frames: fragments.length });
        }
      }
    });
  }
}

/** `promise`, or a rejection after `ms` (a broken peer must fail a test, not hang it). */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Header blocks in arrival order, awaited one at a time. */
class BlockQueue {
  readonly #items: HeaderBlock[] = [];
  #waiter: ((block: HeaderBlock) => void) | null = null;

  push(block: HeaderBlock): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    if (waiter !== null) waiter(block);
    else this.#items.push(block);
  }

  next(timeoutMs = 5000): Promise<HeaderBlock> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise<HeaderBlock>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        reject(new Error('timed out waiting for a header block'));
      }, timeoutMs);
      this.#waiter = (block) => {
        clearTimeout(timer);
        resolve(block);
      };
    });
  }
}

// Differential: nghttp2's encoder --------------------------------------------------------------

type RequestHeaders = Record<string, string | string[]>;

/** Every byte value node:http2 sends as it is: 1..255 (NUL, and chars above U+00FF, make it send a bogus list). */
const EVERY_BYTE = Array.from({ length: 255 }, (_, i) => String.fromCharCode(i + 1)).join('');

/** Pseudo-fields as a map (each once, all before the regular ones); regular fields in order. */
function splitFields(fields: readonly [string, string][]): { pseudo: Map<string, string>; regular: [string, string][] } {
  const pseudo = new Map<string, string>();
  const regular: [string, string][] = [];
  for (const [name, value] of fields) {
    if (name.startsWith(':')) {
      assert.equal(regular.length, 0, `pseudo-field ${name} after a regular field`);
      assert.ok(!pseudo.has(name), `pseudo-field ${name} twice`);
      pseudo.set(name, value);
    } else {
      regular.push([name, value]);
    }
  }
  return { pseudo, regular };
}

function expectedFields(headers: RequestHeaders, authority: string): { pseudo: Map<string, string>; regular: [string, string][] } {
  const pseudo = new Map<string, string>([[':method', 'GET'], [':scheme', 'http'], [':authority', authority], [':path', '/']]);
  const regular: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':')) pseudo.set(name, value as string);
    else for (const v of Array.isArray(value) ? value : [value]) regular.push([name.toLowerCase(), v]);
  }
  return { pseudo, regular };
}

const sorted = (m: Map<string, string>): [string, string][] => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Headers for the fixed requests: repeats (dynamic table), long values, every byte, Huffman-friendly text. */
function fixedRequests(): RequestHeaders[] {
  const ua = 'martello-hpack-test/1.0 (node:http2; nghttp2)';
  const list: RequestHeaders[] = [
    { ':path': '/', 'user-agent': ua, accept: '*/*', 'x-repeat': 'the same value every time', 'x-huffman': 'www.example.com/aeiou/static/0123456789' },
    { ':path': '/index.html', 'user-agent': ua, 'accept-encoding': 'gzip, deflate', 'x-repeat': 'the same value every time', 'x-every-byte': EVERY_BYTE, authorization: 'Bearer not-a-real-token' },
    { ':method': 'POST', ':path': '/upload?q=1&r=2', 'content-type': 'application/json', 'x-long': 'abcdefghij'.repeat(400), 'x-multi': ['one', 'two', 'three'], cookie: ['a=1', 'b=2'], 'user-agent': ua },
    // 40000 octets of 'e' (5 bits each): a 25000-octet block, more than one 16384-octet frame.
    { ':path': `/${'p'.repeat(100)}`, 'x-huge': 'e'.repeat(40000), 'x-repeat': 'the same value every time', 'user-agent': ua },
    { ':path': '/', 'x-latin1': 'ÀÉÎÕÜ àéîõü ß ÿ\u0080\u00a0', 'x-controls': '\t\u0001\u007f\u001b', 'x-crlf': 'a\r\nb', 'x-empty': '', 'X-Upper-Name': 'Value', 'x-spaces': '  padded  ' },
    { ':method': 'OPTIONS', ':path': '*', ':authority': 'www.example.com', 'x-every-byte': EVERY_BYTE, 'x-every-byte-reversed': [...EVERY_BYTE].toReversed().join('') },
  ];
  // Every byte value Huffman-coded by nghttp2: 200 '0's (5 bits each) plus 8 copies of the byte is
  // shorter coded (125 + L octets, L ≤ 30) than raw (208), so nghttp2 codes it.
  for (let first = 1; first < 256; first += 20) {
    const headers: RequestHeaders = { ':path': `/symbols/${first}` };
    for (let s = first; s < Math.min(first + 20, 256); s++) headers[`x-sym-${s}`] = '0'.repeat(200) + String.fromCharCode(s).repeat(8);
    list.push(headers);
  }
  return list;
}

const tokenChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-');
const randomName = fc.oneof(
  fc.constantFrom('x-a', 'x-b', 'x-trace-id', 'accept', 'accept-language', 'cache-control', 'content-type', 'user-agent', 'referer', 'x-forwarded-for'),
  fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 }).map((s) => `x-${s}`),
);
const nonNul = fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c));
const randomValue = fc.oneof(
  fc.constantFrom('', 'gzip', 'text/html', 'same-every-time', 'www.example.com', '*/*'),
  fc.string({ unit: nonNul, maxLength: 80 }),
  fc.string({ unit: fc.constantFrom(...'aeiost012 ./-'), maxLength: 200 }),
);
const randomRequest: fc.Arbitrary<RequestHeaders> = fc
  .record({
    path: fc.string({ unit: fc.constantFrom(...'abc/0123?=&'), maxLength: 30 }).map((s) => `/${s}`),
    fields: fc.uniqueArray(fc.tuple(randomName, fc.array(randomValue, { minLength: 1, maxLength: 3 })), { selector: ([name]) => name, maxLength: 10 }),
  })
  .map(({ path, fields }) => {
    const headers: RequestHeaders = { ':path': path };
    // Only x- names may repeat (node refuses a list for single-value names such as content-type).
    for (const [name, values] of fields) headers[name] = name.startsWith('x-') && values.length > 1 ? values : values[0]!;
    return headers;
  });

describe('differential: header blocks from nghttp2 (a node:http2 client)', () => {
  const blocks = new BlockQueue();
  const decoder = new HpackDecoder(4096, 65536);
  const clientErrors: Error[] = [];
  let server: RawH2cServer;
  let client: ClientHttp2Session;
  let maxFrames = 0;

  before(async () => {
    server = await RawH2cServer.start((block) => blocks.push(block), false);
    client = http2Connect(`http://${server.authority}`);
    client.on('error', (err) => clientErrors.push(err));
  });

  after(async () => {
    client.destroy();
    await server.close();
  });

  /** Sends one request and checks what we decode from its header block; returns the block's length. */
  async function roundTrip(headers: RequestHeaders): Promise<number> {
    const request = client.request(headers, { endStream: true });
    request.on('error', () => {});
    try {
      const { streamId, block, frames } = await blocks.next();
      maxFrames = Math.max(maxFrames, frames);
      assert.equal(streamId, request.id);
      const out: string[] = [];
      assert.equal(decoder.decode(block, 0, block.length, out), DECODE_OK);
      const got = splitFields(pairs(out));
      const want = expectedFields(headers, server.authority);
      assert.deepEqual(sorted(got.pseudo), sorted(want.pseudo));
      assert.deepEqual(got.regular, want.regular);
      return block.length;
    } finally {
      request.close();
    }
  }

  test('fixed requests on one connection: repeats, long values, every byte value, CONTINUATION', { timeout: 30_000 }, async () => {
    const requests = fixedRequests();
    for (const headers of requests) await roundTrip(headers);
    assert.ok(maxFrames >= 2, 'the 40000-octet value should have needed CONTINUATION frames');
    // The same request twice: the second time every field is a reference to nghttp2's dynamic table.
    const again = { ...requests[0]!, ':path': '/again' };
    await roundTrip(again);
    const fieldCount = Object.keys(again).length + 3; // + :method, :scheme, :authority
    assert.ok((await roundTrip(again)) <= 2 * fieldCount, 'a repeated request should be all indexed fields');
    // nghttp2 filled and evicted from its table: ours stayed in step (every block above decoded).
    assert.ok(decoder.tableSize > 3000, `table size ${decoder.tableSize}`);
    assert.deepEqual(server.problems, []);
    assert.deepEqual(clientErrors, []);
  });

  test('random requests on the same connection (property)', { timeout: 60_000 }, async () => {
    // The connection and the decoder carry state from run to run: no shrinking.
    await fc.assert(
      fc.asyncProperty(randomRequest, async (headers) => {
        await roundTrip(headers);
      }),
      { seed: 2026, numRuns: 150, endOnFailure: true },
    );
    assert.deepEqual(server.problems, []);
    assert.deepEqual(clientErrors, []);
  });
});

// Encoder --------------------------------------------------------------------------------------

function encode(fields: readonly string[], neverIndexed?: ReadonlySet<string>): Buffer {
  const buf = Buffer.alloc(encodedFieldsBound(fields));
  const end = encodeFields(fields, buf, 0, neverIndexed);
  return buf.subarray(0, end);
}

describe('encoder', () => {
  test(":status with a static entry is one byte (':status: 200' is 0x88)", () => {
    assert.deepEqual([...encode([':status', '200'])], [0x88]);
    const statuses: [string, number][] = [['200', 0x88], ['204', 0x89], ['206', 0x8a], ['304', 0x8b], ['400', 0x8c], ['404', 0x8d], ['500', 0x8e]];
    for (const [status, byte] of statuses) assert.deepEqual([...encode([':status', status])], [byte], status);
    // Other statuses: literal without indexing, name index 8.
    assert.deepEqual([...encode([':status', '201'])], [0x08, 0x03, ...Buffer.from('201')]);
  });

  test('exact bytes: static names indexed, other names literal, nothing indexed', () => {
    assert.deepEqual([...encode(['content-type', 'text/plain'])], [0x0f, 0x10, 0x0a, ...Buffer.from('text/plain')]);
    assert.deepEqual([...encode(['x-a', 'b'])], [0x00, 0x03, ...Buffer.from('x-a'), 0x01, 0x62]);
    assert.deepEqual([...encode([':path', '/'])], [0x04, 0x01, 0x2f]);
    // A 200-octet value: length 127 + 73.
    assert.deepEqual([...encode(['age', 'v'.repeat(200)]).subarray(0, 3)], [0x0f, 0x06, 0x7f]);
    assert.equal(encode(['age', 'v'.repeat(200)])[3], 73);
  });

  test('never-indexed names use the 0x10 prefix', () => {
    const never = new Set(['set-cookie', 'x-secret']);
    const bytes = encode(['set-cookie', 'a=1', 'x-secret', 's', 'x-open', 'o'], never);
    // set-cookie is static 55: 0x10 | 15, then 55 - 15 = 40.
    assert.deepEqual([...bytes.subarray(0, 5)], [0x1f, 0x28, 0x03, ...Buffer.from('a=')]);
    const secretAt = 2 + 1 + 3;
    assert.equal(bytes[secretAt], 0x10);
    const openAt = secretAt + 1 + 1 + 'x-secret'.length + 1 + 1;
    assert.equal(bytes[openAt], 0x00);
    const d = new HpackDecoder(4096, 65536);
    assert.deepEqual(decodeBlock(d, bytes), { result: DECODE_OK, fields: [['set-cookie', 'a=1'], ['x-secret', 's'], ['x-open', 'o']] });
    assert.equal(d.tableLength, 0);
  });

  test('writes at an offset and returns the end; bytes before are untouched', () => {
    const fields = [':status', '404', 'content-length', '0'];
    const buf = Buffer.alloc(10 + encodedFieldsBound(fields), 0xee);
    const end = encodeFields(fields, buf, 10);
    assert.deepEqual([...buf.subarray(0, 10)], Array(10).fill(0xee));
    assert.deepEqual(decodeBlock(new HpackDecoder(4096, 65536), buf.subarray(10, end)), { result: DECODE_OK, fields: [[':status', '404'], ['content-length', '0']] });
  });

  test('round trip through HpackDecoder, within encodedFieldsBound (property)', () => {
    const staticNames = [...new Set(STATIC_TABLE.slice(1).map(([name]) => name))];
    const nameArb = fc.oneof(fc.constantFrom(...staticNames), latin1(20));
    const valueArb = fc.oneof({ weight: 9, arbitrary: latin1(300) }, { weight: 1, arbitrary: fc.integer({ min: 16000, max: 20000 }).map((n) => 'w'.repeat(n)) }, { weight: 2, arbitrary: fc.constantFrom('200', '204', '404', '418') });
    fc.assert(
      fc.property(fc.array(fc.tuple(nameArb, valueArb), { maxLength: 12 }), fc.array(nameArb, { maxLength: 3 }), fc.nat(8), (list, neverNames, offset) => {
        const fields = list.flat();
        const bound = encodedFieldsBound(fields);
        const buf = Buffer.alloc(offset + bound);
        const end = encodeFields(fields, buf, offset, new Set(neverNames));
        assert.ok(end - offset <= bound, `${end - offset} > bound ${bound}`);
        const d = new HpackDecoder(4096, 1 << 24);
        const { result, fields: decoded } = decodeBlock(d, buf.subarray(offset, end));
        assert.equal(result, DECODE_OK);
        assert.deepEqual(decoded, list);
        assert.equal(d.tableLength, 0);
      }),
      { seed: 1337, numRuns: 500 },
    );
  });

  test('a node:http2 client reads our response headers', { timeout: 30_000 }, async () => {
    const blocks = new BlockQueue();
    const server = await RawH2cServer.start((b) => blocks.push(b), true);
    const client = http2Connect(`http://${server.authority}`);
    const clientErrors: Error[] = [];
    client.on('error', (err) => clientErrors.push(err));
    try {
      const respond = async (fields: readonly string[], neverIndexed?: ReadonlySet<string>): Promise<Record<string | symbol, unknown>> => {
        const request = client.request({ ':path': '/' }, { endStream: true });
        // A COMPRESSION_ERROR on the client's side ends the stream with an error: fail, don't hang.
        const failed = new Promise<never>((_, reject) => request.on('error', reject));
        failed.catch(() => {});
        const response = new Promise<Record<string | symbol, unknown>>((resolve) => request.on('response', (headers) => resolve(headers as Record<string | symbol, unknown>)));
        const ended = new Promise<void>((resolve) => request.on('end', resolve));
        request.resume();
        const { socket, streamId } = await blocks.next();
        const buf = Buffer.alloc(encodedFieldsBound(fields));
        const end = encodeFields(fields, buf, 0, neverIndexed);
        socket.write(frame(TYPE_HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, streamId, buf.subarray(0, end)));
        const headers = await withTimeout(Promise.race([response, failed]), 5000, 'the response headers');
        await withTimeout(Promise.race([ended, failed]), 5000, 'the end of the response');
        return headers;
      };

      const first = await respond([':status', '200', 'content-type', 'text/plain', 'x-a', 'b']);
      assert.equal(first[':status'], 200);
      assert.equal(first['content-type'], 'text/plain');
      assert.equal(first['x-a'], 'b');

      // A status without a static entry, a long value, latin1, and never-indexed fields.
      const second = await respond([':status', '299', 'set-cookie', 'id=1', 'x-secret', 'hush', 'x-long', 'L'.repeat(3000), 'x-latin1', 'café'], new Set(['set-cookie', 'x-secret']));
      assert.equal(second[':status'], 299);
      assert.deepEqual(second['set-cookie'], ['id=1']);
      assert.equal(second['x-secret'], 'hush');
      assert.equal(second['x-long'], 'L'.repeat(3000));
      assert.equal(second['x-latin1'], 'café');
      const sensitive = second[sensitiveHeaders] as string[];
      assert.ok(sensitive.includes('set-cookie') && sensitive.includes('x-secret'), `sensitive: ${String(sensitive)}`);
      assert.ok(!sensitive.includes('x-long'));
      assert.deepEqual(server.problems, []);
      assert.deepEqual(clientErrors, []);
    } finally {
      client.destroy();
      await server.close();
    }
  });
});
