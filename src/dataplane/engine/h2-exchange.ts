// The bridge from an engine client connection (HTTP/1.1) to an HTTP/2
// upstream (h2c or h2): one stream on the endpoint's H2SessionPool, the same
// pools the node:http path uses (runtime/h2-session-pool.ts). The request
// body goes up as DATA, the response comes back through the client
// connection's response writer (chunked unless the upstream gave a
// Content-Length), trailers become HTTP/1.1 trailers. One object per
// request forwarded this way (HTTP/2 upstreams are not the engine's hot
// path); its listeners are module-level functions.
//
// Failures: before the response head the client gets 502, or 504 for the
// connect and response-head deadlines; after it the client connection is
// cut. A client that leaves cancels the stream (RST_STREAM CANCEL).

import { constants as h2, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { H2_CONNECT_TIMEOUT, type H2SessionPool } from '../runtime/h2-session-pool.ts';
import { buildH2RequestHeaders } from '../proxy/h2-headers.ts';
import type { DeadlineSweep, Expiring } from './deadline-sweep.ts';

/** What the exchange reports to its client connection. */
export interface H2ExchangeUser {
  h2Head(status: number, raw: readonly string[], contentLength: number, endStream: boolean): void;
  upstreamBody(data: Buffer, start: number, end: number): void;
  upstreamTrailers(trailers: string[]): void;
  upstreamComplete(): void;
  upstreamFailed(status: number): void;
  upstreamDrain(): void;
}

/** The exchange's deadlines: the cluster's or the proxy's (ExchangeTimeouts; ProxyOptions fits too). */
export interface H2ExchangeTimeouts {
  readonly responseHeaderTimeoutMs: number;
  readonly upstreamBodyTimeoutMs: number;
}

const kExchange = Symbol('martello.h2Exchange');
type TaggedStream = ClientHttp2Stream & { [kExchange]?: H2Exchange };

function onResponse(this: TaggedStream, headers: IncomingHttpHeaders, flags: number, raw: string[]): void {
  this[kExchange]?.head(headers, flags, raw);
}

function onData(this: TaggedStream, chunk: Buffer): void {
  this[kExchange]?.body(chunk);
}

function onTrailers(this: TaggedStream, _headers: IncomingHttpHeaders, _flags: number, raw: string[]): void {
  this[kExchange]?.trailers(raw);
}

function onEnd(this: TaggedStream): void {
  this[kExchange]?.ended();
}

function onClose(this: TaggedStream): void {
  this[kExchange]?.closed();
}

function onDrain(this: TaggedStream): void {
  this[kExchange]?.drained();
}

function onError(this: TaggedStream, err: Error): void {
  this[kExchange]?.errored(err);
}

const NO_BODY = Object.freeze({ endStream: true });
const BODY = Object.freeze({ endStream: false });

const WAIT_HEAD = 0;
const STREAMING = 1;
const DONE = 2;

export class H2Exchange implements Expiring {
  readonly #user: H2ExchangeUser;
  readonly #sweep: DeadlineSweep;
  readonly #options: H2ExchangeTimeouts;
  #stream: TaggedStream | null = null;
  #phase = WAIT_HEAD;
  #paused = false;
  #error: Error | null = null;
  /** For one retry of a refused bodiless stream (RFC 9113 §8.7). */
  #pool: H2SessionPool | null = null;
  #headers: OutgoingHttpHeaders | null = null;
  #retried = false;
  deadline = Infinity;

  constructor(user: H2ExchangeUser, sweep: DeadlineSweep, options: H2ExchangeTimeouts) {
    this.#user = user;
    this.#sweep = sweep;
    this.#options = options;
  }

  start(pool: H2SessionPool, flat: readonly string[], method: string, target: string, scheme: 'http' | 'https', hasBody: boolean, grpc = false): void {
    let stream: TaggedStream;
    let headers: OutgoingHttpHeaders;
    try {
      headers = buildH2RequestHeaders(flat, method, target, scheme, grpc);
      stream = pool.request(headers, hasBody ? BODY : NO_BODY);
    } catch {
      // Closed pool, or a header value node:http2 refuses.
      this.#phase = DONE;
      this.#user.upstreamFailed(502);
      return;
    }
    if (!hasBody) {
      this.#pool = pool;
      this.#headers = headers;
    }
    this.#listen(stream);
    this.deadline = this.#sweep.now + this.#options.responseHeaderTimeoutMs;
    this.#sweep.add(this);
  }

  #listen(stream: TaggedStream): void {
    this.#stream = stream;
    stream[kExchange] = this;
    stream.on('response', onResponse);
    stream.on('data', onData);
    stream.on('trailers', onTrailers);
    stream.on('end', onEnd);
    stream.on('close', onClose);
    stream.on('error', onError);
    stream.on('drain', onDrain);
  }

  /** The RST_STREAM code the upstream stream closed with (undefined while open). */
  get rstCode(): number | undefined {
    return this.#stream?.rstCode;
  }

  // UpstreamLeg (the client connection's side) -----------------------------------

  writeBody(slice: Buffer): boolean {
    const stream = this.#stream;
    if (stream === null || this.#phase === DONE) return true;
    if (this.#phase === WAIT_HEAD) this.deadline = this.#sweep.now + this.#options.responseHeaderTimeoutMs;
    // node:http2 may keep the buffer until it is sent: hand it a copy-free
    // slice of a buffer nobody reuses (socket reads are fresh buffers).
    return stream.write(slice);
  }

  endBody(): void {
    const stream = this.#stream;
    if (stream !== null && this.#phase !== DONE && !stream.writableEnded) stream.end();
  }

  pause(): void {
    if (this.#paused || this.#stream === null) return;
    this.#paused = true;
    this.deadline = Infinity;
    this.#stream.pause();
  }

  resume(): void {
    if (!this.#paused || this.#stream === null) return;
    this.#paused = false;
    if (this.#phase === STREAMING) this.deadline = this.#sweep.now + this.#options.upstreamBodyTimeoutMs;
    this.#stream.resume();
  }

  abort(): void {
    if (this.#phase === DONE) return;
    this.#finish();
    const stream = this.#stream;
    if (stream !== null && !stream.destroyed) stream.close(h2.NGHTTP2_CANCEL);
  }

  // Stream events ------------------------------------------------------------------

  head(headers: IncomingHttpHeaders, flags: number, raw: string[]): void {
    if (this.#phase !== WAIT_HEAD) return;
    this.#phase = STREAMING;
    this.deadline = this.#sweep.now + this.#options.upstreamBodyTimeoutMs;
    const status = Number(headers[':status']);
    const cl = headers['content-length'];
    const length = typeof cl === 'string' && /^\d{1,15}$/.test(cl) ? Number(cl) : -1;
    this.#user.h2Head(status, raw, length, (flags & h2.NGHTTP2_FLAG_END_STREAM) !== 0);
  }

  body(chunk: Buffer): void {
    if (this.#phase !== STREAMING) return;
    if (!this.#paused) this.deadline = this.#sweep.now + this.#options.upstreamBodyTimeoutMs;
    this.#user.upstreamBody(chunk, 0, chunk.length);
  }

  trailers(raw: string[]): void {
    if (this.#phase !== STREAMING) return;
    const kept: string[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.charCodeAt(0) !== 0x3a) kept.push(name, raw[i + 1]!);
    }
    if (kept.length > 0) this.#user.upstreamTrailers(kept);
  }

  ended(): void {
    if (this.#phase !== STREAMING) return;
    // node:http2 emits 'end' for a stream reset without an error (CANCEL)
    // too: only END_STREAM completes a response; 'close' reports the reset.
    const code = this.#stream?.rstCode;
    if (code !== undefined && code !== h2.NGHTTP2_NO_ERROR) return;
    this.#finish();
    const stream = this.#stream;
    // The upstream answered before the request body ended: the rest is not wanted.
    if (stream !== null && !stream.destroyed && !stream.writableEnded) stream.close(h2.NGHTTP2_NO_ERROR);
    this.#user.upstreamComplete();
  }

  errored(err: Error): void {
    this.#error ??= err;
  }

  closed(): void {
    if (this.#phase === DONE) return;
    const before = this.#phase === WAIT_HEAD;
    const pool = this.#pool;
    if (before && pool !== null && !this.#retried && !pool.closed && this.#stream?.rstCode === h2.NGHTTP2_REFUSED_STREAM) {
      // RFC 9113 §8.7: a refused stream was not processed (typically it
      // crossed the backend's GOAWAY): sent again, once, and only without
      // a body (a body has been consumed already).
      this.#retried = true;
      this.#error = null;
      this.#stream![kExchange] = undefined;
      let stream: TaggedStream;
      try {
        stream = pool.request(this.#headers!, NO_BODY);
      } catch {
        this.#finish();
        this.#user.upstreamFailed(502);
        return;
      }
      this.#listen(stream);
      return;
    }
    this.#finish();
    this.#user.upstreamFailed(before && isTimeout(this.#error) ? 504 : 502);
  }

  drained(): void {
    if (this.#phase !== DONE) this.#user.upstreamDrain();
  }

  expired(): void {
    if (this.#phase === DONE) return;
    if (this.#paused) {
      this.deadline = Infinity;
      return;
    }
    const before = this.#phase === WAIT_HEAD;
    this.abort();
    this.#user.upstreamFailed(before ? 504 : 502);
  }

  #finish(): void {
    this.#phase = DONE;
    this.deadline = Infinity;
    this.#sweep.delete(this);
    const stream = this.#stream;
    if (stream !== null) {
      stream[kExchange] = undefined;
      if (this.#paused) stream.resume();
    }
  }
}

function isTimeout(err: Error | null): boolean {
  let e = err as { code?: unknown; cause?: unknown } | null;
  for (let depth = 0; depth < 4 && e !== null && typeof e === 'object'; depth++) {
    if (e.code === H2_CONNECT_TIMEOUT) return true;
    e = e.cause as typeof e;
  }
  return false;
}
