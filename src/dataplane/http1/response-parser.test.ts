// The response parser against its corpus (testdata/response-corpus.ts), fed
// whole, byte by byte and in random pieces, plus its contract: one response
// expected at a time, 502 for every anomaly, sticky errors, the 101
// handover, endOfStream semantics.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ResponseHandler, ResponseHead } from './message.ts';
import { ResponseParser } from './response-parser.ts';
import { byteCuts, parseResponses, prng, randomCuts, type ResponseRun } from './test-support/collect.ts';
import { RESPONSE_CORPUS, type ResponseCase } from './testdata/response-corpus.ts';

function check(c: ResponseCase, run: ResponseRun): void {
  const accepted = c.accept ?? [];
  if (c.reject !== undefined) {
    assert.equal(run.outcome, 'error', `${c.name}: expected ${c.reject}, got ${run.outcome}`);
    assert.equal(run.error?.code, c.reject, c.name);
    assert.equal(run.error?.status, 502, `${c.name}: upstream errors are 502`);
  } else {
    assert.equal(run.outcome, c.outcome ?? 'clean', `${c.name}: ${run.error?.code ?? ''}`);
    if (c.upgradeAt !== undefined) assert.equal(run.upgradeAt, c.upgradeAt, `${c.name}: upgrade offset`);
  }
  assert.equal(run.responses.length, accepted.length, `${c.name}: responses`);
  accepted.forEach((exp, k) => {
    const got = run.responses[k]!;
    const { body, trailers, informational, ...headFields } = exp;
    for (const [key, value] of Object.entries(headFields)) assert.deepEqual(got.head[key as keyof ResponseHead], value, `${c.name}: response ${k} ${key}`);
    if (body !== undefined) assert.equal(got.body.toString('latin1'), body, `${c.name}: response ${k} body`);
    if (trailers !== undefined) assert.deepEqual(got.trailers, trailers, `${c.name}: response ${k} trailers`);
    if (informational !== undefined) assert.deepEqual(got.informational.map((h) => h.status), informational, `${c.name}: response ${k} 1xx`);
  });
}

describe('response parser corpus', () => {
  for (const c of RESPONSE_CORPUS) {
    test(c.name, () => {
      const input = Buffer.from(c.raw, 'latin1');
      const eof = c.eof ?? true;
      const whole = parseResponses(input, c.methods, undefined, eof, c.limits);
      check(c, whole);
      assert.deepEqual(parseResponses(input, c.methods, byteCuts(input.length), eof, c.limits), whole, 'byte by byte');
      const random = prng(input.length + 17);
      for (let k = 0; k < 8; k++) assert.deepEqual(parseResponses(input, c.methods, randomCuts(input.length, random, 1 + k * 4), eof, c.limits), whole, 'random pieces');
    });
  }
});

class Recorder implements ResponseHandler {
  events: string[] = [];
  onInformational(head: ResponseHead): void {
    this.events.push(`1xx ${head.status}`);
  }
  onHead(head: ResponseHead): void {
    this.events.push(`head ${head.status} ${head.framing}`);
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

describe('response parser contract', () => {
  test('101: consumed covers the head only; the parser then refuses bytes', () => {
    const r = new Recorder();
    const p = new ResponseParser(r);
    p.expectResponse('GET');
    const head = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n';
    const outcome = p.execute(Buffer.from(`${head}\x81\x00`, 'latin1'));
    assert.deepEqual(outcome, { kind: 'upgrade', consumed: head.length });
    assert.deepEqual(r.events, ['head 101 none']);
    assert.equal(p.execute(Buffer.from('x')).kind, 'error');
    assert.equal(p.error?.code, 'unexpected-data');
  });

  test('the upgrade value of a 101 is reported', () => {
    let seen: ResponseHead | undefined;
    const p = new ResponseParser({ ...new Recorder(), onHead: (h) => (seen = h), onInformational: () => {}, onBody: () => {}, onTrailers: () => {}, onMessageComplete: () => {} });
    p.expectResponse('GET');
    p.execute(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'));
    assert.equal(seen?.upgrade, 'websocket');
  });

  test('one response at a time', () => {
    const p = new ResponseParser(new Recorder());
    p.expectResponse('GET');
    assert.throws(() => p.expectResponse('GET'), /outstanding/);
    assert.equal(p.execute(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n')).kind, 'complete');
    assert.equal(p.idle, true);
    p.expectResponse('GET');
  });

  test('endOfStream completes a close-delimited body exactly once', () => {
    const r = new Recorder();
    const p = new ResponseParser(r);
    p.expectResponse('GET');
    assert.equal(p.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\nabc')).kind, 'need-more');
    assert.equal(p.endOfStream(), undefined);
    assert.equal(p.endOfStream(), undefined);
    assert.deepEqual(r.events, ['head 200 close', 'body abc', 'complete']);
  });

  test('errors are sticky and 502; reset() clears them', () => {
    const p = new ResponseParser(new Recorder());
    p.expectResponse('GET');
    const bad = p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx'));
    assert.equal(bad.kind, 'error');
    assert.equal(p.error?.status, 502);
    assert.equal(p.endOfStream(), p.error);
    assert.throws(() => p.expectResponse('GET'));
    p.reset();
    p.expectResponse('GET');
    assert.equal(p.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')).kind, 'complete');
  });
});
