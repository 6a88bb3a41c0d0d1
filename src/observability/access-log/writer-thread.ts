// The access log's writing thread (see writer.ts): the only place where log
// lines meet a blocking write(2). It receives batches of whole lines (each
// ending in '\n') and writes them in chunks of at most CHUNK_BYTES that end
// at line boundaries:
//
//   POSIX makes a write of at most PIPE_BUF (4096 on Linux) bytes to a pipe
//   atomic, so when several worker processes share one stdout pipe (the
//   container runtime's), their lines never interleave. A single line longer
//   than that is written alone, in as many writes as the kernel needs.
//
// The descriptor is non-blocking when it can be (see openSink): a full pipe
// answers EAGAIN and the thread sleeps on Atomics.wait with a short backoff
// instead of sitting in write(2), so it can be told to give up (close()'s
// deadline) and never holds the process at exit.
//
// After each batch the thread acknowledges it (lines written, lines dropped,
// size), which is what bounds the main thread's pending bytes. Write errors
// other than EAGAIN (EPIPE, ENOSPC, ...) drop the chunk's lines and are
// reported once per error code on stderr.
//
// This module is both the thread's entry point and the home of openSink,
// which the main thread uses to open the destination synchronously at
// startup; the thread's code runs only inside the access log worker.

import fs from 'node:fs';
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';

/** Largest write, and the granularity of line-boundary chunks: Linux PIPE_BUF. */
export const CHUNK_BYTES = 4096;

/** What the main thread passes as workerData. */
export interface WriterThreadData {
  readonly kind: 'martello-access-log';
  readonly fd: number;
  /** Int32Array over it: [0] = 1 when the thread must stop writing and drop what it holds. */
  readonly control: SharedArrayBuffer;
}

/**
 * Main → thread: a batch of whole lines, UTF-8 encoded by the main thread
 * into a buffer of its own that is transferred, not copied (posting the
 * string itself cost more than formatting the lines: structured cloning
 * copies every character).
 */
export interface BatchMessage {
  readonly type: 'batch';
  readonly bytes: Uint8Array;
  /** The batch's length in bytes, echoed in the ack. */
  readonly size: number;
  /** How many lines it holds (so a batch written whole need not count them). */
  readonly lines: number;
}

/** Main → thread: finish what was sent, then say so. */
export interface CloseMessage {
  readonly type: 'close';
}

/**
 * Thread → main, once per batch. `size`: the batch's length in bytes.
 * `buffer`: the batch's buffer, transferred back for reuse when it
 * came from the main thread's pool (POOL_BUFFER_BYTES long).
 */
export interface AckMessage {
  readonly type: 'ack';
  readonly size: number;
  readonly written: number;
  readonly dropped: number;
  readonly buffer?: ArrayBuffer;
}

/**
 * Size of the main thread's reusable batch buffers. They go back and forth
 * instead of a fresh buffer per batch: this thread allocates almost nothing,
 * so its garbage collector seldom runs, and every transferred buffer it had
 * dropped stayed resident until it did (tens of MB under load).
 */
export const POOL_BUFFER_BYTES = 256 * 1024;

/** Thread → main, in answer to CloseMessage, after every batch before it was acknowledged. */
export interface ClosedMessage {
  readonly type: 'closed';
}

export interface Sink {
  readonly fd: number;
  /** We opened fd (close it when done); false for an inherited descriptor. */
  readonly owned: boolean;
}

/**
 * Opens an access log destination for writing. 'stdout'/'stderr': when the
 * descriptor is a pipe or a terminal it is reopened through /proc/self/fd as
 * a new, non-blocking open file description of the same pipe (so setting
 * O_NONBLOCK does not change the descriptor other processes share);
 * otherwise (a file, a socket, no /proc) the inherited descriptor is used
 * as it is. A path is opened for append, created 0644 if missing; it throws
 * when that fails (a configuration error, reported at startup).
 */
export function openSink(destination: string): Sink {
  if (destination === 'stdout') return reopenNonBlocking(1);
  if (destination === 'stderr') return reopenNonBlocking(2);
  const { O_WRONLY, O_APPEND, O_CREAT, O_NONBLOCK } = fs.constants;
  return { fd: fs.openSync(destination, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK, 0o644), owned: true };
}

