// Reads into the one shared buffer must hand every listener chunks of its
// own: a chunk kept from an earlier read still holds its bytes after later
// reads (of the same socket or another) overwrote the shared buffer. Real
// sockets on 127.0.0.1; payloads of several sizes so that reads are small
// (copied from Node's pool), large (copied, or read into the socket's own
// buffer and handed over after a large read) and full (64 KiB).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { READ_BUFFER_BYTES, readChunks, releaseReads, sharedReadOption, sharedReadsAvailable, socketReadStats } from './socket-reads.ts';

/** Payloads sent one after the other, each awaited by the reader before the next is written. */
const PAYLOADS = [randomBytes(10), randomBytes(5000), randomBytes(3 * READ_BUFFER_BYTES + 17), randomBytes(1)];

async function listen(onSocket: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

/** Collects chunks and resolves once `total` bytes have arrived. */
class Collector {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  /** Small chunks that were, when they arrived, a slice of Node's current Buffer pool. */
  pooledSmall = 0;
  #waiters: { at: number; resolve: () => void }[] = [];

  readonly listener = (chunk: Buffer): void => {
    if (chunk.length < 100 && Buffer.allocUnsafe(1).buffer === chunk.buffer) this.pooledSmall++;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    this.#waiters = this.#waiters.filter((w) => (w.at <= this.bytes ? (w.resolve(), false) : true));
  };

  until(bytes: number): Promise<void> {
    if (this.bytes >= bytes) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ at: bytes, resolve }));
  }
}

/** Writes each payload on `writer` and waits until `collector` has it, so that later reads overwrite the shared buffer. */
async function sendEach(writer: Socket, collector: Collector): Promise<void> {
  let total = 0;
  for (const p of PAYLOADS) {
    writer.write(p);
    total += p.length;
    await collector.until(total);
  }
}

test('this runtime lets accepted sockets read into the shared buffer', () => {
  // If a Node.js upgrade renames the private fields, the engine silently
  // falls back to one ArrayBuffer per read (about 11 % more CPU per small
  // request, docs/benchmarks.md): this test says so first.
  assert.equal(sharedReadsAvailable(), true);
});

test('accepted socket: every chunk keeps its bytes after later reads; no data events; end still comes', { timeout: 20_000 }, async () => {
  const before = socketReadStats();
  const collector = new Collector();
  let accepted: Socket | undefined;
  const { server, port } = await listen((s) => {
    accepted = s;
    readChunks(s, collector.listener);
  });
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  await sendEach(client, collector);
  assert.ok(accepted);
  assert.equal(accepted.listenerCount('data'), 0, 'the shared path, not data events');
  const ended = once(accepted, 'end');
  client.end();
  await ended;
  assert.deepEqual(Buffer.concat(collector.chunks), Buffer.concat(PAYLOADS));
  assert.ok(collector.chunks.length >= PAYLOADS.length);
  assert.ok(collector.chunks.some((c) => c.length === READ_BUFFER_BYTES), 'some read filled a whole buffer');
  assert.ok(collector.pooledSmall >= 1, 'a small read is a slice of Node\'s pool, not an ArrayBuffer of its own');
  const after = socketReadStats();
  assert.ok(after.handedOver > before.handedOver, 'reads after a large read are handed over without a copy');
  assert.ok(after.copied > before.copied);
  accepted.destroy();
  server.close();
});

test('dialled socket (onread option): every chunk keeps its bytes after later reads', { timeout: 20_000 }, async () => {
  const accepted = Promise.withResolvers<Socket>();
  const { server, port } = await listen((s) => accepted.resolve(s));
  const collector = new Collector();
  const socket = connect({ port, host: '127.0.0.1', onread: sharedReadOption(collector.listener) });
  await once(socket, 'connect');
  const peer = await accepted.promise;
  await sendEach(peer, collector);
  assert.deepEqual(Buffer.concat(collector.chunks), Buffer.concat(PAYLOADS));
  socket.destroy();
  peer.destroy();
  server.close();
});

