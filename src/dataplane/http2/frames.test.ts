// The frame builders (RFC 9113 §4.1, §6): every frame the server writes by
// hand is one of these, so their bytes are checked exactly: the 9-byte
// header (24-bit length, type, flags, 31-bit stream id), each builder's
// payload layout, and that frame() copies its payload rather than sharing
// it. Then a round trip through nghttp2: a real node:http2 client on
// 127.0.0.1, speaking h2c with prior knowledge to a plain net.Server that
// writes our SETTINGS, SETTINGS ACK and GOAWAY, must read them as meant.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type ClientHttp2Session, connect as http2Connect, type Settings } from 'node:http2';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import {
  CLIENT_PREFACE,
  DATA,
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FRAME_HEADER_BYTES,
  frame,
  GOAWAY,
  goawayFrame,
  HEADERS,
  MAX_FRAME_SIZE_LIMIT,
  NO_ERROR,
  PING,
  PROTOCOL_ERROR,
  rstStreamFrame,
  SETTINGS,
  SETTINGS_ACK_FRAME,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SETTINGS_MAX_CONCURRENT_STREAMS,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
} from './frames.ts';

/** Bytes from a hex dump ("00 00 04 03 ..."). */
function hex(dump: string): Buffer {
  return Buffer.from(dump.replace(/\s+/g, ''), 'hex');
}

describe('frame bytes', () => {
  test('the client preface', () => {
    assert.deepEqual(CLIENT_PREFACE, hex('505249202a20485454502f322e300d0a0d0a534d0d0a0d0a'));
    assert.equal(FRAME_HEADER_BYTES, 9);
  });

  test('rstStreamFrame', () => {
    assert.deepEqual(rstStreamFrame(3, 8), hex('000004 03 00 00000003 00000008'));
    assert.deepEqual(rstStreamFrame(2 ** 31 - 1, PROTOCOL_ERROR), hex('000004 03 00 7fffffff 00000001'));
  });

  test('windowUpdateFrame', () => {
    assert.deepEqual(windowUpdateFrame(0, 65_535), hex('000004 08 00 00000000 0000ffff'));
    assert.deepEqual(windowUpdateFrame(5, 2 ** 31 - 1), hex('000004 08 00 00000005 7fffffff'));
  });

  test('goawayFrame', () => {
    assert.deepEqual(goawayFrame(7, PROTOCOL_ERROR, 'bad frame'), Buffer.concat([hex('000011 07 00 00000000 00000007 00000001'), Buffer.from('bad frame')]));
    assert.deepEqual(goawayFrame(0, NO_ERROR), hex('000008 07 00 00000000 00000000 00000000'));
    // Debug text is written as latin1: one byte per character.
    assert.deepEqual(goawayFrame(1, NO_ERROR, 'caf\xe9'), hex('00000c 07 00 00000000 00000001 00000000 636166e9'));
  });

  test('settingsFrame', () => {
    assert.deepEqual(
      settingsFrame([
        [SETTINGS_MAX_CONCURRENT_STREAMS, 100],
        [SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20],
      ]),
      hex('00000c 04 00 00000000 0003 00000064 0004 00100000'),
    );
    assert.deepEqual(settingsFrame([]), hex('000000 04 00 00000000'));
    assert.deepEqual(settingsFrame([[SETTINGS_INITIAL_WINDOW_SIZE, 2 ** 31 - 1]]), hex('000006 04 00 00000000 0004 7fffffff'));
  });

  test('SETTINGS_ACK_FRAME', () => {
    assert.deepEqual(SETTINGS_ACK_FRAME, hex('000000 04 01 00000000'));
    assert.deepEqual(SETTINGS_ACK_FRAME, frame(SETTINGS, FLAG_ACK, 0));
  });

  test('frame', () => {
    assert.deepEqual(frame(DATA, FLAG_END_STREAM, 1, Buffer.from('hi')), hex('000002 00 01 00000001 6869'));
    assert.deepEqual(frame(HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, 3, hex('82 87')), hex('000002 01 05 00000003 8287'));
    assert.deepEqual(frame(PING, FLAG_ACK, 0, hex('0102030405060708')), hex('000008 06 01 00000000 0102030405060708'));
    assert.deepEqual(frame(GOAWAY, 0, 0), hex('000000 07 00 00000000'));
    assert.deepEqual(frame(DATA, 0, 1, Buffer.alloc(0)), hex('000000 00 00 00000001'));
  });

  test('frame copies its payload', () => {
    const payload = Buffer.from('abcd');
    const f = frame(DATA, 0, 1, payload);
    payload.fill(0x7a);
    assert.deepEqual(f, hex('000004 00 00 00000001 61626364'));
    // Nor does the frame share memory the other way.
    f.fill(0, FRAME_HEADER_BYTES);
    assert.equal(payload.toString('latin1'), 'zzzz');
    // A view into a larger buffer: only the view is copied.
    const big = Buffer.from('xxabcdxx');
    const g = frame(DATA, 0, 1, big.subarray(2, 6));
    big.fill(0);
    assert.deepEqual(g, hex('000004 00 00 00000001 61626364'));
  });
});

