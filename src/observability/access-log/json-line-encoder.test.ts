// The byte encoder must write exactly the UTF-8 of the string formatter's
// JSON line (format.ts), for every record: the string formatter is the
// specification (its own tests check the JSON), this checks the copy.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ExchangeRecord, type HttpProtocol, type RouteRef } from '../exchange-record.ts';
import { compileAccessLogFormat, MAX_VALUE_CHARS, type AccessLogFormatter } from './format.ts';
import { JSON_LINE_ENCODER, STRING_LINE_ENCODER } from './json-line-encoder.ts';
import { typical } from './test-support/records.ts';

const JSON_FORMAT = compileAccessLogFormat('json') as AccessLogFormatter;

function expected(r: ExchangeRecord): Buffer {
  return Buffer.from(JSON_FORMAT.format(r) + '\n', 'utf8');
}

/** Encodes r at offset `at` of a buffer of exactly the room maxBytes promises. */
function encoded(r: ExchangeRecord, at = 0): Buffer {
  const room = JSON_LINE_ENCODER.maxBytes(r);
  const out = new Uint8Array(at + room);
  const end = JSON_LINE_ENCODER.encode(r, out, at);
  assert.ok(end - at <= room, `encode wrote ${end - at} bytes, maxBytes promised ${room}`);
  return Buffer.from(out.subarray(at, end));
}

function routeRef(namespace: string, ingress: string, service: string): RouteRef {
  return Object.freeze({ namespace, ingress, service, host: 'h', key: `${namespace}\0${ingress}\0${service}`, hostKey: '' });
}

// Strings of every kind a client can put in a value: plain ASCII, quotes and
// backslashes, controls, non-ASCII, lone surrogates, U+2028, '?' (paths).
const anyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('a', '"', '\\', '\n', '\u0000', '\u007f', 'é', '\u2028', '\ud800', '\udc00', '😀', '?', '/'), maxLength: 30 }),
  fc.constant(''),
);
const longString = fc.integer({ min: MAX_VALUE_CHARS - 2, max: MAX_VALUE_CHARS + 40 }).chain((n) => fc.constantFrom('x'.repeat(n), 'é'.repeat(n), '\u0001'.repeat(n), 'x'.repeat(n - 1) + '\ud83d\ude00'));
const value = fc.oneof({ weight: 5, arbitrary: anyString }, { weight: 1, arbitrary: longString });
const number = fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.constantFrom(0, 9, 10, 99, 100, 2 ** 53 - 1, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, -0));
const duration = fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.double(), fc.constantFrom(0, 0.0005, 0.0015, 9e12, 9e12 - 1, -1, Number.NaN));
const wall = fc.oneof(fc.integer({ min: 1, max: 4_102_444_800_000 }), fc.double(), fc.constantFrom(0, -5, 8.64e15, 8.64e15 + 1, Number.NaN));

const record = fc.record({
  start: fc.double({ min: 0, max: 1e7, noNaN: true }),
  took: duration,
  wall,
  method: fc.oneof(fc.constantFrom('GET', 'POST', 'HEAD', 'PURGE'), value),
  host: value,
  path: value,
  protocol: fc.constantFrom<HttpProtocol>('HTTP/1.0', 'HTTP/1.1', 'HTTP/2'),
  tls: fc.oneof(fc.constantFrom('', 'TLSv1.2', 'TLSv1.3'), value),
  client: value,
  route: fc.option(fc.tuple(value, value, value)),
  status: number,
  bytesIn: number,
  bytesOut: number,
  upstream: value,
  upstreamStart: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e7, noNaN: true })),
  upstreamTook: duration,
  requestId: value,
  traceId: value,
});

function build(v: typeof record extends fc.Arbitrary<infer T> ? T : never, r = new ExchangeRecord()): ExchangeRecord {
  r.reset();
  r.startedAt = v.start;
  r.endedAt = v.start + v.took;
  r.startedWall = v.wall;
  r.method = v.method;
  r.host = v.host;
  r.path = v.path;
  r.protocol = v.protocol;
  r.tls = v.tls;
  r.clientAddress = v.client;
  r.route = v.route === null ? null : routeRef(...v.route);
  r.status = v.status;
  r.bytesIn = v.bytesIn;
  r.bytesOut = v.bytesOut;
  r.upstream = v.upstream;
  r.upstreamStartedAt = v.upstreamStart;
  r.upstreamHeadAt = v.upstreamStart === 0 ? 0 : v.upstreamStart + v.upstreamTook;
  r.requestId = v.requestId;
  r.traceId = v.traceId;
  return r;
}

