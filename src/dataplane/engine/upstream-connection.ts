// One HTTP/1.1 connection to an upstream endpoint (TCP, or TLS for https
// endpoints), carrying one exchange at a time for its pool. The request head
// is serialised by the caller; this object frames the request body (raw for
// Content-Length, re-chunked for chunked), parses the response with the
// codec's ResponseParser and reports it to the exchange's user.
//
// Reuse is the exception, not the rule (security.md R7): the connection goes
// back to its pool only when the response completed cleanly, was keep-alive,
// the whole request had been sent, and not one byte followed the response.
// Anything else (parse error, bytes after the response or while idle, an
// early response, a timeout, a client that left, a close) destroys it.
//
// Listeners are module-level functions that find the connection through a
// symbol on the socket; deadlines are fields checked by the engine's sweep.

import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { ClusterTimeouts, UpstreamEndpoint } from '../compile/cluster.ts';
import type { ProxyOptions } from '../proxy/options.ts';
import { CHUNK_END, LAST_CHUNK, type ResponseHandler, type ResponseHead, ResponseParser, chunkHeader } from '../http1/index.ts';
import type { DeadlineSweep, Expiring } from './deadline-sweep.ts';
import { noteBytesRead } from './read-garbage.ts';
import { sharedReadOption } from './socket-reads.ts';
import type { UpstreamFailureReason } from '../../observability/metrics/request-metrics.ts';

/**
 * The deadlines of one exchange: the cluster's own (proxy-connect-timeout,
 * proxy-read-timeout, proxy-send-timeout) where set, else the proxy's options.
 */
export interface ExchangeTimeouts {
  /** Connecting (TCP, and TLS for https endpoints); exceeded → 504. */
  readonly connectTimeoutMs: number;
  /** From the end of the request to the complete response head; exceeded → 504. */
  readonly responseHeaderTimeoutMs: number;
  /** Longest pause between two reads of the response body; exceeded → cut. */
  readonly upstreamBodyTimeoutMs: number;
  /** Longest pause between two writes of the request body to the endpoint; exceeded → 504. */
  readonly sendTimeoutMs: number;
}

/** ExchangeTimeouts a client connection fills in for each exchange (no allocation per request). */
export interface MutableExchangeTimeouts {
  connectTimeoutMs: number;
  responseHeaderTimeoutMs: number;
  upstreamBodyTimeoutMs: number;
  sendTimeoutMs: number;
}

export function newExchangeTimeouts(options: ProxyOptions): MutableExchangeTimeouts {
  return { connectTimeoutMs: options.connectTimeoutMs, responseHeaderTimeoutMs: options.responseHeaderTimeoutMs, upstreamBodyTimeoutMs: options.upstreamBodyTimeoutMs, sendTimeoutMs: options.responseHeaderTimeoutMs };
}

/**
 * The deadlines of an exchange to a cluster: the cluster's own where its
 * Ingress set them (compiled, 0 where not), else the proxy's options. With no
 * option of its own, the send deadline is the response-head one.
 */
export function resolveTimeouts(out: MutableExchangeTimeouts, cluster: ClusterTimeouts, options: ProxyOptions): void {
  out.connectTimeoutMs = cluster.connectMs || options.connectTimeoutMs;
  out.responseHeaderTimeoutMs = cluster.responseHeaderMs || options.responseHeaderTimeoutMs;
  out.upstreamBodyTimeoutMs = cluster.idleMs || options.upstreamBodyTimeoutMs;
  out.sendTimeoutMs = cluster.sendIdleMs || options.responseHeaderTimeoutMs;
}

