// W3C Trace Context: tables of valid and invalid traceparent and tracestate
// values from the spec's grammar (Level 1, https://www.w3.org/TR/trace-context/),
// the proxy's continue/create rule, and properties of format/parse and IdSource.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideTrace, formatTraceparent, IdSource, parseTraceparent, validTracestate, type RandomFiller } from './trace-context.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const SPEC_EXAMPLE = `00-${TRACE}-${PARENT}-01`;

test('traceparent: valid values parse to their fields', () => {
  const cases: Array<[string, string, string, number]> = [
    [SPEC_EXAMPLE, TRACE, PARENT, 0x01],
    [`00-${TRACE}-${PARENT}-00`, TRACE, PARENT, 0x00],
    // Flags are a bit field: other bits are kept as received by the parser.
    [`00-${TRACE}-${PARENT}-09`, TRACE, PARENT, 0x09],
    [`00-${TRACE}-${PARENT}-ff`, TRACE, PARENT, 0xff],
    ['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', '0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', 1],
    // Ids with leading zeros (only all-zero is invalid).
    [`00-00000000000000000000000000000001-0000000000000001-01`, '00000000000000000000000000000001', '0000000000000001', 1],
    // HTTP optional whitespace around the value.
    [` ${SPEC_EXAMPLE}\t`, TRACE, PARENT, 1],
    // Higher versions: parsed as version 00 where the format matches, extra fields ignored.
    [`01-${TRACE}-${PARENT}-01`, TRACE, PARENT, 1],
    [`cc-${TRACE}-${PARENT}-01-what-the-future-will-be-like`, TRACE, PARENT, 1],
    [`fe-${TRACE}-${PARENT}-00-`, TRACE, PARENT, 0],
  ];
  for (const [value, traceId, parentId, flags] of cases) {
    assert.deepEqual(parseTraceparent(value), { traceId, parentId, flags }, JSON.stringify(value));
  }
});

test('traceparent: invalid values are null', () => {
  const cases: Array<[string, string]> = [
    ['', 'empty'],
    ['00', 'version only'],
    [`00-${TRACE}-${PARENT}`, 'no flags'],
    [`00-${TRACE}-${PARENT}-0`, 'one flag digit'],
    [`00-${TRACE}-${PARENT}-011`, 'three flag digits'],
    [`00-${TRACE}-${PARENT}-01-`, 'version 00 with a trailing dash'],
    [`00-${TRACE}-${PARENT}-01-extra`, 'version 00 with extra fields'],
    [`ff-${TRACE}-${PARENT}-01`, 'version ff is forbidden'],
    [`0-${TRACE}-${PARENT}-01`, 'one version digit'],
    [`000-${TRACE}-${PARENT}-01`, 'three version digits'],
    [`0g-${TRACE}-${PARENT}-01`, 'version not hex'],
    [`0A-${TRACE}-${PARENT}-01`, 'uppercase version'],
    [`00-${TRACE.toUpperCase()}-${PARENT}-01`, 'uppercase trace-id'],
    [`00-${TRACE}-${PARENT.toUpperCase()}-01`, 'uppercase parent-id'],
    [`00-${TRACE}-${PARENT}-0A`, 'uppercase flags'],
    [`00-4bf92f3577b34dA6a3ce929d0e0e4736-${PARENT}-01`, 'one uppercase digit in trace-id'],
    [`00-${'0'.repeat(32)}-${PARENT}-01`, 'all-zero trace-id'],
    [`00-${TRACE}-${'0'.repeat(16)}-01`, 'all-zero parent-id'],
    [`00-${TRACE.slice(1)}-${PARENT}-01`, 'trace-id of 31 digits'],
    [`00-${TRACE}0-${PARENT}-01`, 'trace-id of 33 digits'],
    [`00-${TRACE}-${PARENT.slice(1)}-01`, 'parent-id of 15 digits'],
    [`00-${TRACE}-${PARENT}0-01`, 'parent-id of 17 digits'],
    [`00-${TRACE.slice(0, 31)}g-${PARENT}-01`, 'non-hex in trace-id'],
    [`00-${TRACE}-${PARENT.slice(0, 15)}.-01`, 'non-hex in parent-id'],
    [`00_${TRACE}_${PARENT}_01`, 'underscores instead of dashes'],
    [`00-${TRACE}-${PARENT}-0x`, 'non-hex flags'],
    [`00 ${TRACE}-${PARENT}-01`, 'space as delimiter'],
    [`cc-${TRACE}-${PARENT}-01.what-the-future-will-be-like`, 'higher version: flags not followed by a dash'],
    [`cc-${TRACE}-${PARENT}`, 'higher version shorter than 55'],
    [`cc-${'0'.repeat(32)}-${PARENT}-01-x`, 'higher version, all-zero trace-id'],
    [`${SPEC_EXAMPLE},${SPEC_EXAMPLE}`, 'two values joined'],
  ];
  for (const [value, why] of cases) assert.equal(parseTraceparent(value), null, why);
});

