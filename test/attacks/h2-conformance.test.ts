// HTTP/2 conformance, differential: the same RFC 9113 rules checked against
// both of Martello's HTTP/2 servers for client connections, node:http2
// (nghttp2; h2Server 'node') and Martello's own (h2Server 'martello',
// engine/h2-connection.ts). The own server replaced a mature implementation,
// so every rule a client can break (preface, frame sizes, stream ids, header
// blocks, malformed requests, flow control, SETTINGS, PING, padding, GOAWAY)
// is asserted here with the outcome the RFC requires, not with what either
// implementation happens to do: a connection error is a GOAWAY with the
// RFC's code and the connection closing (§5.4.1); a stream error is a
// RST_STREAM with the RFC's code, and the connection goes on serving (§5.4.2).
// Where the RFC allows more than one outcome, the assertion accepts exactly
// that set and says which section allows it.
//
// The client writes frames by hand (9-byte headers, HPACK literals without
// Huffman coding, as RFC 7541 allows) so that the violations are sent
// exactly; the servers' answers are decoded with Martello's HPACK decoder
// (src/dataplane/http2/hpack.ts, unit-tested on its own), which only reads
// the response fields here.

import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { DECODE_ERROR, HpackDecoder } from '../../src/dataplane/http2/hpack.ts';
import { type RunningProxy, startProxy } from '../../src/dataplane/proxy/test-support/harness.ts';
import { generateDefaultCertificate } from '../../src/shared/pki/default-certificate.ts';
import { type CountingBackend, oneHostSpec, startCountingBackend, until } from './support.ts';
import { frame, literal, PREFACE } from './h2-raw.ts';

// ---------------------------------------------------------------------------
// Frames and HPACK literals (RFC 9113 §4.1, §6; RFC 7541 §5, §6.2.2).

const T_DATA = 0x0;
const T_HEADERS = 0x1;
const T_RST_STREAM = 0x3;
const T_SETTINGS = 0x4;
const T_PUSH_PROMISE = 0x5;
const T_PING = 0x6;
const T_GOAWAY = 0x7;
const T_WINDOW_UPDATE = 0x8;
const T_CONTINUATION = 0x9;
const TYPE_NAMES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];

const F_END_STREAM = 0x1;
const F_ACK = 0x1;
const F_END_HEADERS = 0x4;
const F_PADDED = 0x8;

const NO_ERROR = 0x0;
const PROTOCOL_ERROR = 0x1;
const FLOW_CONTROL_ERROR = 0x3;
const FRAME_SIZE_ERROR = 0x6;
const CODE_NAMES = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];

const S_ENABLE_PUSH = 0x2;
const S_INITIAL_WINDOW_SIZE = 0x4;
const S_MAX_FRAME_SIZE = 0x5;

const DEFAULT_WINDOW = 65_535;
const DEFAULT_MAX_FRAME = 16_384;
const MAX_WINDOW = 2 ** 31 - 1;

/** Deadline of every wait: wide, the answers come in milliseconds. */
const WAIT_MS = 5000;

function codeName(code: number | undefined): string {
  return code === undefined ? 'none' : (CODE_NAMES[code] ?? `0x${code.toString(16)}`);
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

function settingsPayload(settings: ReadonlyArray<readonly [number, number]>): Buffer {
  const b = Buffer.alloc(6 * settings.length);
  settings.forEach(([id, value], i) => {
    b.writeUInt16BE(id, 6 * i);
    b.writeUInt32BE(value >>> 0, 6 * i + 2);
  });
  return b;
}

function windowUpdate(stream: number, increment: number): Buffer {
  return frame(T_WINDOW_UPDATE, 0, stream, u32(increment));
}

/** PADDED payload: pad length, content, then `pad` zero bytes (§6.1, §6.2). */
function padded(content: Buffer, pad: number): Buffer {
  return Buffer.concat([Buffer.from([pad]), content, Buffer.alloc(pad)]);
}

/** A header block of [name, value] pairs, in order, as literals. */
function block(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  return Buffer.concat(fields.map(([n, v]) => literal(n, v)));
}

/** The pseudo-fields of a request to a.test, then `extra`. */
function requestFields(path: string, method = 'GET', extra: ReadonlyArray<readonly [string, string]> = []): Array<readonly [string, string]> {
  return [[':method', method], [':scheme', 'https'], [':path', path], [':authority', 'a.test'], ...extra];
}

function requestBlock(path: string, method = 'GET', extra: ReadonlyArray<readonly [string, string]> = []): Buffer {
  return block(requestFields(path, method, extra));
}

/** A complete GET on stream `id` (one HEADERS frame, END_STREAM). */
function get(id: number, path: string): Buffer {
  return frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, id, requestBlock(path));
}

// ---------------------------------------------------------------------------
// The raw client.

interface Received {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

interface StreamSeen {
  /** Decoded response fields ([name, value, ...]); trailers are appended. */
  fields: string[];
  status: number | undefined;
  body: Buffer;
  /** END_STREAM received. */
  ended: boolean;
  /** RST_STREAM code received. */
  reset: number | undefined;
  /** Sum of the WINDOW_UPDATE increments received for this stream. */
  credited: number;
  /** DATA payload bytes we sent on it (padding included). */
  sent: number;
}

interface OpenOptions {
  /** Our SETTINGS in the preface. */
  readonly settings?: ReadonlyArray<readonly [number, number]>;
  /** Bytes sent instead of the client preface and SETTINGS (the open resolves at the TLS handshake). */
  readonly badPreface?: Buffer;
}

class RawH2 {
  readonly socket: TLSSocket;
  /** Every frame received, in order. */
  readonly frames: Received[] = [];
  readonly streams = new Map<number, StreamSeen>();
  /** The server's SETTINGS (the first non-ACK one). */
  readonly serverSettings = new Map<number, number>();
  goaway: { code: number; lastStream: number; debug: string } | undefined;
  closed = false;
  /** Connection-level WINDOW_UPDATE increments received. */
  connectionCredited = 0;
  /** DATA payload bytes sent on the connection. */
  connectionSent = 0;
  readonly #decoder = new HpackDecoder(4096, 1 << 20);
  #buf = Buffer.alloc(0);
  #block: { stream: number; parts: Buffer[]; endStream: boolean } | null = null;
  #settled: (() => void) | undefined;
  #pings = 0;

  private constructor(socket: TLSSocket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => this.#onData(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
  }

