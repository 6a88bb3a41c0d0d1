// The request parser against the hand-written corpus (testdata/), each case
// fed whole, byte by byte and in random pieces: incrementality must never
// change what is accepted, where messages end, or which error is reported.
// Plus the parser's own contract: errors are sticky, reset() clears them,
// offsets and consumed counts, limits validation.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RequestParser } from './request-parser.ts';
import type { RequestHandler, RequestHead } from './message.ts';
import { byteCuts, parseRequests, prng, randomCuts, type RequestRun } from './test-support/collect.ts';
import { type MessageExpectation, REQUEST_CORPUS, type RequestCase } from './testdata/request-corpus.ts';

const RANDOM_SPLITS = 12;

function checkExpectations(c: RequestCase, run: RequestRun): void {
  const accepted = c.accept ?? [];
  if (c.reject !== undefined) {
    assert.equal(run.outcome, 'error', `${c.name}: expected rejection, got ${run.outcome}`);
    assert.deepEqual({ status: run.error?.status, code: run.error?.code }, c.reject, c.name);
  } else {
    assert.equal(run.outcome, c.end ?? 'clean', `${c.name}: ${run.error?.code ?? ''}`);
  }
  assert.equal(run.messages.length, accepted.length, `${c.name}: messages accepted`);
  accepted.forEach((exp: MessageExpectation, k) => {
    const got = run.messages[k]!;
    const { body, trailers, absolute, end, ...headFields } = exp;
    for (const [key, value] of Object.entries(headFields)) {
      assert.deepEqual(got.head[key as keyof RequestHead], value, `${c.name}: message ${k} ${key}`);
    }
    if (absolute !== undefined) {
      for (const [key, value] of Object.entries(absolute)) assert.deepEqual(got.head.absolute?.[key as keyof typeof absolute], value, `${c.name}: absolute.${key}`);
    }
    if (body !== undefined) assert.equal(got.body.toString('latin1'), body, `${c.name}: message ${k} body`);
    if (trailers !== undefined) assert.deepEqual(got.trailers, trailers, `${c.name}: message ${k} trailers`);
    if (end !== undefined) assert.equal(got.end, end, `${c.name}: message ${k} end`);
  });
}

describe('request parser corpus', () => {
  for (const c of REQUEST_CORPUS) {
    test(c.name, () => {
      const input = Buffer.from(c.raw, 'latin1');
      const whole = parseRequests(input, undefined, c.limits);
      checkExpectations(c, whole);
      assert.deepEqual(parseRequests(input, byteCuts(input.length), c.limits), whole, 'byte by byte');
      const random = prng(input.length * 7919 + c.name.length);
      for (let k = 0; k < RANDOM_SPLITS; k++) {
        const cuts = randomCuts(input.length, random, 1 + k * 3);
        assert.deepEqual(parseRequests(input, cuts, c.limits), whole, `cuts ${cuts.join(',')}`);
      }
    });
  }
});