test('formatTraceparent writes version 00 with two-digit lowercase flags', () => {
  assert.equal(formatTraceparent(TRACE, PARENT, 1), SPEC_EXAMPLE);
  assert.equal(formatTraceparent(TRACE, PARENT, 0), `00-${TRACE}-${PARENT}-00`);
  assert.equal(formatTraceparent(TRACE, PARENT, 0xab), `00-${TRACE}-${PARENT}-ab`);
  assert.equal(formatTraceparent(TRACE, PARENT, 0x109), `00-${TRACE}-${PARENT}-09`);
});

const lowerHex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).filter((b) => b.some((x) => x !== 0)).map((b) => Buffer.from(b).toString('hex'));

test('property: parse(format(t, s, f)) returns t, s, f, and format(parse(v)) returns v for version 00', () => {
  fc.assert(
    fc.property(lowerHex(16), lowerHex(8), fc.integer({ min: 0, max: 255 }), (traceId, spanId, flags) => {
      const value = formatTraceparent(traceId, spanId, flags);
      assert.equal(value.length, 55);
      const parsed = parseTraceparent(value);
      assert.deepEqual(parsed, { traceId, parentId: spanId, flags });
      assert.equal(formatTraceparent(parsed.traceId, parsed.parentId, parsed.flags), value);
    }),
    { numRuns: 2000 },
  );
});

test('property: any single-character change to a valid traceparent that breaks the grammar is rejected', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 54 }), fc.integer({ min: 0x20, max: 0x7e }), (at, code) => {
      const ch = String.fromCharCode(code);
      const value = SPEC_EXAMPLE.slice(0, at) + ch + SPEC_EXAMPLE.slice(at + 1);
      const dash = at === 2 || at === 35 || at === 52;
      const hexOk = /[0-9a-f]/.test(ch);
      const parsed = parseTraceparent(value);
      if (dash ? ch === '-' : hexOk) {
        // Still in the grammar unless it became version ff (cannot: one digit changed from "00").
        assert.notEqual(parsed, null, value);
      } else {
        assert.equal(parsed, null, value);
      }
    }),
    { numRuns: 3000 },
  );
});

