// HTTP/2 floods against the proxy's TLS listener (ALPN h2), with a raw-frame
// client (9-byte frame headers, literal HPACK) so that the attacks are sent
// exactly: rapid reset (CVE-2023-44487), CONTINUATION flood (CVE-2024-27316
// class), an HPACK bomb (one dynamic-table entry referenced many times), too
// many header fields, and a header block trickled past the header deadline.
// Most of the protection comes from node:http2 / nghttp2 with the settings
// the proxy passes (maxHeaderListSize, maxHeaderListPairs, maxSessionMemory);
// docs/security-tests.md says which checks are Martello's own and which are
// still missing.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { generateDefaultCertificate } from '../../src/shared/pki/default-certificate.ts';
import { HTTP1_ENGINES, type RunningProxy, startProxy } from '../../src/dataplane/proxy/test-support/harness.ts';
import { type CountingBackend, sleep, startCountingBackend, until } from './support.ts';

// ---------------------------------------------------------------------------
// A raw HTTP/2 client: enough framing and HPACK to send hostile sequences.

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const T_DATA = 0;
const T_HEADERS = 1;
const T_RST_STREAM = 3;
const T_SETTINGS = 4;
const T_GOAWAY = 7;
const T_CONTINUATION = 9;
const F_END_STREAM = 0x1;
const F_END_HEADERS = 0x4;
const F_ACK = 0x1;
const CANCEL = 0x8;
const ENHANCE_YOUR_CALM = 0xb;

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1); `first` carries the pattern bits. */
function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

function hpackString(s: string): Buffer {
  const bytes = Buffer.from(s, 'latin1');
  return Buffer.concat([Buffer.from(hpackInt(bytes.length, 7, 0)), bytes]);
}

/** Literal header field without indexing, new name (RFC 7541 §6.2.2). */
function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)]);
}

/** Literal header field with incremental indexing, new name (§6.2.1): the entry lands at index 62. */
function literalIndexed(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x40]), hpackString(name), hpackString(value)]);
}

/** Indexed header field (§6.1). */
function indexed(index: number): Buffer {
  return Buffer.from(hpackInt(index, 7, 0x80));
}

function requestBlock(path = '/', extra: Buffer[] = []): Buffer {
  return Buffer.concat([literal(':method', 'GET'), literal(':scheme', 'https'), literal(':path', path), literal(':authority', 'a.test'), ...extra]);
}

interface H2Observed {
  goaway: { code: number; lastStream: number } | undefined;
  resets: Map<number, number>;
  /** Streams that got a response HEADERS frame, with its :status when the block was a literal we can read. */
  responses: Set<number>;
  closed: boolean;
  closedAt: number;
}

class RawH2 {
  readonly socket: TLSSocket;
  readonly seen: H2Observed = { goaway: undefined, resets: new Map(), responses: new Set(), closed: false, closedAt: 0 };
  #buf = Buffer.alloc(0);
  #settled: (() => void) | undefined;