  /**
   * Connects (ALPN h2), sends the preface with our SETTINGS and resolves once
   * the server's SETTINGS arrived (acknowledged at once). After that the
   * client writes nothing on its own: no automatic WINDOW_UPDATE or PING ACK.
   */
  static open(port: number, options: OpenOptions = {}): Promise<RawH2> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], rejectUnauthorized: false, servername: 'a.test' });
      socket.once('secureConnect', () => {
        if (socket.alpnProtocol !== 'h2') {
          socket.destroy();
          reject(new Error(`ALPN gave ${String(socket.alpnProtocol)}`));
          return;
        }
        const client = new RawH2(socket);
        if (options.badPreface !== undefined) {
          socket.write(options.badPreface);
          resolve(client);
          return;
        }
        client.#settled = () => resolve(client);
        socket.write(Buffer.concat([PREFACE, frame(T_SETTINGS, 0, 0, settingsPayload(options.settings ?? []))]));
      });
      socket.once('error', reject);
    });
  }

  stream(id: number): StreamSeen {
    let s = this.streams.get(id);
    if (s === undefined) {
      s = { fields: [], status: undefined, body: Buffer.alloc(0), ended: false, reset: undefined, credited: 0, sent: 0 };
      this.streams.set(id, s);
    }
    return s;
  }

  /** Writes the frames (each argument one whole frame) and resolves when the socket took them. */
  send(...frames: Buffer[]): Promise<void> {
    for (const f of frames) {
      if (f.length >= 9 && f[3] === T_DATA) {
        const length = f.readUIntBE(0, 3);
        const id = f.readUInt32BE(5) & 0x7fffffff;
        this.connectionSent += length;
        if (id !== 0) this.stream(id).sent += length;
      }
    }
    return new Promise((resolve) => {
      if (this.closed || this.socket.destroyed) return resolve();
      const ok = this.socket.write(Buffer.concat(frames), () => resolve());
      if (!ok) this.socket.once('drain', () => resolve());
    });
  }

  /** Sends a PING and waits for its ACK: the server has processed everything sent before it. */
  async roundTrip(): Promise<void> {
    const data = Buffer.alloc(8);
    data.writeUInt32BE(0x52545400 + ++this.#pings, 4);
    await this.send(frame(T_PING, 0, 0, data));
    await until(() => this.closed || this.frames.some((f) => f.type === T_PING && (f.flags & F_ACK) !== 0 && f.payload.equals(data)), WAIT_MS, 'PING ACK');
  }

  /** What the client may still send on stream `id`, as far as it knows. */
  streamWindow(id: number): number {
    const s = this.stream(id);
    return (this.serverSettings.get(S_INITIAL_WINDOW_SIZE) ?? DEFAULT_WINDOW) + s.credited - s.sent;
  }

  connectionWindow(): number {
    return DEFAULT_WINDOW + this.connectionCredited - this.connectionSent;
  }

  /** The server's SETTINGS_MAX_FRAME_SIZE (16384 unless it announced more). */
  get maxFrameSize(): number {
    return this.serverSettings.get(S_MAX_FRAME_SIZE) ?? DEFAULT_MAX_FRAME;
  }

  close(): void {
    this.socket.destroy();
  }

  /** The frames received, one line each (assertion messages). */
  trace(): string {
    const lines = this.frames.map((f) => {
      const name = TYPE_NAMES[f.type] ?? `type ${f.type}`;
      let detail = `flags=0x${f.flags.toString(16)} len=${f.payload.length}`;
      if (f.type === T_GOAWAY && f.payload.length >= 8) detail = `${codeName(f.payload.readUInt32BE(4))} last=${f.payload.readUInt32BE(0) & 0x7fffffff} "${f.payload.subarray(8).toString('latin1')}"`;
      else if (f.type === T_RST_STREAM && f.payload.length === 4) detail = codeName(f.payload.readUInt32BE(0));
      else if (f.type === T_WINDOW_UPDATE && f.payload.length === 4) detail = `+${f.payload.readUInt32BE(0)}`;
      return `${name}[${f.stream}] ${detail}`;
    });
    return `${lines.join('; ')}${this.closed ? '; <closed>' : ''}`;
  }

  #onData(chunk: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, chunk]);
    while (this.#buf.length >= 9) {
      const length = this.#buf.readUIntBE(0, 3);
      if (this.#buf.length < 9 + length) return;
      const f: Received = { type: this.#buf[3]!, flags: this.#buf[4]!, stream: this.#buf.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(this.#buf.subarray(9, 9 + length)) };
      this.#buf = this.#buf.subarray(9 + length);
      this.frames.push(f);
      this.#onFrame(f);
    }
  }

  #onFrame(f: Received): void {
    switch (f.type) {
      case T_SETTINGS:
        if ((f.flags & F_ACK) !== 0) return;
        if (this.#settled !== undefined) {
          for (let p = 0; p + 6 <= f.payload.length; p += 6) this.serverSettings.set(f.payload.readUInt16BE(p), f.payload.readUInt32BE(p + 2));
        }
        this.socket.write(frame(T_SETTINGS, F_ACK, 0));
        this.#settled?.();
        this.#settled = undefined;
        return;
      case T_GOAWAY:
        this.goaway ??= { lastStream: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString('latin1') };
        return;
      case T_RST_STREAM:
        this.stream(f.stream).reset = f.payload.readUInt32BE(0);
        return;
      case T_WINDOW_UPDATE: {
        const increment = f.payload.readUInt32BE(0) & 0x7fffffff;
        if (f.stream === 0) this.connectionCredited += increment;
        else this.stream(f.stream).credited += increment;
        return;
      }
      case T_DATA: {
        const s = this.stream(f.stream);
        let content = f.payload;
        if ((f.flags & F_PADDED) !== 0) content = content.subarray(1, content.length - content[0]!);
        s.body = Buffer.concat([s.body, content]);
        if ((f.flags & F_END_STREAM) !== 0) s.ended = true;
        return;
      }
      case T_HEADERS: {
        let content = f.payload;
        if ((f.flags & F_PADDED) !== 0) content = content.subarray(1, content.length - content[0]!);
        if ((f.flags & 0x20) !== 0) content = content.subarray(5);
        this.#block = { stream: f.stream, parts: [content], endStream: (f.flags & F_END_STREAM) !== 0 };
        if ((f.flags & F_END_HEADERS) !== 0) this.#endBlock();
        return;
      }
      case T_CONTINUATION:
        this.#block?.parts.push(f.payload);
        if ((f.flags & F_END_HEADERS) !== 0) this.#endBlock();
        return;
      default:
        return;
    }
  }

  #endBlock(): void {
    const b = this.#block!;
    this.#block = null;
    const s = this.stream(b.stream);
    const all = Buffer.concat(b.parts);
    const fields: string[] = [];
    if (this.#decoder.decode(all, 0, all.length, fields) === DECODE_ERROR) throw new Error(`undecodable response header block on stream ${b.stream}`);
    s.fields.push(...fields);
    if (s.status === undefined && fields[0] === ':status') s.status = Number(fields[1]);
    if (b.endStream) s.ended = true;
  }
}

