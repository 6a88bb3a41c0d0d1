// HTTP/2 floods against the proxy's TLS listener (ALPN h2), with a raw-frame
// client (9-byte frame headers, literal HPACK) so that the attacks are sent
// exactly: rapid reset (CVE-2023-44487), CONTINUATION flood (CVE-2024-27316
// class), an HPACK bomb (one dynamic-table entry referenced many times), too
// many header fields, and a header block trickled past the header deadline.
// The limits are node:http2 / nghttp2's with the settings the proxy passes
// (maxHeaderListSize, maxHeaderListPairs, ...); the header-phase deadline and
// the premature-reset accounting are Martello's own (h2-session-guard.ts).
// With the martello engine the suite runs against both HTTP/2 servers:
// Martello's own (h2-connection.ts, which applies the same limits itself)
// and node:http2.
// docs/security-tests.md says which is which.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { generateDefaultCertificate } from '../../src/shared/pki/default-certificate.ts';
import { H2_SERVERS, HTTP1_ENGINES, type RunningProxy, startProxy } from '../../src/dataplane/proxy/test-support/harness.ts';
import type { H2ServerKind, Http1EngineKind } from '../../src/dataplane/proxy/options.ts';
import { type CountingBackend, oneHostSpec, sleep, startCountingBackend, until } from './support.ts';
import { frame, hpackInt, hpackString, literal, PREFACE } from './h2-raw.ts';

// ---------------------------------------------------------------------------
// A raw HTTP/2 client: enough framing and HPACK to send hostile sequences.

const T_DATA = 0;
const T_HEADERS = 1;
const T_RST_STREAM = 3;
const T_SETTINGS = 4;
const T_GOAWAY = 7;
const T_CONTINUATION = 9;
const F_END_STREAM = 0x1;
const F_END_HEADERS = 0x4;
const F_ACK = 0x1;
const NO_ERROR = 0x0;
const CANCEL = 0x8;
const ENHANCE_YOUR_CALM = 0xb;

/** Literal header field with incremental indexing, new name (§6.2.1): the entry lands at index 62. */
function literalIndexed(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x40]), hpackString(name), hpackString(value)]);
}

/** Indexed header field (§6.1). */
function indexed(index: number): Buffer {
  return Buffer.from(hpackInt(index, 7, 0x80));
}

function requestBlock(path = '/', extra: Buffer[] = [], method = 'GET'): Buffer {
  return Buffer.concat([literal(':method', method), literal(':scheme', 'https'), literal(':path', path), literal(':authority', 'a.test'), ...extra]);
}

/** `n` header fields `x-fN: v`. */
function fields(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => literal(`x-f${i}`, 'v'));
}

/** Header fields of exactly 1 KiB each as HTTP/2 counts them (name + value + 32 bytes). */
function kibOfFields(kib: number): Buffer[] {
  return Array.from({ length: kib }, (_, i) => literal(`x-l${i}`, 'l'.repeat(1024 - 32 - `x-l${i}`.length)));
}

/** A whole request header block (END_STREAM) split into HEADERS + CONTINUATIONs under the 16 KiB frame size. */
function headerBlockFrames(id: number, payload: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < payload.length; at += 16_000) parts.push(payload.subarray(at, at + 16_000));
  return parts.map((part, i) => frame(i === 0 ? T_HEADERS : T_CONTINUATION, (i === 0 ? F_END_STREAM : 0) | (i === parts.length - 1 ? F_END_HEADERS : 0), id, part));
}

interface H2Observed {
  /** The first GOAWAY received, with its debug data as text (later ones, if any, are in `goaways`). */
  goaway: { code: number; lastStream: number; debug: string } | undefined;
  goaways: Array<{ code: number; lastStream: number; debug: string }>;
  resets: Map<number, number>;
  /** Streams that got a response HEADERS frame, with its :status when the block was a literal we can read. */
  responses: Set<number>;
  closed: boolean;
  closedAt: number;
}