test('tracestate: valid values, combined and normalised', () => {
  const cases: Array<[string[], string]> = [
    [['rojo=00f067aa0ba902b7'], 'rojo=00f067aa0ba902b7'],
    [['rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'], 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'],
    // Several header lines combine in order (RFC 9110 field order).
    [['rojo=00f067aa0ba902b7', 'congo=t61rcWkgMzE'], 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'],
    // Optional whitespace around members and empty members are removed.
    [[' rojo=1 ,\tcongo=2\t', ''], 'rojo=1,congo=2'],
    [['rojo=1,,congo=2,', ',  ,'], 'rojo=1,congo=2'],
    // Multi-tenant keys: tenant may start with a digit, system-id with a letter.
    [['fw529a3039@dt=CgQIARAB'], 'fw529a3039@dt=CgQIARAB'],
    [['1tenant@vendor=x'], '1tenant@vendor=x'],
    // Key characters: lcalpha digits _ - * /
    [['a_b-c*d/e9=v'], 'a_b-c*d/e9=v'],
    // Value: printable ASCII except , and =; inner and leading spaces kept; trailing space is OWS.
    [['k= lead and inner space'], 'k= lead and inner space'],
    [['k=!"#$%&\'()*+-./:;<>?@[\\]^_`{|}~'], 'k=!"#$%&\'()*+-./:;<>?@[\\]^_`{|}~'],
    [['k=v  '], 'k=v'],
    // Longest simple key (256), multi-tenant key (241 @ 14) and value (256).
    [[`${'a'.repeat(256)}=v`], `${'a'.repeat(256)}=v`],
    [[`${'t'.repeat(241)}@${'s'.repeat(14)}=v`], `${'t'.repeat(241)}@${'s'.repeat(14)}=v`],
    [[`k=${'v'.repeat(256)}`], `k=${'v'.repeat(256)}`],
    // 32 members is the maximum.
    [[Array.from({ length: 32 }, (_, i) => `k${i}=${i}`).join(',')], Array.from({ length: 32 }, (_, i) => `k${i}=${i}`).join(',')],
    // 32 members over two lines with empty members between them.
    [[Array.from({ length: 16 }, (_, i) => `a${i}=1`).join(',') + ',', ',' + Array.from({ length: 16 }, (_, i) => `b${i}=1`).join(',')],
      [...Array.from({ length: 16 }, (_, i) => `a${i}=1`), ...Array.from({ length: 16 }, (_, i) => `b${i}=1`)].join(',')],
  ];
  for (const [values, expected] of cases) assert.equal(validTracestate(values), expected, JSON.stringify(values));
});

test('tracestate: invalid values are null (drop tracestate, keep traceparent)', () => {
  const cases: Array<[string[], string]> = [
    [[], 'no header'],
    [[''], 'empty header: nothing to send'],
    [[' , ,\t'], 'whitespace-only members'],
    [['rojo'], 'no ='],
    [['=value'], 'empty key'],
    [['rojo='], 'empty value'],
    [['rojo= '], 'value of one space (must end with a non-space)'],
    [['Rojo=1'], 'uppercase key'],
    [['_rojo=1'], 'key starts with _'],
    [['1rojo=1'], 'simple key starts with a digit'],
    [['ro.jo=1'], 'dot in key'],
    [['ro jo=1'], 'space in key'],
    [['a@b@c=1'], 'two @ in key'],
    [['@vendor=1'], 'empty tenant'],
    [['tenant@=1'], 'empty system-id'],
    [['tenant@1vendor=1'], 'system-id starts with a digit'],
    [[`tenant@${'s'.repeat(15)}=1`], 'system-id of 15 characters'],
    [[`${'t'.repeat(242)}@vendor=1`], 'tenant-id of 242 characters'],
    [[`${'a'.repeat(257)}=1`], 'key of 257 characters'],
    [[`k=${'v'.repeat(257)}`], 'value of 257 characters'],
    [['k=a=b'], '= in value'],
    [['k=caf\u00e9'], 'non-ASCII in value'],
    [['k=a\tb'], 'tab inside value'],
    [['k=a\u007fb'], 'DEL in value'],
    [['rojo=1,congo=2,rojo=3'], 'duplicate key'],
    [['rojo=1', 'rojo=2'], 'duplicate key across header lines'],
    [['rojo=1,bad'], 'one bad member invalidates all'],
    [[Array.from({ length: 33 }, (_, i) => `k${i}=${i}`).join(',')], '33 members'],
    [[Array.from({ length: 17 }, (_, i) => `a${i}=1`).join(','), Array.from({ length: 16 }, (_, i) => `b${i}=1`).join(',')], '33 members over two lines'],
  ];
  for (const [values, why] of cases) assert.equal(validTracestate(values), null, why);
});

test('tracestate over 512 characters: entries over 128 characters go first, then entries from the end', () => {
  const long = `long=${'x'.repeat(200)}`; // 205 characters
  const small = Array.from({ length: 20 }, (_, i) => `key${String(i).padStart(2, '0')}=${'v'.repeat(14)}`); // 20 × 20 characters
  // 205 + 20*20 + 20 commas = 625 > 512: dropping the long entry gives 20*20 + 19 = 419.
  assert.equal(validTracestate([[small[0], long, ...small.slice(1)].join(',')]), small.join(','));
  // Only short entries: 30 × 20 + 29 = 629 > 512; 24 entries are 24*20 + 23 = 503 <= 512, 25 are 524.
  const thirty = Array.from({ length: 30 }, (_, i) => `key${String(i).padStart(2, '0')}=${'v'.repeat(14)}`);
  assert.equal(validTracestate([thirty.join(',')]), thirty.slice(0, 24).join(','));
  // Exactly 512 is kept whole.
  const exact = [`a=${'v'.repeat(252)}`, `b=${'v'.repeat(255)}`].join(','); // 254 + 1 + 257 = 512
  assert.equal(exact.length, 512);
  assert.equal(validTracestate([exact]), exact);
  // A custom limit.
  assert.equal(validTracestate(['a=1,b=2,c=3'], 7), 'a=1,b=2');
  // One member longer than the limit: nothing left to send.
  assert.equal(validTracestate([`k=${'v'.repeat(256)}`], 100), null);
});

/** A filler that writes a counter, so every id is distinct and predictable. */
function countingFiller(): RandomFiller {
  let n = 0;
  return (buf) => {
    for (let i = 0; i < buf.length; i++) buf[i] = (n++ * 131 + 7) & 0xff;
  };
}

test('IdSource: ids are lowercase hex of the right length, drawn from one pool refill per block', () => {
  let fills = 0;
  const ids = new IdSource((buf) => {
    fills++;
    buf.fill(0xab);
  }, 64);
  assert.equal(ids.traceId(), 'ab'.repeat(16));
  assert.equal(ids.spanId(), 'ab'.repeat(8));
  assert.equal(fills, 1);
  // 64 bytes: 16 + 8 used, 40 left: 16 + 16 + 8 fit without refill.
  ids.traceId();
  ids.traceId();
  ids.spanId();
  assert.equal(fills, 1);
  ids.spanId();
  assert.equal(fills, 2);
  assert.throws(() => new IdSource(undefined, 12), RangeError);
});

test('IdSource: an all-zero draw never comes out', () => {
  const ids = new IdSource((buf) => buf.fill(0), 4096);
  for (let i = 0; i < 1000; i++) {
    const t = ids.traceId();
    const s = ids.spanId();
    assert.match(t, /^[0-9a-f]{32}$/);
    assert.match(s, /^[0-9a-f]{16}$/);
    assert.notEqual(t, '0'.repeat(32));
    assert.notEqual(s, '0'.repeat(16));
    assert.notEqual(parseTraceparent(formatTraceparent(t, s, 1)), null);
  }
});

test('IdSource.traceparent: one valid version-00 value per draw, ids from the pool as hex, flags as given; never an all-zero id', () => {
  // Both draw a 16-byte trace id then an 8-byte span id, so they refill at the same points.
  const counting = new IdSource(countingFiller(), 4096);
  const reference = new IdSource(countingFiller(), 4096);
  for (let i = 0; i < 500; i++) {
    const flags = i % 3 === 0 ? 1 : i % 3 === 1 ? 0 : 0x1ff;
    const value = counting.traceparent(flags);
    // The same bytes drawn as two ids by the reference source.
    const traceId = reference.traceId();
    const spanId = reference.spanId();
    assert.equal(value, formatTraceparent(traceId, spanId, flags));
    assert.equal(value.slice(3, 35), traceId);
    assert.equal(counting.lastTraceId(), traceId);
    const parsed = parseTraceparent(value);
    assert.notEqual(parsed, null, value);
    assert.equal(parsed!.traceId, traceId);
    assert.equal(parsed!.parentId, spanId);
  }
  const zeros = new IdSource((buf) => buf.fill(0), 4096);
  for (let i = 0; i < 200; i++) {
    const value = zeros.traceparent(1);
    assert.notEqual(value.slice(3, 35), '0'.repeat(32));
    assert.notEqual(value.slice(36, 52), '0'.repeat(16));
    assert.notEqual(parseTraceparent(value), null);
  }
});

test('IdSource (crypto): 100k trace ids and 100k span ids, none all-zero, none repeated', () => {
  const ids = new IdSource();
  const traces = new Set<string>();
  const spans = new Set<string>();
  for (let i = 0; i < 100_000; i++) {
    const t = ids.traceId();
    const s = ids.spanId();
    assert.ok(/^[0-9a-f]{32}$/.test(t) && t !== '0'.repeat(32), t);
    assert.ok(/^[0-9a-f]{16}$/.test(s) && s !== '0'.repeat(16), s);
    traces.add(t);
    spans.add(s);
  }
  assert.equal(traces.size, 100_000);
  assert.equal(spans.size, 100_000);
});

test('property: IdSource with any filler whose blocks may be zero yields valid, traceparent-safe ids', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 64, maxLength: 64 }), { minLength: 1, maxLength: 8 }), (blocks) => {
      let k = 0;
      const ids = new IdSource((buf) => {
        buf.set(blocks[k++ % blocks.length]!);
      }, 64);
      for (let i = 0; i < 20; i++) {
        const t = ids.traceId();
        const s = ids.spanId();
        assert.notEqual(parseTraceparent(formatTraceparent(t, s, 0)), null);
      }
    }),
  );
});

