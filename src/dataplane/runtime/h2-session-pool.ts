// HTTP/2 client sessions to one upstream endpoint: h2c (clear text, prior
// knowledge) or h2 (TLS, ALPN "h2" required). One session carries many
// concurrent streams; another is opened only when every open one has as many
// streams as its peer allows (SETTINGS_MAX_CONCURRENT_STREAMS), up to a
// bound, beyond which nghttp2 queues new streams on the least busy session.
//
// Lifecycle of a session: dialled on demand (deadline: connectTimeoutMs,
// covering TCP and TLS), never given new streams once it received GOAWAY,
// errored or was closed, and closed when it has carried no stream for
// idleTimeoutMs. A dead session is simply dropped; the next request dials a
// new one. A retired session is closed when its last stream ends, so open
// streams always finish; close() retires them all (graceful, as
// UpstreamRegistry expects when it retires an endpoint).
//
// Every socket and session gets an 'error' listener (security.md §2.5:
// an unhandled 'error' on a TLS socket or session crashes the process).
// Listeners are module-level functions that find their session record
// through a symbol; a request allocates nothing here but the stream.

import { connect, type ClientHttp2Session, type ClientHttp2Stream, type ClientSessionRequestOptions, type OutgoingHttpHeaders, type Settings } from 'node:http2';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { UpstreamEndpoint } from '../compile/cluster.ts';
import type { ClosablePool } from './upstream-registry.ts';

/** Error codes this pool gives to the streams it fails. */
export const H2_CONNECT_TIMEOUT = 'MARTELLO_H2_CONNECT_TIMEOUT';
export const H2_ALPN_MISMATCH = 'MARTELLO_H2_ALPN_MISMATCH';
export const H2_POOL_CLOSED = 'MARTELLO_H2_POOL_CLOSED';

export class H2PoolError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'H2PoolError';
    this.code = code;
  }
}

export interface H2SessionPoolOptions {
  /** Deadline for TCP connect plus TLS handshake. */
  readonly connectTimeoutMs: number;
  /** A session without streams for this long is closed. */
  readonly idleTimeoutMs: number;
  /** Sessions to this endpoint at most (at least 1). */
  readonly maxSessions: number;
  /** Told about session-level errors (for logging); optional. */
  readonly onSessionError?: (err: Error, endpointKey: string) => void;
}

/**
 * What nghttp2 assumes of the peer until its SETTINGS arrive (Node's
 * `peerMaxConcurrentStreams` default); replaced by the real value then.
 */
const ASSUMED_MAX_STREAMS = 100;

const kRecord = Symbol('martello.h2SessionRecord');

type TaggedSession = ClientHttp2Session & { [kRecord]?: SessionRecord };
type TaggedStream = ClientHttp2Stream & { [kRecord]?: SessionRecord };
type TaggedSocket = (Socket | TLSSocket) & { [kRecord]?: SessionRecord };

class SessionRecord {
  readonly pool: H2SessionPool;
  readonly session: TaggedSession;
  readonly socket: Socket | TLSSocket;
  /** Streams handed out and not yet closed (nghttp2 may still be queueing some). */
  active = 0;
  maxStreams = ASSUMED_MAX_STREAMS;
  /** False once GOAWAY, error, close or idle retirement: no new streams. */
  usable = true;
  idleSince = 0;
  idleTimer: NodeJS.Timeout | null = null;
  connectTimer: NodeJS.Timeout | null;

  constructor(pool: H2SessionPool, session: TaggedSession, socket: Socket | TLSSocket, connectTimeoutMs: number) {
    this.pool = pool;
    this.session = session;
    this.socket = socket;
    this.connectTimer = setTimeout(onConnectTimeout, connectTimeoutMs, this);
    this.connectTimer.unref();
  }
}

// Listeners ---------------------------------------------------------------

/** The session reports socket errors itself (it destroys and emits); this only keeps them from being unhandled. */
function onSocketError(): void {}

function onSessionError(this: TaggedSession, err: Error): void {
  const record = this[kRecord];
  if (record !== undefined) record.pool.sessionFailed(record, err);
}

function onSecureConnect(this: TaggedSocket): void {
  const record = this[kRecord];
  if (record !== undefined) record.pool.tlsConnected(record);
}

function onSessionConnect(this: TaggedSession): void {
  const record = this[kRecord];
  if (record !== undefined) record.pool.sessionConnected(record);
}

function onRemoteSettings(this: TaggedSession, settings: Settings): void {
  const record = this[kRecord];
  const max = settings.maxConcurrentStreams;
  if (record !== undefined && typeof max === 'number') record.maxStreams = Math.max(1, max);
}