/** What an exchange gets told about its upstream; implemented by the client connection. */
export interface UpstreamUser {
  /** This exchange's deadlines, read when a connection is dialled for it and when it begins. */
  readonly upstreamTimeouts: ExchangeTimeouts;
  /** A queued request got its connection: send the head (and what was held of the body) now. */
  upstreamReady(conn: UpstreamConnection): void;
  /** The final response head (1xx are dropped). */
  upstreamHead(head: ResponseHead): void;
  /** Response body bytes data[start, end), valid only during the call. */
  upstreamBody(data: Buffer, start: number, end: number): void;
  upstreamTrailers(trailers: string[]): void;
  /** The response ended cleanly; the connection is no longer the user's. */
  upstreamComplete(): void;
  /**
   * The exchange failed: 502 or 504 (the status to answer if no head went
   * out yet); `reason` for metrics: the connection could not be made
   * ('connect'), a deadline passed ('timeout'), or it broke ('reset').
   */
  upstreamFailed(status: number, reason?: UpstreamFailureReason): void;
  /** The request body can flow again (the upstream socket drained). */
  upstreamDrain(): void;
  /** Around each batch of upstream bytes: lets the user coalesce its writes (one write for a head and its body bytes, or cork/uncork). */
  batchStart(): void;
  batchEnd(): void;
}

/** The pool's own deadline: how long an idle keep-alive connection is kept. */
export interface ConnectionTimeouts {
  readonly upstreamIdleTimeoutMs: number;
}

/** The pool side, as the connection sees it. */
export interface ConnectionOwner {
  readonly timeouts: ConnectionTimeouts;
  readonly sweep: DeadlineSweep;
  /** The exchange completed cleanly and the connection may carry another. */
  reusable(conn: UpstreamConnection): void;
  /** The connection is closed or must be: forget it. */
  discarded(conn: UpstreamConnection): void;
}

const kConn = Symbol('martello.upstreamConnection');
type TaggedSocket = (Socket | TLSSocket) & { [kConn]?: UpstreamConnection };

const S_CONNECTING = 0;
const S_IDLE = 1;
const S_BUSY = 2;
const S_CLOSED = 3;

/** What a busy connection's deadline means. */
const W_CONNECT = 0;
const W_HEAD = 1;
const W_BODY = 2;

function onSocketConnect(this: TaggedSocket): void {
  this[kConn]?.connected();
}

function onSocketData(this: TaggedSocket, chunk: Buffer): void {
  this[kConn]?.data(chunk);
}

function onSocketEnd(this: TaggedSocket): void {
  this[kConn]?.ended();
}

function onSocketClose(this: TaggedSocket): void {
  this[kConn]?.closed();
}

function onSocketDrain(this: TaggedSocket): void {
  this[kConn]?.drained();
}

function onSocketError(this: TaggedSocket): void {
  // 'close' follows and decides.
}

export class UpstreamConnection implements ResponseHandler, Expiring {
  readonly socket: TaggedSocket;
  readonly #owner: ConnectionOwner;
  readonly #parser: ResponseParser;
  deadline = Infinity;
  #state = S_CONNECTING;
  #wait = W_CONNECT;
  #user: UpstreamUser | null = null;
  #chunked = false;
  /** The whole request (head and body) has been handed to the socket. */
  #requestSent = false;
  #keepAlive = false;
  #completed = false;
  #paused = false;
  /** The current exchange's deadlines (copied from its user in begin()). */
  #headMs = 0;
  #bodyMs = 0;
  #sendMs = 0;
  /** Exchanges carried (for tests and reuse accounting). */
  exchanges = 0;

  /** `connectTimeoutMs`: the deadline of the exchange this connection is dialled for. */
  constructor(endpoint: UpstreamEndpoint, owner: ConnectionOwner, connectTimeoutMs: number) {
    this.#owner = owner;
    this.#parser = new ResponseParser(this);
    const socket = dial(endpoint) as TaggedSocket;
    socket[kConn] = this;
    socket.on('error', onSocketError);
    socket.once(endpoint.tls === null ? 'connect' : 'secureConnect', onSocketConnect);
    // Plain TCP sockets read into the shared buffer (dial); TLS ones emit 'data'.
    if (endpoint.tls !== null) socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
    socket.on('drain', onSocketDrain);
    this.socket = socket;
    this.deadline = owner.sweep.refresh() + connectTimeoutMs;
    owner.sweep.add(this);
  }