// ---------------------------------------------------------------------------
// Outcomes.

/**
 * A connection error (§5.4.1): GOAWAY with `code` (any of `codes`), then the
 * connection closes. The server may close without waiting for us.
 */
async function expectConnectionError(c: RawH2, codes: number | readonly number[]): Promise<void> {
  const allowed = typeof codes === 'number' ? [codes] : codes;
  await until(() => c.goaway !== undefined || c.closed, WAIT_MS, `GOAWAY ${allowed.map(codeName).join(' or ')}`);
  assert.ok(c.goaway !== undefined, `closed without GOAWAY: ${c.trace()}`);
  assert.ok(allowed.includes(c.goaway.code), `GOAWAY ${codeName(c.goaway.code)}, expected ${allowed.map(codeName).join(' or ')}: ${c.trace()}`);
  await until(() => c.closed, WAIT_MS, `the connection closed after GOAWAY: ${c.trace()}`);
}

/** A well-formed GET on stream `id` is answered 200 with the counting backend's body. */
async function expectServed(c: RawH2, id: number, path: string): Promise<void> {
  await c.send(get(id, path));
  await until(() => c.stream(id).ended || c.stream(id).reset !== undefined || c.closed, WAIT_MS, `the response on stream ${id}: ${c.trace()}`);
  assert.equal(c.stream(id).status, 200, `stream ${id}: ${c.trace()}`);
  assert.equal(c.stream(id).body.toString('latin1'), `backend a ${path}`);
}

/**
 * A stream error (§5.4.2): RST_STREAM on `id` with `code`, no GOAWAY, and
 * the connection serves a following well-formed request on `nextId`.
 * `orConnectionError`: a GOAWAY with the same code is accepted instead,
 * for the cases whose comment says why (§5.4.1: "an endpoint MAY choose to
 * treat a stream error as a connection error").
 */
async function expectStreamError(c: RawH2, id: number, code: number, nextId: number, orConnectionError = false): Promise<void> {
  // A 4xx response may come before the reset (§8.1.1: "a server MAY send an HTTP response prior to
  // closing or resetting the stream"); any other end of the stream is the wrong answer.
  const answered = (): boolean => c.stream(id).ended && !is4xx(c.stream(id).status);
  await until(() => c.stream(id).reset !== undefined || answered() || c.goaway !== undefined || c.closed, WAIT_MS, `RST_STREAM ${codeName(code)} on stream ${id}: ${c.trace()}`);
  if (orConnectionError && c.stream(id).reset === undefined) {
    await expectConnectionError(c, code);
    return;
  }
  assert.equal(c.goaway, undefined, `a connection error where a stream error (RST_STREAM ${codeName(code)}) was due: ${c.trace()}`);
  assert.equal(c.stream(id).reset, code, `stream ${id} (response ${String(c.stream(id).status)} ${JSON.stringify(c.stream(id).body.toString('latin1'))}): ${c.trace()}`);
  await expectServed(c, nextId, `/after-${id}`);
}

function is4xx(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500;
}

/** A marker header that a test looks for in everything the backend received. */
function marker(name: string): readonly [string, string] {
  return ['x-case', `case-${name}`];
}

/** A node:http backend answering every request with the same 1000-byte body; counts finished responses. */
interface FixedBackend {
  readonly port: number;
  readonly body: Buffer;
  finished: number;
  close(): Promise<void>;
}

async function startFixedBackend(): Promise<FixedBackend> {
  const body = Buffer.from(Array.from({ length: 1000 }, (_, i) => 0x41 + (i % 26)));
  const server: HttpServer = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.on('finish', () => backend.finished++);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    });
  });
  const backend: FixedBackend = {
    port: 0,
    body,
    finished: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (backend as { port: number }).port = (server.address() as AddressInfo).port;
  return backend;
}

// ---------------------------------------------------------------------------

/** Stands in for test() where a case is not registered. */
const notRegistered = (() => undefined) as unknown as typeof test;