function reopenNonBlocking(fd: number): Sink {
  try {
    const st = fs.fstatSync(fd);
    if (st.isFIFO() || st.isCharacterDevice()) {
      return { fd: fs.openSync(`/proc/self/fd/${fd}`, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK), owned: true };
    }
  } catch {
    // No /proc, or a pipe whose reader is gone: write to the inherited descriptor.
  }
  return { fd, owned: false };
}

function isThreadData(v: unknown): v is WriterThreadData {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'martello-access-log';
}

const MAX_BACKOFF_MS = 10;
const NEWLINE = 0x0a;

function countLines(buf: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = buf.indexOf(NEWLINE, start); i !== -1 && i < end; i = buf.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

function runThread(port: MessagePort, data: WriterThreadData): void {
  const fd = data.fd;
  const control = new Int32Array(data.control);
  const reported = new Set<string>();

  const aborted = (): boolean => Atomics.load(control, 0) !== 0;
  // Chunks of at most PIPE_BUF keep lines whole on a pipe or terminal shared
  // with other processes; a regular file opened for append gets whole batches
  // (each write(2) appends atomically there), in far fewer system calls.
  let chunkBytes = CHUNK_BYTES;
  try {
    if (fs.fstatSync(fd).isFile()) chunkBytes = Number.MAX_SAFE_INTEGER;
  } catch {
    // Not stat-able: keep the safe size.
  }

  const report = (code: string, message: string): void => {
    if (reported.has(code)) return;
    reported.add(code);
    const line = JSON.stringify({
      time: new Date().toISOString(),
      level: 'error',
      msg: 'access log write failed; dropping lines (reported once per error code)',
      component: 'access-log',
      code,
      error: message,
    }) + '\n';
    try {
      const err = openSink('stderr');
      try {
        fs.writeSync(err.fd, line); // one attempt: a full stderr pipe must not hold the thread
      } finally {
        if (err.owned) fs.closeSync(err.fd);
      }
    } catch {
      // Nowhere to report to.
    }
  };

  /** Writes buf[start, end) completely; false when it had to give up (the lines are dropped). */
  const writeAll = (buf: Buffer, start: number, end: number): boolean => {
    let off = start;
    let backoff = 1;
    while (off < end) {
      let n: number;
      try {
        n = fs.writeSync(fd, buf, off, end - off);
      } catch (e) {
        const code = String((e as { code?: unknown }).code ?? 'EIO');
        if (code === 'EINTR') continue;
        if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') {
          report(code, (e as Error).message);
          return false;
        }
        n = 0;
      }
      if (n > 0) {
        off += n;
        backoff = 1;
        continue;
      }
      // The pipe is full: sleep (woken at once by an abort), then try again.
      if (aborted()) return false;
      Atomics.wait(control, 0, 0, backoff);
      if (aborted()) return false;
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
    return true;
  };

  const writeBatch = (batch: BatchMessage): AckMessage => {
    const buf = Buffer.from(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength);
    let written = 0;
    let dropped = 0;
    let start = 0;
    while (start < buf.length) {
      let end = start + chunkBytes;
      if (end >= buf.length) {
        end = buf.length;
      } else {
        const nl = buf.lastIndexOf(NEWLINE, end - 1);
        if (nl >= start) {
          end = nl + 1;
        } else {
          // One line longer than a chunk: written alone.
          const next = buf.indexOf(NEWLINE, end);
          end = next === -1 ? buf.length : next + 1;
        }
      }
      const lines = start === 0 && end === buf.length ? batch.lines : countLines(buf, start, end);
      if (!aborted() && writeAll(buf, start, end)) written += lines;
      else dropped += lines;
      start = end;
    }
    return { type: 'ack', size: batch.size, written, dropped };
  };

  port.on('message', (msg: BatchMessage | CloseMessage) => {
    if (msg.type === 'batch') {
      const ack = writeBatch(msg);
      const buffer = msg.bytes.buffer;
      if (buffer instanceof ArrayBuffer && buffer.byteLength === POOL_BUFFER_BYTES) {
        port.postMessage({ ...ack, buffer }, [buffer]);
      } else {
        port.postMessage(ack);
      }
    } else if (msg.type === 'close') {
      const closed: ClosedMessage = { type: 'closed' };
      port.postMessage(closed);
    }
  });
}

if (!isMainThread && parentPort !== null && isThreadData(workerData)) runThread(parentPort, workerData);
