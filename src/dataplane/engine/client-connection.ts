// One client connection served by the engine: HTTP/1.1 requests parsed with
// the codec's RequestParser, routed with routeRequest (the one decision for
// every transport), answered locally or forwarded, one request at a time.
//
// This object is also the per-request state: a connection carries one
// exchange at a time, so a request allocates no exchange object, no
// closures and no streams (perf-calibration §7). Bytes that arrive while a
// response is still being produced (pipelining) are held, and the socket is
// paused until the response is done: at most one read's worth is held.
//
// Framing is ours in both directions (security.md R6): the request head sent
// upstream and the response head sent to the client are serialised from the
// parsed models; bodies move as slices of the received buffers (re-chunked
// when the upstream's framing cannot be passed on as is). Backpressure both
// ways: a client that does not read pauses the upstream socket, an upstream
// that does not read pauses the client socket.
//
// Deadlines (security.md R10) are fields checked by the engine's sweep: the
// request head (408), the whole request (408 before a response, else a cut),
// keep-alive idle (silent close).

import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { UpstreamEndpoint } from '../compile/cluster.ts';
import { E, type ParseError, type RequestHandler, type RequestHead, RequestParser, type ResponseHead, SerializeError, lastChunk, serializeRequestHead, serializeResponseHead, CHUNK_END, chunkHeader, LAST_CHUNK } from '../http1/index.ts';
import { isHttp2Endpoint } from '../proxy/h2-forwarder.ts';
import type { RouteDecision } from '../proxy/route-request.ts';
import { newRequestId } from '../proxy/request-id.ts';
import { routeRequest } from '../proxy/route-request.ts';
import { checkWebSocketUpgrade, SUPPORTED_VERSION_HEADERS } from '../proxy/websocket-upgrade.ts';
import { ExchangeRecord } from '../../observability/exchange-record.ts';
import { beginExchange, endBalancing, noteDecision } from '../runtime/exchange-observer.ts';
import { peerAddressOf } from '../proxy/peer-address.ts';
import type { ClusterBalancer } from '../compile/lb/cluster-balancer.ts';
import type { Expiring } from './deadline-sweep.ts';
import type { EngineContext } from './engine-context.ts';
import { H2Exchange } from './h2-exchange.ts';
import { continueBytes, localAnswerBytes } from './local-answer.ts';
import { downstreamHeaders } from './response-head.ts';
import { QUEUED, REFUSED } from './upstream-pool.ts';
import { type MutableExchangeTimeouts, newExchangeTimeouts, resolveTimeouts, type UpstreamConnection, type UpstreamUser } from './upstream-connection.ts';
import type { UpstreamFailureReason } from '../../observability/metrics/request-metrics.ts';
import { noteBytesRead } from './read-garbage.ts';
import { readChunks, releaseReads } from './socket-reads.ts';
import { type FailureKind, RetryState } from './retry-state.ts';

const kClient = Symbol('martello.clientConnection');

/** While draining, how long a fresh connection may take to send its first request. */
const FIRST_REQUEST_GRACE_MS = 1_000;
type TaggedSocket = (Socket | TLSSocket) & { [kClient]?: ClientConnection };

// What the connection's deadline means.
const T_NONE = 0;
const T_HEAD = 1;
const T_IDLE = 2;
const T_REQUEST = 3;

// Request side of the current exchange.
const REQ_DONE = 0;
/** Body bytes go upstream. */
const REQ_FORWARD = 1;
/** Body bytes are read and dropped (the request was answered locally). */
const REQ_DISCARD = 2;

// Response side of the current exchange.
const RES_NONE = 0;
/** Forwarded; no response head yet. */
const RES_WAIT = 1;
/** The head went out; the body is streaming. */
const RES_BODY = 2;
const RES_DONE = 3;

// Framing of the response body to the client.
const F_NONE = 0;
const F_RAW = 1;
const F_CHUNKED = 2;

/**
 * Body bytes copied behind a held-back response head into one write; larger
 * ones go as a second write. Not 16 KiB, as it was: merged 16 KiB responses
 * took a 64 KiB slab of Node's Buffer pool every few responses, and V8 ran a
 * full mark-compact about every 20 ms of JavaScript (--trace-gc: 31-53 in
 * 8 s; with two writes, 0-4). Interleaved runs: 55 against 61 µs per 16 KiB
 * response (docs/benchmarks.md, 2026-11-24).
 */
const SMALL_BODY_BYTES = 4 * 1024;

function onData(this: TaggedSocket, chunk: Buffer): void {
  this[kClient]?.data(chunk);
}

