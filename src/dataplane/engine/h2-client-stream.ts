// One HTTP/2 client stream served by the engine: a request that arrived on
// node:http2's core stream API (the session's 'stream' event, no
// compatibility request/response objects), routed with routeRequest (the one
// decision for every transport), answered locally or forwarded over one
// upstream leg: a connection of the endpoint's HTTP/1.1 pool (the same
// Http1Pool the engine's HTTP/1.1 clients use) or a stream on the endpoint's
// HTTP/2 session pool (H2Exchange, as for HTTP/1.1 clients).
//
// This object is the exchange, and its own observation record (it extends
// ExchangeRecord: method, status, start time, bytes in and out, upstream,
// request ID, ... as plain fields), handed to the engine's observer when the
// stream closes. The stream's listeners are module-level functions that find
// it through a symbol, so a request allocates this object, its header lists
// and no closures.
//
// Backpressure both ways: a request body the upstream does not take pauses
// the client stream (HTTP/2 flow control then stops the client), and a
// client that does not read pauses the upstream leg until the stream drains.
// Deadlines are the leg's (the engine's sweep: connect and response head →
// 504, body idle → reset). A client that resets the stream (or goes away)
// aborts the leg: the upstream HTTP/1.1 connection is destroyed, never
// reused; an HTTP/2 upstream stream is cancelled. An upstream that fails
// after the response head resets the client stream (INTERNAL_ERROR, or
// CANCEL passed on from an HTTP/2 upstream); before it, the client gets 502,
// 503 or 504 (a gRPC Trailers-Only status for gRPC requests).

import { EventEmitter, once } from 'node:events';
import { constants as h2, type IncomingHttpHeaders } from 'node:http2';
import type { UpstreamEndpoint } from '../compile/cluster.ts';
import type { Expiring } from './deadline-sweep.ts';
import { type ResponseHead, SerializeError, serializeRequestHead } from '../http1/index.ts';
import { sendGrpcErrorOnStream } from '../proxy/grpc-status.ts';
import { isHttp2Endpoint } from '../proxy/h2-forwarder.ts';
import { type H2StreamGuard, streamClosed } from '../proxy/h2-session-guard.ts';
import { localBody } from '../proxy/local-response.ts';
import { newRequestId } from '../proxy/request-id.ts';
import { type ForwardDecision, type RequestFacts, routeRequest } from '../proxy/route-request.ts';
import { ExchangeRecord } from '../../observability/exchange-record.ts';
import type { UpstreamFailureReason } from '../../observability/metrics/request-metrics.ts';
import { beginExchange, endBalancing, noteDecision } from '../runtime/exchange-observer.ts';
import type { ClusterBalancer } from '../compile/lb/cluster-balancer.ts';
import type { EngineContext } from './engine-context.ts';
import { H2Exchange, type H2ExchangeUser } from './h2-exchange.ts';
import type { H2StreamPort } from './h2-stream-port.ts';
import { h2ResponseHead, h2Trailers } from './h2-response-head.ts';
import { type MutableExchangeTimeouts, newExchangeTimeouts, resolveTimeouts, type UpstreamConnection, type UpstreamUser } from './upstream-connection.ts';
import { QUEUED, REFUSED } from './upstream-pool.ts';
import { type BodyMode, type FailureKind, RetryState } from './retry-state.ts';

const kExchange = Symbol('martello.h2ClientStream');
type TaggedStream = H2StreamPort & { [kExchange]?: H2ClientStream };

function onData(this: TaggedStream, chunk: Buffer): void {
  this[kExchange]?.requestData(chunk);
}

function onEnd(this: TaggedStream): void {
  this[kExchange]?.requestEnd();
}

function onClose(this: TaggedStream): void {
  this[kExchange]?.closed();
}

function onDrain(this: TaggedStream): void {
  this[kExchange]?.drained();
}

function onWantTrailers(this: TaggedStream): void {
  this[kExchange]?.wantTrailers();
}