function onGoaway(this: TaggedSession): void {
  const record = this[kRecord];
  if (record !== undefined) record.pool.retire(record);
}

function onSessionClose(this: TaggedSession): void {
  const record = this[kRecord];
  if (record !== undefined) record.pool.sessionClosed(record);
}

function onStreamClose(this: TaggedStream): void {
  const record = this[kRecord];
  if (record === undefined) return;
  this[kRecord] = undefined;
  record.pool.streamClosed(record);
}

function onConnectTimeout(record: SessionRecord): void {
  record.connectTimer = null;
  record.session.destroy(new H2PoolError(H2_CONNECT_TIMEOUT, `upstream ${record.pool.key}: no HTTP/2 connection within the connect timeout`));
}

function closeSession(record: SessionRecord): void {
  const session = record.session;
  if (!session.closed && !session.destroyed) session.close();
}

function onIdleTimer(record: SessionRecord): void {
  record.idleTimer = null;
  record.pool.idleCheck(record);
}

// The pool ------------------------------------------------------------------

export class H2SessionPool implements ClosablePool {
  readonly key: string;
  readonly #endpoint: UpstreamEndpoint;
  readonly #options: H2SessionPoolOptions;
  readonly #maxSessions: number;
  /** Sessions that may take new streams, oldest first. */
  readonly #sessions: SessionRecord[] = [];
  /** Every session not yet closed (usable or draining). */
  readonly #open = new Set<SessionRecord>();
  #closed = false;
  #closeWaiters: (() => void)[] = [];

  constructor(endpoint: UpstreamEndpoint, options: H2SessionPoolOptions) {
    if (endpoint.protocol !== 'h2c' && endpoint.protocol !== 'h2') throw new TypeError(`H2SessionPool: endpoint ${endpoint.key} is ${endpoint.protocol}, not h2c or h2`);
    this.key = endpoint.key;
    this.#endpoint = endpoint;
    this.#options = options;
    this.#maxSessions = Math.max(1, options.maxSessions);
  }

  /** Sessions currently taking new streams (tests, metrics). */
  get sessionCount(): number {
    return this.#sessions.length;
  }

  /** Sessions not yet closed, draining ones included (tests, metrics). */
  get openSessionCount(): number {
    return this.#open.size;
  }

