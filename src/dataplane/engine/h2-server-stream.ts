// One request stream of Martello's own HTTP/2 server (h2-connection.ts),
// offered to H2ClientStream as an H2StreamPort: what node:http2's streams
// do for the exchange, without a Duplex, its state objects, ticks or timers.

import type { OutgoingHttpHeaders, ServerStreamResponseOptions } from 'node:http2';
import type { H2StreamPort } from './h2-stream-port.ts';
import type { H2Connection } from './h2-connection.ts';
import { CANCEL, INTERNAL_ERROR, NO_ERROR, PROTOCOL_ERROR } from '../http2/frames.ts';

/** A stream's queued response bytes above which write() asks the writer to wait. */
const STREAM_HIGH_WATER = 64 * 1024;

const EMPTY = Buffer.alloc(0);

type Listener = ((this: H2ServerStream, ...args: never[]) => void) | null;

/**
 * One request stream of an H2Connection, as H2ClientStream sees it
 * (H2StreamPort): request body through 'data'/'end' (flowing once a 'data'
 * listener or resume(), paused by pause()), the response through respond(),
 * write(), end() and sendTrailers(), resets through close(code) and
 * destroy(err). 'close' comes once, after the frames that ended the stream
 * were written. One listener per event is all the exchange uses.
 */
export class H2ServerStream implements H2StreamPort {
  readonly id: number;
  readonly #conn: H2Connection;
  readonly openedAt: number;
  /** What the client lets us send on this stream. */
  sendWindow: number;
  /** What the client may still send us before a WINDOW_UPDATE. */
  recvCredit: number;
  readonly #windowSize: number;
  #unacked = 0;
  readonly #contentLength: number;
  #received = 0;
  remoteEnded = false;
  #endEmitted = false;
  #flowing = false;
  #inbound: Buffer[] | null = null;
  headersSent = false;
  #localEnded = false;
  /** END_STREAM is to follow the queued data. */
  #endQueued = false;
  #waitForTrailers = false;
  #queued: Buffer[] = [];
  queuedBytes = 0;
  waiting = false;
  #needDrain = false;
  #done = false;
  #closeEmitted = false;
  #onData: Listener = null;
  #onEnd: Listener = null;
  #onClose: Listener = null;
  #onDrain: Listener = null;
  #onWantTrailers: Listener = null;

  constructor(conn: H2Connection, id: number, sendWindow: number, windowSize: number, contentLength: number, openedAt: number) {
    this.#conn = conn;
    this.id = id;
    this.sendWindow = sendWindow;
    this.recvCredit = windowSize;
    this.#windowSize = windowSize;
    this.#contentLength = contentLength;
    this.openedAt = openedAt;
  }

  get destroyed(): boolean {
    return this.#done;
  }

  get closed(): boolean {
    return this.#done;
  }