class RawH2 {
  readonly socket: TLSSocket;
  readonly seen: H2Observed = { goaway: undefined, goaways: [], resets: new Map(), responses: new Set(), closed: false, closedAt: 0 };
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
      else if (type === T_GOAWAY) {
        const goaway = { lastStream: payload.readUInt32BE(0) & 0x7fffffff, code: payload.readUInt32BE(4), debug: payload.subarray(8).toString('latin1') };
        this.seen.goaway ??= goaway;
        this.seen.goaways.push(goaway);
      }
      else if (type === T_RST_STREAM) this.seen.resets.set(stream, payload.readUInt32BE(0));
      else if (type === T_HEADERS) this.seen.responses.add(stream);
      else if (type === T_DATA) {
        // no flow-control bookkeeping needed for these short answers
      }
    }
  }
}

/** martello_http2_sessions_refused_total{reason} of this proxy. */
function refused(p: RunningProxy, reason: 'header_timeout' | 'premature_resets'): number {
  return p.proxy.observer.metrics.h2SessionsRefused[reason];
}

// ---------------------------------------------------------------------------

/** Each engine; with the martello engine, each HTTP/2 server (the node engine always serves HTTP/2 with node:http2). */
const VARIANTS: ReadonlyArray<readonly [Http1EngineKind, H2ServerKind]> = HTTP1_ENGINES.flatMap(
  (e): Array<readonly [Http1EngineKind, H2ServerKind]> => (e === 'martello' ? H2_SERVERS.map((h) => [e, h] as const) : [[e, 'node']]),
);

