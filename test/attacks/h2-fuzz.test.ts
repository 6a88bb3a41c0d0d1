// Random HTTP/2 frame sequences against Martello's own HTTP/2 server (h2c
// prior knowledge on the plain listener): whatever a client sends, the proxy
// process keeps running and keeps serving. Each generated case opens a
// connection, sends the preface, SETTINGS and a random run of frames (any
// type, flags, stream ids near the edges, random payloads or real request
// header blocks), then a PING; afterwards a fresh connection must get its
// GET answered by the backend. A frame that made the server throw would
// crash this test process (the server runs in it), and a server left
// unable to serve fails the follow-up request. fast-check, fixed seed; the
// conformance suite (h2-conformance.test.ts) checks the exact answers.

import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { type RunningProxy, startProxy } from '../../src/dataplane/proxy/test-support/harness.ts';
import { frame, literal, PREFACE } from './h2-raw.ts';
import { type CountingBackend, oneHostSpec, rawSend, startCountingBackend, until } from './support.ts';

const T_HEADERS = 0x1;
const T_SETTINGS = 0x4;
const T_PING = 0x6;
const F_END_STREAM = 0x1;
const F_END_HEADERS = 0x4;

function requestBlock(path: string, method = 'GET'): Buffer {
  return Buffer.concat([literal(':method', method), literal(':scheme', 'http'), literal(':path', path), literal(':authority', 'a.test')]);
}

/** One GET over a fresh h2c connection: true when a response HEADERS frame for stream 1 arrives. */
function served(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const socket: Socket = connect(port, '127.0.0.1', () => {
      socket.write(Buffer.concat([PREFACE, frame(T_SETTINGS, 0, 0), frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, 1, requestBlock('/after'))]));
    });
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), 5000);
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      for (let pos = 0; buf.length - pos >= 9; ) {
        const length = buf.readUIntBE(pos, 3);
        if (buf[pos + 3] === T_HEADERS && (buf.readUInt32BE(pos + 5) & 0x7fffffff) === 1) return finish(true);
        pos += 9 + length;
      }
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}

const streamId = fc.oneof(fc.constantFrom(0, 1, 2, 3, 5, 7, 0x7fffffff), fc.integer({ min: 0, max: 0x7fffffff }));
const randomFrame = fc
  .record({
    type: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 10, max: 255 })),
    flags: fc.oneof(fc.constantFrom(0, F_END_STREAM, F_END_HEADERS, F_END_STREAM | F_END_HEADERS, 0x8, 0x20, 0x2d), fc.integer({ min: 0, max: 255 })),
    stream: streamId,
    payload: fc.oneof(
      fc.uint8Array({ maxLength: 48 }).map((a) => Buffer.from(a)),
      fc.constantFrom('/x', '/y', '*').map((p) => requestBlock(p)),
      fc.uint8Array({ minLength: 4, maxLength: 4 }).map((a) => Buffer.from(a)),
      fc.uint8Array({ minLength: 8, maxLength: 8 }).map((a) => Buffer.from(a)),
    ),
  })
  .map(({ type, flags, stream, payload }) => frame(type, flags, stream, payload));

describe('[martello engine, own HTTP/2 server] random frame sequences', () => {
  let a: CountingBackend;
  let p: RunningProxy;

  before(async () => {
    a = await startCountingBackend('a');
    p = await startProxy(
      oneHostSpec(a.port),
      { engine: 'martello', h2Server: 'martello', h2c: true, keepAliveTimeoutMs: 1000, headersTimeoutMs: 500 },
    );
  });
  after(async () => {
    await p.close();
    await a.close();
  });

  test('120 random frame runs: the process keeps running and a fresh connection is served after each', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(randomFrame, { minLength: 1, maxLength: 24 }), async (frames) => {
        const bytes = Buffer.concat([PREFACE, frame(T_SETTINGS, 0, 0), ...frames, frame(T_PING, 0, 0, Buffer.alloc(8))]);
        // The server's answers do not matter here; the connection is dropped after 150 ms at most.
        await rawSend(p.port, bytes, { timeoutMs: 150 });
        assert.ok(await served(p.port), 'a fresh connection was not served after the frames');
      }),
      { numRuns: 120, seed: 9113 },
    );
    await until(() => a.seen.length >= 120, 5000, 'the follow-up requests at the backend');
  });
});
