// Per-session accounting for HTTP/2 clients: the two guards node:http2 does
// not provide (security.md R10 and §7), for both ways streams are served (the
// martello engine's core stream API and the node engine's compatibility API).
//
// 1. Header-phase deadline. node:http2 says nothing about a header block
//    until it is complete ('stream'), so a client that sends HEADERS without
//    END_HEADERS and then CONTINUATIONs slowly (or nothing) holds the
//    connection forever. What is observable: nghttp2's `lastProcStreamID`
//    (session.state) moves to a new stream's id as soon as its HEADERS frame
//    begins, before any CONTINUATION. A header block is therefore unfinished
//    when that id is above the highest stream node:http2 delivered. The sweep
//    reads it only for sessions whose socket read bytes since the last tick
//    (a block can only begin with new bytes), and refuses the session once
//    the same unfinished block has been seen for `headersTimeoutMs`: GOAWAY
//    NO_ERROR whose last-stream-id is the highest delivered stream (nghttp2
//    then drops the unfinished stream; it never reaches a backend), then the
//    streams already delivered may finish, within one more deadline, and the
//    connection closes (at once when none is open).
//    False positive: a stream that node:http2 refused while decoding its
//    header block (over the header-list limits, a malformed field) also
//    moves `lastProcStreamID` without a 'stream'. A client whose last stream
//    was such a refusal and that opens no other stream for the deadline gets
//    the same GOAWAY NO_ERROR (its open streams finish; a browser reconnects
//    for the next request). Trailers are not covered (they begin no new
//    stream): a slow trailer block is the body phase.
//
// 2. Premature resets (rapid reset, CVE-2023-44487), after Envoy's
//    overload.premature_reset_*: a stream is reset prematurely when it closes
//    before Martello sent its response head and within
//    `prematureResetLifetimeMs` of being delivered, whatever the RST_STREAM
//    code (Martello resets a client stream only after its head is out, so
//    before the head it is the client's doing). Streams are counted in
//    windows of `prematureResetStreams / 2` closed streams; when the current
//    and the previous window hold that many premature resets (half of the
//    last 100 to 200 streams; at the start, of the first 200), the session
//    gets GOAWAY ENHANCE_YOUR_CALM and is destroyed, as Envoy does. Windows
//    rather than Envoy's ratio over the connection's life, so that many good
//    requests first do not buy free resets later. No plain stream-rate
//    limit: a busy gRPC client opens hundreds of streams a second on one
//    connection, and one that does not reset is bounded by the
//    concurrent-stream limit.
//
// Cost per stream: one listener, two properties and two clock reads. Per
// session: one state object. One interval timer for all sessions, running
// only while there are sessions; no closure per session or per stream.

