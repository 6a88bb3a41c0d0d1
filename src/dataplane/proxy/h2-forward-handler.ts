// One handler per request forwarded to an HTTP/2 upstream: opens a stream on
// the endpoint's session pool, streams the request body up and the response
// (head, DATA, trailers) down, with backpressure both ways. The listeners it
// puts on the client request/response and on the upstream stream are
// module-level functions that find the handler through a symbol, so a
// request allocates this object, its header block and one timer, and no
// closures.
//
// Ownership of `res` (Forwarder contract): the handler always finishes it,
// answers an error for it, or destroys it.
// - Before the response head: failures are answered with 502 (or 504 for
//   deadlines) through host.respondError, which for gRPC is a Trailers-Only
//   grpc-status.
// - After the head: the response is never completed artificially. A failed
//   upstream stream resets the client's HTTP/2 stream, or cuts the HTTP/1.1
//   connection, so the client sees a truncated response as one.
// - Client gone (res 'close' before the end): the upstream stream is reset
//   with CANCEL, which is how a gRPC server learns that the call was
//   cancelled (or that the client's deadline passed).
//
// Trailers are preserved: upstream trailers go out with res.addTrailers()
// before res.end(). An upstream Trailers-Only answer (one HEADERS frame with
// END_STREAM, how gRPC servers send most errors) is relayed to an HTTP/2
// client as one HEADERS frame with END_STREAM too: the compatibility API's
// writeHead()+end() would add an empty DATA frame, which gRPC clients reject.

import { Http2ServerResponse, constants as h2, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { H2SessionPool } from '../runtime/h2-session-pool.ts';
import { H2_CONNECT_TIMEOUT } from '../runtime/h2-session-pool.ts';
import type { DownstreamRequest, DownstreamResponse, ForwardRequest, ForwarderHost } from './forwarder.ts';
import { buildH2ResponseHeaders, http1Trailers, http2Trailers } from './h2-headers.ts';
import { isResponseGone } from './local-response.ts';

/** No response head within responseHeaderTimeoutMs (answered 504). */
export const H2_HEADERS_TIMEOUT = 'MARTELLO_H2_HEADERS_TIMEOUT';
/** Nothing moved for upstreamBodyTimeoutMs after the head (client response reset). */
export const H2_BODY_TIMEOUT = 'MARTELLO_H2_BODY_TIMEOUT';

export interface H2Timeouts {
  /** Until the response head; restarted by every request body chunk sent. */
  readonly responseHeaderTimeoutMs: number;
  /** After the head: idle time with no DATA in either direction. */
  readonly upstreamBodyTimeoutMs: number;
}

class H2ForwardError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'H2ForwardError';
    this.code = code;
  }
}

const TIMEOUT_CODES: ReadonlySet<string> = new Set([H2_CONNECT_TIMEOUT, H2_HEADERS_TIMEOUT]);

/**
 * Status for an upstream failure before the response head: 504 for
 * deadlines, else 502. node:http2 wraps the reason a queued stream was
 * cancelled in `cause`, so the chain is followed a few levels.
 */
export function statusForH2Error(err: unknown): number {
  let e = err as { code?: unknown; cause?: unknown } | null | undefined;
  for (let depth = 0; depth < 4 && e !== null && typeof e === 'object'; depth++) {
    if (typeof e.code === 'string' && TIMEOUT_CODES.has(e.code)) return 504;
    e = e.cause as typeof e;
  }
  return 502;
}

const kHandler = Symbol('martello.h2ForwardHandler');

type Tagged<T> = T & { [kHandler]?: H2ForwardHandler };

/** What both downstream response kinds offer for body chunks (their write() overloads differ). */
interface ChunkSink {
  write(chunk: Buffer): boolean;
}

const AWAITING_HEAD = 0;
const STREAMING = 1;
const DONE = 2;

// Listeners -------------------------------------------------------------------

function onClientResponseDrain(this: Tagged<DownstreamResponse>): void {
  this[kHandler]?.resumeUpstream();
}

function onClientResponseClose(this: Tagged<DownstreamResponse>): void {
  this[kHandler]?.clientClosed();
}

function onClientRequestData(this: Tagged<DownstreamRequest>, chunk: Buffer): void {
  this[kHandler]?.requestData(chunk);
}