  private constructor(socket: TLSSocket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => this.#onData(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.seen.closed = true;
      this.seen.closedAt = Date.now();
    });
  }

  /**
   * Connects, sends the preface, and resolves once the server's SETTINGS
   * were acknowledged: after that the client writes nothing on its own, so
   * a header block the test sends is never interleaved with another frame.
   */
  static open(port: number): Promise<RawH2> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], rejectUnauthorized: false });
      socket.once('secureConnect', () => {
        if (socket.alpnProtocol !== 'h2') reject(new Error(`ALPN gave ${String(socket.alpnProtocol)}`));
        const client = new RawH2(socket);
        client.#settled = () => resolve(client);
        socket.write(Buffer.concat([PREFACE, frame(T_SETTINGS, 0, 0)]));
      });
      socket.once('error', reject);
    });
  }

  /** Writes and resolves when the socket took it (or is gone). */
  send(...frames: Buffer[]): Promise<void> {
    return new Promise((resolve) => {
      if (this.seen.closed || this.socket.destroyed) return resolve();
      const ok = this.socket.write(Buffer.concat(frames), () => resolve());
      if (!ok) this.socket.once('drain', () => resolve());
    });
  }

  get gone(): boolean {
    return this.seen.closed || this.seen.goaway !== undefined;
  }

  close(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, chunk]);
    while (this.#buf.length >= 9) {
      const length = this.#buf.readUIntBE(0, 3);
      if (this.#buf.length < 9 + length) return;
      const type = this.#buf[3]!;
      const flags = this.#buf[4]!;
      const stream = this.#buf.readUInt32BE(5) & 0x7fffffff;
      const payload = this.#buf.subarray(9, 9 + length);
      this.#buf = this.#buf.subarray(9 + length);
      if (type === T_SETTINGS && (flags & F_ACK) === 0) {
        this.socket.write(frame(T_SETTINGS, F_ACK, 0));
        this.#settled?.();
        this.#settled = undefined;
      }
      else if (type === T_GOAWAY) this.seen.goaway = { lastStream: payload.readUInt32BE(0) & 0x7fffffff, code: payload.readUInt32BE(4) };
      else if (type === T_RST_STREAM) this.seen.resets.set(stream, payload.readUInt32BE(0));
      else if (type === T_HEADERS) this.seen.responses.add(stream);
      else if (type === T_DATA) {
        // no flow-control bookkeeping needed for these short answers
      }
    }
  }
}

// ---------------------------------------------------------------------------

