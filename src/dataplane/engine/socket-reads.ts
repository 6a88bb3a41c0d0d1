// Reads of the engine's TCP sockets without an ArrayBuffer per small read.
//
// By default every read Node makes from a socket lands in a fresh
// ArrayBuffer: it allocates 64 KiB, shrinks the block to what was read and
// wraps it. A proxied small request costs two such reads (client and
// upstream), and each dead ArrayBuffer is freed one by one in the next
// scavenge: under small-request load that sweep was half of every
// scavenge pause (0.25 of 0.5 ms, `--trace-gc-nvp`
// scavenge.sweep_array_buffers, 2026-11-24), on top of the allocation.
// Reading as below cut the CPU per small request by 10 % (bench/paired.sh,
// docs/benchmarks.md).
//
// Node can read into a caller's buffer instead (net.Socket's `onread`
// option), and after each read ask the caller for the buffer of the next.
// Here:
// - By default a socket reads into one buffer shared by all engine sockets.
//   The callback copies what was read into a Buffer of its own before
//   anything else sees it: a slice of Node's Buffer pool for reads under
//   POOLED_COPY_BYTES (no ArrayBuffer of its own), an exact-size ArrayBuffer
//   for larger ones, as Node would have made. The next read of any socket
//   may then overwrite the shared buffer.
// - A read of BULK_READ_BYTES or more says a body is streaming: that
//   socket's next read goes to a fresh 64 KiB buffer of its own, which is
//   handed over whole (no copy) if the read is that large again. After a
//   smaller read the socket goes back to the shared buffer. A large body
//   thus costs what it cost before (an ArrayBuffer per 64 KiB read).
// Measured against Node's own reads (bench/paired.sh, 2026-11-24): 10 %
// less CPU per small request, 5 % less per 16 KiB response. Two variants
// that lost: handing over 64 KiB buffers for 16 KiB reads (1.7x the CPU:
// four times the external memory for V8 to collect), and copying 16 KiB
// reads into the Buffer pool (more full collections than before).
// Either way the chunk a listener receives is owned and immutable like a
// 'data' chunk, so no consumer has to know how it was read.
//
// Upstream sockets are dialled with the public `onread` option. Accepted
// sockets are made by net.Server, which has no such option: the same
// per-socket fields are set on them before their first read. Those fields
// are private symbols, found once at start-up by their values on probe
// sockets; if a Node release changes them (or the socket is a TLS socket,
// or already holds bytes put back by the PROXY-protocol reader or the h2c
// sniffer) the socket keeps ordinary 'data' events.

import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/** The size of a read buffer: what libuv suggests per read. */
export const READ_BUFFER_BYTES = 64 * 1024;

/**
 * A read at least this large makes the socket's next read go to a buffer of
 * its own; a read into its own buffer is handed over only if it is this large.
 */
export const BULK_READ_BYTES = 32 * 1024;

/** Reads smaller than this are copied into Node's Buffer pool; larger ones into an ArrayBuffer of their own. */
export const POOLED_COPY_BYTES = 4 * 1024;

const SHARED = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
const SHARED_MEMORY = SHARED.buffer;

/** The buffer the socket being read gets next: set by chooseNext, handed to Node (and reset) by nextBuffer. */
let next: Buffer = SHARED;
/** Reads handed over in the socket's own buffer, and reads copied out (tests). */
let handedOver = 0;
let copied = 0;

/** Receives each read as a chunk of its own; `this` is the socket. */
export type ChunkListener = (this: Socket, chunk: Buffer) => void;

/** What Node calls with the read buffer after each read; `this` is the socket. True: keep reading. */
type ReadCallback = (this: Socket, nread: number, buffer: Uint8Array) => boolean;

/** The chunk of one read: `nread` bytes at the start of `buffer`. */
function takeRead(buffer: Uint8Array, nread: number): Buffer {
  if (buffer !== SHARED && nread >= BULK_READ_BYTES) {
    // The socket's own buffer, mostly filled: handed over, never written again.
    handedOver++;
    return Buffer.from(buffer.buffer, buffer.byteOffset, nread);
  }
  // Small reads share Node's pool; larger ones get an ArrayBuffer of their
  // own, as Node would have allocated (16 KiB reads copied into the pool
  // cost more full collections than Node's own reads, paired runs).
  const chunk = nread < POOLED_COPY_BYTES ? Buffer.allocUnsafe(nread) : Buffer.allocUnsafeSlow(nread);
  // A view made from the cached ArrayBuffer: subarray() reads `.buffer`,
  // a runtime call that showed up in perf (0.7 % of the proxy's samples).
  chunk.set(buffer === SHARED ? new Uint8Array(SHARED_MEMORY, 0, nread) : new Uint8Array(buffer.buffer, buffer.byteOffset, nread));
  copied++;
  return chunk;
}

/**
 * Chooses the buffer of the same socket's next read. Called after the
 * listener returned: a socket dialled from inside the listener asks
 * nextBuffer for its first buffer and must get the shared one.
 */