describe('JSON_LINE_ENCODER', () => {
  test('a typical request: the bytes of the string formatter, newline included', () => {
    const r = typical();
    assert.deepEqual(encoded(r), expected(r));
    assert.equal(encoded(r).toString().at(-1), '\n');
    JSON.parse(encoded(r).toString());
  });

  test('an unrouted local answer with no upstream, no TLS and no trace: nulls, as the string formatter writes them', () => {
    const r = new ExchangeRecord();
    r.startedAt = 5;
    r.endedAt = 5.25;
    r.startedWall = Date.UTC(2026, 10, 24, 0, 0, 0, 7);
    r.method = 'GET';
    r.host = 'unknown.example';
    r.path = '/x?token=secret';
    r.status = 404;
    const bytes = encoded(r);
    assert.deepEqual(bytes, expected(r));
    const parsed = JSON.parse(bytes.toString()) as Record<string, unknown>;
    assert.equal(parsed.path, '/x', 'the query is never logged');
    assert.equal(parsed.upstream, null);
    assert.equal(parsed.namespace, null);
    assert.equal(parsed.time, '2026-11-24T00:00:00.007Z');
  });

  test('values that need escaping, non-ASCII and over-long values take the string path and come out identical', () => {
    const r = typical();
    r.path = '/caf\u00e9/"quoted"\\back\u0001\u2028\ud800';
    r.host = 'h'.repeat(MAX_VALUE_CHARS + 10);
    r.requestId = '\u00e9'.repeat(MAX_VALUE_CHARS + 1);
    assert.deepEqual(encoded(r), expected(r));
  });

  test('the timestamp cache follows the second: consecutive records across a second boundary', () => {
    const r = typical();
    for (const wallMs of [1_700_000_000_999, 1_700_000_001_000, 1_700_000_000_500, 1_700_000_001_001.9]) {
      r.startedWall = wallMs;
      assert.deepEqual(encoded(r), expected(r), String(wallMs));
    }
  });

  test('durations: every microsecond fraction of a millisecond, as the string formatter writes it', () => {
    const r = typical();
    for (let micros = 0; micros < 3000; micros++) {
      r.startedAt = 1000;
      r.endedAt = 1000 + micros / 1000;
      r.upstreamStartedAt = 1000.5;
      r.upstreamHeadAt = 1000.5 + (2999 - micros) / 1000;
      assert.deepEqual(encoded(r), expected(r), `${micros} µs`);
    }
  });

  test('generated records: identical bytes to the string formatter, at any offset, within maxBytes', () => {
    fc.assert(
      fc.property(record, fc.nat({ max: 64 }), (v, at) => {
        const r = build(v);
        assert.deepEqual(encoded(r, at), expected(r));
      }),
      { numRuns: 400 },
    );
  });

  test('one record reused for a connection\'s exchanges (as the HTTP/1.1 engine does): every line identical to the string formatter\'s, as values repeat and change', () => {
    // A few records, replayed in a generated order through one ExchangeRecord, so that the
    // runs the encoder remembers per record are reused, replaced and reused again.
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { minLength: 2, maxLength: 12 }), (records, order) => {
        const r = new ExchangeRecord();
        for (const i of order) {
          build(records[i % records.length]!, r);
          assert.deepEqual(encoded(r), expected(r));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('a keep-alive connection\'s repeated client, host, method, upstream and route are still written per line, and follow a change', () => {
    const r = typical();
    const lines: Array<Record<string, unknown>> = [];
    for (const [host, upstream] of [['a.example', '10.0.0.1:80'], ['a.example', '10.0.0.1:80'], ['a.example', '10.0.0.1:80'], ['b.example', '10.0.0.2:80'], ['b.example', '10.0.0.2:80']] as const) {
      r.host = host;
      r.upstream = upstream;
      lines.push(JSON.parse(encoded(r).toString()) as Record<string, unknown>);
    }
    assert.deepEqual(lines.map((l) => [l.host, l.upstream, l.client, l.namespace]), [
      ['a.example', '10.0.0.1:80', '10.244.1.17', 'shop'],
      ['a.example', '10.0.0.1:80', '10.244.1.17', 'shop'],
      ['a.example', '10.0.0.1:80', '10.244.1.17', 'shop'],
      ['b.example', '10.0.0.2:80', '10.244.1.17', 'shop'],
      ['b.example', '10.0.0.2:80', '10.244.1.17', 'shop'],
    ]);
  });
});

describe('STRING_LINE_ENCODER', () => {
  test('a line becomes its UTF-8 and a newline, within maxBytes, for any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ maxLength: 60 })), fc.nat({ max: 16 }), (line, at) => {
        const out = new Uint8Array(at + STRING_LINE_ENCODER.maxBytes(line));
        const end = STRING_LINE_ENCODER.encode(line, out, at);
        assert.deepEqual(Buffer.from(out.subarray(at, end)), Buffer.from(line + '\n', 'utf8'));
      }),
      { numRuns: 300 },
    );
  });
});