import { constants as h2, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';

export interface H2GuardOptions {
  /** A header block unfinished for this long refuses its session (0: never). */
  readonly headersTimeoutMs: number;
  /** Premature resets in the last this-many streams (at least half of them) refuse the session (0: never). */
  readonly prematureResetStreams: number;
  /** A stream closed before its response head within this time of opening is a premature reset. */
  readonly prematureResetLifetimeMs: number;
}

export type H2RefusalReason = 'header_timeout' | 'premature_resets';

/** Told when the guard refuses a session (metrics). */
export interface H2GuardOwner {
  h2SessionRefused(reason: H2RefusalReason): void;
}

/**
 * The premature-reset rule of one session, pure: fed every closed stream
 * with its times on one clock (ms).
 */
export class PrematureResetRule {
  readonly #window: number;
  readonly #lifetimeMs: number;
  #closed = 0;
  #current = 0;
  #previous = 0;

  /** `streams` 0 disables the rule. */
  constructor(streams: number, lifetimeMs: number) {
    this.#window = streams > 0 ? Math.max(1, Math.floor(streams / 2)) : Infinity;
    this.#lifetimeMs = lifetimeMs;
  }

  /** Premature resets counted in the current and the previous window. */
  get recent(): number {
    return this.#current + this.#previous;
  }

  /** One stream closed; true when the session has reset too many streams prematurely. */
  streamClosed(openedAt: number, closedAt: number, responseStarted: boolean): boolean {
    if (!responseStarted && closedAt - openedAt < this.#lifetimeMs) this.#current++;
    const tooMany = this.#current + this.#previous >= this.#window;
    if (++this.#closed >= this.#window) {
      this.#previous = this.#current;
      this.#current = 0;
      this.#closed = 0;
    }
    return tooMany;
  }
}

/**
 * The header-phase deadline of one session, pure: fed the highest stream id
 * delivered and, at each look, the last stream whose header block began.
 */
export class HeaderPhase {
  /** Highest stream id node:http2 delivered as a 'stream'. */
  delivered = 0;
  /** The stream whose header block is unfinished (0: none) and since when it was seen so. */
  #pending = 0;
  #since = 0;

  get pending(): number {
    return this.#pending;
  }

  /** After new bytes: `lastBegun` is nghttp2's lastProcStreamID now. */
  observe(lastBegun: number, now: number): void {
    if (!(lastBegun > this.delivered)) {
      this.#pending = 0;
    } else if (lastBegun !== this.#pending) {
      this.#pending = lastBegun;
      this.#since = now;
    }
  }

  /** Whether the unfinished block (if any) is past the deadline at `now`. */
  expired(now: number, timeoutMs: number): boolean {
    return this.#pending !== 0 && timeoutMs > 0 && now - this.#since >= timeoutMs;
  }
}

const kGuarded = Symbol('martello.h2Guard');
const kOpenedAt = Symbol('martello.h2OpenedAt');

type GuardedSession = ServerHttp2Session & { [kGuarded]?: SessionState };
type GuardedStream = ServerHttp2Stream & { [kGuarded]?: SessionState; [kOpenedAt]?: number };

/** What opened() hands a stream's server for streamClosed(): its session's guard state. */
export type H2StreamGuard = SessionState;

class SessionState {
  readonly guard: H2SessionGuard;
  readonly session: GuardedSession;
  readonly headers = new HeaderPhase();
  readonly resets: PrematureResetRule;
  /** socket.bytesRead at the last look. */
  read = 0;
  /** Delivered streams not closed yet. */
  open = 0;
  /** Set once the guard sent its GOAWAY: why. */
  refusal: H2RefusalReason | null = null;
  /** After a header-deadline GOAWAY: when the session is destroyed if its streams have not finished. */
  closeBy = Infinity;

  constructor(guard: H2SessionGuard, session: GuardedSession, options: H2GuardOptions) {
    this.guard = guard;
    this.session = session;
    this.resets = new PrematureResetRule(options.prematureResetStreams, options.prematureResetLifetimeMs);
  }
}

const DEBUG_HEADER_TIMEOUT = Buffer.from('header timeout');
const DEBUG_PREMATURE_RESETS = Buffer.from('too many premature resets');

export class H2SessionGuard {
  readonly #options: H2GuardOptions;
  readonly #owner: H2GuardOwner | undefined;
  readonly #sessions = new Set<SessionState>();
  readonly #tickMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: H2GuardOptions, owner?: H2GuardOwner) {
    this.#options = options;
    this.#owner = owner;
    // About a quarter of the deadline, between 10 ms and 1 s: the deadline fires
    // between headersTimeoutMs and that plus two ticks after the block began.
    this.#tickMs = Math.max(10, Math.min(1000, Math.floor(options.headersTimeoutMs / 4)));
  }

  /** Sessions tracked now. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Tracks a new session until it closes (the server's 'session' event). */
  add(session: ServerHttp2Session): void {
    const s = session as GuardedSession;
    const state = new SessionState(this, s, this.#options);
    s[kGuarded] = state;
    s.on('close', onSessionClose); // 'close' comes once; on() allocates no wrapper
    this.#sessions.add(state);
    if (this.#timer === undefined && this.#options.headersTimeoutMs > 0) {
      this.#timer = setInterval(onTick, this.#tickMs, this);
      this.#timer.unref();
    }
  }

  /** The server's 'stream' listener (one function per server), for servers whose streams are served by others (the compatibility API). */
  readonly onStream = (stream: ServerHttp2Stream): void => {
    const state = this.opened(stream);
    if (state === undefined) return;
    // The session is gone from a stream by its 'close': keep the state on it.
    const s = stream as GuardedStream;
    s[kGuarded] = state;
    s[kOpenedAt] = performance.now();
    stream.on('close', onStreamClose);
  };

  /**
   * A delivered stream, for a 'stream' listener that serves it and listens
   * to its 'close' itself (the engine's H2ClientStream): it keeps the
   * returned state (undefined: the session is not tracked) and hands it to
   * streamClosed() on 'close', so a stream needs one 'stream' and one
   * 'close' listener, not two of each.
   */
  opened(stream: ServerHttp2Stream): H2StreamGuard | undefined {
    const state = (stream.session as GuardedSession | undefined)?.[kGuarded];
    if (state === undefined) return undefined;
    const id = stream.id ?? 0;
    if (id > state.headers.delivered) state.headers.delivered = id;
    state.open++;
    return state;
  }

  /** Forgets a session (its 'close'). */
  delete(state: SessionState): void {
    this.#sessions.delete(state);
    if (this.#sessions.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Checks every session's header phase as of `now` (performance clock). */
  sweep(now: number): void {
    const timeout = this.#options.headersTimeoutMs;
    for (const state of this.#sessions) {
      const session = state.session;
      if (session.destroyed) continue;
      if (state.refusal !== null) {
        if (now >= state.closeBy) session.destroy();
        continue;
      }
      const read = bytesReadOf(session);
      if (read !== state.read) {
        state.read = read;
        state.headers.observe(session.state.lastProcStreamID ?? 0, now);
      }
      if (state.headers.expired(now, timeout)) this.refuse(state, 'header_timeout', now);
    }
  }

  /** GOAWAY now (last-stream-id: the highest delivered stream), then close or destroy on the next turn. */
  refuse(state: SessionState, reason: H2RefusalReason, now: number): void {
    if (state.refusal !== null) return;
    const session = state.session;
    if (session.destroyed) return;
    state.refusal = reason;
    state.closeBy = now + this.#options.headersTimeoutMs;
    this.#owner?.h2SessionRefused(reason);
    const calm = reason === 'premature_resets';
    try {
      session.goaway(calm ? h2.NGHTTP2_ENHANCE_YOUR_CALM : h2.NGHTTP2_NO_ERROR, state.headers.delivered, calm ? DEBUG_PREMATURE_RESETS : DEBUG_HEADER_TIMEOUT);
    } catch {
      // The session is going anyway.
    }
    // node:http2 writes the GOAWAY on this turn's immediate queue; closing
    // after it keeps the final GOAWAY's last-stream-id from going up again.
    setImmediate(finishRefusal, state);
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#sessions.clear();
  }
}

function onTick(guard: H2SessionGuard): void {
  guard.sweep(performance.now());
}

function onSessionClose(this: GuardedSession): void {
  const state = this[kGuarded];
  if (state !== undefined) state.guard.delete(state);
}

function onStreamClose(this: GuardedStream): void {
  const state = this[kGuarded];
  if (state !== undefined) streamClosed(state, this[kOpenedAt] ?? 0, this.headersSent);
}

/** A stream opened() returned `state` for closed: `openedAt` on the performance clock, `headersSent` its response head went out. */
export function streamClosed(state: H2StreamGuard, openedAt: number, headersSent: boolean): void {
  state.open--;
  if (state.refusal !== null || state.session.destroyed || state.session.closed) return;
  const now = performance.now();
  if (state.resets.streamClosed(openedAt, now, headersSent)) state.guard.refuse(state, 'premature_resets', now);
}

function finishRefusal(state: SessionState): void {
  const session = state.session;
  if (session.destroyed) return;
  // Premature resets: cut, as Envoy does (an Error is what makes destroy()
  // send its GOAWAY with our code; the session's 'error' listener takes it).
  if (state.refusal === 'premature_resets') session.destroy(new Error('HTTP/2 session refused: too many premature resets'), h2.NGHTTP2_ENHANCE_YOUR_CALM);
  // Header deadline: streams already delivered finish first (the GOAWAY
  // closed the unfinished one), within another headersTimeoutMs (the sweep
  // destroys the session then: after a GOAWAY, a protocol error from the
  // client leaves node:http2 waiting for streams whose bytes it no longer
  // reads). With none, at once: node:http2 cannot send a
  // last-stream-id of 0, so a GOAWAY sent before any stream was delivered
  // names the unfinished stream, which a graceful close would wait for.
  else if (state.open <= 0) session.destroy();
  else session.close();
}

/** Bytes read from the session's socket (node:http2 hands out a proxy of it). */
function bytesReadOf(session: ServerHttp2Session): number {
  return (session.socket as { bytesRead?: number } | undefined)?.bytesRead ?? 0;
}