function headOfSize(valueLength: number): Buffer {
  return Buffer.from(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'v'.repeat(valueLength)}\r\n\r\n`);
}

class Recorder implements RequestHandler {
  events: string[] = [];
  heads: RequestHead[] = [];
  onHead(head: RequestHead): void {
    this.heads.push(head);
    this.events.push(`head ${head.method} ${head.target}`);
  }
  onBody(data: Buffer, start: number, end: number): void {
    this.events.push(`body ${data.toString('latin1', start, end)}`);
  }
  onTrailers(trailers: string[]): void {
    this.events.push(`trailers ${trailers.join('|')}`);
  }
  onMessageComplete(): void {
    this.events.push('complete');
  }
}

describe('request parser contract', () => {
  test('stops at each message boundary and reports consumed bytes from start', () => {
    const r = new Recorder();
    const p = new RequestParser(r);
    const data = Buffer.from('xxGET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nokyy', 'latin1');
    const first = p.execute(data, 2, data.length - 2);
    assert.deepEqual(first, { kind: 'complete', consumed: 28 });
    assert.equal(p.atMessageBoundary, true);
    const second = p.execute(data, 2 + 28, data.length - 2);
    assert.deepEqual(second, { kind: 'complete', consumed: data.length - 4 - 28 });
    assert.deepEqual(r.events, ['head GET /1', 'complete', 'head POST /2', 'body ok', 'complete']);
  });

  test('need-more takes every byte; a partial head is kept across calls', () => {
    const r = new Recorder();
    const p = new RequestParser(r);
    const a = Buffer.from('GET /x HTTP/1.1\r\nHo', 'latin1');
    assert.deepEqual(p.execute(a), { kind: 'need-more', consumed: a.length });
    assert.equal(p.atMessageBoundary, false);
    a.fill(0); // the parser must have copied what it needs
    assert.deepEqual(p.execute(Buffer.from('st: a\r\n\r\n')), { kind: 'complete', consumed: 9 });
    assert.deepEqual(r.heads[0]?.headers, ['Host', 'a']);
    assert.equal(r.heads[0]?.target, '/x');
  });

  test('body bytes are delivered as ranges of the caller buffer as they arrive', () => {
    const r = new Recorder();
    const p = new RequestParser(r);
    assert.equal(p.execute(Buffer.from('PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nab')).kind, 'need-more');
    assert.equal(p.execute(Buffer.from('cd')).kind, 'need-more');
    assert.deepEqual(p.execute(Buffer.from('efGET')), { kind: 'complete', consumed: 2 });
    assert.deepEqual(r.events, ['head PUT /', 'body ab', 'body cd', 'body ef', 'complete']);
  });

  test('an error is sticky until reset()', () => {
    const r = new Recorder();
    const p = new RequestParser(r);
    const bad = p.execute(Buffer.from('GET / HTTP/1.1\nHost: a\n\n'));
    assert.equal(bad.kind, 'error');
    assert.equal(p.error?.code, 'bare-lf');
    assert.deepEqual(p.execute(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n')), bad);
    assert.equal(r.events.length, 0);
    p.reset();
    assert.equal(p.error, undefined);
    assert.equal(p.execute(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n')).kind, 'complete');
  });

  test('a rejected head never reaches onHead', () => {
    const r = new Recorder();
    const p = new RequestParser(r);
    assert.equal(p.execute(Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n')).kind, 'error');
    assert.deepEqual(r.events, []);
  });

  test('limits are validated', () => {
    const r = new Recorder();
    assert.throws(() => new RequestParser(r, { maxHeaders: 0 }), RangeError);
    assert.throws(() => new RequestParser(r, { maxHeadBytes: 100, maxStartLineBytes: 200 }), RangeError);
    assert.throws(() => new RequestParser(r, { maxBodyBytes: 1.5 }), RangeError);
    assert.equal(new RequestParser(r, { maxHeaders: 3 }).limits.maxHeaders, 3);
  });

  test('limits are exact: a head of exactly maxHeadBytes passes, one byte more is 431', () => {
    const size = headOfSize(0).length;
    const exact = parseRequests(headOfSize(100), undefined, { maxHeadBytes: size + 100, maxStartLineBytes: 16 });
    assert.equal(exact.outcome, 'clean');
    const over = parseRequests(headOfSize(101), undefined, { maxHeadBytes: size + 100, maxStartLineBytes: 16 });
    assert.equal(over.error?.code, 'head-too-large');
    assert.equal(parseRequests(Buffer.from('GET /abcdefgh HTTP/1.1\r\nHost: a\r\n\r\n'), undefined, { maxStartLineBytes: 24 }).outcome, 'clean');
    assert.equal(parseRequests(Buffer.from('GET /abcdefghi HTTP/1.1\r\nHost: a\r\n\r\n'), undefined, { maxStartLineBytes: 24 }).error?.code, 'request-line-too-long');
  });

  test('an endless request line is refused at the limit, not buffered', () => {
    const p = new RequestParser(new Recorder());
    const piece = Buffer.alloc(1024, 0x61);
    assert.equal(p.execute(Buffer.from('GET /')).kind, 'need-more');
    let outcome = p.execute(piece);
    for (let i = 0; i < 8 && outcome.kind === 'need-more'; i++) outcome = p.execute(piece);
    assert.equal(outcome.kind, 'error');
    assert.equal(p.error?.status, 414);
  });
});