/** Errors on the client stream are reported through 'close'; this keeps them from crashing the process. */
function ignoreError(): void {}

// Respond options: never mutated by node:http2, so shared.
const END_STREAM = Object.freeze({ endStream: true });
const WAIT_FOR_TRAILERS = Object.freeze({ waitForTrailers: true });
const OPEN = Object.freeze({});
const NO_TRAILERS = Object.freeze({});

// Request side.
const REQ_DONE = 0;
/** Body bytes go upstream. */
const REQ_FORWARD = 1;

// Response side.
const RES_NONE = 0;
/** Forwarded; no response head yet. */
const RES_WAIT = 1;
/** The head went out; the body is streaming. */
const RES_BODY = 2;
const RES_DONE = 3;

const DIGITS = /^\d{1,15}$/;

/** The upstream side: an HTTP/1.1 connection or an HTTP/2 stream. */
interface UpstreamLeg {
  writeBody(slice: Buffer): boolean;
  endBody(): void;
  pause(): void;
  resume(): void;
  abort(): void;
}

/** What the session knows for the record: its TLS version ('' on h2c) and the client's address. */
export interface StreamOrigin {
  readonly tls: string;
  readonly remoteAddress: string | undefined;
}

export class H2ClientStream extends ExchangeRecord implements UpstreamUser, H2ExchangeUser, Expiring {
  /**
   * The request body's idle deadline (Expiring, on the engine's sweep while a
   * body is arriving and no response head has gone out): a client that stops
   * sending its body for requestTimeoutMs before any answer gets 408, so a
   * stalled body cannot hold a stream slot and an upstream connection
   * forever (slow POST). Once the response has started, a body that stays
   * open is a live stream (gRPC client and bidi streaming) and only the
   * upstream's own timeouts apply.
   */
  deadline = Infinity;
  readonly stream: TaggedStream;
  /** Where the request was forwarded (null: answered locally). */
  endpoint: UpstreamEndpoint | null = null;
  readonly #ctx: EngineContext;
  /** Handed to the observer already. */
  #observed = false;
  /** The balancer told onStart (onEnd once observed); Set-Cookie of session affinity. */
  #balancer: ClusterBalancer<UpstreamEndpoint> | null = null;
  #setCookie: string | null = null;
  #req = REQ_DONE;
  #res = RES_NONE;
  #grpc = false;
  #hsts: string | null = null;
  #leg: UpstreamLeg | null = null;
  /** The upstream pool this exchange waits in (no connection yet). */
  #queuedIn: { cancel(user: UpstreamUser): void } | null = null;
  #pendingHead: Buffer | null = null;
  #pendingMode: 'chunked' | 'length' | 'none' = 'none';
  #pendingBody: Buffer[] | null = null;
  #pendingEnd = false;
  /** The client stream is paused: the upstream does not take the request body yet. */
  #bodyBlocked = false;
  /** A 'drain' listener is on the client stream. */
  #awaitingDrain = false;
  #trailers: string[] | null = null;
  /** Body bytes still to come of a Content-Length response (-1: unknown length). */
  #remaining = -1;
  /** Retries of a forwarded request (docs/load-balancing.md); null: answered locally. */
  #attempts: RetryState | null = null;
  /** Some byte of the request body was handed to the upstream leg (or queued for it). */
  #bodySent = false;
  /** The forwarded request's body limit in bytes (0: none): decision.maxBodyBytes. */
  #bodyLimit = 0;
  /** The session is TLS (for the balancer's pick context on a retry). */
  #encrypted = false;
  /** The session guard's state, until the stream closes (undefined: no guard). */
  #guard: H2StreamGuard | undefined = undefined;
  /** When the stream was delivered (performance clock), for the guard's premature-reset rule. */
  #openedAt = 0;
  /** This exchange's upstream deadlines: the cluster's, else the options' (UpstreamUser). */
  readonly upstreamTimeouts: MutableExchangeTimeouts;