describe('writeFrameHeader', () => {
  test('writes at the offset, returns the offset after the header, touches nothing else', () => {
    const buf = Buffer.alloc(20, 0xaa);
    assert.equal(writeFrameHeader(buf, 5, 4, DATA, FLAG_END_STREAM, 1), 14);
    assert.deepEqual(buf, hex('aaaaaaaaaa 000004 00 01 00000001 aaaaaaaaaaaa'));
  });

  test('lengths above 65535 use all 24 bits', () => {
    const buf = Buffer.alloc(9);
    writeFrameHeader(buf, 0, 0x12_34_56, DATA, 0, 1);
    assert.deepEqual(buf.subarray(0, 3), hex('123456'));
    writeFrameHeader(buf, 0, 65_536, DATA, 0, 1);
    assert.deepEqual(buf.subarray(0, 3), hex('010000'));
    writeFrameHeader(buf, 0, MAX_FRAME_SIZE_LIMIT, DATA, 0, 1);
    assert.deepEqual(buf.subarray(0, 3), hex('ffffff'));
  });

  test('stream ids: 31 bits, the reserved bit left as the id has it', () => {
    const buf = Buffer.alloc(9);
    writeFrameHeader(buf, 0, 0, HEADERS, 0, 2 ** 31 - 1);
    assert.deepEqual(buf.subarray(5), hex('7fffffff'));
    writeFrameHeader(buf, 0, 0, HEADERS, 0, 0);
    assert.deepEqual(buf.subarray(5), hex('00000000'));
    // Ids in use are always below 2^31, so the reserved bit (§4.1: "MUST
    // remain unset when sending") is clear; the writer does not mask it, it
    // writes the id's 32 bits as unsigned. An id with the top bit set, as a
    // number or as the negative int32 of the same bits, writes that bit.
    writeFrameHeader(buf, 0, 0, HEADERS, 0, 0x80_00_00_05);
    assert.deepEqual(buf.subarray(5), hex('80000005'));
    writeFrameHeader(buf, 0, 0, HEADERS, 0, 0x80_00_00_05 | 0);
    assert.deepEqual(buf.subarray(5), hex('80000005'));
    writeFrameHeader(buf, 0, 0, HEADERS, 0, -1);
    assert.deepEqual(buf.subarray(5), hex('ffffffff'));
  });
});

// Round trip through node:http2 ---------------------------------------------------------------------

/**
 * A plain TCP server that plays an h2c server by hand: on connection it
 * writes `greeting`, then reads the client preface and frames, acks every
 * SETTINGS the client sends with SETTINGS_ACK_FRAME, and records the
 * client's acks of ours.
 */
class HandWrittenServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #greeting: Buffer;
  /** SETTINGS frames with ACK received from clients. */
  acksReceived = 0;
  readonly problems: string[] = [];

  private constructor(greeting: Buffer) {
    this.#greeting = greeting;
    this.#server = createServer((socket) => this.#accept(socket));
  }

  static async start(greeting: Buffer): Promise<HandWrittenServer> {
    const server = new HandWrittenServer(greeting);
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {});
    socket.write(this.#greeting);
    let buf = Buffer.alloc(0);
    let prefaceSeen = false;
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!prefaceSeen) {
        if (buf.length < CLIENT_PREFACE.length) return;
        if (!buf.subarray(0, CLIENT_PREFACE.length).equals(CLIENT_PREFACE)) {
          this.problems.push('bad preface');
          socket.destroy();
          return;
        }
        prefaceSeen = true;
        buf = buf.subarray(CLIENT_PREFACE.length);
      }
      while (buf.length >= FRAME_HEADER_BYTES) {
        const length = buf.readUIntBE(0, 3);
        if (buf.length < FRAME_HEADER_BYTES + length) break;
        const type = buf[3]!;
        const flags = buf[4]!;
        buf = buf.subarray(FRAME_HEADER_BYTES + length);
        if (type !== SETTINGS) continue;
        if ((flags & FLAG_ACK) !== 0) this.acksReceived++;
        else socket.write(SETTINGS_ACK_FRAME);
      }
    });
  }
}

/** Connects a node:http2 client to `url` and runs `use`; the client and the server are closed whatever happens. */
async function withClient(server: HandWrittenServer, use: (client: ClientHttp2Session) => Promise<void>): Promise<void> {
  const client = http2Connect(server.url);
  const errors: Error[] = [];
  client.on('error', (err: Error) => errors.push(err));
  try {
    await use(client);
  } finally {
    if (!client.destroyed) {
      const closed = once(client, 'close');
      client.destroy();
      await closed;
    }
    await server.close();
  }
  assert.deepEqual(errors, [], 'client errors');
  assert.deepEqual(server.problems, [], 'server problems');
}

describe('frames read by a node:http2 client', () => {
  test('settingsFrame sets the remote settings, SETTINGS_ACK_FRAME acks the local ones', { timeout: 10_000 }, async () => {
    const server = await HandWrittenServer.start(settingsFrame([[SETTINGS_MAX_CONCURRENT_STREAMS, 7]]));
    await withClient(server, async (client) => {
      const localSettings = once(client, 'localSettings');
      const [settings] = (await once(client, 'remoteSettings')) as [Settings];
      assert.equal(settings.maxConcurrentStreams, 7);
      assert.equal(client.remoteSettings.maxConcurrentStreams, 7);
      // 'localSettings' fires when the client reads our ACK of its SETTINGS.
      await localSettings;
      // And the client acked ours: it read it as a well-formed SETTINGS frame.
      while (server.acksReceived === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(server.acksReceived, 1);
    });
  });

  test('goawayFrame: the client sees the code, the last stream id and the debug data', { timeout: 10_000 }, async () => {
    const server = await HandWrittenServer.start(Buffer.concat([settingsFrame([]), goawayFrame(0, NO_ERROR, 'bye')]));
    await withClient(server, async (client) => {
      const [code, lastStreamId, opaqueData] = (await once(client, 'goaway')) as [number, number, Buffer];
      assert.equal(code, NO_ERROR);
      assert.equal(lastStreamId, 0);
      assert.ok(Buffer.isBuffer(opaqueData));
      assert.equal(opaqueData.toString('latin1'), 'bye');
    });
  });
});