for (const h2Server of ['node', 'martello'] as const) {
  /**
   * A case where node:http2 (nghttp2) deviates from the RFC, `nodeDeviation`
   * saying how: it is registered for Martello's own server only (the
   * deviations are listed in docs/security-tests.md).
   */
  const rfcCase = (nodeDeviation: string | undefined): typeof test => (nodeDeviation !== undefined && h2Server === 'node' ? notRegistered : test);

  describe(`[h2Server ${h2Server}] HTTP/2 conformance`, () => {
    let a: CountingBackend;
    let fixed: FixedBackend;
    let p: RunningProxy;
    const certificate = generateDefaultCertificate();

    before(async () => {
      a = await startCountingBackend('a');
      fixed = await startFixedBackend();
      p = await startProxy(
        { hosts: [{ host: 'a.test', routes: [{ path: '/', cluster: 'a' }, { path: '/thousand', cluster: 'fixed' }] }], clusters: { a: [a.port], fixed: [fixed.port] } },
        { engine: 'martello', h2Server },
        { fallbackCertificate: certificate },
      );
    });
    after(async () => {
      await p.close();
      await fixed.close();
      await a.close();
    });

    /** Opens a client, runs `body`, and always closes the client. */
    async function withClient(body: (c: RawH2) => Promise<void>, options: OpenOptions = {}): Promise<void> {
      const c = await RawH2.open(p.tlsPort, options);
      try {
        await body(c);
      } finally {
        c.close();
      }
    }

    // 1. Sanity.

    test('a well-formed GET and a POST with a body are answered 200 and reach the backend', () =>
      withClient(async (c) => {
        a.clear();
        await expectServed(c, 1, '/get');
        const body = Buffer.from('hello world');
        await c.send(frame(T_HEADERS, F_END_HEADERS, 3, requestBlock('/post', 'POST', [['content-length', String(body.length)]])), frame(T_DATA, F_END_STREAM, 3, body));
        await until(() => c.stream(3).ended || c.stream(3).reset !== undefined || c.closed, WAIT_MS, `the POST's response: ${c.trace()}`);
        assert.equal(c.stream(3).status, 200, c.trace());
        assert.equal(c.stream(3).body.toString(), 'backend a /post');
        assert.deepEqual(a.seen.map((s) => [s.method, s.url, s.body.toString()]), [['GET', '/get', ''], ['POST', '/post', 'hello world']]);
      }));

    test('frames trickled one byte per write (a POST: HEADERS and DATA) are reassembled and served', () =>
      withClient(async (c) => {
        a.clear();
        const body = Buffer.from('trickled body');
        const bytes = Buffer.concat([
          frame(T_HEADERS, F_END_HEADERS, 1, requestBlock('/trickle', 'POST', [['content-length', String(body.length)]])),
          frame(T_DATA, F_END_STREAM, 1, body),
        ]);
        for (let i = 0; i < bytes.length; i++) await c.send(bytes.subarray(i, i + 1));
        await until(() => c.stream(1).ended || c.stream(1).reset !== undefined || c.closed, WAIT_MS, `the response: ${c.trace()}`);
        assert.equal(c.stream(1).status, 200, c.trace());
        assert.deepEqual(a.seen.map((x) => [x.method, x.url, x.body.toString()]), [['POST', '/trickle', 'trickled body']]);
      }));

    // 2. Connection preface (§3.4), SETTINGS (§6.5.3), PING (§6.7).

    test('the server sends SETTINGS first, acknowledges ours, and answers PING with a PING ACK carrying the same 8 bytes', () =>
      withClient(async (c) => {
        assert.equal(c.frames[0]?.type, T_SETTINGS, c.trace());
        assert.equal((c.frames[0]!.flags & F_ACK), 0, 'the first SETTINGS is not an ACK');
        await until(() => c.frames.some((f) => f.type === T_SETTINGS && (f.flags & F_ACK) !== 0), WAIT_MS, `SETTINGS ACK: ${c.trace()}`);
        const ack = c.frames.find((f) => f.type === T_SETTINGS && (f.flags & F_ACK) !== 0)!;
        assert.equal(ack.payload.length, 0, 'a SETTINGS ACK is empty');
        const data = Buffer.from('8 bytes!');
        await c.send(frame(T_PING, 0, 0, data));
        await until(() => c.frames.some((f) => f.type === T_PING), WAIT_MS, `PING ACK: ${c.trace()}`);
        const pong = c.frames.find((f) => f.type === T_PING)!;
        assert.equal(pong.flags & F_ACK, F_ACK);
        assert.equal(pong.stream, 0);
        assert.deepEqual(pong.payload, data);
      }, { settings: [[S_ENABLE_PUSH, 0]] }));

    // 3. §3.4: "Clients and servers MUST treat an invalid connection preface as a connection error
    // (Section 5.4.1) of type PROTOCOL_ERROR"; a GOAWAY frame MAY be omitted in this case.
    rfcCase('node:http2 sends GOAWAY INTERNAL_ERROR (the session is destroyed on nghttp2\'s BAD_CLIENT_MAGIC)')('an invalid connection preface → the connection closes (GOAWAY, if any, PROTOCOL_ERROR)', () =>
      withClient(async (c) => {
        await until(() => c.closed, WAIT_MS, `the connection closed: ${c.trace()}`);
        if (c.goaway !== undefined) assert.equal(c.goaway.code, PROTOCOL_ERROR, c.trace());
      }, { badPreface: Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n', 'latin1'), frame(T_SETTINGS, 0, 0)]) }));

    // 4. Frame size (§4.2).

    test('a HEADERS frame larger than SETTINGS_MAX_FRAME_SIZE → connection error FRAME_SIZE_ERROR (§4.2: a frame carrying a field block)', () =>
      withClient(async (c) => {
        a.clear();
        const size = c.maxFrameSize + 1;
        const base = requestBlock('/too-big');
        const filler = literal('x-filler', 'f'.repeat(size - base.length - 12));
        const payload = Buffer.concat([base, filler]).subarray(0, size);
        assert.equal(payload.length, size);
        await c.send(frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, 1, payload));
        await expectConnectionError(c, FRAME_SIZE_ERROR);
        assert.equal(a.raw().includes('/too-big'), false);
      }));

    // §4.2: a DATA frame may be answered with a stream error; "an endpoint MAY choose to treat a
    // stream error as a connection error" (§5.4.1). Either way FRAME_SIZE_ERROR.
    test('a DATA frame larger than SETTINGS_MAX_FRAME_SIZE → FRAME_SIZE_ERROR (stream or connection error)', () =>
      withClient(async (c) => {
        await c.send(frame(T_HEADERS, F_END_HEADERS, 1, requestBlock('/big-data', 'POST')));
        await c.send(frame(T_DATA, F_END_STREAM, 1, Buffer.alloc(c.maxFrameSize + 1, 0x61)));
        await until(() => c.stream(1).reset !== undefined || c.goaway !== undefined || c.closed, WAIT_MS, `FRAME_SIZE_ERROR: ${c.trace()}`);
        if (c.goaway !== undefined || c.closed) await expectConnectionError(c, FRAME_SIZE_ERROR);
        else await expectStreamError(c, 1, FRAME_SIZE_ERROR, 3);
      }));

    // Single-frame connection errors (§5.4.1): one violation each, then GOAWAY with the code and the
    // connection closes. The section is in each name.
    const connectionErrors: ReadonlyArray<readonly [string, () => Buffer[], number]> = [
      ['HEADERS on stream 0 → connection error PROTOCOL_ERROR (§5.1.1, §6.2)', () => [get(0, '/zero')], PROTOCOL_ERROR],
      ['CONTINUATION without a HEADERS before it → connection error PROTOCOL_ERROR (§6.10)', () => [frame(T_CONTINUATION, F_END_HEADERS, 1, requestBlock('/orphan'))], PROTOCOL_ERROR],
      ['a CONTINUATION of another stream inside a header block → connection error PROTOCOL_ERROR (§6.10)', () => [frame(T_HEADERS, F_END_STREAM, 1, requestBlock('/first')), frame(T_CONTINUATION, F_END_HEADERS, 3, literal('x-a', 'b'))], PROTOCOL_ERROR],
      ['a PING inside a header block → connection error PROTOCOL_ERROR (§4.3)', () => [frame(T_HEADERS, F_END_STREAM, 1, requestBlock('/first')), frame(T_PING, 0, 0, Buffer.alloc(8))], PROTOCOL_ERROR],
      ['WINDOW_UPDATE with increment 0 on the connection → connection error PROTOCOL_ERROR (§6.9)', () => [windowUpdate(0, 0)], PROTOCOL_ERROR],
      ['WINDOW_UPDATE taking the connection window over 2^31-1 → connection error FLOW_CONTROL_ERROR (§6.9.1)', () => [windowUpdate(0, MAX_WINDOW)], FLOW_CONTROL_ERROR],
      ['SETTINGS with a length that is not a multiple of 6 → connection error FRAME_SIZE_ERROR (§6.5)', () => [frame(T_SETTINGS, 0, 0, Buffer.alloc(5))], FRAME_SIZE_ERROR],
      ['a SETTINGS ACK with a payload → connection error FRAME_SIZE_ERROR (§6.5)', () => [frame(T_SETTINGS, F_ACK, 0, settingsPayload([[S_ENABLE_PUSH, 0]]))], FRAME_SIZE_ERROR],
      ['SETTINGS_ENABLE_PUSH = 2 → connection error PROTOCOL_ERROR (§6.5.2)', () => [frame(T_SETTINGS, 0, 0, settingsPayload([[S_ENABLE_PUSH, 2]]))], PROTOCOL_ERROR],
      ['SETTINGS_INITIAL_WINDOW_SIZE = 2^31 → connection error FLOW_CONTROL_ERROR (§6.5.2)', () => [frame(T_SETTINGS, 0, 0, settingsPayload([[S_INITIAL_WINDOW_SIZE, 2 ** 31]]))], FLOW_CONTROL_ERROR],
      ['SETTINGS_MAX_FRAME_SIZE = 100 → connection error PROTOCOL_ERROR (§6.5.2)', () => [frame(T_SETTINGS, 0, 0, settingsPayload([[S_MAX_FRAME_SIZE, 100]]))], PROTOCOL_ERROR],
      ['PING with a length of 7 → connection error FRAME_SIZE_ERROR (§6.7)', () => [frame(T_PING, 0, 0, Buffer.alloc(7))], FRAME_SIZE_ERROR],
      ['PING on stream 1 → connection error PROTOCOL_ERROR (§6.7)', () => [frame(T_PING, 0, 1, Buffer.alloc(8))], PROTOCOL_ERROR],
      ['RST_STREAM on an idle stream → connection error PROTOCOL_ERROR (§6.4)', () => [frame(T_RST_STREAM, 0, 7, u32(NO_ERROR))], PROTOCOL_ERROR],
      ['DATA on stream 0 → connection error PROTOCOL_ERROR (§6.1)', () => [frame(T_DATA, 0, 0, Buffer.from('x'))], PROTOCOL_ERROR],
    ];
    for (const [name, frames, code] of connectionErrors) {
      test(name, () =>
        withClient(async (c) => {
          await c.send(...frames());
          await expectConnectionError(c, code);
        }));
    }

    // 5. Stream identifiers (§5.1.1).

    test('HEADERS on an even stream id (server-initiated) → connection error PROTOCOL_ERROR (§5.1.1)', () =>
      withClient(async (c) => {
        a.clear();
        await c.send(get(2, '/even'));
        await expectConnectionError(c, PROTOCOL_ERROR);
        assert.equal(a.raw().includes('/even'), false);
      }));

    // §5.1.1: "The identifier of a newly established stream MUST be numerically greater than all
    // streams that the initiating endpoint has opened ... An endpoint that receives an unexpected
    // stream identifier MUST respond with a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
    rfcCase('nghttp2 ignores a HEADERS frame whose stream id is below the last one (deliberately, see session_on_request_headers_received): no answer at all')('stream ids not increasing (5, then 3) → connection error PROTOCOL_ERROR (§5.1.1)', () =>
      withClient(async (c) => {
        a.clear();
        await c.send(frame(T_HEADERS, F_END_HEADERS, 5, requestBlock('/five', 'POST')), get(3, '/three'));
        await expectConnectionError(c, PROTOCOL_ERROR);
        assert.equal(a.raw().includes('/three'), false);
      }));

    // 6. Header blocks (§4.3, §6.10).

    test('a HEADERS frame of another stream inside a header block → connection error PROTOCOL_ERROR (§4.3, §6.10)', () =>
      withClient(async (c) => {
        a.clear();
        await c.send(frame(T_HEADERS, F_END_STREAM, 1, requestBlock('/first')), get(3, '/interleaved'));
        await expectConnectionError(c, PROTOCOL_ERROR);
        assert.equal(a.raw().includes('/interleaved'), false);
      }));

    // 7. Malformed requests (§8.1.1, §8.2.1, §8.2.2, §8.3.1): "MUST be treated as a stream error
    // (Section 5.4.2) of type PROTOCOL_ERROR", and an intermediary "MUST NOT forward" them.
    // nghttp2 drops a regular field whose name or value breaks §8.2.1 (other than an uppercase name)
    // and serves the rest of the request: the field never reaches the backend, but the request does,
    // where the RFC says "MUST be treated as malformed".
    const NGHTTP2_DROPS_FIELD = 'node:http2 (nghttp2) drops the invalid field and forwards the request: 200 from the backend, no RST_STREAM';
    const malformed: ReadonlyArray<readonly [string, string, ReadonlyArray<readonly [string, string]>, string?]> = [
      ['an uppercase field name (§8.2.1)', 'upper', [...requestFields('/m-upper'), ['X-Upper', 'v']]],
      ['connection: keep-alive (§8.2.2)', 'connection', [...requestFields('/m-connection'), ['connection', 'keep-alive']]],
      ['transfer-encoding: chunked (§8.2.2)', 'te-chunked', [...requestFields('/m-te-chunked'), ['transfer-encoding', 'chunked']]],
      ['te: gzip (§8.2.2)', 'te-gzip', [...requestFields('/m-te-gzip'), ['te', 'gzip']]],
      ['a pseudo-field after a regular field (§8.3)', 'order', [[':method', 'GET'], [':scheme', 'https'], [':authority', 'a.test'], ['x-regular', 'v'], [':path', '/m-order']]],
      ['an unknown pseudo-field (§8.3)', 'unknown-pseudo', [...requestFields('/m-unknown-pseudo'), [':foo', 'v']]],
      ['a duplicated :path (§8.3.1)', 'dup-path', [[':method', 'GET'], [':scheme', 'https'], [':path', '/m-dup-path'], [':path', '/m-dup-path2'], [':authority', 'a.test']]],
      ['no :method (§8.3.1)', 'no-method', [[':scheme', 'https'], [':path', '/m-no-method'], [':authority', 'a.test']]],
      ['no :scheme (§8.3.1)', 'no-scheme', [[':method', 'GET'], [':path', '/m-no-scheme'], [':authority', 'a.test']]],
      ['no :path (§8.3.1)', 'no-path', [[':method', 'GET'], [':scheme', 'https'], [':authority', 'a.test']]],
      ['an empty :path (§8.3.1)', 'empty-path', [[':method', 'GET'], [':scheme', 'https'], [':path', ''], [':authority', 'a.test']]],
      ['a field name with a space (§8.2.1)', 'name-space', [...requestFields('/m-name-space'), ['x bad', 'v']], NGHTTP2_DROPS_FIELD],
      ['a field value with CR LF (§8.2.1)', 'value-crlf', [...requestFields('/m-value-crlf'), ['x-v', 'a\r\nx-injected: 1']], NGHTTP2_DROPS_FIELD],
      ['a field value with NUL (§8.2.1)', 'value-nul', [...requestFields('/m-value-nul'), ['x-v', 'a\u0000b']], NGHTTP2_DROPS_FIELD],
      ['a field value with leading whitespace (§8.2.1)', 'value-lead', [...requestFields('/m-value-lead'), ['x-v', ' a']], NGHTTP2_DROPS_FIELD],
      ['a field value with trailing whitespace (§8.2.1)', 'value-trail', [...requestFields('/m-value-trail'), ['x-v', 'a\t']], NGHTTP2_DROPS_FIELD],
    ];
    for (const [what, name, fields, nodeFails] of malformed) {
      rfcCase(nodeFails)(`malformed: ${what} → stream error PROTOCOL_ERROR, never forwarded, the connection serves the next request`, () =>
        withClient(async (c) => {
          a.clear();
          await c.send(frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, 1, block([...fields, marker(name)])));
          await expectStreamError(c, 1, PROTOCOL_ERROR, 3);
          assert.ok(c.stream(1).status === undefined || is4xx(c.stream(1).status), `a response to a malformed request: ${c.trace()}`);
          assert.equal(a.raw().includes(`case-${name}`), false, 'the malformed request reached the backend');
        }));
    }

    // §8.1: "Trailers MUST NOT include pseudo-header fields"; such a request is malformed (§8.1.1).
    test('trailers with a pseudo-field → stream error PROTOCOL_ERROR, the request not completed upstream (§8.1)', () =>
      withClient(async (c) => {
        a.clear();
        await c.send(
          frame(T_HEADERS, F_END_HEADERS, 1, requestBlock('/bad-trailers', 'POST')),
          frame(T_DATA, 0, 1, Buffer.from('body')),
          frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, 1, block([[':path', '/smuggled']])),
        );
        await expectStreamError(c, 1, PROTOCOL_ERROR, 3);
        assert.deepEqual(a.seen.map((s) => s.url), ['/after-1'], 'the request with bad trailers completed at the backend');
      }));

    // §8.1.1: a request whose DATA frames do not add up to its content-length is malformed.
    test('content-length: 5 on a HEADERS frame with END_STREAM (no body) → stream error PROTOCOL_ERROR, never forwarded', () =>
      withClient(async (c) => {
        a.clear();
        await c.send(frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, 1, requestBlock('/cl-none', 'POST', [['content-length', '5']])));
        await expectStreamError(c, 1, PROTOCOL_ERROR, 3);
        assert.equal(c.stream(1).status, undefined, c.trace());
        assert.equal(a.raw().includes('/cl-none'), false, 'the request reached the backend');
      }));

    test('content-length: 10 with a 5-byte body (END_STREAM) → stream error PROTOCOL_ERROR, not forwarded complete', () =>
      withClient(async (c) => {
        a.clear();
        await c.send(frame(T_HEADERS, F_END_HEADERS, 1, requestBlock('/cl-short', 'POST', [['content-length', '10']])), frame(T_DATA, F_END_STREAM, 1, Buffer.from('12345')));
        await expectStreamError(c, 1, PROTOCOL_ERROR, 3);
        assert.equal(c.stream(1).status, undefined, c.trace());
        assert.deepEqual(a.seen.map((s) => s.url), ['/after-1'], 'the short request completed at the backend');
      }));

    rfcCase('node:http2 (Node 26) destroys the session: GOAWAY INTERNAL_ERROR (nghttp2 reports the DATA frame invalid with NGHTTP2_ERR_PROTO, node turns that into a session error)')('content-length: 10 with a 15-byte body → stream error PROTOCOL_ERROR, not forwarded complete', () =>
      withClient(async (c) => {
        a.clear();
        await c.send(frame(T_HEADERS, F_END_HEADERS, 1, requestBlock('/cl-long', 'POST', [['content-length', '10']])), frame(T_DATA, F_END_STREAM, 1, Buffer.from('123456789012345')));
        await expectStreamError(c, 1, PROTOCOL_ERROR, 3);
        assert.equal(c.stream(1).status, undefined, c.trace());
        assert.deepEqual(a.seen.map((s) => s.url), ['/after-1'], 'the long request completed at the backend');
        assert.equal(a.raw().includes('12345678901'), false, 'more than content-length bytes went upstream');
      }));

    // §5.1, "closed": after an endpoint sent RST_STREAM on an open stream, the peer "might have sent
    // or enqueued for sending" more frames on it; "An endpoint MUST minimally process and then
    // discard any frames it receives in this state" (HPACK state updated, DATA counted against the
    // connection window). Here the client's body and trailers follow a malformed HEADERS in the
    // same write: the server resets the stream on the HEADERS, then must discard the rest.
    test('DATA and trailers sent before the server\'s RST_STREAM arrived are discarded: no connection error, the next request is served (§5.1)', () =>
      withClient(async (c) => {
        a.clear();
        await c.send(
          frame(T_HEADERS, F_END_HEADERS, 1, block([...requestFields('/reset-then', 'POST'), ['X-Upper', 'v'], marker('reset-then')])),
          frame(T_DATA, 0, 1, Buffer.from('body')),
          frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, 1, block([['x-trailer', 't']])),
        );
        await expectStreamError(c, 1, PROTOCOL_ERROR, 3);
        assert.equal(a.raw().includes('case-reset-then'), false, 'the malformed request reached the backend');
      }));

    // 8. WINDOW_UPDATE (§6.9, §6.9.1).

    // nghttp2 answers with GOAWAY PROTOCOL_ERROR: §5.4.1 lets an endpoint treat a stream error as a
    // connection error.
    test('WINDOW_UPDATE with increment 0 on an open stream → stream error PROTOCOL_ERROR (§6.9; or connection error, §5.4.1)', () =>
      withClient(async (c) => {
        await c.send(frame(T_HEADERS, F_END_HEADERS, 1, requestBlock('/wu-zero', 'POST')));
        await c.send(windowUpdate(1, 0));
        await expectStreamError(c, 1, PROTOCOL_ERROR, 3, true);
      }));

    // §6.9.1: "For streams, the sender sends a RST_STREAM with an error code of FLOW_CONTROL_ERROR".
    // nghttp2 answers with GOAWAY FLOW_CONTROL_ERROR: allowed by §5.4.1 (a stream error may be
    // treated as a connection error).
    test('WINDOW_UPDATE taking a stream window over 2^31-1 → stream error FLOW_CONTROL_ERROR (§6.9.1; or connection error, §5.4.1)', () =>
      withClient(async (c) => {
        await c.send(frame(T_HEADERS, F_END_HEADERS, 1, requestBlock('/wu-overflow', 'POST')));
        await c.send(windowUpdate(1, MAX_WINDOW));
        await expectStreamError(c, 1, FLOW_CONTROL_ERROR, 3, true);
      }));

    // §6.9.2: "An endpoint MUST treat a change to SETTINGS_INITIAL_WINDOW_SIZE that causes any
    // flow-control window to exceed the maximum size as a connection error of type FLOW_CONTROL_ERROR."
    test('SETTINGS_INITIAL_WINDOW_SIZE raising an open stream\'s window over 2^31-1 → connection error FLOW_CONTROL_ERROR (§6.9.2)', () =>
      withClient(async (c) => {
        await c.send(frame(T_HEADERS, F_END_HEADERS, 1, requestBlock('/settings-overflow', 'POST')));
        // The stream's send window: 65535 (our initial window) + this = 2^31 - 1 exactly.
        await c.send(windowUpdate(1, MAX_WINDOW - DEFAULT_WINDOW));
        await c.roundTrip();
        assert.equal(c.goaway, undefined, c.trace());
        assert.equal(c.stream(1).reset, undefined, c.trace());
        await c.send(frame(T_SETTINGS, 0, 0, settingsPayload([[S_INITIAL_WINDOW_SIZE, DEFAULT_WINDOW + 1]])));
        await expectConnectionError(c, FLOW_CONTROL_ERROR);
      }));

    // 11. PUSH_PROMISE (§8.4). (SETTINGS, PING, RST_STREAM errors of one frame: the table above.)

    test('PUSH_PROMISE from a client → connection error PROTOCOL_ERROR (§8.4)', () =>
      withClient(async (c) => {
        await c.send(frame(T_HEADERS, F_END_HEADERS, 1, requestBlock('/pushing', 'POST')));
        await c.send(frame(T_PUSH_PROMISE, F_END_HEADERS, 1, Buffer.concat([u32(2), requestBlock('/pushed')])));
        await expectConnectionError(c, PROTOCOL_ERROR);
      }));

    // 12. DATA (§6.1) and the receive window (§6.9).

    // §6.9.1: "A receiver MAY respond with a stream error (Section 5.4.2) or connection error
    // (Section 5.4.1) of type FLOW_CONTROL_ERROR if it is unable to accept a frame." Here the
    // request body is not read (the only upstream connection is busy, so the proxy holds the body):
    // the stream's window, as the server announced it plus what it credited, runs out; one byte
    // more is a violation.
    test('DATA beyond the stream window the server granted → FLOW_CONTROL_ERROR (stream or connection error, §6.9)', async () => {
      a.clear();
      const q = await startProxy(
        oneHostSpec(a.port),
        { engine: 'martello', h2Server, upstreamMaxConnections: 1 },
        { fallbackCertificate: certificate },
      );
      const c = await RawH2.open(q.tlsPort);
      try {
        // Stream 1 holds the only upstream connection: its body is unfinished.
        await c.send(frame(T_HEADERS, F_END_HEADERS, 1, requestBlock('/held', 'POST', [['content-length', '10']])), frame(T_DATA, 0, 1, Buffer.from('12345')));
        await until(() => a.raw().includes('/held'), WAIT_MS, 'the held request upstream');
        // Stream 3 waits for the connection; send exactly its window, in frames the connection window allows.
        await c.send(frame(T_HEADERS, F_END_HEADERS, 3, requestBlock('/over', 'POST')));
        const sendWithin = async (limit: () => number): Promise<void> => {
          for (let round = 0; round < 20 && limit() > 0 && !c.closed; round++) {
            while (limit() > 0 && c.connectionWindow() > 0) {
              await c.send(frame(T_DATA, 0, 3, Buffer.alloc(Math.min(limit(), c.connectionWindow(), c.maxFrameSize), 0x62)));
            }
            // The connection window may need the server's WINDOW_UPDATE; a round trip brings the ones due.
            await c.roundTrip();
            await c.roundTrip();
          }
        };
        await sendWithin(() => c.streamWindow(3));
        assert.equal(c.goaway, undefined, `an error before the window ran out: ${c.trace()}`);
        assert.equal(c.stream(3).reset, undefined, `an error before the window ran out: ${c.trace()}`);
        assert.equal(c.streamWindow(3), 0, `the server keeps crediting a stream whose body it holds: ${c.trace()}`);
        await until(() => c.connectionWindow() > 0, WAIT_MS, `connection window: ${c.trace()}`);
        await c.send(frame(T_DATA, 0, 3, Buffer.from('!')));
        await until(() => c.stream(3).reset !== undefined || c.goaway !== undefined || c.closed, WAIT_MS, `FLOW_CONTROL_ERROR: ${c.trace()}`);
        if (c.goaway !== undefined || c.closed) {
          await expectConnectionError(c, FLOW_CONTROL_ERROR);
        } else {
          assert.equal(c.stream(3).reset, FLOW_CONTROL_ERROR, c.trace());
          // A stream error: the connection goes on; stream 1 finishes and a new request is served.
          await c.send(frame(T_DATA, F_END_STREAM, 1, Buffer.from('67890')));
          await until(() => c.stream(1).ended || c.stream(1).reset !== undefined || c.closed, WAIT_MS, `the held response: ${c.trace()}`);
          assert.equal(c.stream(1).status, 200, c.trace());
          await expectServed(c, 5, '/after-overflow');
        }
        assert.equal(a.seen.some((s) => s.url === '/over'), false, 'the overflowing request completed upstream');
      } finally {
        c.close();
        await q.close();
      }
    });

    // §8.1: a body may end with an empty DATA frame carrying END_STREAM; content-length: 0 is complete at once.
    test('content-length: 0 with END_STREAM in a later empty DATA frame: forwarded once, and its upstream connection serves the next request', async () => {
      a.clear();
      const q = await startProxy(
        oneHostSpec(a.port),
        { engine: 'martello', h2Server, upstreamMaxConnections: 1 },
        { fallbackCertificate: certificate },
      );
      const c = await RawH2.open(q.tlsPort);
      try {
        await expectServed(c, 1, '/warm');
        const dialled = a.connections;
        await c.send(frame(T_HEADERS, F_END_HEADERS, 3, requestBlock('/empty-post', 'POST', [['content-length', '0']])), frame(T_DATA, F_END_STREAM, 3));
        await until(() => c.stream(3).ended || c.stream(3).reset !== undefined || c.closed, WAIT_MS, `the POST's response: ${c.trace()}`);
        assert.equal(c.stream(3).status, 200, c.trace());
        await expectServed(c, 5, '/next');
        assert.deepEqual(a.seen.map((x) => [x.method, x.url, x.body.length]), [['GET', '/warm', 0], ['POST', '/empty-post', 0], ['GET', '/next', 0]]);
        assert.equal(a.connections, dialled, 'the upstream connection of the POST was not reused');
      } finally {
        c.close();
        await q.close();
      }
    });

    // 13. Flow control of responses (§6.9, §6.9.2): the client's SETTINGS_INITIAL_WINDOW_SIZE bounds what the server sends.
    test('a client window of 10 bytes: at most 10 bytes of DATA until WINDOW_UPDATE, then the rest, the body whole', () =>
      withClient(async (c) => {
        fixed.finished = 0;
        await c.send(get(1, '/thousand'));
        await until(() => c.stream(1).status !== undefined || c.stream(1).reset !== undefined || c.closed, WAIT_MS, `the response head: ${c.trace()}`);
        assert.equal(c.stream(1).status, 200, c.trace());
        await until(() => fixed.finished === 1, WAIT_MS, 'the backend sent the whole body');
        await until(() => c.stream(1).body.length >= 10 || c.closed, WAIT_MS, `the first 10 bytes: ${c.trace()}`);
        // Everything the proxy could send has had time to arrive: it holds the rest.
        await c.roundTrip();
        await c.roundTrip();
        assert.equal(c.stream(1).body.length, 10, `the window is 10 bytes: ${c.trace()}`);
        assert.equal(c.stream(1).ended, false);
        await c.send(windowUpdate(1, 490));
        await until(() => c.stream(1).body.length >= 500 || c.closed, WAIT_MS, `500 bytes: ${c.trace()}`);
        await c.roundTrip();
        assert.equal(c.stream(1).body.length, 500, `the window is 500 bytes: ${c.trace()}`);
        await c.send(windowUpdate(1, 500));
        await until(() => c.stream(1).ended || c.stream(1).reset !== undefined || c.closed, WAIT_MS, `the end of the body: ${c.trace()}`);
        assert.deepEqual(c.stream(1).body, fixed.body);
      }, { settings: [[S_INITIAL_WINDOW_SIZE, 10]] }));

    // 14. Request trailers (§8.1): a HEADERS frame with END_STREAM after the DATA ends the request.
    test('request trailers end the request: the backend gets the whole body, the client a 200', () =>
      withClient(async (c) => {
        a.clear();
        await c.send(
          frame(T_HEADERS, F_END_HEADERS, 1, requestBlock('/trailers', 'POST', [['te', 'trailers']])),
          frame(T_DATA, 0, 1, Buffer.from('hello ')),
          frame(T_DATA, 0, 1, Buffer.from('trailers')),
          frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, 1, block([['x-checksum', 'abc']])),
        );
        await until(() => c.stream(1).ended || c.stream(1).reset !== undefined || c.closed, WAIT_MS, `the response: ${c.trace()}`);
        assert.equal(c.stream(1).status, 200, c.trace());
        assert.deepEqual(a.seen.map((s) => [s.url, s.body.toString()]), [['/trailers', 'hello trailers']]);
      }));

    // 15. A header block over HEADERS + CONTINUATION frames (§4.3, §6.10).
    test('a header block split over HEADERS and 3 CONTINUATION frames is served', () =>
      withClient(async (c) => {
        a.clear();
        const whole = requestBlock('/continued', 'GET', [['x-one', '1'], ['x-two', '2']]);
        const cut = [0, 7, 20, 33, whole.length];
        await c.send(
          frame(T_HEADERS, F_END_STREAM, 1, whole.subarray(cut[0], cut[1])),
          frame(T_CONTINUATION, 0, 1, whole.subarray(cut[1], cut[2])),
          frame(T_CONTINUATION, 0, 1, whole.subarray(cut[2], cut[3])),
          frame(T_CONTINUATION, F_END_HEADERS, 1, whole.subarray(cut[3], cut[4])),
        );
        await until(() => c.stream(1).ended || c.stream(1).reset !== undefined || c.closed, WAIT_MS, `the response: ${c.trace()}`);
        assert.equal(c.stream(1).status, 200, c.trace());
        assert.equal(a.seen.length, 1);
        assert.equal(a.seen[0]!.url, '/continued');
        assert.ok(a.raw().includes('x-two: 2'), 'the fields of the last CONTINUATION went upstream');
      }));

    // 16. Padding (§6.1, §6.2).
    test('padded HEADERS and padded DATA frames are served with the right body', () =>
      withClient(async (c) => {
        a.clear();
        await c.send(
          frame(T_HEADERS, F_END_HEADERS | F_PADDED, 1, padded(requestBlock('/padded', 'POST', [['content-length', '11']]), 20)),
          frame(T_DATA, F_PADDED, 1, padded(Buffer.from('hello '), 9)),
          frame(T_DATA, F_PADDED | F_END_STREAM, 1, padded(Buffer.from('world'), 0)),
        );
        await until(() => c.stream(1).ended || c.stream(1).reset !== undefined || c.closed, WAIT_MS, `the response: ${c.trace()}`);
        assert.equal(c.stream(1).status, 200, c.trace());
        assert.deepEqual(a.seen.map((s) => [s.url, s.body.toString()]), [['/padded', 'hello world']]);
      }));

    test('HEADERS whose padding length exceeds the payload → connection error PROTOCOL_ERROR (§6.2)', () =>
      withClient(async (c) => {
        a.clear();
        const content = requestBlock('/pad-headers');
        const payload = Buffer.concat([Buffer.from([content.length + 1]), content]);
        await c.send(frame(T_HEADERS, F_END_HEADERS | F_END_STREAM | F_PADDED, 1, payload));
        await expectConnectionError(c, PROTOCOL_ERROR);
        assert.equal(a.raw().includes('/pad-headers'), false);
      }));

    test('DATA whose padding length is the payload length or more → connection error PROTOCOL_ERROR (§6.1)', () =>
      withClient(async (c) => {
        await c.send(frame(T_HEADERS, F_END_HEADERS, 1, requestBlock('/pad-data', 'POST')));
        // Payload of 6 bytes: the pad length byte says 6.
        await c.send(frame(T_DATA, F_PADDED | F_END_STREAM, 1, Buffer.concat([Buffer.from([6]), Buffer.from('hello')])));
        await expectConnectionError(c, PROTOCOL_ERROR);
      }));

    // 17. GOAWAY from the client (§6.8): it refuses server-initiated streams only; the client's
    // streams in flight complete.
    test('GOAWAY from the client while a stream is in flight: that stream still gets its response', () =>
      withClient(async (c) => {
        a.clear();
        await c.send(frame(T_HEADERS, F_END_HEADERS, 1, requestBlock('/in-flight', 'POST', [['content-length', '10']])), frame(T_DATA, 0, 1, Buffer.from('12345')));
        await until(() => a.raw().includes('/in-flight'), WAIT_MS, 'the request upstream');
        await c.send(frame(T_GOAWAY, 0, 0, Buffer.concat([u32(0), u32(NO_ERROR)])));
        await c.send(frame(T_DATA, F_END_STREAM, 1, Buffer.from('67890')));
        await until(() => c.stream(1).ended || c.stream(1).reset !== undefined || c.closed, WAIT_MS, `the response: ${c.trace()}`);
        assert.equal(c.stream(1).status, 200, c.trace());
        assert.equal(c.stream(1).body.toString(), 'backend a /in-flight');
        assert.deepEqual(a.seen.map((s) => [s.url, s.body.toString()]), [['/in-flight', '1234567890']]);
      }));
  });
}