const policy = (create: boolean, sampleRatio: number) => ({ create, sampleRatio });

test('decideTrace: a valid traceparent is continued with a new span of ours, the sampled flag kept', () => {
  for (const [flags, sampled] of [['01', true], ['00', false], ['09', true], ['fe', false]] as const) {
    const ids = new IdSource(countingFiller());
    const d = decideTrace(`00-${TRACE}-${PARENT}-${flags}`, ['rojo=1, congo=2'], policy(true, 0), ids, () => 0.999);
    assert.ok(d !== null);
    assert.equal(d.traceId, TRACE);
    assert.equal(d.parentSpanId, PARENT);
    assert.match(d.spanId, /^[0-9a-f]{16}$/);
    assert.notEqual(d.spanId, PARENT);
    assert.equal(d.sampled, sampled, flags);
    // Only the sampled bit is propagated (Level 1 defines no other flag).
    assert.equal(d.upstreamTraceparent, `00-${TRACE}-${d.spanId}-${sampled ? '01' : '00'}`);
    assert.equal(d.tracestate, 'rojo=1,congo=2');
  }
});

test('decideTrace: continuing ignores policy (create off, ratio 0) and downgrades a higher version to 00', () => {
  const ids = new IdSource(countingFiller());
  const d = decideTrace(`cc-${TRACE}-${PARENT}-01-future`, [], policy(false, 0), ids, () => 0);
  assert.ok(d !== null);
  assert.equal(d.traceId, TRACE);
  assert.equal(d.sampled, true);
  assert.ok(d.upstreamTraceparent.startsWith(`00-${TRACE}-`));
  assert.equal(d.upstreamTraceparent.length, 55);
  assert.equal(d.tracestate, null);
});