function chooseNext(nread: number): void {
  if (nread >= BULK_READ_BYTES) next = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
}

/** Node asks for the buffer of the socket's next read right after each read callback. */
function nextBuffer(): Buffer {
  const b = next;
  next = SHARED;
  return b;
}

const callbacks = new WeakMap<ChunkListener, ReadCallback>();

/** One read callback per listener (listeners are module-level functions): no closure per socket. */
function readCallbackFor(listener: ChunkListener): ReadCallback {
  let cb = callbacks.get(listener);
  if (cb === undefined) {
    cb = function onRead(this: Socket, nread: number, buffer: Uint8Array): boolean {
      listener.call(this, takeRead(buffer, nread));
      chooseNext(nread);
      // Pausing is the listener's own business (socket.pause() stops the reads).
      return true;
    };
    callbacks.set(listener, cb);
  }
  return cb;
}

/** `onread` for net.connect: upstream sockets read as above. */
export function sharedReadOption(listener: ChunkListener): { buffer: () => Buffer; callback: ReadCallback } {
  return { buffer: nextBuffer, callback: readCallbackFor(listener) };
}

interface ReadSymbols {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly generator: symbol;
}

function probeCallback(): boolean {
  return true;
}

/** The own symbol-keyed field of `socket` that holds `value`. */
function symbolOf(socket: Socket, value: unknown): symbol | undefined {
  const fields = socket as unknown as Record<symbol, unknown>;
  return Object.getOwnPropertySymbols(socket).find((sym) => fields[sym] === value);
}

/** The symbols under which net.Socket keeps its `onread` buffer, callback and buffer generator, or null. */
function findReadSymbols(): ReadSymbols | null {
  try {
    const probeBuffer = Buffer.alloc(1);
    const probeGenerator = (): Buffer => probeBuffer;
    const withBuffer = new Socket({ onread: { buffer: probeBuffer, callback: probeCallback } });
    const withGenerator = new Socket({ onread: { buffer: probeGenerator, callback: probeCallback } });
    const buffer = symbolOf(withBuffer, probeBuffer);
    const callback = symbolOf(withBuffer, probeCallback);
    const generator = symbolOf(withGenerator, probeGenerator);
    withBuffer.destroy();
    withGenerator.destroy();
    return buffer !== undefined && callback !== undefined && generator !== undefined ? { buffer, callback, generator } : null;
  } catch {
    return null;
  }
}

const symbols = findReadSymbols();

interface UserBufferHandle {
  useUserBuffer(buffer: Uint8Array): void;
}

/**
 * Delivers the reads of an accepted `socket` to `listener`: as above when
 * possible, else as 'data' events. Call it before the first read is handled
 * (in the same tick as the socket's creation, or on a socket paused since).
 */
export function readChunks(socket: Socket | TLSSocket, listener: ChunkListener): void {
  // The libuv handle: a private field, and the only way to read into a
  // caller's buffer on a socket that net.Server made.
  // oxlint-disable-next-line no-underscore-dangle
  const handle = (socket as unknown as { _handle?: Partial<UserBufferHandle> | null })._handle;
  const fields = socket as unknown as Record<symbol, unknown>;
  if (
    symbols === null ||
    socket instanceof TLSSocket ||
    socket.readableLength !== 0 ||
    handle === null ||
    handle === undefined ||
    typeof handle.useUserBuffer !== 'function' ||
    fields[symbols.buffer] !== null
  ) {
    socket.on('data', listener);
    return;
  }
  fields[symbols.buffer] = SHARED;
  fields[symbols.callback] = readCallbackFor(listener);
  fields[symbols.generator] = nextBuffer;
  handle.useUserBuffer(SHARED);
}

/** Node's callback for a socket handed on: each read becomes a 'data' event, as if it had never been ours. */
function emitData(this: Socket, nread: number, buffer: Uint8Array): boolean {
  this.emit('data', takeRead(buffer, nread));
  chooseNext(nread);
  return true;
}

/**
 * The engine hands `socket` on (to the WebSocket tunnel): `listener` gets no
 * more reads, and from now on every read is an ordinary 'data' event, so that
 * pipe() and 'data' listeners work on it (pause() and resume() already do).
 */
export function releaseReads(socket: Socket | TLSSocket, listener: ChunkListener): void {
  socket.removeListener('data', listener);
  if (symbols === null) return;
  const fields = socket as unknown as Record<symbol, unknown>;
  if (fields[symbols.generator] === nextBuffer) fields[symbols.callback] = emitData;
}

/** Whether accepted sockets can read as above on this runtime (tests). */
export function sharedReadsAvailable(): boolean {
  return symbols !== null;
}

/** Reads so far: copied out of a buffer, or handed over in the socket's own (tests). */
export function socketReadStats(): { copied: number; handedOver: number } {
  return { copied, handedOver };
}
