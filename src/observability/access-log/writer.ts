// The access log writer: takes one line per exchange on the event loop and
// gets it to stdout, stderr or a file without ever making the event loop
// wait for the log's consumer.
//
//   append(encoder, value) / write(line)
//                 encodes the line as UTF-8 straight into the batch, a
//                 pooled byte buffer: no syscall, and for the JSON format
//                 (json-line-encoder.ts) no string and no allocation.
//   hand-off      every flushIntervalMs (100 ms) while lines wait, or at
//                 once when the batch reaches batchBytes, the batch's buffer
//                 is transferred (not copied) to a worker thread
//                 (writer-thread.ts) that does the blocking writes, in chunks
//                 of at most 4096 bytes ending at line boundaries (atomic on
//                 a shared pipe), and sends the buffer back for reuse.
//   bound         what was handed off but not yet acknowledged by the
//                 thread, plus the current batch, is at most maxPendingBytes;
//                 a line that does not fit is dropped and counted. A stalled
//                 consumer (a full pipe nobody reads) therefore costs bounded
//                 memory and some dropped lines, never a stalled proxy.
//
// Sizes are bytes of UTF-8, newlines included.
//
// Write errors (EPIPE, ENOSPC, ...) drop the lines concerned, are counted
// in stats().dropped and reported once on stderr by the thread; nothing is
// ever thrown into the caller of write(). The constructor does throw when a
// file destination cannot be opened: that is a configuration error.
//
// The thread does not keep the process alive while it has nothing to
// write (the worker is unref'd when every batch is acknowledged).

import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { type LineEncoder, STRING_LINE_ENCODER } from './json-line-encoder.ts';
import { openSink, POOL_BUFFER_BYTES, type BatchMessage, type AckMessage, type ClosedMessage, type CloseMessage, type Sink, type WriterThreadData } from './writer-thread.ts';

/** Batch buffers kept for reuse: enough for the batches in flight at a sustained rate. */
const POOL_SIZE = 4;

export interface AccessLogWriterOptions {
  /** 'stdout', 'stderr', or the path of a file opened for append (created 0644 when missing). */
  readonly destination: 'stdout' | 'stderr' | (string & {});
  /** Bound on lines not yet written (handed off and not acknowledged, plus the batch), in bytes. Default 4 MiB. */
  readonly maxPendingBytes?: number;
  /**
   * A batch this large is handed off at once instead of at the next flush.
   * Default 192 KiB; at most POOL_BUFFER_BYTES. Each hand-off wakes the thread
   * (a context switch on the proxy's core, two messages): with 64 KiB batches
   * that cost about 8% of a small request's CPU (docs/benchmarks.md).
   */
  readonly batchBytes?: number;
  /** Lines wait at most this long before they are handed to the thread. Default 100 ms. */
  readonly flushIntervalMs?: number;
  /** How long close() waits for the pending lines to be written before dropping them. Default 2000 ms. */
  readonly closeTimeoutMs?: number;
}

export interface AccessLogWriterStats {
  /** Lines written by the thread (acknowledged). */
  lines: number;
  /** Lines dropped: over the bound, write errors, after close(), or still pending at close()'s deadline. */
  dropped: number;
}

const OPEN = 0;
const CLOSING = 1;
const DEAD = 2;

/** After the abort flag, how long the thread gets to answer before it is terminated. */
const ABORT_GRACE_MS = 500;

export class AccessLogWriter {
  readonly #maxPending: number;
  readonly #batchBytes: number;
  readonly #closeTimeoutMs: number;
  readonly #flushIntervalMs: number;
  readonly #sink: Sink;
  readonly #control: Int32Array;
  readonly #worker: Worker;