function onEnd(this: TaggedSocket): void {
  this[kClient]?.ended();
}

function onClose(this: TaggedSocket): void {
  this[kClient]?.closed();
}

function onDrain(this: TaggedSocket): void {
  this[kClient]?.drained();
}

function ignoreError(): void {}

/** The upstream side of an exchange: an HTTP/1.1 connection or an HTTP/2 stream. */
interface UpstreamLeg {
  writeBody(slice: Buffer): boolean;
  endBody(): void;
  pause(): void;
  resume(): void;
  abort(): void;
}

/** Facts for routeRequest, one mutable object per connection. */
interface MutableFacts {
  rawHeaders: readonly string[];
  method: string;
  http2: boolean;
  target: string;
  encrypted: boolean;
  servername: string | false | null | undefined;
  remoteAddress: string | undefined;
  localPort: number | undefined;
}

export class ClientConnection implements RequestHandler, UpstreamUser, Expiring {
  readonly socket: TaggedSocket;
  readonly #ctx: EngineContext;
  readonly #parser: RequestParser;
  readonly #facts: MutableFacts;
  deadline = Infinity;
  #timer = T_HEAD;
  #served = 0;
  /** Received bytes not parsed yet (a pipelined request, or the rest of a read). */
  #held: Buffer | null = null;
  #feeding = false;
  #paused = false;
  /** The request body waits for the upstream (socket full, or no connection yet). */
  #bodyBlocked = false;
  /** The connection ends once the current response is out. */
  #closeAfter = false;
  #ending = false;
  #gone = false;
  // Per exchange --------------------------------------------------------------
  #busy = false;
  #req = REQ_DONE;
  #res = RES_NONE;
  #framing = F_NONE;
  #method = '';
  #http11 = true;
  #keepAlive = true;
  #requestId = '';
  #hsts: string | null = null;
  #trailers: string[] | null = null;
  #leg: UpstreamLeg | null = null;
  /** The upstream pool this exchange waits in (no connection yet). */
  #queuedIn: { cancel(user: UpstreamUser): void } | null = null;
  #pendingHead: Buffer | null = null;
  #pendingBody: Buffer[] | null = null;
  #pendingChunked = false;
  #pendingEnd = false;
  /** A WebSocket handshake to hand to the tunnel registry once its head is complete. */
  #upgrade: RouteDecision | null = null;
  /** The exchange as metrics and the access log see it; reused for every request of the connection. */
  readonly #rec = new ExchangeRecord();
  /** #rec describes an exchange that has not been handed to the observer yet. */
  #observing = false;
  /** The balancer told onStart for this exchange (onEnd once it is observed), and its endpoint. */
  #balancer: ClusterBalancer<UpstreamEndpoint> | null = null;
  #endpoint: UpstreamEndpoint | null = null;
  /** Session affinity's Set-Cookie for this exchange's response. */
  #setCookie: string | null = null;
  // Retries (docs/load-balancing.md): an attempt that failed (or answered a
  // status of the retry policy) before any response byte reached the client
  // can go to another endpoint, with the same head, if no body byte is lost.
  readonly #attempts = new RetryState();
  /** Some byte of the request body was handed to the upstream leg (or queued for it). */
  #bodySent = false;
  /** The forwarded request's body limit in bytes (0: none): decision.maxBodyBytes. */
  #bodyLimit = 0;
  /** Inside batchStart/batchEnd (upstream bytes being handled). */
  #batching = false;
  /** A response head waiting to go out with the first body bytes of the same batch. */
  #heldResponseHead: Buffer | null = null;
  /** This exchange's upstream deadlines: the cluster's, else the options' (UpstreamUser). */
  readonly upstreamTimeouts: MutableExchangeTimeouts;
  /** TLS version of the connection ('' on plain TCP), read once. */
  readonly #tlsVersion: string;