test('two sockets reading in turns, small reads then bulk: neither sees the other\'s bytes', { timeout: 20_000 }, async () => {
  const a = new Collector();
  const b = new Collector();
  const accepted: Socket[] = [];
  const { server, port } = await listen((s) => {
    readChunks(s, accepted.length === 0 ? a.listener : b.listener);
    accepted.push(s);
  });
  const ca = connect(port, '127.0.0.1');
  await once(ca, 'connect');
  while (accepted.length < 1) await new Promise((r) => setImmediate(r));
  const cb = connect(port, '127.0.0.1');
  await once(cb, 'connect');
  while (accepted.length < 2) await new Promise((r) => setImmediate(r));
  const pa = randomBytes(200_000);
  const pb = randomBytes(200_000);
  // Interleaved writes of 1000 bytes: the reads of a and b alternate.
  for (let i = 0; i < pa.length; i += 1000) {
    ca.write(pa.subarray(i, i + 1000));
    cb.write(pb.subarray(i, i + 1000));
    if (i % 50_000 === 0) await Promise.all([a.until(i), b.until(i)]);
  }
  await Promise.all([a.until(pa.length), b.until(pb.length)]);
  // Then bulk: 64 KiB writes, so that both sockets switch between the shared buffer and their own.
  const bulkA = randomBytes(1024 * 1024);
  const bulkB = randomBytes(1024 * 1024);
  for (let i = 0; i < bulkA.length; i += 65536) {
    ca.write(bulkA.subarray(i, i + 65536));
    cb.write(bulkB.subarray(i, i + 65536));
  }
  await Promise.all([a.until(pa.length + bulkA.length), b.until(pb.length + bulkB.length)]);
  assert.deepEqual(Buffer.concat(a.chunks), Buffer.concat([pa, bulkA]));
  assert.deepEqual(Buffer.concat(b.chunks), Buffer.concat([pb, bulkB]));
  for (const s of [ca, cb, ...accepted]) s.destroy();
  server.close();
});

test('a socket holding bytes put back (unshift) keeps data events and loses nothing', { timeout: 20_000 }, async () => {
  const collector = new Collector();
  let accepted: Socket | undefined;
  const { server, port } = await listen((s) => {
    accepted = s;
    s.once('data', (first: Buffer) => {
      s.pause();
      s.unshift(first);
      readChunks(s, collector.listener);
      s.resume();
    });
  });
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  await sendEach(client, collector);
  assert.deepEqual(Buffer.concat(collector.chunks), Buffer.concat(PAYLOADS));
  assert.ok(accepted);
  assert.equal(accepted.listenerCount('data'), 1, 'the fallback: data events');
  client.destroy();
  accepted.destroy();
  server.close();
});

test('after releaseReads the socket pipes like any other and the engine listener gets nothing more', { timeout: 20_000 }, async () => {
  const engine = new Collector();
  const piped = new Collector();
  let accepted: Socket | undefined;
  const { server, port } = await listen((s) => {
    accepted = s;
    readChunks(s, engine.listener);
  });
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  client.write('before');
  await engine.until(6);
  assert.ok(accepted);
  releaseReads(accepted, engine.listener);
  accepted.pause();
  // What the tunnel does with a client socket: pipe it on.
  const { server: sink, port: sinkPort } = await listen((s) => s.on('data', piped.listener));
  const out = connect(sinkPort, '127.0.0.1');
  await once(out, 'connect');
  accepted.pipe(out);
  client.write('after the hand-over');
  await piped.until('after the hand-over'.length);
  assert.equal(Buffer.concat(piped.chunks).toString(), 'after the hand-over');
  assert.equal(Buffer.concat(engine.chunks).toString(), 'before');
  for (const s of [client, accepted, out]) s.destroy();
  server.close();
  sink.close();
});