  /** The sessions currently taking new streams (tests). */
  sessions(): ClientHttp2Session[] {
    return this.#sessions.map((r) => r.session);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Open a stream on a session with room for it. Throws H2PoolError
   * (H2_POOL_CLOSED) after close(), and whatever node:http2 throws for an
   * invalid header block. Connection failures arrive later as the stream's
   * 'error' (an ERR_HTTP2_STREAM_CANCEL whose `cause` is the reason).
   */
  request(headers: OutgoingHttpHeaders, options: ClientSessionRequestOptions): ClientHttp2Stream {
    if (this.#closed) throw new H2PoolError(H2_POOL_CLOSED, `upstream ${this.key}: pool closed`);
    const record = this.#pick();
    const stream = record.session.request(headers, options) as TaggedStream;
    record.active++;
    if (record.idleTimer !== null) {
      clearTimeout(record.idleTimer);
      record.idleTimer = null;
    }
    stream[kRecord] = record;
    stream.once('close', onStreamClose);
    return stream;
  }

  /** Graceful: no new streams; resolves when every session has closed after its open streams. */
  close(): Promise<void> {
    this.#closed = true;
    for (const record of this.#open) this.retire(record);
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  /** The drain deadline passed: destroy every session; their streams fail and close() settles. */
  destroy(): void {
    this.#closed = true;
    for (const record of this.#open) record.session.destroy();
  }

  // Internal, called from the module-level listeners -------------------------

  sessionConnected(record: SessionRecord): void {
    if (record.connectTimer !== null) {
      clearTimeout(record.connectTimer);
      record.connectTimer = null;
    }
  }

  /** TLS handshake done, before node:http2 sends its connection preface. */
  tlsConnected(record: SessionRecord): void {
    if ((record.socket as TLSSocket).alpnProtocol === 'h2') return;
    // Destroying the session here (this listener runs before node:http2's
    // own) fails the queued streams with this reason, and nothing at all
    // is sent to a peer that did not agree to speak HTTP/2.
    record.session.destroy(new H2PoolError(H2_ALPN_MISMATCH, `upstream ${this.key}: TLS peer did not negotiate ALPN "h2"`));
  }

  sessionFailed(record: SessionRecord, err: Error): void {
    this.retire(record);
    this.#options.onSessionError?.(err, this.key);
  }

  streamClosed(record: SessionRecord): void {
    record.active--;
    if (record.active > 0) return;
    if (!record.usable) {
      closeSession(record);
      return;
    }
    record.idleSince = performance.now();
    if (record.idleTimer === null) {
      record.idleTimer = setTimeout(onIdleTimer, this.#options.idleTimeoutMs, record);
      record.idleTimer.unref();
    }
  }

  idleCheck(record: SessionRecord): void {
    if (!record.usable || record.active > 0) return;
    const idleFor = performance.now() - record.idleSince;
    const left = this.#options.idleTimeoutMs - idleFor;
    if (left > 0) {
      record.idleTimer = setTimeout(onIdleTimer, left, record);
      record.idleTimer.unref();
      return;
    }
    this.retire(record);
  }

  /** No new streams on this session; close it once its streams are done. */
  retire(record: SessionRecord): void {
    if (record.usable) {
      record.usable = false;
      const i = this.#sessions.indexOf(record);
      if (i !== -1) this.#sessions.splice(i, 1);
    }
    if (record.idleTimer !== null) {
      clearTimeout(record.idleTimer);
      record.idleTimer = null;
    }
    // With streams still open, the last one to close closes the session
    // (streamClosed). Not session.close() now: its GOAWAY would overtake
    // the HEADERS of streams still queued (nghttp2 then refuses them), and
    // on a connecting session Node fails the queued streams outright.
    if (record.active === 0) closeSession(record);
  }

  sessionClosed(record: SessionRecord): void {
    if (record.usable) this.retire(record);
    (record.socket as TaggedSocket)[kRecord] = undefined;
    if (record.connectTimer !== null) {
      clearTimeout(record.connectTimer);
      record.connectTimer = null;
    }
    record.session[kRecord] = undefined;
    this.#open.delete(record);
    if (this.#open.size === 0 && this.#closeWaiters.length > 0) {
      const waiters = this.#closeWaiters;
      this.#closeWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  // Choosing and dialling ----------------------------------------------------

  #pick(): SessionRecord {
    const sessions = this.#sessions;
    let leastBusy: SessionRecord | undefined;
    for (let i = 0; i < sessions.length; i++) {
      const r = sessions[i]!;
      if (r.session.closed || r.session.destroyed) {
        // Destroyed without an 'error' (its 'close' is still to come).
        this.retire(r);
        i--;
        continue;
      }
      // Oldest first, so load concentrates and extra sessions go idle.
      if (r.active < r.maxStreams) return r;
      if (leastBusy === undefined || r.active - r.maxStreams < leastBusy.active - leastBusy.maxStreams) leastBusy = r;
    }
    if (leastBusy !== undefined && sessions.length >= this.#maxSessions) return leastBusy;
    return this.#dial();
  }

  #dial(): SessionRecord {
    const endpoint = this.#endpoint;
    const socket: TaggedSocket = this.#createSocket();
    socket.on('error', onSocketError);
    // Added before node:http2's own listener (the session does not exist
    // yet): see tlsConnected().
    if (endpoint.protocol === 'h2') socket.once('secureConnect', onSecureConnect);
    const session = connect(endpoint.origin, {
      createConnection: () => socket,
      settings: { enablePush: false },
    }) as TaggedSession;
    const record = new SessionRecord(this, session, socket, this.#options.connectTimeoutMs);
    session[kRecord] = record;
    socket[kRecord] = record;
    session.once('connect', onSessionConnect);
    session.on('error', onSessionError);
    session.on('remoteSettings', onRemoteSettings);
    session.once('goaway', onGoaway);
    session.once('close', onSessionClose);
    this.#sessions.push(record);
    this.#open.add(record);
    return record;
  }

  #createSocket(): Socket | TLSSocket {
    const { address, port, tls } = this.#endpoint;
    if (this.#endpoint.protocol === 'h2c' || tls === null) return netConnect({ host: address, port, noDelay: true });
    // No SNI for IP endpoints unless a name is configured; Node refuses an
    // IP address as SNI anyway (RFC 6066 §3). Verification checks the
    // configured name, else the endpoint address against the certificate.
    const servername = tls.serverName !== null && isIP(tls.serverName) === 0 ? tls.serverName : undefined;
    const socket = tlsConnect({
      host: address,
      port,
      servername,
      ALPNProtocols: ['h2'],
      rejectUnauthorized: tls.verify,
      ca: tls.caPem ?? undefined,
    });
    socket.setNoDelay(true);
    return socket;
  }
}