function onClientRequestEnd(this: Tagged<DownstreamRequest>): void {
  this[kHandler]?.requestEnd();
}

function onUpstreamDrain(this: Tagged<ClientHttp2Stream>): void {
  this[kHandler]?.resumeRequest();
}

function onUpstreamResponse(this: Tagged<ClientHttp2Stream>, headers: IncomingHttpHeaders, flags: number, raw: string[]): void {
  this[kHandler]?.responseHead(headers, flags, raw);
}

function onUpstreamData(this: Tagged<ClientHttp2Stream>, chunk: Buffer): void {
  this[kHandler]?.responseData(chunk);
}

function onUpstreamTrailers(this: Tagged<ClientHttp2Stream>, _headers: IncomingHttpHeaders, _flags: number, raw: string[]): void {
  this[kHandler]?.responseTrailers(raw);
}

function onUpstreamEnd(this: Tagged<ClientHttp2Stream>): void {
  this[kHandler]?.responseEnd();
}

function onUpstreamError(this: Tagged<ClientHttp2Stream>, err: Error): void {
  this[kHandler]?.upstreamError(err);
}

function onUpstreamClose(this: Tagged<ClientHttp2Stream>): void {
  this[kHandler]?.upstreamClosed();
}

function onTimer(handler: H2ForwardHandler): void {
  handler.timedOut();
}

/** Reset the client's response: RST_STREAM on HTTP/2, connection cut on HTTP/1.1. */
function resetDownstream(res: DownstreamResponse, code: number): void {
  if (res instanceof Http2ServerResponse) {
    const stream = res.stream;
    if (!stream.destroyed) stream.close(code);
  } else {
    res.destroy();
  }
}

export class H2ForwardHandler {
  readonly #req: Tagged<DownstreamRequest>;
  readonly #res: Tagged<DownstreamResponse>;
  readonly #host: ForwarderHost;
  readonly #requestId: string;
  readonly #grpc: boolean;
  readonly #hsts: string | null;
  readonly #setCookie: string | undefined;
  readonly #hasBody: boolean;
  readonly #http2Client: boolean;
  readonly #timeouts: H2Timeouts;
  #stream: Tagged<ClientHttp2Stream> | null = null;
  #phase = AWAITING_HEAD;
  #timer: NodeJS.Timeout | null = null;
  /** Upstream paused because the client is not reading. */
  #paused = false;
  #requestEnded = false;
  #trailers: string[] | null = null;
  #error: Error | null = null;
  #pool: H2SessionPool | null = null;
  #headers: OutgoingHttpHeaders | null = null;
  #retried = false;

  constructor(request: ForwardRequest, host: ForwarderHost, timeouts: H2Timeouts) {
    this.#req = request.req;
    this.#res = request.res;
    this.#host = host;
    this.#requestId = request.requestId;
    this.#grpc = request.grpc;
    this.#hsts = request.hsts;
    this.#setCookie = request.setCookie;
    this.#hasBody = request.hasBody;
    this.#http2Client = request.res instanceof Http2ServerResponse;
    this.#timeouts = timeouts;
  }