  get idle(): boolean {
    return this.#state === S_IDLE;
  }

  get closedOrClosing(): boolean {
    return this.#state === S_CLOSED || this.socket.destroyed;
  }

  /**
   * Starts an exchange: writes `head` (a serialised request head) and
   * announces the response to `method`. `body` says how the request body
   * follows: 'chunked' re-frames each writeBody() slice, 'none' means the
   * request is complete with the head.
   */
  begin(user: UpstreamUser, method: string, head: Buffer, body: 'chunked' | 'length' | 'none'): void {
    this.#user = user;
    const t = user.upstreamTimeouts;
    this.#headMs = t.responseHeaderTimeoutMs;
    this.#bodyMs = t.upstreamBodyTimeoutMs;
    this.#sendMs = t.sendTimeoutMs;
    this.#chunked = body === 'chunked';
    this.#requestSent = body === 'none';
    this.#completed = false;
    this.#keepAlive = false;
    this.exchanges++;
    this.#parser.expectResponse(method);
    if (this.#state !== S_CONNECTING) {
      this.#state = S_BUSY;
      this.#wait = W_HEAD;
      this.deadline = this.#owner.sweep.now + this.#waitMs();
    }
    this.socket.write(head);
  }

  /** Before the response head: the send deadline while the request is still going out, then the response-head deadline. */
  #waitMs(): number {
    return this.#requestSent ? this.#headMs : this.#sendMs;
  }

  /** A slice of the request body; false: wait for the user's upstreamDrain(). */
  writeBody(slice: Buffer): boolean {
    const socket = this.socket;
    if (this.#wait === W_HEAD && this.#state === S_BUSY) this.deadline = this.#owner.sweep.now + this.#sendMs;
    if (!this.#chunked) return socket.write(slice);
    socket.cork();
    socket.write(chunkHeader(slice.length));
    socket.write(slice);
    const ok = socket.write(CHUNK_END);
    socket.uncork();
    return ok;
  }

  /** The request body ended (the last chunk is written for chunked bodies; request trailers are not forwarded). */
  endBody(): void {
    if (this.#chunked) this.socket.write(LAST_CHUNK);
    this.#requestSent = true;
    if (this.#wait === W_HEAD && this.#state === S_BUSY) this.deadline = this.#owner.sweep.now + this.#headMs;
  }

  /** The client is not reading: stop reading the response. */
  pause(): void {
    if (this.#paused || this.#state === S_CLOSED) return;
    this.#paused = true;
    this.deadline = Infinity;
    this.socket.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#state === S_BUSY) this.deadline = this.#owner.sweep.now + (this.#wait === W_BODY ? this.#bodyMs : this.#waitMs());
    this.socket.resume();
  }

  /** The user gives up on the exchange (client gone, or its request failed): never reused. */
  abort(): void {
    this.#user = null;
    this.destroy();
  }

  /** Closes the connection now; its user (if any) is not told. */
  destroy(): void {
    if (this.#state === S_CLOSED) return;
    this.#state = S_CLOSED;
    this.deadline = Infinity;
    this.#owner.sweep.delete(this);
    this.socket.destroy();
    this.#owner.discarded(this);
  }

  /** Back in the pool: idle until the keep-alive expiry. */
  parked(): void {
    this.#state = S_IDLE;
    if (this.#paused) {
      // Never pool a paused socket: its next response would never be read
      // (the stall trap of perf-calibration §6).
      this.#paused = false;
      this.socket.resume();
    }
    this.deadline = this.#owner.sweep.now + this.#owner.timeouts.upstreamIdleTimeoutMs;
  }

  // Socket events --------------------------------------------------------------

  connected(): void {
    if (this.#state !== S_CONNECTING) return;
    if (this.#user === null) {
      this.#state = S_IDLE;
      this.deadline = this.#owner.sweep.now + this.#owner.timeouts.upstreamIdleTimeoutMs;
      return;
    }
    this.#state = S_BUSY;
    this.#wait = W_HEAD;
    this.deadline = this.#owner.sweep.now + this.#waitMs();
  }

  data(chunk: Buffer): void {
    noteBytesRead(chunk.length);
    const user = this.#user;
    if (user === null) {
      // Bytes while idle: a backend that answered twice or sent more than it framed.
      this.destroy();
      return;
    }
    user.batchStart();
    const out = this.#parser.execute(chunk);
    if (this.#user !== user) {
      // The user aborted the exchange from one of its callbacks.
    } else if (out.kind === 'complete') {
      // Anything after the response (out.consumed < length) is an anomaly:
      // the response itself was whole, the connection is not reusable.
      this.#finish(out.consumed === chunk.length);
    } else if (out.kind === 'error' || out.kind === 'upgrade') {
      // 101 to a request that asked for no upgrade is an anomaly too.
      this.#fail(502);
    } else if (this.#wait === W_BODY && !this.#paused) {
      this.deadline = this.#owner.sweep.now + this.#bodyMs;
    }
    user.batchEnd();
  }

  ended(): void {
    if (this.#user === null) {
      this.destroy();
      return;
    }
    const user = this.#user;
    user.batchStart();
    // Completes a close-delimited body, or reports the loss.
    const err = this.#parser.endOfStream();
    if (this.#user !== user) {
      // Aborted from a callback.
    } else if (err === undefined && this.#completed) this.#finish(false);
    else this.#fail(502);
    user.batchEnd();
  }

  closed(): void {
    if (this.#user !== null) this.#fail(502);
    else this.destroy();
  }

  drained(): void {
    this.#user?.upstreamDrain();
  }

  expired(): void {
    if (this.#state === S_IDLE || this.#user === null) {
      this.destroy();
      return;
    }
    if (this.#paused) {
      this.deadline = Infinity;
      return;
    }
    this.#fail(this.#wait === W_BODY ? 502 : 504);
  }

  // ResponseHandler --------------------------------------------------------------

  onInformational(): void {
    // 100 Continue and 103 Early Hints are not relayed: the engine answered
    // the client's Expect itself.
  }

  onHead(head: ResponseHead): void {
    this.#wait = W_BODY;
    this.#keepAlive = head.keepAlive;
    this.deadline = this.#owner.sweep.now + this.#bodyMs;
    this.#user?.upstreamHead(head);
  }

  onBody(data: Buffer, start: number, end: number): void {
    this.#user?.upstreamBody(data, start, end);
  }

  onTrailers(trailers: string[]): void {
    this.#user?.upstreamTrailers(trailers);
  }

  onMessageComplete(): void {
    this.#completed = true;
  }

  // -------------------------------------------------------------------------------

  #finish(clean: boolean): void {
    const user = this.#user!;
    this.#user = null;
    if (clean && this.#keepAlive && this.#requestSent && this.#state === S_BUSY && !this.socket.destroyed) this.#owner.reusable(this);
    else this.destroy();
    user.upstreamComplete();
  }

  #fail(status: number): void {
    const user = this.#user;
    const reason: UpstreamFailureReason = this.#state === S_CONNECTING ? 'connect' : status === 504 ? 'timeout' : 'reset';
    this.#user = null;
    this.destroy();
    user?.upstreamFailed(status, reason);
  }
}

function dial(endpoint: UpstreamEndpoint): Socket | TLSSocket {
  const { address, port, tls } = endpoint;
  if (tls === null) return netConnect({ host: address, port, noDelay: true, onread: sharedReadOption(onSocketData) });
  // As for HTTP/2 upstreams: SNI only for a configured name (never the
  // client's Host, never an IP address); verification when the cluster asks.
  const servername = tls.serverName !== null && isIP(tls.serverName) === 0 ? tls.serverName : undefined;
  const socket = tlsConnect({
    host: address,
    port,
    servername,
    ALPNProtocols: ['http/1.1'],
    rejectUnauthorized: tls.verify,
    ca: tls.caPem ?? undefined,
  });
  socket.setNoDelay(true);
  return socket;
}