test('decideTrace: an invalid tracestate is dropped, the traceparent still continued', () => {
  const d = decideTrace(SPEC_EXAMPLE, ['rojo=1,BAD=2'], policy(true, 1), new IdSource(), () => 0);
  assert.ok(d !== null);
  assert.equal(d.traceId, TRACE);
  assert.equal(d.parentSpanId, PARENT);
  assert.equal(d.tracestate, null);
});

test('decideTrace: without a traceparent a new trace is created, sampled by the ratio', () => {
  const ids = new IdSource(countingFiller());
  const sampled = decideTrace(undefined, ['rojo=1'], policy(true, 0.25), ids, () => 0.2);
  assert.ok(sampled !== null);
  assert.match(sampled.traceId, /^[0-9a-f]{32}$/);
  assert.match(sampled.spanId, /^[0-9a-f]{16}$/);
  assert.equal(sampled.parentSpanId, '');
  assert.equal(sampled.sampled, true);
  assert.equal(sampled.upstreamTraceparent, `00-${sampled.traceId}-${sampled.spanId}-01`);
  // A restarted trace does not carry the caller's tracestate.
  assert.equal(sampled.tracestate, null);

  const unsampled = decideTrace(undefined, [], policy(true, 0.25), ids, () => 0.25);
  assert.ok(unsampled !== null);
  assert.equal(unsampled.sampled, false);
  assert.equal(unsampled.upstreamTraceparent, `00-${unsampled.traceId}-${unsampled.spanId}-00`);
  assert.notEqual(unsampled.traceId, sampled.traceId);

  // Ratio 1 samples everything (random() is < 1), ratio 0 nothing (random() is >= 0).
  assert.equal(decideTrace(undefined, [], policy(true, 1), ids, () => 0.9999999)?.sampled, true);
  assert.equal(decideTrace(undefined, [], policy(true, 0), ids, () => 0)?.sampled, false);
});

test('decideTrace: create off adds nothing when there is no valid traceparent', () => {
  const ids = new IdSource(countingFiller());
  assert.equal(decideTrace(undefined, [], policy(false, 1), ids, () => 0), null);
  assert.equal(decideTrace(`00-${TRACE.toUpperCase()}-${PARENT}-01`, ['rojo=1'], policy(false, 1), ids, () => 0), null);
  assert.equal(decideTrace(`00-${'0'.repeat(32)}-${PARENT}-01`, [], policy(false, 1), ids, () => 0), null);
});

test('decideTrace: an invalid traceparent with create on restarts the trace and drops tracestate', () => {
  const ids = new IdSource(countingFiller());
  const d = decideTrace(`00-${TRACE}-${'0'.repeat(16)}-01`, ['rojo=1'], policy(true, 1), ids, () => 0.5);
  assert.ok(d !== null);
  assert.notEqual(d.traceId, TRACE);
  assert.equal(d.parentSpanId, '');
  assert.equal(d.sampled, true);
  assert.equal(d.tracestate, null);
  assert.notEqual(parseTraceparent(d.upstreamTraceparent), null);
});