  /** `guard`: what the session guard returned for this stream (streamClosed() gets it back on 'close'). */
  constructor(stream: H2StreamPort, ctx: EngineContext, guard?: H2StreamGuard) {
    super();
    const tagged = (this.stream = stream as TaggedStream);
    this.#ctx = ctx;
    this.upstreamTimeouts = newExchangeTimeouts(ctx.options);
    if (guard !== undefined) {
      this.#guard = guard;
      this.#openedAt = performance.now();
    }
    // Before anything can throw: 'close' always reaches closed() (and the guard).
    tagged[kExchange] = this;
    tagged.on('error', ignoreError);
    tagged.on('close', onClose);
  }

  /**
   * Route and answer or forward. `facts` is the session's, with this
   * stream's raw headers and target set by the caller (routeRequest reads
   * it synchronously).
   */
  start(headers: IncomingHttpHeaders, endStream: boolean, facts: RequestFacts, origin: StreamOrigin): void {
    const ctx = this.#ctx;
    const stream = this.stream;
    ctx.counters.requests++;
    const method = headers[':method'] ?? '';
    beginExchange(this, method, 'HTTP/2', origin.tls, origin.remoteAddress ?? '');
    // The table is captured inside: a swap from here on changes nothing for this request.
    const decision = routeRequest(ctx.table(), facts, ctx.options);
    noteDecision(this, decision);
    const hasBody = !endStream;
    if (decision.kind === 'local') {
      // The body is not wanted: read and dropped, so flow control does not stall the client.
      if (hasBody) stream.resume();
      this.#grpc = decision.grpc;
      this.#answer(decision.status, decision.body, decision.headers);
      return;
    }
    const endpoint = decision.endpoint;
    this.endpoint = endpoint;
    this.upstreamStartedAt = performance.now();
    decision.balancer.onStart(endpoint);
    this.#balancer = decision.balancer;
    this.#setCookie = decision.setCookie ?? null;
    this.#grpc = decision.grpc;
    this.#hsts = decision.hsts;
    this.#bodyLimit = decision.maxBodyBytes;
    this.#res = RES_WAIT;
    if (hasBody) {
      this.#req = REQ_FORWARD;
      stream.on('data', onData);
      stream.on('end', onEnd);
      this.deadline = ctx.sweep.now + ctx.options.requestTimeoutMs;
      ctx.sweep.add(this);
    }
    resolveTimeouts(this.upstreamTimeouts, decision.timeouts, ctx.options);
    this.#encrypted = facts.encrypted;
    const attempts = (this.#attempts = new RetryState());
    if (isHttp2Endpoint(endpoint)) {
      attempts.begin(decision, null, hasBody ? 'chunked' : 'none', this.upstreamStartedAt);
      this.#forwardH2(endpoint, decision, hasBody);
      return;
    }
    const upstreamHeaders = decision.headers;
    removeContentLength(upstreamHeaders);
    let framing: number | 'chunked' | 'none';
    if (hasBody) {
      // nghttp2 has checked that the DATA frames add up to a Content-Length the client sent.
      const cl = headers['content-length'];
      framing = typeof cl === 'string' && DIGITS.test(cl) ? Number(cl) : 'chunked';
    } else {
      framing = headers['content-length'] !== undefined || expectsBody(method) ? 0 : 'none';
    }
    let headBytes: Buffer;
    try {
      headBytes = serializeRequestHead(method, decision.target, upstreamHeaders, framing);
    } catch (err) {
      if (!(err instanceof SerializeError)) throw err;
      this.#failBeforeHead(502);
      return;
    }
    const bodyMode = !hasBody ? 'none' : framing === 'chunked' ? 'chunked' : 'length';
    attempts.begin(decision, headBytes, bodyMode, this.upstreamStartedAt);
    this.#sendHttp1(endpoint, headBytes, bodyMode);
  }

  #forwardH2(endpoint: UpstreamEndpoint, decision: ForwardDecision, hasBody: boolean): void {
    const ctx = this.#ctx;
    const exchange = new H2Exchange(this, ctx.sweep, this.upstreamTimeouts);
    this.#leg = exchange;
    exchange.start(ctx.h2Pool(endpoint), decision.headers, this.method, decision.target, endpoint.protocol === 'h2' ? 'https' : 'http', hasBody, decision.grpc);
    ctx.releaseH2(endpoint);
  }