  constructor(socket: Socket | TLSSocket, ctx: EngineContext) {
    this.#ctx = ctx;
    this.upstreamTimeouts = newExchangeTimeouts(ctx.options);
    this.#parser = new RequestParser(this, { maxHeadBytes: ctx.options.maxHeaderSize, maxStartLineBytes: Math.min(8192, ctx.options.maxHeaderSize) });
    const s = socket as TaggedSocket;
    const tls = s as Partial<TLSSocket>;
    this.#facts = {
      rawHeaders: [],
      method: '',
      http2: false,
      target: '',
      encrypted: tls.encrypted === true,
      servername: tls.servername,
      remoteAddress: peerAddressOf(s),
      localPort: s.localPort,
    };
    this.#tlsVersion = tls.encrypted === true ? (tls.getProtocol?.() ?? '') : '';
    this.socket = s;
    s[kClient] = this;
    s.on('error', ignoreError);
    readChunks(s, onData);
    s.on('end', onEnd);
    s.on('close', onClose);
    s.on('drain', onDrain);
    this.deadline = ctx.sweep.refresh() + ctx.options.headersTimeoutMs;
    ctx.sweep.add(this);
    // A socket handed over by the h2c sniffer is paused with its first bytes put back.
    s.resume();
  }

  /** Nothing in progress and nothing buffered: closing now loses no request. */
  get idle(): boolean {
    return !this.#busy && this.#held === null && this.#parser.atMessageBoundary;
  }

  /**
   * The server drains: close when idle, else after the current response
   * (which says Connection: close). A connection that has not carried a
   * request yet was accepted a moment ago and its first request is likely on
   * the way: closing it now would fail that request ("other side closed"),
   * so it gets a short while to send it (answered with Connection: close).
   */
  drain(): void {
    this.#closeAfter = true;
    if (!this.idle) return;
    if (this.#served === 0 && !this.#busy) {
      this.#setTimer(T_IDLE, Math.min(FIRST_REQUEST_GRACE_MS, this.#ctx.options.headersTimeoutMs));
      return;
    }
    this.#end();
  }

  /** Cut the connection now (drain deadline). */
  destroy(): void {
    this.socket.destroy();
  }

  // Socket events ---------------------------------------------------------------

  data(chunk: Buffer): void {
    noteBytesRead(chunk.length);
    if (this.#ending) return;
    if (this.#held !== null || !this.#canParse()) {
      this.#hold(chunk);
      return;
    }
    this.#feed(chunk, 0);
  }

  ended(): void {
    // The client half-closed: finish the exchange in progress, then close.
    this.#closeAfter = true;
    if (this.#busy && this.#req === REQ_FORWARD) {
      // ...in the middle of its request body, which can now never be
      // complete: holding the exchange (and its upstream connection) until
      // the request deadline would serve nobody. The upstream request is
      // aborted, never completed short, and the connection closed.
      this.#abortLeg();
      this.socket.destroy();
      return;
    }
    if (this.idle || (!this.#busy && !this.#parser.atMessageBoundary)) this.#end();
  }

  closed(): void {
    this.#gone = true;
    this.#ending = true;
    const ctx = this.#ctx;
    ctx.sweep.delete(this);
    ctx.connectionClosed(this);
    this.socket[kClient] = undefined;
    this.#queuedIn?.cancel(this);
    this.#queuedIn = null;
    if (this.#observing) this.#observe();
    const leg = this.#leg;
    this.#leg = null;
    // The client left before the exchange ended: the upstream connection
    // (or stream) is abandoned, never reused.
    leg?.abort();
  }

  drained(): void {
    if (this.#res === RES_BODY) this.#leg?.resume();
  }

  expired(): void {
    switch (this.#timer) {
      case T_IDLE:
        this.#end();
        return;
      case T_HEAD:
        if (this.#parser.atMessageBoundary && this.#held === null) {
          this.#end();
        } else {
          this.#writeAndClose(localAnswerBytes(E.headerTimeout.status, newRequestId(), 'close', false));
          this.#ctx.counters.countStatus(E.headerTimeout.status);
        }
        return;
      case T_REQUEST:
        if (this.#res === RES_NONE || this.#res === RES_WAIT) {
          this.#abortLeg();
          this.#ctx.counters.countStatus(408);
          this.#rec.status = 408;
          this.#writeAndClose(localAnswerBytes(408, this.#requestId, 'close', this.#method === 'HEAD'));
        } else {
          this.socket.destroy();
        }
        return;
      default:
        this.deadline = Infinity;
    }
  }

  // Parsing -----------------------------------------------------------------------

  /** The parser may take bytes: no exchange, or one whose request body is still arriving. */
  #canParse(): boolean {
    return !this.#busy || this.#req !== REQ_DONE;
  }

  #hold(chunk: Buffer): void {
    const held = this.#held;
    this.#held = held === null ? chunk : Buffer.concat([held, chunk]);
    this.#updateReading();
  }

  #updateReading(): void {
    const pause = this.#bodyBlocked || this.#held !== null;
    if (pause === this.#paused || this.#gone) return;
    this.#paused = pause;
    if (pause) this.socket.pause();
    else this.socket.resume();
  }

  #feed(buf: Buffer, start: number): void {
    this.#feeding = true;
    let pos = start;
    const end = buf.length;
    while (pos < end && !this.#ending) {
      if (!this.#canParse()) {
        this.#held = pos === 0 ? buf : buf.subarray(pos);
        break;
      }
      if (this.#timer === T_IDLE) this.#setTimer(T_HEAD, this.#ctx.options.headersTimeoutMs);
      const out = this.#parser.execute(buf, pos, end);
      if (this.#ending) break;
      if (out.kind === 'need-more') {
        pos = end;
      } else if (out.kind === 'complete') {
        pos += out.consumed;
        if (this.#upgrade !== null) {
          this.#feeding = false;
          this.#handOver(pos < end ? buf.subarray(pos) : EMPTY);
          return;
        }
        this.#requestComplete();
      } else {
        // 'upgrade' is a response outcome; a request parser never returns it.
        this.#parseError(out.kind === 'error' ? out.error : E.invalidRequestLine);
        break;
      }
    }
    this.#feeding = false;
    this.#updateReading();
  }

  /** Continue with held bytes after an exchange ended (not from inside #feed). */
  #resumeParsing(): void {
    const held = this.#held;
    if (held !== null && !this.#feeding) {
      this.#held = null;
      this.#feed(held, 0);
    } else {
      this.#updateReading();
    }
  }

  #parseError(error: ParseError): void {
    if (this.#busy && this.#res !== RES_NONE && this.#res !== RES_WAIT) {
      // A response is already going out: extra bytes would corrupt it.
      this.#abortLeg();
      this.socket.destroy();
      return;
    }
    this.#abortLeg();
    this.#ctx.counters.countStatus(error.status);
    if (this.#busy) this.#rec.status = error.status;
    this.#writeAndClose(localAnswerBytes(error.status, this.#busy ? this.#requestId : newRequestId(), 'close', false));
  }

  // RequestHandler -----------------------------------------------------------------

  onHead(head: RequestHead): void {
    const ctx = this.#ctx;
    const options = ctx.options;
    ctx.counters.requests++;
    if (this.#observing) this.#observe();
    const rec = this.#rec;
    beginExchange(rec, head.method, head.version === '1.1' ? 'HTTP/1.1' : 'HTTP/1.0', this.#tlsVersion, this.#facts.remoteAddress ?? '');
    this.#observing = true;
    this.#busy = true;
    this.#method = head.method;
    this.#http11 = head.version === '1.1';
    this.#keepAlive = head.keepAlive;
    this.#res = RES_NONE;
    this.#framing = F_NONE;
    this.#trailers = null;
    this.#hsts = null;
    this.#setTimer(T_REQUEST, options.requestTimeoutMs);
    const facts = this.#facts;
    facts.rawHeaders = head.headers;
    facts.method = head.method;
    facts.target = head.target;
    const hasBody = head.framing !== 'none' && head.contentLength !== 0;

    // WebSocket handshakes (well-formed or to be refused) leave the request
    // path; any other Upgrade is an ordinary request (Upgrade is hop-by-hop).
    if (hasUpgradeField(head.names)) {
      const check = checkWebSocketUpgrade(head.headers, head.method, head.version);
      if (check.kind !== 'not-websocket') {
        const decision = routeRequest(ctx.table(), facts, options);
        this.#requestId = decision.requestId;
        this.#req = REQ_DONE;
        if (check.kind === 'reject') {
          this.#detach();
          ctx.tunnels.refuse(this.socket, check.status, decision.requestId, check.status === 426 ? SUPPORTED_VERSION_HEADERS : []);
        } else if (decision.kind === 'local') {
          this.#detach();
          ctx.tunnels.refuse(this.socket, decision.status, decision.requestId, decision.headers ?? [], decision.body);
        } else {
          this.#upgrade = decision;
        }
        return;
      }
    }

    const decision = routeRequest(ctx.table(), facts, options);
    this.#requestId = decision.requestId;
    noteDecision(rec, decision);
    if (decision.kind === 'local') {
      this.#req = hasBody ? REQ_DISCARD : REQ_DONE;
      let close = decision.close;
      if (hasBody && head.expectContinue) {
        // The client waits for 100 Continue before its body, which we do
        // not want: answer and close rather than guess where it ends.
        close = true;
        this.#req = REQ_DONE;
      }
      this.#answerLocal(decision.status, close, decision.body, decision.headers);
      return;
    }
    this.#hsts = decision.hsts;
    this.#res = RES_WAIT;
    this.#req = hasBody ? REQ_FORWARD : REQ_DONE;
    if (hasBody && head.expectContinue) this.socket.write(continueBytes());
    const endpoint = decision.endpoint;
    rec.upstreamStartedAt = performance.now();
    decision.balancer.onStart(endpoint);
    this.#balancer = decision.balancer;
    this.#endpoint = endpoint;
    this.#setCookie = decision.setCookie ?? null;
    this.#bodyLimit = decision.maxBodyBytes;
    resolveTimeouts(this.upstreamTimeouts, decision.timeouts, options);
    this.#bodySent = false;
    const bodyMode = !hasBody ? 'none' : head.framing === 'chunked' ? 'chunked' : 'length';
    if (isHttp2Endpoint(endpoint)) {
      this.#attempts.begin(decision, null, bodyMode, rec.upstreamStartedAt);
      this.#forwardH2(endpoint, decision.headers, decision.target, hasBody);
      return;
    }
    removeContentLength(decision.headers);
    let headBytes: Buffer;
    try {
      headBytes = serializeRequestHead(head.method, decision.target, decision.headers, hasBody ? (head.framing === 'chunked' ? 'chunked' : head.contentLength) : 'none');
    } catch (err) {
      if (!(err instanceof SerializeError)) throw err;
      this.#failBeforeHead(502);
      return;
    }
    // The head is kept for a retry; a request with a body can be sent again
    // only while none of its body has gone (RetryState.next).
    this.#attempts.begin(decision, headBytes, bodyMode, rec.upstreamStartedAt);
    this.#sendHttp1(endpoint, headBytes, bodyMode);
  }

  /** Hands the request head to a connection of the endpoint's pool (or queues for one). */
  #sendHttp1(endpoint: UpstreamEndpoint, headBytes: Buffer, bodyMode: 'none' | 'length' | 'chunked'): void {
    const ctx = this.#ctx;
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
      this.#pendingChunked = bodyMode === 'chunked';
      this.#pendingBody = bodyMode === 'none' ? null : [];
      this.#pendingEnd = bodyMode === 'none';
      return;
    }
    this.#leg = got;
    got.begin(this, this.#method, headBytes, bodyMode);
  }

  /**
   * A failed attempt, before any response byte went to the client: another
   * endpoint if the cluster's retry policy, the process's retry budget and
   * the balancer allow (docs/load-balancing.md). True when a retry started.
   */
  #retry(kind: FailureKind, status: number): boolean {
    const attempts = this.#attempts;
    const decision = attempts.decision;
    const failed = this.#endpoint;
    if (decision === null || failed === null || this.#gone || this.#ending) return false;
    const rec = this.#rec;
    const now = performance.now();
    const next = attempts.next(this.#ctx, failed, kind, status, this.#method, this.#bodySent, this.#facts.encrypted, rec.upstreamStartedAt, now);
    if (next === undefined) return false;
    // The failed attempt is dropped (a held-back status: its connection is closed, never reused).
    this.#abortLeg();
    this.#endpoint = next;
    if (attempts.setCookie !== undefined) this.#setCookie = attempts.setCookie;
    rec.upstream = next.hostPort;
    rec.upstreamStartedAt = now;
    rec.upstreamHeadAt = 0;
    const hasBody = attempts.bodyMode !== 'none';
    if (isHttp2Endpoint(next)) this.#forwardH2(next, decision.headers, decision.target, hasBody);
    else this.#sendHttp1(next, attempts.head!, attempts.bodyMode);
    if (hasBody && this.#req === REQ_DONE) {
      // The whole (empty so far) body was read already: end it on the new attempt too.
      const leg = this.#leg;
      if (leg !== null) leg.endBody();
      else this.#pendingEnd = true;
    }
    return true;
  }

  onBody(data: Buffer, start: number, end: number): void {
    if (this.#req !== REQ_FORWARD) return;
    this.#rec.bytesIn += end - start;
    if (this.#bodyLimit > 0 && this.#rec.bytesIn > this.#bodyLimit) {
      this.#bodyTooLarge();
      return;
    }
    this.#bodySent = true;
    const slice = data.subarray(start, end);
    const leg = this.#leg;
    if (leg !== null) {
      if (!leg.writeBody(slice)) this.#bodyBlocked = true;
    } else if (this.#pendingBody !== null) {
      // No connection yet (queued): hold the slice, read no further.
      this.#pendingBody.push(slice);
      this.#bodyBlocked = true;
    }
  }

  onTrailers(): void {
    // Request trailers are not forwarded (as on the node:http path).
  }

  onMessageComplete(): void {}

  /** The request (head and body) has been read whole. */
  #requestComplete(): void {
    // A bodiless request answered locally finished its exchange in onHead
    // already: counting it again would end keep-alive connections at half
    // of maxRequestsPerSocket, without Connection: close on the last answer.
    if (!this.#busy) return;
    if (this.#req === REQ_FORWARD) {
      const leg = this.#leg;
      if (leg !== null) leg.endBody();
      else this.#pendingEnd = true;
    }
    this.#req = REQ_DONE;
    if (this.#res === RES_DONE) this.#exchangeDone();
    else this.#setTimer(T_NONE, 0);
  }

  // UpstreamUser ---------------------------------------------------------------------

  upstreamReady(conn: UpstreamConnection): void {
    this.#queuedIn = null;
    const head = this.#pendingHead!;
    this.#pendingHead = null;
    if (this.#gone) {
      conn.abort();
      return;
    }
    this.#leg = conn;
    conn.begin(this, this.#method, head, this.#pendingChunked ? 'chunked' : this.#pendingBody === null ? 'none' : 'length');
    const body = this.#pendingBody;
    this.#pendingBody = null;
    if (body !== null) {
      let ok = true;
      for (const slice of body) ok = conn.writeBody(slice);
      if (this.#pendingEnd) conn.endBody();
      this.#bodyBlocked = !ok;
      this.#updateReading();
    }
  }

  upstreamDrain(): void {
    if (!this.#bodyBlocked) return;
    this.#bodyBlocked = false;
    this.#updateReading();
  }

  /**
   * Around each read of upstream bytes. No cork: a response whose head and
   * body come in one read goes out in one write (#writeHead holds the head
   * for upstreamBody); a chunked body corks its own three writes per chunk.
   */
  batchStart(): void {
    this.#batching = true;
  }

  batchEnd(): void {
    this.#flushHead();
    this.#batching = false;
  }

  /** A response head held back for its first body bytes goes out alone. */
  #flushHead(): void {
    const head = this.#heldResponseHead;
    if (head === null) return;
    this.#heldResponseHead = null;
    this.socket.write(head);
  }

  upstreamHead(head: ResponseHead): void {
    const status = head.status;
    // A status of the retry policy (http_502...) is held back while another endpoint may answer.
    if (status >= 403 && this.#attempts.decision !== null && this.#retry('status', status)) return;
    this.#rec.upstreamHeadAt = performance.now();
    let length = -1;
    if (this.#method === 'HEAD' || status === 204 || status === 304) {
      length = status === 204 ? -1 : head.contentLength;
      this.#writeHead(status, head.headers, head.names, length, false, head.reason);
    } else {
      this.#writeHead(status, head.headers, head.names, head.framing === 'content-length' ? head.contentLength : -1, true, head.reason);
    }
  }

  /**
   * Writes the response head. `length` ≥ 0: Content-Length (for HEAD and
   * 304 the advertised one, with no body following); -1 with `body`: an
   * unknown length (chunked to HTTP/1.1 clients, close-delimited to 1.0).
   */
  #writeHead(status: number, headers: readonly string[], names: readonly string[] | null, length: number, body: boolean, reason: string): void {
    const ctx = this.#ctx;
    let framing: number | 'chunked' | 'close' | 'none';
    if (!body) {
      this.#framing = F_NONE;
      framing = length >= 0 ? length : 'none';
    } else if (length >= 0) {
      this.#framing = F_RAW;
      framing = length;
    } else if (this.#http11) {
      this.#framing = F_CHUNKED;
      framing = 'chunked';
    } else {
      this.#framing = F_RAW;
      framing = 'close';
      this.#closeAfter = true;
    }
    if (status === 204 || status < 200) framing = 'none';
    const max = ctx.options.maxRequestsPerSocket;
    if (!this.#keepAlive || ctx.closing || (max > 0 && this.#served + 1 >= max) || this.#req !== REQ_DONE) this.#closeAfter = true;
    const connection = this.#closeAfter ? 'close' : this.#http11 ? null : 'keep-alive';
    let bytes: Buffer;
    try {
      bytes = serializeResponseHead(status, downstreamHeaders(headers, names, this.#requestId, this.#hsts, connection, this.#setCookie), framing, reason === '' ? undefined : reason);
    } catch (err) {
      if (!(err instanceof SerializeError)) throw err;
      // The upstream sent something we cannot write on: a bad gateway.
      this.#abortLeg();
      this.#failBeforeHead(502);
      return;
    }
    ctx.counters.countStatus(status);
    this.#rec.status = status;
    this.#res = RES_BODY;
    // Within a batch of upstream bytes the head waits for the body bytes of
    // the same batch and goes out with them in one buffer: two writes on a
    // corked socket cost a buffered-write record each and a writev
    // (docs/benchmarks.md, "Allocation per request").
    if (this.#batching && this.#framing === F_RAW) this.#heldResponseHead = bytes;
    else this.socket.write(bytes);
  }

  upstreamBody(data: Buffer, start: number, end: number): void {
    const framing = this.#framing;
    if (this.#res !== RES_BODY || framing === F_NONE || end === start) return;
    this.#rec.bytesOut += end - start;
    const socket = this.socket;
    let ok: boolean;
    const head = this.#heldResponseHead;
    if (framing === F_RAW && head !== null && end - start <= SMALL_BODY_BYTES) {
      this.#heldResponseHead = null;
      const out = Buffer.allocUnsafe(head.length + end - start);
      head.copy(out, 0);
      data.copy(out, head.length, start, end);
      ok = socket.write(out);
    } else if (framing === F_RAW) {
      this.#flushHead();
      ok = socket.write(start === 0 && end === data.length ? data : data.subarray(start, end));
    } else {
      socket.cork();
      socket.write(chunkHeader(end - start));
      socket.write(data.subarray(start, end));
      ok = socket.write(CHUNK_END);
      socket.uncork();
    }
    if (!ok) this.#leg?.pause();
  }

  upstreamTrailers(trailers: string[]): void {
    this.#trailers = trailers;
  }

  upstreamComplete(): void {
    this.#flushHead();
    this.#leg = null;
    if (this.#res !== RES_BODY) return;
    if (this.#framing === F_CHUNKED) {
      let last = LAST_CHUNK;
      const trailers = this.#trailers;
      if (trailers !== null) {
        try {
          last = lastChunk(trailers);
        } catch {
          // Trailers we cannot write are dropped, the body is complete.
        }
      }
      this.socket.write(last);
    }
    this.#res = RES_DONE;
    if (this.#req !== REQ_DONE) {
      // An early response: the rest of the request body is not wanted, and
      // where this request ends cannot be known without reading it: close.
      this.#req = REQ_DONE;
      this.#closeAfter = true;
    }
    this.#exchangeDone();
  }

  upstreamFailed(status: number, reason?: UpstreamFailureReason): void {
    this.#leg = null;
    this.#ctx.counters.upstreamErrors++;
    const why = reason ?? (status === 504 ? 'timeout' : 'reset');
    this.#ctx.observer.metrics.upstreamFailed(why);
    if (this.#res === RES_WAIT && this.#retry(why, status)) return;
    if (this.#res === RES_WAIT) {
      this.#failBeforeHead(status);
      return;
    }
    // Part of the response is out: never fabricate a complete one.
    this.socket.destroy();
  }

  // HTTP/2 upstreams -------------------------------------------------------------------

  #forwardH2(endpoint: UpstreamEndpoint, headers: string[], target: string, hasBody: boolean): void {
    const ctx = this.#ctx;
    const pool = ctx.h2Pool(endpoint);
    const exchange = new H2Exchange(this, ctx.sweep, this.upstreamTimeouts);
    this.#leg = exchange;
    exchange.start(pool, headers, this.#method, target, endpoint.protocol === 'h2' ? 'https' : 'http', hasBody);
    ctx.releaseH2(endpoint);
  }

  /** The head of an HTTP/2 upstream's response (raw list, pseudo-headers first). */
  h2Head(status: number, raw: readonly string[], contentLength: number, endStream: boolean): void {
    if (status >= 403 && this.#attempts.decision !== null && this.#retry('status', status)) return;
    this.#rec.upstreamHeadAt = performance.now();
    const bodiless = this.#method === 'HEAD' || status === 204 || status === 304;
    if (bodiless) this.#writeHead(status, raw, null, status === 204 ? -1 : contentLength, false, '');
    else if (endStream) this.#writeHead(status, raw, null, 0, true, '');
    else this.#writeHead(status, raw, null, contentLength, true, '');
  }

  // Exchanges ---------------------------------------------------------------------------

  #answerLocal(status: number, close: boolean, body?: Buffer, extraHeaders?: readonly string[]): void {
    const ctx = this.#ctx;
    const max = ctx.options.maxRequestsPerSocket;
    if (close || !this.#keepAlive || ctx.closing || (max > 0 && this.#served + 1 >= max)) this.#closeAfter = true;
    const connection = this.#closeAfter ? 'close' : this.#http11 ? null : 'keep-alive';
    ctx.counters.countStatus(status);
    this.#rec.status = status;
    this.socket.write(localAnswerBytes(status, this.#requestId, connection, this.#method === 'HEAD', body, extraHeaders));
    this.#res = RES_DONE;
    if (this.#closeAfter) {
      this.#req = REQ_DONE;
      if (this.#observing) this.#observe();
      this.#end();
      return;
    }
    if (this.#req === REQ_DONE) this.#exchangeDone();
  }

  /** No response head went out: answer `status` (502, 503, 504). */
  #failBeforeHead(status: number): void {
    this.#leg = null;
    this.#queuedIn?.cancel(this);
    this.#queuedIn = null;
    this.#pendingHead = null;
    this.#pendingBody = null;
    this.#bodyBlocked = false;
    if (this.#req !== REQ_DONE) {
      // The body was not read to its end: the connection cannot carry another request.
      this.#req = REQ_DONE;
      this.#closeAfter = true;
    }
    this.#answerLocal(status, this.#closeAfter);
  }

  /** Request read and response written: the next request may come. */
  #exchangeDone(): void {
    if (this.#observing) this.#observe();
    this.#busy = false;
    this.#upgrade = null;
    this.#served++;
    this.#bodyBlocked = false;
    const ctx = this.#ctx;
    const max = ctx.options.maxRequestsPerSocket;
    if (this.#closeAfter || !this.#keepAlive || ctx.closing || (max > 0 && this.#served >= max)) {
      this.#end();
      return;
    }
    this.#setTimer(T_IDLE, ctx.options.keepAliveTimeoutMs);
    this.#resumeParsing();
  }

  /** Hands the exchange to metrics, access log and tracing (once). */
  #observe(): void {
    this.#observing = false;
    this.#attempts.end(this.#ctx);
    const rec = this.#rec;
    this.#ctx.observer.finish(rec);
    const balancer = this.#balancer;
    if (balancer !== null) {
      this.#balancer = null;
      endBalancing(balancer, this.#endpoint!, rec);
      this.#endpoint = null;
    }
    this.#setCookie = null;
  }

  /**
   * A chunked request body went over the route's limit (a declared
   * Content-Length over it was refused by routeRequest): 413 and close while
   * no response byte has gone out, else the exchange is cut. Either way the
   * upstream request is aborted, never completed with a short body.
   */
  #bodyTooLarge(): void {
    this.#abortLeg();
    if (this.#res === RES_WAIT) {
      this.#failBeforeHead(413);
      return;
    }
    this.#req = REQ_DONE;
    this.socket.destroy();
  }

  #abortLeg(): void {
    const leg = this.#leg;
    this.#leg = null;
    leg?.abort();
    this.#queuedIn?.cancel(this);
    this.#queuedIn = null;
  }

  #setTimer(kind: number, ms: number): void {
    this.#timer = kind;
    this.deadline = kind === T_NONE ? Infinity : this.#ctx.sweep.now + ms;
  }

  /** Ends the connection once what was written is flushed. */
  #end(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.deadline = Infinity;
    this.#held = null;
    // What the client still sends is dropped; the socket is destroyed once
    // our side is flushed (the sockets are allowHalfOpen).
    this.socket.destroySoon();
  }

  #writeAndClose(bytes: Buffer): void {
    if (this.#ending) return;
    this.socket.write(bytes);
    this.#end();
  }

  /** Stop serving this socket (handed to the tunnel registry). */
  #detach(): void {
    this.#ending = true;
    const ctx = this.#ctx;
    const s = this.socket;
    ctx.sweep.delete(this);
    ctx.connectionClosed(this);
    s[kClient] = undefined;
    releaseReads(s, onData);
    s.removeListener('end', onEnd);
    s.removeListener('drain', onDrain);
    if (this.#paused) s.resume();
    s.pause();
    this.#paused = false;
  }

  #handOver(rest: Buffer): void {
    const decision = this.#upgrade;
    this.#upgrade = null;
    if (decision === null || decision.kind !== 'forward') return;
    const held = this.#held;
    this.#held = null;
    this.#detach();
    this.#ctx.tunnels.open({
      clientSocket: this.socket,
      head: held === null ? rest : Buffer.concat([rest, held]),
      endpoint: decision.endpoint,
      method: this.#method,
      target: decision.target,
      headers: decision.headers,
      requestId: decision.requestId,
      hsts: decision.hsts,
    });
  }
}

const EMPTY = Buffer.alloc(0);

function hasUpgradeField(names: readonly string[]): boolean {
  for (let i = 0; i < names.length; i++) if (names[i] === 'upgrade') return true;
  return false;
}

/** The serializer computes framing itself: the client's Content-Length must not be in the list. */
function removeContentLength(headers: string[]): void {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      headers.splice(i, 2);
      i -= 2;
    }
  }
}