  on(event: string, listener: (...args: any[]) => void): this {
    const fn = listener as Listener;
    switch (event) {
      case 'data':
        this.#onData = fn;
        this.#flowing = true;
        this.#deliver();
        break;
      case 'end':
        this.#onEnd = fn;
        // The body may be complete already (Content-Length 0): 'end' then
        // comes after the caller's current call, as node:http2 emits it,
        // never inside the call that attaches the listener.
        if (this.#received === this.#contentLength || this.remoteEnded) queueMicrotask(() => this.#deliver());
        break;
      case 'close':
        this.#onClose = fn;
        break;
      case 'drain':
        this.#onDrain = fn;
        break;
      case 'wantTrailers':
        this.#onWantTrailers = fn;
        break;
      default:
        // 'error': never emitted (a reset is reported by 'close').
        break;
    }
    return this;
  }

  /** Each event fires at most once per listener here ('drain' and 'wantTrailers' clear theirs). */
  once(event: string, listener: (...args: any[]) => void): this {
    return this.on(event, listener);
  }

  pause(): this {
    this.#flowing = false;
    return this;
  }

  resume(): this {
    if (this.#flowing) return this;
    this.#flowing = true;
    this.#deliver();
    return this;
  }

  // Request side ----------------------------------------------------------------------------------

  receiveData(chunk: Buffer, endStream: boolean): void {
    const n = chunk.length;
    if (n > 0) {
      this.#received += n;
      if (this.#contentLength >= 0 && this.#received > this.#contentLength) {
        this.resetLocally(PROTOCOL_ERROR);
        return;
      }
      if (this.#flowing && (this.#inbound === null || this.#inbound.length === 0)) {
        this.#emitData(chunk);
      } else {
        (this.#inbound ??= []).push(chunk);
      }
      // The last byte a Content-Length announced ends the body for the
      // reader now: the upstream may answer before the END_STREAM flag
      // arrives, and the exchange must know its request went up whole.
      if (this.#received === this.#contentLength && !endStream) this.#deliver();
    }
    if (endStream) this.receiveEnd();
  }

  receiveEnd(): void {
    if (this.#contentLength >= 0 && this.#received !== this.#contentLength) {
      this.resetLocally(PROTOCOL_ERROR);
      return;
    }
    this.remoteEnded = true;
    this.#deliver();
    this.#maybeDone();
  }

  #emitData(chunk: Buffer): void {
    const fn = this.#onData;
    if (fn !== null) (fn as (this: H2ServerStream, c: Buffer) => void).call(this, chunk);
    this.consumed(chunk.length);
  }

  /** `n` bytes of the stream's window were used up (read, or padding): credit them back in batches. */
  consumed(n: number): void {
    if (this.remoteEnded || this.#done) return;
    this.#unacked += n;
    if (this.#unacked >= this.#windowSize / 2) {
      this.recvCredit += this.#unacked;
      this.#conn.credit(this.id, this.#unacked);
      this.#unacked = 0;
    }
  }

  #deliver(): void {
    let inbound = this.#inbound;
    while (this.#flowing && inbound !== null && inbound.length > 0 && !this.#done) {
      this.#emitData(inbound.shift()!);
      inbound = this.#inbound;
    }
    // 'end' needs no flowing: a paused reader has taken every chunk already
    // and may be waiting for the end (the upstream write that paused it can
    // finish after the request's last byte was handed over).
    const complete = this.remoteEnded || this.#received === this.#contentLength;
    const fn = this.#onEnd;
    if (complete && fn !== null && !this.#endEmitted && (inbound === null || inbound.length === 0) && !this.#done) {
      this.#endEmitted = true;
      (fn as (this: H2ServerStream) => void).call(this);
    }
  }

  // Response side --------------------------------------------------------------------------------

  respond(headers: OutgoingHttpHeaders | readonly string[], options?: ServerStreamResponseOptions): void {
    if (this.#done) throw new Error('the stream is closed');
    if (this.headersSent) throw new Error('the response head was sent already');
    const fields = Array.isArray(headers) ? (headers as readonly string[]) : fieldsOf(headers as OutgoingHttpHeaders);
    checkResponseFields(fields);
    this.headersSent = true;
    const endStream = options?.endStream === true;
    this.#waitForTrailers = options?.waitForTrailers === true;
    this.#conn.writeHeaderBlock(this.id, fields, endStream);
    if (endStream) {
      this.#localEnded = true;
      this.#maybeDone();
    }
  }

  write(chunk: Buffer): boolean {
    if (this.#done || this.#localEnded || this.#endQueued) return false;
    this.#send(chunk, false);
    const ok = this.queuedBytes < STREAM_HIGH_WATER && !this.#conn.blocked;
    if (!ok) this.#needDrain = true;
    return ok;
  }

  end(chunk?: Buffer): this {
    if (this.#done || this.#localEnded || this.#endQueued) return this;
    if (!this.headersSent) this.respond([':status', '200']);
    if (this.#waitForTrailers) {
      // The last DATA frame without END_STREAM; the trailers end the stream.
      if (chunk !== undefined && chunk.length > 0) this.#send(chunk, false);
      this.#endQueued = true;
      if (this.queuedBytes === 0) this.#wantTrailers();
      return this;
    }
    this.#endQueued = true;
    this.#send(chunk ?? EMPTY, true);
    return this;
  }

  sendTrailers(headers: OutgoingHttpHeaders): void {
    if (this.#done || this.#localEnded) return;
    const fields = fieldsOf(headers);
    checkResponseFields(fields);
    this.#localEnded = true;
    if (fields.length === 0) this.#conn.sendData(this, EMPTY, true);
    else this.#conn.writeHeaderBlock(this.id, fields, true);
    this.#maybeDone();
  }

  close(code?: number): void {
    this.resetLocally(code ?? NO_ERROR);
  }

  destroy(error?: Error): this {
    this.resetLocally(error === undefined ? CANCEL : error.name === 'AbortError' ? CANCEL : INTERNAL_ERROR);
    return this;
  }

  /** Sends `chunk` as the windows allow and queues the rest; `end`: END_STREAM after it. */
  #send(chunk: Buffer, end: boolean): void {
    if (this.queuedBytes > 0) {
      if (chunk.length > 0) {
        this.#queued.push(chunk);
        this.queuedBytes += chunk.length;
      }
      this.#conn.waitForWindow(this);
      return;
    }
    const sent = this.#conn.sendData(this, chunk, end);
    if (sent < chunk.length) {
      this.#queued.push(sent === 0 ? chunk : chunk.subarray(sent));
      this.queuedBytes += chunk.length - sent;
      this.#conn.waitForWindow(this);
      return;
    }
    if (end) {
      this.#localEnded = true;
      this.#maybeDone();
    }
  }

  /** The windows grew: send what waits. */
  flushQueued(): void {
    const queued = this.#queued;
    while (queued.length > 0 && !this.#done) {
      const chunk = queued[0]!;
      const last = queued.length === 1;
      const endNow = last && this.#endQueued && !this.#waitForTrailers;
      const sent = this.#conn.sendData(this, chunk, endNow);
      this.queuedBytes -= sent;
      if (sent < chunk.length) {
        queued[0] = chunk.subarray(sent);
        return;
      }
      queued.shift();
      if (endNow) {
        this.#localEnded = true;
        this.#maybeDone();
      }
    }
    if (queued.length === 0 && this.#endQueued && !this.#localEnded && !this.#done) {
      if (this.#waitForTrailers) this.#wantTrailers();
    }
    this.#checkDrain();
  }

  #wantTrailers(): void {
    const fn = this.#onWantTrailers;
    this.#onWantTrailers = null;
    if (fn !== null) (fn as (this: H2ServerStream) => void).call(this);
    else this.sendTrailers({});
  }

  socketDrained(): void {
    this.#checkDrain();
  }

  #checkDrain(): void {
    if (!this.#needDrain || this.queuedBytes >= STREAM_HIGH_WATER || this.#conn.blocked || this.#done) return;
    this.#needDrain = false;
    const fn = this.#onDrain;
    this.#onDrain = null;
    if (fn !== null) (fn as (this: H2ServerStream) => void).call(this);
  }

  // Ends --------------------------------------------------------------------------------------------

  #maybeDone(): void {
    if (this.#done || !this.#localEnded) return;
    if (!this.remoteEnded) {
      // The response is complete before the request: stop the client's upload (§8.1).
      this.#conn.resetStream(this.id, NO_ERROR);
    }
    this.#finish();
  }

  /** RST_STREAM from us (`code` -1: none is sent, the connection is going). */
  resetLocally(code: number): void {
    if (this.#done) return;
    if (code >= 0) this.#conn.resetStream(this.id, code);
    this.#finish();
  }

  resetByPeer(_code: number): void {
    if (this.#done) return;
    this.#finish();
  }

  #finish(): void {
    this.#done = true;
    this.#inbound = null;
    this.#queued = [];
    this.queuedBytes = 0;
    this.#conn.streamDone(this);
  }

  emitClose(): void {
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    const fn = this.#onClose;
    this.#onClose = null;
    this.#onData = null;
    this.#onEnd = null;
    this.#onDrain = null;
    this.#onWantTrailers = null;
    if (fn !== null) (fn as (this: H2ServerStream) => void).call(this);
  }
}

/** [name, value, ...] of a headers object (values that are arrays become repeated fields). */
function fieldsOf(headers: OutgoingHttpHeaders): string[] {
  const out: string[] = [];
  const status = headers[':status'];
  if (status !== undefined) out.push(':status', String(status));
  for (const name of Object.keys(headers)) {
    if (name === ':status') continue;
    const value = headers[name];
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (Array.isArray(value)) for (const v of value) out.push(lower, String(v));
    else out.push(lower, String(value));
  }
  return out;
}

/** One native scan per value rather than a loop over its characters. */
const LINE_BREAK_OR_NUL = /[\r\n\0]/;

/** What node:http2 would refuse to send: uppercase names, CR/LF/NUL in values, connection-specific fields. */
function checkResponseFields(fields: readonly string[]): void {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    for (let j = 0; j < name.length; j++) {
      const c = name.charCodeAt(j);
      if ((c >= 0x41 && c <= 0x5a) || c <= 0x20 || c >= 0x7f) throw new TypeError(`invalid response field name ${JSON.stringify(name)}`);
    }
    if (LINE_BREAK_OR_NUL.test(value)) throw new TypeError(`invalid value of response field ${name}`);
    if (name === 'connection' || name === 'transfer-encoding' || name === 'keep-alive' || name === 'upgrade' || name === 'proxy-connection') {
      throw new TypeError(`connection-specific response field ${name}`);
    }
  }
}