  #state = OPEN;
  /** The batch: lines encoded into a buffer (pooled unless one line needed more), or null until the next line. */
  #batch: Uint8Array<ArrayBuffer> | null = null;
  /** Bytes of the batch in use. */
  #batchSize = 0;
  #batchLines = 0;
  /** Batch buffers back from the thread, for reuse (at most POOL_SIZE). */
  readonly #pool: ArrayBuffer[] = [];
  #scheduled = false;
  /** Handed off, not acknowledged. */
  #inFlight = 0;
  #inFlightLines = 0;
  #lines = 0;
  #dropped = 0;
  #closePromise: Promise<void> | null = null;
  #onClosed: (() => void) | null = null;
  #exited = false;
  readonly #exit: Promise<void>;

  constructor(options: AccessLogWriterOptions) {
    this.#maxPending = positive('maxPendingBytes', options.maxPendingBytes ?? 4 * 1024 * 1024);
    this.#batchBytes = Math.min(POOL_BUFFER_BYTES, positive('batchBytes', options.batchBytes ?? 192 * 1024));
    this.#closeTimeoutMs = positive('closeTimeoutMs', options.closeTimeoutMs ?? 2000);
    this.#flushIntervalMs = positive('flushIntervalMs', options.flushIntervalMs ?? 100);
    this.#sink = openSink(options.destination);
    this.#control = new Int32Array(new SharedArrayBuffer(4));
    const workerData: WriterThreadData = { kind: 'martello-access-log', fd: this.#sink.fd, control: this.#control.buffer as SharedArrayBuffer };
    try {
      this.#worker = new Worker(new URL('./writer-thread.ts', import.meta.url), { workerData, name: 'martello-access-log' });
    } catch (e) {
      if (this.#sink.owned) fs.closeSync(this.#sink.fd);
      throw e;
    }
    this.#worker.unref();
    this.#worker.on('message', (m: AckMessage | ClosedMessage) => this.#onMessage(m));
    this.#worker.on('error', (e: Error) => this.#onThreadGone(e));
    this.#exit = new Promise((resolve) => {
      this.#worker.once('exit', () => {
        this.#onThreadGone(null);
        resolve();
      });
    });
  }

  /** Queues one line (without its newline; it must not contain one). Never blocks, never throws. */
  write(line: string): void {
    this.append(STRING_LINE_ENCODER, line);
  }

  /** Queues the line `encoder` writes for `value`. Never blocks, never throws (unless the encoder does). */
  append<T>(encoder: LineEncoder<T>, value: T): void {
    if (this.#state !== OPEN) {
      this.#dropped++;
      return;
    }
    const room = encoder.maxBytes(value);
    let out = this.#batch;
    if (out === null || this.#batchSize + room > out.length) {
      if (out !== null) this.#handOff();
      out = this.#newBatch(room);
    }
    const start = this.#batchSize;
    const end = encoder.encode(value, out, start);
    if (this.#inFlight + end > this.#maxPending) {
      // Over the bound: the bytes written past `start` are left unused.
      this.#dropped++;
      return;
    }
    this.#batchSize = end;
    this.#batchLines++;
    if (end >= this.#batchBytes) {
      this.#handOff();
    } else if (!this.#scheduled) {
      // Hand off on a timer, not every event-loop turn: each hand-off is a
      // postMessage, and at tens of thousands of requests a second one per
      // turn cost more than formatting the lines (docs/benchmarks.md).
      this.#scheduled = true;
      setTimeout(this.#onTimer, this.#flushIntervalMs);
    }
  }

  stats(): AccessLogWriterStats {
    return { lines: this.#lines, dropped: this.#dropped };
  }

  /**
   * Hands off the current batch, waits until the thread has written every
   * pending line (at most closeTimeoutMs; then what is left is dropped and
   * counted) and ends the thread. Later writes are dropped. Idempotent.
   */
  close(): Promise<void> {
    this.#closePromise ??= this.#close();
    return this.#closePromise;
  }

  readonly #onTimer = (): void => {
    this.#scheduled = false;
    this.#handOff();
  };

  /** An empty batch with room for at least `room` bytes: a pooled buffer, or one of its own for a line longer than that. */
  #newBatch(room: number): Uint8Array<ArrayBuffer> {
    const out = new Uint8Array(room <= POOL_BUFFER_BYTES ? (this.#pool.pop() ?? new ArrayBuffer(POOL_BUFFER_BYTES)) : new ArrayBuffer(room));
    this.#batch = out;
    this.#batchSize = 0;
    this.#batchLines = 0;
    return out;
  }

  #handOff(): void {
    const out = this.#batch;
    const lines = this.#batchLines;
    const size = this.#batchSize;
    if (out === null || lines === 0) return;
    this.#batch = null;
    this.#batchSize = 0;
    this.#batchLines = 0;
    if (this.#state === DEAD) {
      this.#dropped += lines;
      return;
    }
    if (this.#inFlightLines === 0) this.#worker.ref(); // busy: let the lines out before the process exits
    this.#inFlight += size;
    this.#inFlightLines += lines;
    const bytes = out.subarray(0, size);
    const batch: BatchMessage = { type: 'batch', bytes, size, lines };
    // oxlint-disable-next-line unicorn/require-post-message-target-origin -- a Worker, not a window
    this.#worker.postMessage(batch, [bytes.buffer]);
  }

  #onMessage(m: AckMessage | ClosedMessage): void {
    if (m.type === 'ack') {
      if (m.buffer !== undefined && this.#pool.length < POOL_SIZE) this.#pool.push(m.buffer);
      this.#inFlight -= m.size;
      this.#inFlightLines = Math.max(0, this.#inFlightLines - m.written - m.dropped);
      this.#lines += m.written;
      this.#dropped += m.dropped;
      if (this.#inFlightLines === 0 && this.#state === OPEN) this.#worker.unref();
    } else if (m.type === 'closed') {
      this.#onClosed?.();
    }
  }

  #onThreadGone(error: Error | null): void {
    this.#exited = true;
    if (this.#state === OPEN) {
      // Not asked to stop: a bug. Keep the event loop safe and count what is lost.
      process.emitWarning(`access log thread ended unexpectedly${error === null ? '' : ': ' + error.message}; access log lines are dropped from now on`);
    }
    this.#state = DEAD;
    this.#dropped += this.#inFlightLines + this.#batchLines;
    this.#inFlightLines = 0;
    this.#inFlight = 0;
    this.#batch = null;
    this.#batchSize = 0;
    this.#batchLines = 0;
    this.#onClosed?.();
  }

  async #close(): Promise<void> {
    this.#handOff();
    if (this.#state === OPEN) this.#state = CLOSING;
    if (!this.#exited) {
      this.#worker.ref();
      const closed = new Promise<void>((resolve) => {
        this.#onClosed = resolve;
      });
      const message: CloseMessage = { type: 'close' };
      // oxlint-disable-next-line unicorn/require-post-message-target-origin -- a Worker, not a window
      this.#worker.postMessage(message);
      if (!(await within(closed, this.#closeTimeoutMs))) {
        // Deadline: the thread drops what it still holds and answers within one backoff sleep (≤ 10 ms).
        Atomics.store(this.#control, 0, 1);
        Atomics.notify(this.#control, 0);
        await within(closed, ABORT_GRACE_MS);
      }
      this.#dropped += this.#inFlightLines;
      this.#inFlightLines = 0;
      this.#inFlight = 0;
      // A thread stuck in a blocking write (a descriptor that could not be made non-blocking)
      // cannot be terminated; leave it unref'd rather than wait forever.
      this.#worker.terminate().catch(() => {});
      await within(this.#exit, ABORT_GRACE_MS);
      this.#worker.unref();
    }
    this.#state = DEAD;
    if (this.#exited && this.#sink.owned) {
      try {
        fs.closeSync(this.#sink.fd);
      } catch {
        // Already gone.
      }
    }
  }
}

function positive(name: string, v: number): number {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`AccessLogWriter: ${name} must be a positive number, got ${v}`);
  return v;
}

/** true when p settled within ms. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