for (const engine of HTTP1_ENGINES) {
  describe(`[${engine}] attacks: HTTP/2 floods`, () => {
    let a: CountingBackend;
    let p: RunningProxy;

    before(async () => {
      a = await startCountingBackend('a');
      p = await startProxy(
        { hosts: [{ host: 'a.test', routes: [{ path: '/', cluster: 'a' }] }], clusters: { a: [a.port] } },
        { engine, keepAliveTimeoutMs: 1000, headersTimeoutMs: 500 },
        { fallbackCertificate: generateDefaultCertificate() },
      );
    });
    after(async () => {
      await p.close();
      await a.close();
    });

    test('a well-formed request over the raw client is answered (the client itself works)', async () => {
      a.clear();
      const c = await RawH2.open(p.tlsPort);
      await c.send(frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, 1, requestBlock('/ok')));
      await until(() => c.seen.responses.has(1), 5000, 'a response');
      assert.deepEqual(
        a.seen.map((s) => s.url),
        ['/ok'],
      );
      c.close();
    });

    test('rapid reset: 2000 streams opened and cancelled at once → GOAWAY or close, and the backend sees a fraction of them', async (t) => {
      a.clear();
      const c = await RawH2.open(p.tlsPort);
      const STREAMS = 2000;
      const frames: Buffer[] = [];
      for (let i = 0; i < STREAMS; i++) {
        const id = 1 + 2 * i;
        frames.push(frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, id, requestBlock(`/r${i}`)), frame(T_RST_STREAM, 0, id, Buffer.from([0, 0, 0, CANCEL])));
      }
      for (let i = 0; i < frames.length && !c.gone; i += 200) await c.send(...frames.slice(i, i + 200));
      await until(() => c.gone, 5000, 'GOAWAY or close');
      await sleep(200);
      const reached = a.seen.length;
      c.close();
      // Observed on Node 26: GOAWAY INTERNAL_ERROR (nghttp2's stream-reset rate limit, not Martello's
      // own premature-reset accounting), after a few hundred streams; almost none reach the backend.
      t.diagnostic(`GOAWAY ${JSON.stringify(c.seen.goaway)}, closed ${c.seen.closed}, backend saw ${reached}`);
      assert.ok(c.seen.goaway === undefined || c.seen.goaway.lastStream < 2 * STREAMS, 'GOAWAY before the last stream');
      assert.ok(reached < STREAMS / 10, `backend saw ${reached} of ${STREAMS} cancelled requests`);
    });

    test('CONTINUATION flood: an endless header block → GOAWAY or close within 1 MiB', async (t) => {
      a.clear();
      const c = await RawH2.open(p.tlsPort);
      const started = Date.now();
      await c.send(frame(T_HEADERS, 0, 1, requestBlock('/c')));
      const cont = frame(T_CONTINUATION, 0, 1, literal('x-flood', 'f'.repeat(1000)));
      let sent = 0;
      while (!c.gone && sent < 1024 * 1024) {
        await c.send(...Array.from({ length: 64 }, () => cont));
        sent += 64 * cont.length;
      }
      // Writes complete when the kernel takes them, so `sent` bounds what the proxy read from above.
      assert.ok(c.gone, `no GOAWAY or close after ${sent} bytes of one header block`);
      c.close();
      t.diagnostic(`GOAWAY ${JSON.stringify(c.seen.goaway)} after ${sent} bytes sent, ${Date.now() - started} ms`);
      assert.equal(a.seen.length, 0);
    });

    test('HPACK bomb: a 4000-byte table entry referenced 1000 times → stream or connection refused, never forwarded', async () => {
      a.clear();
      const c = await RawH2.open(p.tlsPort);
      const bomb = [literalIndexed('x-bomb', 'b'.repeat(4000)), ...Array.from({ length: 1000 }, () => indexed(62))];
      await c.send(frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, 1, requestBlock('/bomb', bomb)));
      await until(() => c.gone || c.seen.resets.has(1) || c.seen.responses.has(1), 5000, 'an answer');
      await sleep(100);
      c.close();
      assert.equal(a.seen.length, 0, 'the backend never saw the 4 MB header list');
      // Observed: RST_STREAM ENHANCE_YOUR_CALM on the stream (nghttp2 with maxHeaderListSize 16 KiB).
      assert.equal(c.seen.resets.get(1), ENHANCE_YOUR_CALM, JSON.stringify({ goaway: c.seen.goaway, resets: [...c.seen.resets] }));
      assert.equal(c.seen.responses.has(1), false);
    });

    test('130 header fields (over maxHeaderListPairs 128) → the stream is refused, never forwarded', async () => {
      a.clear();
      const c = await RawH2.open(p.tlsPort);
      const many = Array.from({ length: 130 }, (_, i) => literal(`x-f${i}`, 'v'));
      await c.send(frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, 1, requestBlock('/many', many)));
      await until(() => c.gone || c.seen.resets.has(1) || c.seen.responses.has(1), 5000, 'an answer');
      await sleep(100);
      c.close();
      assert.equal(a.seen.length, 0);
      assert.equal(c.seen.resets.get(1), ENHANCE_YOUR_CALM, JSON.stringify([...c.seen.resets]));
    });

    // Gap, security.md R10: "a header timeout for HTTP/2 streams (Node has none built in)".
    // Observed on both engines: a HEADERS frame without END_HEADERS, followed by a few
    // CONTINUATIONs and then silence, is never refused: the session idle timer
    // (keepAliveTimeoutMs) sends a graceful GOAWAY NO_ERROR that still admits the stream, and the
    // connection then stays open until the client leaves or the proxy drains (30 s in close()).
    // The request never reaches the backend. (A block of more than about 8 CONTINUATION frames is
    // refused by nghttp2 with GOAWAY INTERNAL_ERROR: a count limit, not a deadline.)
    test('an unfinished header block is refused at headersTimeoutMs (500 ms) and the connection closed', { todo: 'no per-stream HTTP/2 header deadline yet (h2-stream-server.ts / proxy-server.ts)' }, async () => {
      a.clear();
      const c = await RawH2.open(p.tlsPort);
      try {
        const started = Date.now();
        await c.send(frame(T_HEADERS, 0, 1, requestBlock('/slow')));
        for (let i = 0; i < 4 && !c.seen.closed && c.seen.resets.size === 0; i++) {
          await sleep(150);
          await c.send(frame(T_CONTINUATION, 0, 1, literal(`x-s${i}`, 's')));
        }
        while (!c.seen.closed && !c.seen.resets.has(1) && Date.now() - started < 1300) await sleep(20);
        const refusedAfter = Date.now() - started;
        assert.equal(a.seen.length, 0, 'the unfinished request reached the backend');
        assert.ok((c.seen.closed || c.seen.resets.has(1)) && refusedAfter < 1300, `not refused (${refusedAfter} ms, GOAWAY ${JSON.stringify(c.seen.goaway)})`);
      } finally {
        c.close();
      }
    });
  });
}
