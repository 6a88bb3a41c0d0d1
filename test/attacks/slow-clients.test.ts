// Slowloris, slow POST and idle connections (security.md R10) against a
// proxy with short deadlines: header deadline 400 ms (408 + close, however
// steadily the client trickles), whole-request deadline 1000 ms (408 before a
// response), keep-alive idle 400 ms (silent close). Margins are wide: a
// deadline must fire no earlier than its value minus the sweep resolution
// and well before the client would have finished.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HTTP1_ENGINES, type RunningProxy, startProxy } from '../../src/dataplane/proxy/test-support/harness.ts';
import { type CountingBackend, oneHostSpec, rawSend, req, startCountingBackend } from './support.ts';

const HEADERS_MS = 400;
const REQUEST_MS = 1000;
const IDLE_MS = 400;

for (const engine of HTTP1_ENGINES) {
  describe(`[${engine}] attacks: slow clients`, () => {
    let a: CountingBackend;
    let p: RunningProxy;

    before(async () => {
      a = await startCountingBackend('a');
      p = await startProxy(
        oneHostSpec(a.port),
        { engine, headersTimeoutMs: HEADERS_MS, requestTimeoutMs: REQUEST_MS, keepAliveTimeoutMs: IDLE_MS },
      );
    });
    after(async () => {
      await p.close();
      await a.close();
    });

    test('slowloris: a head sent one byte every 100 ms is cut at the header deadline with 408', async () => {
      a.clear();
      const head = req('GET / HTTP/1.1', 'Host: a.test', 'User-Agent: slowloris', 'X-Padding: aaaaaaaaaaaaaaaaaaaa');
      // ~80 bytes: 8 s to send in full; the deadline is 0.4 s.
      const r = await rawSend(p.port, [...head], { gapMs: 100, settleMs: 3000, timeoutMs: 6000 });
      assert.deepEqual(r.statuses, [408], r.raw);
      assert.equal(r.closed, true);
      assert.ok(r.elapsedMs >= HEADERS_MS - 150 && r.elapsedMs < HEADERS_MS + 2500, `cut after ${r.elapsedMs} ms`);
      assert.equal(a.seen.length, 0);
      assert.equal(a.connections, 0, 'nothing reached the backend');
    });

    test('a connection that sends nothing is closed at the header deadline without an answer', async () => {
      const r = await rawSend(p.port, [], { settleMs: 3000, timeoutMs: 4000 });
      assert.equal(r.closed, true);
      // martello: silent close (no request was started); node:http answers 408 anyway.
      if (engine === 'martello') assert.equal(r.raw, '', 'no bytes for a connection that never started a request');
      else assert.deepEqual(r.statuses, [408]);
      assert.ok(r.elapsedMs < HEADERS_MS + 2500, `closed after ${r.elapsedMs} ms`);
    });

    test('slow POST: a body trickled past the request deadline gets 408 and a close; the backend never sees a complete request', async () => {
      a.clear();
      const head = req('POST /upload HTTP/1.1', 'Host: a.test', 'Content-Length: 100');
      const body = 'x'.repeat(100);
      // 100 bytes at one per 100 ms: 10 s; the request deadline is 1 s.
      const r = await rawSend(p.port, [head, ...body], { gapMs: 100, settleMs: 4000, timeoutMs: 8000 });
      if (engine === 'martello') assert.deepEqual(r.statuses, [408], r.raw);
      else assert.ok(r.statuses.length === 0 || (r.statuses.length === 1 && r.statuses[0] === 408), `node engine: ${JSON.stringify(r.raw.slice(0, 80))}`);
      assert.equal(r.closed, true);
      assert.ok(r.elapsedMs >= REQUEST_MS - 400 && r.elapsedMs < REQUEST_MS + 3000, `cut after ${r.elapsedMs} ms`);
      assert.equal(a.seen.length, 0, 'the backend never parsed a complete request');
    });

    test('keep-alive idle: closed silently after the idle time', async () => {
      a.clear();
      const r = await rawSend(p.port, req('GET /ka HTTP/1.1', 'Host: a.test'), { settleMs: 3000, timeoutMs: 5000 });
      assert.deepEqual(r.statuses, [200]);
      assert.equal(r.closed, true);
      assert.equal(r.responses.length, 1, 'nothing but the one response');
      assert.ok(r.elapsedMs >= IDLE_MS - 150 && r.elapsedMs < IDLE_MS + 2500, `closed after ${r.elapsedMs} ms`);
      assert.deepEqual(
        a.seen.map((s) => s.url),
        ['/ka'],
      );
    });

    test('the header deadline is per request: a slow second request on a kept-alive connection is cut too', async () => {
      a.clear();
      const second = req('GET /second HTTP/1.1', 'Host: a.test', 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
      const r = await rawSend(p.port, [req('GET /first HTTP/1.1', 'Host: a.test'), ...second], { gapMs: 60, settleMs: 3000, timeoutMs: 8000 });
      assert.equal(r.statuses[0], 200);
      assert.equal(r.closed, true);
      // martello: 408 for the started head; node: 408 too (headersTimeout counts from the first byte of the head).
      assert.deepEqual(r.statuses, [200, 408], r.raw.slice(-200));
      assert.deepEqual(
        a.seen.map((s) => s.url),
        ['/first'],
      );
    });
  });
}