  /** Open the upstream stream and wire everything; failures are answered, never thrown. */
  start(pool: H2SessionPool, headers: OutgoingHttpHeaders): void {
    const res = this.#res;
    if (isResponseGone(res) || res.headersSent) {
      // The client left before we started (or someone answered already).
      res.destroy();
      this.#phase = DONE;
      return;
    }
    this.#pool = pool;
    this.#headers = headers;
    if (!this.#open(pool, headers)) return;
    res[kHandler] = this;
    res.on('drain', onClientResponseDrain);
    res.on('close', onClientResponseClose);
    if (this.#hasBody) {
      const req = this.#req;
      req[kHandler] = this;
      req.on('data', onClientRequestData);
      req.on('end', onClientRequestEnd);
    } else {
      this.#requestEnded = true;
    }
    this.#timer = setTimeout(onTimer, this.#timeouts.responseHeaderTimeoutMs, this);
    this.#timer.unref();
  }

  /** Open the upstream stream; false if that failed (then already answered). */
  #open(pool: H2SessionPool, headers: OutgoingHttpHeaders): boolean {
    let stream: Tagged<ClientHttp2Stream>;
    try {
      stream = pool.request(headers, { endStream: !this.#hasBody });
    } catch (err) {
      // Closed pool, or a header value node:http2 refuses.
      this.#fail(err instanceof Error ? err : new Error(String(err)), h2.NGHTTP2_INTERNAL_ERROR);
      return false;
    }
    this.#stream = stream;
    stream[kHandler] = this;
    stream.on('response', onUpstreamResponse);
    stream.on('data', onUpstreamData);
    stream.on('trailers', onUpstreamTrailers);
    stream.on('end', onUpstreamEnd);
    stream.on('error', onUpstreamError);
    stream.on('close', onUpstreamClose);
    if (this.#hasBody) stream.on('drain', onUpstreamDrain);
    return true;
  }

  // Request body: client → upstream ----------------------------------------

  requestData(chunk: Buffer): void {
    const stream = this.#stream;
    if (this.#phase === DONE || stream === null) return;
    this.#timer?.refresh();
    if (!stream.write(chunk)) this.#req.pause();
  }

  resumeRequest(): void {
    if (this.#phase !== DONE && !this.#requestEnded) this.#req.resume();
  }

  requestEnd(): void {
    this.#requestEnded = true;
    if (this.#phase === DONE) return;
    this.#stream?.end();
  }

  // Response: upstream → client ---------------------------------------------

  responseHead(headers: IncomingHttpHeaders, flags: number, raw: string[]): void {
    if (this.#phase !== AWAITING_HEAD) return;
    this.#phase = STREAMING;
    const t = this.#timeouts;
    if (t.upstreamBodyTimeoutMs === t.responseHeaderTimeoutMs) {
      this.#timer?.refresh();
    } else {
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = setTimeout(onTimer, t.upstreamBodyTimeoutMs, this);
      this.#timer.unref();
    }
    const res = this.#res;
    const status = Number(headers[':status']);
    const out = buildH2ResponseHeaders(raw, this.#requestId, this.#host.closing && !this.#http2Client, this.#hsts);
    if (this.#setCookie !== undefined) out.push('Set-Cookie', this.#setCookie);
    // writeHead (and respond) validate again; an upstream that slipped
    // something invalid through must not crash us: it is a bad gateway.
    try {
      if (!(res instanceof Http2ServerResponse)) {
        res.writeHead(status, out);
      } else if ((flags & h2.NGHTTP2_FLAG_END_STREAM) === 0) {
        res.writeHead(status, out);
      } else {
        res.stream.respond([':status', String(status), ...out], { endStream: true });
        this.#host.countStatus(status);
        this.#complete();
        return;
      }
    } catch (err) {
      this.#phase = AWAITING_HEAD;
      this.#fail(err instanceof Error ? err : new Error('invalid upstream response head'), h2.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    this.#host.countStatus(status);
  }

  responseData(chunk: Buffer): void {
    if (this.#phase !== STREAMING) return;
    this.#timer?.refresh();
    if (!(this.#res as ChunkSink).write(chunk)) {
      this.#paused = true;
      this.#stream?.pause();
    }
  }

  resumeUpstream(): void {
    if (!this.#paused || this.#phase === DONE) return;
    this.#paused = false;
    // Time spent waiting for the client is not upstream idleness.
    this.#timer?.refresh();
    this.#stream?.resume();
  }

  responseTrailers(raw: string[]): void {
    if (this.#phase === STREAMING) this.#trailers = raw;
  }

  responseEnd(): void {
    if (this.#phase !== STREAMING) return;
    const res = this.#res;
    const trailers = this.#trailers;
    if (trailers !== null && trailers.length > 0) {
      try {
        if (res instanceof Http2ServerResponse) res.addTrailers(http2Trailers(trailers));
        else res.addTrailers(http1Trailers(trailers));
      } catch (err) {
        this.#fail(err instanceof Error ? err : new Error('invalid upstream trailers'), h2.NGHTTP2_INTERNAL_ERROR);
        return;
      }
    }
    this.#complete();
    res.end();
  }

  // Failures and cancellation ------------------------------------------------

  upstreamError(err: Error): void {
    // 'close' follows and decides; keep the reason for the status.
    this.#error ??= err;
  }

  upstreamClosed(): void {
    if (this.#phase === DONE) return;
    const stream = this.#stream;
    const code = stream?.rstCode ?? h2.NGHTTP2_INTERNAL_ERROR;
    if (code === h2.NGHTTP2_REFUSED_STREAM && this.#canRetry() && stream !== null) {
      // RFC 9113 §8.7: a refused stream was not processed (typically it
      // crossed the backend's GOAWAY), so it may be sent again. Only once,
      // and only without a body: the body has been consumed already.
      this.#retried = true;
      this.#error = null;
      stream[kHandler] = undefined;
      stream.removeListener('response', onUpstreamResponse);
      stream.removeListener('data', onUpstreamData);
      stream.removeListener('trailers', onUpstreamTrailers);
      stream.removeListener('end', onUpstreamEnd);
      this.#open(this.#pool!, this.#headers!);
      return;
    }
    this.#fail(this.#error ?? new Error(`upstream stream closed before the response ended (code ${code})`), code);
  }

  clientClosed(): void {
    if (this.#phase === DONE) return;
    this.#finish();
    const stream = this.#stream;
    if (stream !== null && !stream.destroyed) stream.close(h2.NGHTTP2_CANCEL);
    // Releases the HTTP/1.1 socket if it is still there; no-op otherwise.
    this.#res.destroy();
  }

  timedOut(): void {
    if (this.#phase === DONE) return;
    if (this.#phase === STREAMING && this.#paused) return; // resumeUpstream() re-arms it
    const head = this.#phase === AWAITING_HEAD;
    const err = head
      ? new H2ForwardError(H2_HEADERS_TIMEOUT, 'upstream sent no response head within the response header timeout')
      : new H2ForwardError(H2_BODY_TIMEOUT, 'upstream response stalled longer than the body timeout');
    this.#fail(err, h2.NGHTTP2_INTERNAL_ERROR);
  }

  #canRetry(): boolean {
    return this.#phase === AWAITING_HEAD && !this.#hasBody && !this.#retried && this.#pool !== null && !this.#pool.closed;
  }

  /** The response went out whole: stop everything else. */
  #complete(): void {
    this.#finish();
    const stream = this.#stream;
    // The upstream answered before the request body ended (an early
    // response, or a gRPC server that returned its status first): the
    // rest of the upload is not wanted (RFC 9113 §8.1: RST_STREAM NO_ERROR).
    if (stream !== null && !stream.destroyed && !stream.writableEnded) stream.close(h2.NGHTTP2_NO_ERROR);
    if (!this.#requestEnded) this.#req.resume();
  }

  #fail(err: Error, upstreamCode: number): void {
    const headSent = this.#phase === STREAMING;
    this.#finish();
    const stream = this.#stream;
    if (stream !== null && !stream.destroyed) stream.close(h2.NGHTTP2_CANCEL);
    if (!this.#requestEnded) this.#req.resume();
    const res = this.#res;
    this.#host.countUpstreamError();
    if (!headSent && !res.headersSent) {
      this.#host.respondError(res, statusForH2Error(err), this.#requestId, this.#grpc);
      return;
    }
    // Part of the response is out: never fabricate a complete one. A
    // CANCEL from the upstream (the server cancelled the call) is passed
    // on as such; anything else is a failure of ours or of the upstream.
    resetDownstream(res, upstreamCode === h2.NGHTTP2_CANCEL ? h2.NGHTTP2_CANCEL : h2.NGHTTP2_INTERNAL_ERROR);
  }

  #finish(): void {
    this.#phase = DONE;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const res = this.#res;
    res[kHandler] = undefined;
    res.removeListener('drain', onClientResponseDrain);
    res.removeListener('close', onClientResponseClose);
    const stream = this.#stream;
    if (stream !== null) {
      // Keep 'error' and 'close' listeners: errors after this point must
      // stay handled; with the tag gone they do nothing.
      stream[kHandler] = undefined;
      stream.removeListener('drain', onUpstreamDrain);
      stream.removeListener('data', onUpstreamData);
      if (this.#paused) stream.resume();
    }
    if (this.#hasBody) {
      const req = this.#req;
      req[kHandler] = undefined;
      req.removeListener('data', onClientRequestData);
      req.removeListener('end', onClientRequestEnd);
    }
  }
}