for (const [engine, h2Server] of VARIANTS) {
  describe(`[${engine}, h2Server ${h2Server}] attacks: HTTP/2 floods`, () => {
    let a: CountingBackend;
    let p: RunningProxy;

    before(async () => {
      a = await startCountingBackend('a');
      p = await startProxy(
        oneHostSpec(a.port),
        { engine, h2Server, keepAliveTimeoutMs: 1000, headersTimeoutMs: 500 },
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

    // Martello's premature-reset accounting (h2-session-guard.ts): half of the first 200 streams
    // closed before their response head, within 1 s → GOAWAY ENHANCE_YOUR_CALM. Without it, node:http2's
    // limit of 100 streams refused in a row ends the session with GOAWAY INTERNAL_ERROR after about
    // 200 streams. A RST_STREAM NO_ERROR counts the same as CANCEL.
    for (const [codeName, rstCode] of [['CANCEL', CANCEL], ['NO_ERROR', NO_ERROR]] as const) {
      test(`rapid reset: 2000 streams opened and reset (${codeName}) at once → GOAWAY ENHANCE_YOUR_CALM within the first 200 streams, the backend sees few`, async (t) => {
        a.clear();
        const refusedBefore = refused(p, 'premature_resets');
        const c = await RawH2.open(p.tlsPort);
        const STREAMS = 2000;
        const frames: Buffer[] = [];
        for (let i = 0; i < STREAMS; i++) {
          const id = 1 + 2 * i;
          frames.push(frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, id, requestBlock(`/r${i}`)), frame(T_RST_STREAM, 0, id, Buffer.from([0, 0, 0, rstCode])));
        }
        for (let i = 0; i < frames.length && !c.gone; i += 200) await c.send(...frames.slice(i, i + 200));
        await until(() => c.gone, 5000, 'GOAWAY or close');
        await until(() => c.seen.closed, 5000, 'the connection closed');
        await sleep(200);
        const reached = a.seen.length;
        c.close();
        t.diagnostic(`GOAWAY ${JSON.stringify(c.seen.goaways)}, closed ${c.seen.closed}, backend saw ${reached}`);
        assert.equal(c.seen.goaway?.debug, 'too many premature resets', `GOAWAY ${JSON.stringify(c.seen.goaways)}`);
        for (const g of c.seen.goaways) {
          assert.equal(g.code, ENHANCE_YOUR_CALM, `GOAWAY ${JSON.stringify(c.seen.goaways)}`);
          assert.ok(g.lastStream < 2 * 200, `GOAWAY admits ${g.lastStream}: more than the first 200 streams`);
        }
        assert.ok(reached < 100, `backend saw ${reached} of ${STREAMS} reset requests`);
        assert.equal(refused(p, 'premature_resets'), refusedBefore + 1, 'counted in martello_http2_sessions_refused_total');
      });
    }

    test('streams answered before the client resets them do not count: 150 answered-then-reset streams keep the connection', async () => {
      a.clear();
      const c = await RawH2.open(p.tlsPort);
      try {
        for (let batch = 0; batch < 3; batch++) {
          const ids = Array.from({ length: 50 }, (_, i) => 1 + 2 * (batch * 50 + i));
          await c.send(...ids.map((id) => frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, id, requestBlock(`/ok${id}`))));
          await until(() => ids.every((id) => c.seen.responses.has(id)) || c.gone, 5000, `responses of batch ${batch}`);
          await c.send(...ids.map((id) => frame(T_RST_STREAM, 0, id, Buffer.from([0, 0, 0, CANCEL]))));
        }
        await sleep(200);
        assert.equal(c.seen.goaway, undefined, JSON.stringify(c.seen.goaways));
        assert.equal(c.seen.closed, false);
        assert.equal(a.seen.length, 150);
      } finally {
        c.close();
      }
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
      await until(() => c.seen.goaway !== undefined, 2000, 'GOAWAY');
      assert.ok(sent < 1024 * 1024, `no GOAWAY after ${sent} bytes of one header block`);
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

    test('100 header fields are forwarded; 101 (over h2MaxHeaderFields) → the stream is refused, never forwarded', async () => {
      a.clear();
      const c = await RawH2.open(p.tlsPort);
      await c.send(frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, 1, requestBlock('/hundred', fields(100))));
      await until(() => c.gone || c.seen.resets.has(1) || c.seen.responses.has(1), 5000, 'an answer to 100 fields');
      await c.send(frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, 3, requestBlock('/many', fields(101))));
      await until(() => c.gone || c.seen.resets.has(3) || c.seen.responses.has(3), 5000, 'an answer to 101 fields');
      await sleep(100);
      c.close();
      assert.ok(c.seen.responses.has(1), JSON.stringify([...c.seen.resets]));
      assert.deepEqual(a.seen.map((s) => s.url), ['/hundred']);
      assert.equal(c.seen.resets.get(3), ENHANCE_YOUR_CALM, JSON.stringify([...c.seen.resets]));
      assert.equal(c.seen.responses.has(3), false);
    });

    test('a header list over 32 KiB (h2MaxHeaderListSize) → the stream is refused; 24 KiB is not', async () => {
      a.clear();
      const c = await RawH2.open(p.tlsPort);
      await c.send(...headerBlockFrames(1, requestBlock('/big', kibOfFields(24))));
      await until(() => c.gone || c.seen.resets.has(1) || c.seen.responses.has(1), 5000, 'an answer to 24 KiB');
      await c.send(...headerBlockFrames(3, requestBlock('/huge', kibOfFields(33))));
      await until(() => c.gone || c.seen.resets.has(3) || c.seen.responses.has(3), 5000, 'an answer to 33 KiB');
      await sleep(100);
      c.close();
      // 24 KiB passes the proxy (the backend, node:http with its 16 KiB limit, may answer 431 itself).
      assert.ok(c.seen.responses.has(1) && !c.seen.resets.has(1), JSON.stringify([...c.seen.resets]));
      assert.equal(c.seen.resets.get(3), ENHANCE_YOUR_CALM, JSON.stringify([...c.seen.resets]));
      assert.equal(c.seen.responses.has(3), false);
      assert.equal(a.raw().includes('/huge'), false, 'the 33 KiB request reached the backend');
    });

    // Security.md R10: node:http2 has no header timeout and says nothing about a header block until
    // it is complete. Martello's guard (h2-session-guard.ts) sees the block begin in nghttp2's
    // lastProcStreamID and, after headersTimeoutMs, sends GOAWAY (NO_ERROR, debug data "header
    // timeout") naming the highest stream it delivered, then closes the connection; nghttp2 drops the
    // unfinished stream, so it never reaches the backend. (A block of more than about 8 CONTINUATION
    // frames is refused earlier by nghttp2 with GOAWAY INTERNAL_ERROR: a count limit, not a deadline.)
    test('an unfinished header block is refused at headersTimeoutMs (500 ms) and the connection closed', async () => {
      a.clear();
      const refusedBefore = refused(p, 'header_timeout');
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
        assert.equal(a.raw().includes('/slow'), false, 'the unfinished request reached the backend');
        assert.ok(c.seen.closed && refusedAfter < 1300, `not refused (${refusedAfter} ms, GOAWAY ${JSON.stringify(c.seen.goaway)})`);
        assert.ok(refusedAfter >= 450, `refused after ${refusedAfter} ms, before the deadline`);
        assert.equal(c.seen.goaway?.debug, 'header timeout', JSON.stringify(c.seen.goaway));
        assert.equal(c.seen.goaway.code, NO_ERROR);
        assert.equal(refused(p, 'header_timeout'), refusedBefore + 1, 'counted in martello_http2_sessions_refused_total');
      } finally {
        c.close();
      }
    });

    test('an unfinished header block next to a stream in flight: GOAWAY names that stream, it finishes, then the connection closes', async () => {
      a.clear();
      const c = await RawH2.open(p.tlsPort);
      try {
        // Stream 1: a POST whose body is still coming, so it stays open.
        await c.send(frame(T_HEADERS, F_END_HEADERS, 1, requestBlock('/held', [], 'POST')), frame(T_DATA, 0, 1, Buffer.from('part ')));
        await until(() => a.raw().includes('/held'), 5000, 'the held request upstream');
        const started = Date.now();
        await c.send(frame(T_HEADERS, 0, 3, requestBlock('/slow')));
        await until(() => c.seen.goaway !== undefined, 1500, 'GOAWAY');
        const goawayAfter = Date.now() - started;
        assert.ok(goawayAfter >= 450, `GOAWAY after ${goawayAfter} ms, before the deadline`);
        assert.deepEqual(c.seen.goaway, { code: NO_ERROR, lastStream: 1, debug: 'header timeout' });
        assert.ok(c.seen.goaways.every((g) => g.lastStream === 1), JSON.stringify(c.seen.goaways));
        assert.equal(c.seen.closed, false, 'the stream in flight was cut');
        // The client ends its header block (a frame of another stream before that would be a
        // protocol error), then the body of stream 1; both within the grace of another deadline.
        await c.send(frame(T_CONTINUATION, F_END_HEADERS, 3, literal('x-late', 's')), frame(T_DATA, F_END_STREAM, 1, Buffer.from('body')));
        await until(() => c.seen.responses.has(1), 5000, 'the held response');
        await until(() => c.seen.closed, 5000, 'the connection closed after the last stream');
        assert.deepEqual(a.seen.map((s) => s.url), ['/held']);
        assert.equal(a.raw().includes('/slow'), false, 'the unfinished request reached the backend');
      } finally {
        c.close();
      }
    });

    test('after that GOAWAY, a stream that does not finish is cut one more deadline later', async () => {
      a.clear();
      const c = await RawH2.open(p.tlsPort);
      try {
        await c.send(frame(T_HEADERS, F_END_HEADERS, 1, requestBlock('/held', [], 'POST')), frame(T_DATA, 0, 1, Buffer.from('part ')));
        await until(() => a.raw().includes('/held'), 5000, 'the held request upstream');
        const started = Date.now();
        await c.send(frame(T_HEADERS, 0, 3, requestBlock('/slow')));
        await until(() => c.seen.goaway !== undefined, 1500, 'GOAWAY');
        assert.equal(c.seen.goaway?.debug, 'header timeout');
        await until(() => c.seen.closed, 2000, 'the connection closed');
        const closedAfter = Date.now() - started;
        assert.ok(closedAfter >= 900 && closedAfter < 2500, `closed after ${closedAfter} ms`);
        assert.equal(a.raw().includes('/slow'), false, 'the unfinished request reached the backend');
      } finally {
        c.close();
      }
    });

    test('a header block finished within the deadline is served, and the connection is not refused', async () => {
      a.clear();
      const c = await RawH2.open(p.tlsPort);
      try {
        await c.send(frame(T_HEADERS, F_END_STREAM, 1, requestBlock('/steady')));
        for (let i = 0; i < 2; i++) {
          await sleep(100);
          await c.send(frame(T_CONTINUATION, 0, 1, literal(`x-s${i}`, 's')));
        }
        await sleep(100);
        await c.send(frame(T_CONTINUATION, F_END_HEADERS, 1, literal('x-last', 's')));
        await until(() => c.seen.responses.has(1), 5000, 'the response');
        // Past two deadlines from the block's start, still within the idle time (1 s) from its end.
        await sleep(700);
        assert.equal(c.seen.goaway, undefined, JSON.stringify(c.seen.goaways));
        assert.equal(c.seen.closed, false);
        assert.deepEqual(a.seen.map((s) => s.url), ['/steady']);
      } finally {
        c.close();
      }
    });
  });
}