  /** Hands the request head to a connection of the endpoint's pool (or queues for one). */
  #sendHttp1(endpoint: UpstreamEndpoint, headBytes: Buffer, bodyMode: BodyMode): void {
    const ctx = this.#ctx;
    const method = this.method;
    const pool = ctx.http1Pool(endpoint);
    const got = pool.acquire(this);
    ctx.releaseHttp1(endpoint);
    if (got === REFUSED) {
      this.#failBeforeHead(503);
      return;
    }
    if (got === QUEUED) {
      this.#queuedIn = pool;
      this.#pendingHead = headBytes;
      this.#pendingMode = bodyMode;
      this.#pendingBody = bodyMode !== 'none' ? [] : null;
      this.#pendingEnd = bodyMode === 'none';
      return;
    }
    this.#leg = got;
    got.begin(this, method, headBytes, bodyMode);
  }

  /**
   * A failed attempt (or a held-back status), before any response byte went
   * to the client: another endpoint if the retry policy, the retry budget
   * and the balancer allow (docs/load-balancing.md). True when a retry started.
   */
  #retry(kind: FailureKind, status: number): boolean {
    const attempts = this.#attempts;
    const failed = this.endpoint;
    const decision = attempts?.decision ?? null;
    if (attempts === null || decision === null || failed === null || this.stream.destroyed || this.stream.closed) return false;
    const now = performance.now();
    const next = attempts.next(this.#ctx, failed, kind, status, this.method, this.#bodySent, this.#encrypted, this.upstreamStartedAt, now);
    if (next === undefined) return false;
    this.#abortLeg();
    this.endpoint = next;
    if (attempts.setCookie !== undefined) this.#setCookie = attempts.setCookie;
    this.upstream = next.hostPort;
    this.upstreamStartedAt = now;
    this.upstreamHeadAt = 0;
    const hasBody = attempts.bodyMode !== 'none';
    if (isHttp2Endpoint(next)) this.#forwardH2(next, decision, hasBody);
    else this.#sendHttp1(next, attempts.head!, attempts.bodyMode);
    if (hasBody && this.#req === REQ_DONE) {
      // The whole (empty so far) body was read already: end it on the new attempt too.
      const leg = this.#leg;
      if (leg !== null) leg.endBody();
      else this.#pendingEnd = true;
    }
    return true;
  }

  /** Handling threw (a bug, not a client error): answer 502 if nothing went out, else reset. */
  failed(): void {
    this.#abortLeg();
    this.#req = REQ_DONE;
    const stream = this.stream;
    if (this.requestId === '') this.requestId = newRequestId();
    if (this.#res !== RES_BODY && this.#res !== RES_DONE && !stream.headersSent && !stream.destroyed) {
      this.#grpc = false;
      this.#answer(502);
    } else {
      reset(stream, false);
    }
  }

  // Client stream events --------------------------------------------------------------

  requestData(chunk: Buffer): void {
    if (this.#req !== REQ_FORWARD) return;
    this.bytesIn += chunk.length;
    if (this.#res === RES_WAIT) this.deadline = this.#ctx.sweep.now + this.#ctx.options.requestTimeoutMs;
    if (this.#bodyLimit > 0 && this.bytesIn > this.#bodyLimit) {
      this.#bodyTooLarge();
      return;
    }
    this.#bodySent = true;
    const leg = this.#leg;
    if (leg !== null) {
      if (!leg.writeBody(chunk)) this.#blockBody();
    } else if (this.#pendingBody !== null) {
      // No connection yet (queued): hold the chunk, read no further.
      this.#pendingBody.push(chunk);
      this.#blockBody();
    }
  }

  requestEnd(): void {
    if (this.#req !== REQ_FORWARD) return;
    this.#req = REQ_DONE;
    this.#stopDeadline();
    const leg = this.#leg;
    if (leg !== null) leg.endBody();
    else this.#pendingEnd = true;
  }

  /** The stream closed: finished, reset by the client, or its session went away. */
  closed(): void {
    const stream = this.stream;
    stream[kExchange] = undefined;
    const guard = this.#guard;
    if (guard !== undefined) {
      // First, as when the guard had its own 'close' listener ahead of ours.
      this.#guard = undefined;
      streamClosed(guard, this.#openedAt, stream.headersSent);
    }
    this.#stopDeadline();
    this.#req = REQ_DONE;
    this.#res = RES_DONE;
    // The client left before the exchange ended: the upstream connection
    // (or stream) is abandoned, never reused.
    this.#abortLeg();
    if (!this.#observed) {
      this.#observed = true;
      this.#attempts?.end(this.#ctx);
      this.#ctx.observer.finish(this);
      const balancer = this.#balancer;
      if (balancer !== null && this.endpoint !== null) {
        this.#balancer = null;
        endBalancing(balancer, this.endpoint, this);
      }
    }
  }

  drained(): void {
    this.#awaitingDrain = false;
    if (this.#res === RES_BODY) this.#leg?.resume();
  }

  wantTrailers(): void {
    const stream = this.stream;
    const raw = this.#trailers;
    this.#trailers = null;
    if (stream.destroyed || stream.closed) return;
    try {
      stream.sendTrailers((raw === null ? null : h2Trailers(raw)) ?? NO_TRAILERS);
    } catch {
      // Trailers node:http2 refuses: the body is complete, but the response
      // cannot be finished as the upstream meant it.
      stream.close(h2.NGHTTP2_INTERNAL_ERROR);
    }
  }

  // UpstreamUser (HTTP/1.1 upstream) ------------------------------------------------------

  upstreamReady(conn: UpstreamConnection): void {
    this.#queuedIn = null;
    const head = this.#pendingHead!;
    this.#pendingHead = null;
    if (this.#res === RES_DONE) {
      conn.abort();
      return;
    }
    this.#leg = conn;
    conn.begin(this, this.method, head, this.#pendingMode);
    const body = this.#pendingBody;
    this.#pendingBody = null;
    if (body !== null) {
      let ok = true;
      for (const slice of body) ok = conn.writeBody(slice);
      if (this.#pendingEnd) conn.endBody();
      if (ok) this.upstreamDrain();
    }
  }

  upstreamDrain(): void {
    if (!this.#bodyBlocked) return;
    this.#bodyBlocked = false;
    this.stream.resume();
  }

  batchStart(): void {}

  batchEnd(): void {}

  upstreamHead(head: ResponseHead): void {
    const status = head.status;
    // A status of the retry policy (http_502...) is held back while another endpoint may answer.
    if (status >= 403 && this.#attempts !== null && this.#retry('status', status)) return;
    this.upstreamHeadAt = performance.now();
    if (this.method === 'HEAD' || status === 204 || status === 304) {
      this.#respond(status, head.headers, head.names, status === 204 ? -1 : head.contentLength, END_STREAM);
    } else if (head.framing === 'content-length') {
      this.#respond(status, head.headers, head.names, head.contentLength, head.contentLength === 0 ? END_STREAM : OPEN);
      this.#remaining = head.contentLength;
    } else {
      // Chunked (trailers may follow) or close-delimited: the length is unknown.
      this.#respond(status, head.headers, head.names, -1, head.framing === 'chunked' ? WAIT_FOR_TRAILERS : OPEN);
    }
  }

  upstreamBody(data: Buffer, start: number, end: number): void {
    if (this.#res !== RES_BODY || end === start) return;
    const n = end - start;
    this.bytesOut += n;
    // node:http2 keeps the buffer until it is sent: a slice of a buffer
    // nobody reuses (socket reads are fresh buffers).
    const slice = start === 0 && end === data.length ? data : data.subarray(start, end);
    if (this.#remaining >= 0) {
      this.#remaining -= n;
      if (this.#remaining === 0) {
        // The last bytes of a Content-Length body: END_STREAM on this DATA frame (the codec completes the message in the same call).
        this.#res = RES_DONE;
        this.stream.end(slice);
        return;
      }
    }
    if (!this.stream.write(slice)) {
      this.#leg?.pause();
      if (!this.#awaitingDrain) {
        this.#awaitingDrain = true;
        this.stream.once('drain', onDrain);
      }
    }
  }

  upstreamTrailers(trailers: string[]): void {
    this.#trailers = trailers;
  }

  upstreamComplete(): void {
    this.#leg = null;
    // With waitForTrailers, 'wantTrailers' follows the last DATA frame.
    if (this.#res === RES_BODY && !this.stream.destroyed) this.stream.end();
    this.#res = RES_DONE;
    if (this.#req === REQ_FORWARD) {
      // An early response: the rest of the request body is not wanted (the
      // upstream connection was not reused); read and drop it.
      this.#req = REQ_DONE;
      this.upstreamDrain();
    }
  }

  upstreamFailed(status: number, reason?: UpstreamFailureReason): void {
    const leg = this.#leg;
    this.#leg = null;
    this.#ctx.counters.upstreamErrors++;
    const why = reason ?? (status === 504 ? 'timeout' : 'reset');
    this.#ctx.observer.metrics.upstreamFailed(why);
    if (this.#res === RES_WAIT) {
      if (this.#retry(why, status)) return;
      this.#failBeforeHead(status);
      return;
    }
    this.#res = RES_DONE;
    // Part of the response is out: never fabricate a complete one. A CANCEL
    // from an HTTP/2 upstream (the server cancelled the call) is passed on.
    reset(this.stream, leg instanceof H2Exchange && leg.rstCode === h2.NGHTTP2_CANCEL);
  }

  // H2ExchangeUser (HTTP/2 upstream) ---------------------------------------------------------

  h2Head(status: number, raw: readonly string[], contentLength: number, endStream: boolean): void {
    if (status >= 403 && this.#attempts !== null && this.#retry('status', status)) return;
    this.upstreamHeadAt = performance.now();
    if (this.method === 'HEAD' || status === 204 || status === 304) {
      this.#respond(status, raw, null, status === 204 ? -1 : contentLength, END_STREAM);
    } else if (endStream) {
      // A Trailers-Only answer (how gRPC servers send most errors) stays one HEADERS frame with END_STREAM.
      this.#respond(status, raw, null, contentLength, END_STREAM);
    } else {
      this.#respond(status, raw, null, contentLength, WAIT_FOR_TRAILERS);
    }
  }

  // ---------------------------------------------------------------------------------------------

  #respond(status: number, headers: readonly string[], names: readonly string[] | null, length: number, options: { readonly endStream?: boolean; readonly waitForTrailers?: boolean }): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) {
      this.#res = RES_DONE;
      this.#abortLeg();
      return;
    }
    try {
      stream.respond(h2ResponseHead(status, headers, names, this.requestId, this.#hsts, length, this.#setCookie), options);
    } catch {
      // The upstream sent something node:http2 will not send on: a bad gateway.
      this.#abortLeg();
      this.#ctx.counters.upstreamErrors++;
      this.#failBeforeHead(502);
      return;
    }
    this.status = status;
    this.#ctx.counters.countStatus(status);
    if (options === WAIT_FOR_TRAILERS) stream.once('wantTrailers', onWantTrailers);
    this.#res = options === END_STREAM ? RES_DONE : RES_BODY;
  }

  /** No response head went out: answer `status` (502, 503, 504). */
  #failBeforeHead(status: number): void {
    this.#leg = null;
    this.#queuedIn?.cancel(this);
    this.#queuedIn = null;
    this.#pendingHead = null;
    this.#pendingBody = null;
    if (this.#req === REQ_FORWARD) {
      // The rest of the request body is not wanted: read and dropped.
      this.#req = REQ_DONE;
      this.upstreamDrain();
    }
    this.#answer(status);
  }

  /** Martello's own answer: gRPC clients get a Trailers-Only grpc-status, others a short text. */
  #answer(status: number, body?: Buffer, extraHeaders?: readonly string[]): void {
    this.#res = RES_DONE;
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    if (this.#grpc) {
      this.status = 200;
      sendGrpcErrorOnStream(stream, status, this.requestId, this.#ctx.counters);
      return;
    }
    if (stream.headersSent) {
      reset(stream, false);
      return;
    }
    const payload = body ?? localBody(status);
    const head = [
      ':status', String(status),
      'content-type', 'text/plain; charset=utf-8',
      'content-length', String(payload.length),
      'server', 'martello',
      'x-request-id', this.requestId,
    ];
    if (extraHeaders !== undefined) for (let i = 0; i < extraHeaders.length; i++) head.push(extraHeaders[i]!);
    this.status = status;
    this.#ctx.counters.countStatus(status);
    if (this.method === 'HEAD' || payload.length === 0) {
      stream.respond(head, END_STREAM);
      return;
    }
    stream.respond(head, OPEN);
    stream.end(payload);
  }

  #blockBody(): void {
    if (this.#bodyBlocked) return;
    this.#bodyBlocked = true;
    this.stream.pause();
  }

  /** Expiring: no request body byte for requestTimeoutMs and no response yet. */
  expired(): void {
    this.#stopDeadline();
    if (this.#req !== REQ_FORWARD || this.#res !== RES_WAIT) return;
    this.#abortLeg();
    this.#failBeforeHead(408);
  }

  #stopDeadline(): void {
    if (this.deadline === Infinity) return;
    this.deadline = Infinity;
    this.#ctx.sweep.delete(this);
  }

  /**
   * The request body went over the route's limit (HTTP/2 bodies need no
   * Content-Length): 413 while no response head has gone out, else the
   * stream is reset. The upstream request is aborted, never completed short.
   */
  #bodyTooLarge(): void {
    this.#abortLeg();
    if (this.#res === RES_WAIT) {
      this.#failBeforeHead(413);
      return;
    }
    this.#req = REQ_DONE;
    reset(this.stream, false);
  }

  #abortLeg(): void {
    const leg = this.#leg;
    this.#leg = null;
    leg?.abort();
    this.#queuedIn?.cancel(this);
    this.#queuedIn = null;
    this.#pendingHead = null;
    this.#pendingBody = null;
  }
}

/** Reset after the response head (destroy with an error, what makes node:http2 send RST_STREAM INTERNAL_ERROR or CANCEL). */
const UPSTREAM_FAILED = new Error('the upstream failed after the response head');

/**
 * node:http2 resets with CANCEL when a stream is destroyed with its internal
 * AbortError, which is not exported: one is taken from an aborted
 * events.once() at start-up. Until then (or should that change), CANCEL
 * falls back to INTERNAL_ERROR.
 */
let abortError: Error | null = null;
once(new EventEmitter(), 'never', { signal: AbortSignal.abort() }).catch((err: unknown) => {
  if (err instanceof Error && err.name === 'AbortError') abortError = err;
});

/**
 * RST_STREAM on a stream whose response head is out. Not stream.close(code):
 * that ends the writable side first, and the client would see END_STREAM, a
 * truncated response that looks complete.
 */
function reset(stream: H2StreamPort, cancel: boolean): void {
  if (!stream.destroyed) stream.destroy(cancel ? (abortError ?? UPSTREAM_FAILED) : UPSTREAM_FAILED);
}

/** Methods whose requests normally carry a body: an empty one is announced with Content-Length: 0. */
function expectsBody(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH';
}

/** The serializer writes the framing itself: the client's Content-Length must not be in the list. */
function removeContentLength(headers: string[]): void {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      headers.splice(i, 2);
      i -= 2;
    }
  }
}
