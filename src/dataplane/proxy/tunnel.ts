// One WebSocket tunnel: a client socket handed over by node:http's 'upgrade'
// event and one upstream connection of its own. Phases:
//
//   connecting ─▶ handshake ─▶ open ─────────────▶ done
//        │             │                           ▲
//        └─────────────┴─▶ answering ──────────────┤  (local 502/504, or the
//                                                  │   upstream's refusal relayed)
//   any phase ──▶ closing (client gone, cut) ──────┘
//
// The handshake goes out through node:http's client (it serialises our
// validated header list and parses the answer with llhttp under a head-size
// limit) on a socket we dialled, used for this exchange only (security.md R7).
// The client's early bytes (`head`, and anything it sends while we wait) are
// held back until the upstream says 101: a backend that refuses the upgrade
// must never parse them as a next request (WebSocket smuggling).
//
// Listeners are module-level functions; the tunnel hangs off a symbol on the
// emitter, so a long-lived tunnel holds no closures.

import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { TunnelHooks, TunnelRequest } from './upgrade-tunnel.ts';
import { handshakeHeaders, isOriginForm, localResponseBytes, refusalHead, switchingProtocolsHead, upgradesToWebSocket } from './upgrade-wire.ts';
import { clientCloseFrame, FrameTracker, serverCloseFrame } from './ws-frames.ts';

/** How long a refused client may take to read its answer and close. */
const LINGER_MS = 5_000;

/** TCP keep-alive probes on the upstream leg: a peer can vanish without a FIN. */
const KEEPALIVE_DELAY_MS = 60_000;

/** Client bytes buffered while the handshake is pending; beyond this the client is paused (TCP backpressure). */
const MAX_EARLY_BYTES = 64 * 1024;

/** A response Martello writes itself instead of tunnelling. */
export interface LocalAnswer {
  readonly status: number;
  readonly extraHeaders: readonly string[];
  /** Replaces the default text body for the status. */
  readonly body?: Buffer;
}

/** What a tunnel needs from its registry. */
export interface TunnelContext {
  readonly connectTimeoutMs: number;
  readonly responseHeaderTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxResponseHeadBytes: number;
  readonly hooks: TunnelHooks;
  /** The tunnel reached 'open' (once). */
  established(tunnel: Tunnel): void;
  /** Both sockets have closed (once). */
  ended(tunnel: Tunnel): void;
}

type Phase = 'connecting' | 'handshake' | 'open' | 'answering' | 'closing' | 'done';

// ---------------------------------------------------------------------------
// Listeners

const kTunnel = Symbol('martello.tunnel');
type Tagged<T> = T & { [kTunnel]?: Tunnel };

function tunnelOf(emitter: object): Tunnel | undefined {
  return (emitter as Tagged<object>)[kTunnel];
}

function onClientError(this: Duplex): void {
  tunnelOf(this)?.destroy();
}
function onClientClose(this: Duplex): void {
  tunnelOf(this)?.clientClosed();
}
function onClientFinish(this: Duplex): void {
  tunnelOf(this)?.clientFinished();
}
function onClientEarlyData(this: Duplex, chunk: Buffer): void {
  tunnelOf(this)?.earlyData(chunk);
}
function onClientEarlyEnd(this: Duplex): void {
  // The client gave up before the upstream answered: nothing to answer.
  tunnelOf(this)?.destroy();
}
function onUpstreamConnect(this: Socket): void {
  guarded(tunnelOf(this), stepConnected);
}
function onUpstreamError(this: Socket): void {
  tunnelOf(this)?.upstreamFailed();
}
function onUpstreamClose(this: Socket): void {
  tunnelOf(this)?.upstreamClosed();
}
function onIdle(this: Duplex): void {
  tunnelOf(this)?.destroy();
}
function onExchangeError(this: ClientRequest): void {
  tunnelOf(this)?.upstreamFailed();
}
function onExchangeUpgrade(this: ClientRequest, res: IncomingMessage, _socket: Duplex, rest: Buffer): void {
  guarded(tunnelOf(this), stepUpgraded, res, rest);
}
function onExchangeResponse(this: ClientRequest, res: IncomingMessage): void {
  guarded(tunnelOf(this), stepRefused, res);
}
function onRelayError(this: IncomingMessage): void {
  tunnelOf(this)?.destroy();
}
function onRelayEnd(this: IncomingMessage): void {
  tunnelOf(this)?.relayEnded();
}
function onDeadline(tunnel: Tunnel): void {
  tunnel.timedOut();
}
// Frame boundaries of an open tunnel (next to the pipes, which move the bytes).
function onUpstreamFrames(this: Duplex, chunk: Buffer): void {
  tunnelOf(this)?.down?.scan(chunk, 0, false);
}
function onClientFrames(this: Duplex, chunk: Buffer): void {
  tunnelOf(this)?.up?.scan(chunk, 0, false);
}
// Going away: each direction is relayed up to its next frame boundary only.
function onUpstreamGoingAway(this: Duplex, chunk: Buffer): void {
  tunnelOf(this)?.relayToBoundary(false, chunk);
}
function onClientGoingAway(this: Duplex, chunk: Buffer): void {
  tunnelOf(this)?.relayToBoundary(true, chunk);
}
/** A side that ends while going away is ended in turn (the closing handshake's last step). */
function onGoingAwayEnd(this: Duplex): void {
  if (!this.writableEnded) this.end();
}
function onGraceOver(tunnel: Tunnel): void {
  tunnel.destroy();
}

type Step = (tunnel: Tunnel, res?: IncomingMessage, rest?: Buffer) => void;
const stepConnected: Step = (tunnel) => tunnel.connected();
const stepUpgraded: Step = (tunnel, res, rest) => tunnel.upgraded(res!, rest!);
const stepRefused: Step = (tunnel, res) => tunnel.refused(res!);

/** Runs a step that formats or writes; a throw there is a bug and cuts this tunnel only. */
function guarded(tunnel: Tunnel | undefined, step: Step, res?: IncomingMessage, rest?: Buffer): void {
  if (tunnel === undefined) return;
  try {
    step(tunnel, res, rest);
  } catch {
    tunnel.destroy();
  }
}

function setSocketTimeout(socket: Duplex, ms: number): void {
  const s = socket as Partial<Pick<Socket, 'setTimeout'>>;
  if (typeof s.setTimeout === 'function') s.setTimeout(ms);
}

/** FIN received and sent, no error: the peer leg ended on its own. */
function closedCleanly(socket: Duplex): boolean {
  return socket.errored === null && socket.readableEnded && socket.writableFinished;
}

// ---------------------------------------------------------------------------

export class Tunnel {
  readonly #ctx: TunnelContext;
  readonly key: string;
  readonly #requestId: string;
  readonly #hsts: string | null;
  /** Until the handshake is over: then its buffers (head, headers) are let go. */
  #request: TunnelRequest | null;
  readonly #client: Tagged<Duplex>;
  #phase: Phase = 'connecting';
  #upstream: Tagged<Socket> | null = null;
  /** The upstream's refusal being relayed, if any. */
  #relay: Tagged<IncomingMessage> | null = null;
  #timer: NodeJS.Timeout | undefined;
  #pendingHeaders: string[] | null = null;
  #early: Buffer[] = [];
  #earlyBytes = 0;
  #clientClosed = false;
  #upstreamClosed = false;
  /** Reached 'open' (the registry counts it until it ends). */
  wasOpen = false;
  /** Frame boundaries of an open tunnel: upstream → client, client → upstream. */
  down: FrameTracker | null = null;
  up: FrameTracker | null = null;
  /** Close frames are on their way (drain deadline): nothing else is relayed. */
  #goingAway = false;
  /** Per direction (client→upstream, upstream→client): the close frame was written, or cannot be. */
  #upDone = false;
  #downDone = false;

  constructor(ctx: TunnelContext, request: TunnelRequest) {
    this.#ctx = ctx;
    this.#request = request;
    this.key = request.endpoint.key;
    this.#requestId = request.requestId;
    this.#hsts = request.hsts ?? null;
    this.#client = request.clientSocket as Tagged<Duplex>;
  }

  /** Takes the client socket; with `refusal`, answers that instead of dialling. */
  start(refusal: LocalAnswer | null): void {
    const client = this.#client;
    client[kTunnel] = this;
    client.on('error', onClientError);
    client.on('close', onClientClose);
    client.on('finish', onClientFinish);
    client.on('timeout', onIdle);
    if (client.destroyed) {
      // Gone before we got it: its 'close' may already have been emitted.
      this.#phase = 'closing';
      this.#clientClosed = true;
      this.#maybeEnded();
      return;
    }
    setSocketTimeout(client, this.#ctx.idleTimeoutMs);
    if (refusal !== null) {
      this.#answerLocal(refusal.status, refusal.extraHeaders, refusal.body);
      return;
    }
    const request = this.#request!;
    const { endpoint, method, target } = request;
    if (endpoint.protocol === 'h2c' || endpoint.protocol === 'h2') {
      // WebSocket over an HTTP/2 upstream (RFC 8441) is not implemented.
      this.#answerLocal(502);
      return;
    }
    const headers = handshakeHeaders(request.headers);
    if (method !== 'GET' || !isOriginForm(target) || headers === null) {
      this.#answerLocal(400);
      return;
    }
    this.#pendingHeaders = headers;
    // Read (and hold) what the client sends meanwhile, so a client that
    // gives up is noticed at once, not at the response-header deadline.
    client.on('data', onClientEarlyData);
    client.on('end', onClientEarlyEnd);
    client.resume();
    this.#dial(request);
  }

  #dial(request: TunnelRequest): void {
    const { endpoint } = request;
    // allowHalfOpen: an upstream FIN ends only the client's direction.
    const common = { host: endpoint.address, port: endpoint.port, allowHalfOpen: true };
    const tls = endpoint.tls;
    const upstream: Tagged<Socket> = endpoint.protocol === 'https'
      ? tlsConnect({
        ...common,
        rejectUnauthorized: tls?.verify ?? false,
        ca: tls?.caPem ?? undefined,
        // Endpoints are IP addresses: no SNI unless a name is configured.
        servername: tls?.serverName ?? undefined,
        ALPNProtocols: ['http/1.1'],
      })
      : netConnect(common);
    this.#upstream = upstream;
    upstream[kTunnel] = this;
    upstream.setNoDelay(true);
    upstream.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    upstream.on('error', onUpstreamError);
    upstream.on('close', onUpstreamClose);
    upstream.on('timeout', onIdle);
    upstream.once(endpoint.protocol === 'https' ? 'secureConnect' : 'connect', onUpstreamConnect);
    this.#timer = setTimeout(onDeadline, this.#ctx.connectTimeoutMs, this);
  }

  connected(): void {
    const upstream = this.#upstream;
    const headers = this.#pendingHeaders;
    const request = this.#request;
    if (this.#phase !== 'connecting' || upstream === null || headers === null || request === null) return;
    this.#pendingHeaders = null;
    clearTimeout(this.#timer);
    this.#phase = 'handshake';
    this.#timer = setTimeout(onDeadline, this.#ctx.responseHeaderTimeoutMs, this);
    const exchange: Tagged<ClientRequest> = httpRequest({
      createConnection: () => upstream,
      method: 'GET',
      path: request.target,
      headers,
      setHost: false,
      maxHeaderSize: this.#ctx.maxResponseHeadBytes,
    });
    exchange[kTunnel] = this;
    exchange.on('error', onExchangeError);
    exchange.on('upgrade', onExchangeUpgrade);
    exchange.on('response', onExchangeResponse);
    exchange.end();
  }

  earlyData(chunk: Buffer): void {
    this.#early.push(chunk);
    this.#earlyBytes += chunk.length;
    if (this.#earlyBytes >= MAX_EARLY_BYTES) this.#client.pause();
  }

  /** Stop reading the client for the handshake; returns what it sent meanwhile. */
  #takeEarly(): Buffer[] {
    const client = this.#client;
    client.pause();
    client.off('data', onClientEarlyData);
    client.off('end', onClientEarlyEnd);
    const early = this.#early;
    this.#early = [];
    this.#earlyBytes = 0;
    this.#request = null;
    return early;
  }

  /** The upstream switched protocols. */
  upgraded(res: IncomingMessage, rest: Buffer): void {
    const upstream = this.#upstream;
    const request = this.#request;
    if (this.#phase !== 'handshake' || upstream === null || request === null) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const head = res.statusCode === 101 && upgradesToWebSocket(res.rawHeaders) ? switchingProtocolsHead(res.rawHeaders, this.#requestId, this.#hsts) : null;
    if (head === null) {
      this.#fail(502);
      return;
    }
    const client = this.#client;
    const early = this.#takeEarly();
    this.#phase = 'open';
    this.wasOpen = true;
    this.#ctx.hooks.countStatus(101);
    this.#ctx.established(this);
    client.write(head, 'latin1');
    const down = (this.down = new FrameTracker());
    const up = (this.up = new FrameTracker());
    if (rest.length > 0) {
      down.scan(rest, 0, false);
      client.write(rest);
    }
    if (request.head.length > 0) {
      up.scan(request.head, 0, false);
      upstream.write(request.head);
    }
    for (const chunk of early) {
      up.scan(chunk, 0, false);
      upstream.write(chunk);
    }
    setSocketTimeout(upstream, this.#ctx.idleTimeoutMs);
    // Backpressure both ways; a FIN on one side ends the other (half-close);
    // errors reach our listeners, which cut both. The frame trackers see
    // every chunk the pipes move, in the same 'data' event.
    upstream.pipe(client);
    client.pipe(upstream);
    upstream.on('data', onUpstreamFrames);
    client.on('data', onClientFrames);
  }

  /**
   * The drain deadline: each side gets a close frame (1001 "going away") at
   * the next frame boundary of what it is being sent (masked towards the
   * upstream, for which Martello is the client), nothing after it is relayed,
   * and both connections are cut after `graceMs` unless the closing
   * handshake ended them before. A tunnel that is not open is cut at once.
   */
  goAway(graceMs: number): void {
    const upstream = this.#upstream;
    const client = this.#client;
    if (this.#phase !== 'open' || upstream === null || this.#goingAway) {
      if (!this.#goingAway) this.destroy();
      return;
    }
    this.#goingAway = true;
    upstream.unpipe(client);
    client.unpipe(upstream);
    upstream.off('data', onUpstreamFrames);
    client.off('data', onClientFrames);
    upstream.on('data', onUpstreamGoingAway);
    client.on('data', onClientGoingAway);
    upstream.on('end', onGoingAwayEnd);
    client.on('end', onGoingAwayEnd);
    this.#timer = setTimeout(onGraceOver, graceMs, this);
    this.#closeAtBoundary(true);
    this.#closeAtBoundary(false);
    // unpipe() paused both: read on (what follows the boundary is dropped).
    upstream.resume();
    client.resume();
  }

  /** Going away: `chunk` arrived from the client (`fromClient`) or the upstream; relay it up to the first frame boundary. */
  relayToBoundary(fromClient: boolean, chunk: Buffer): void {
    if (fromClient ? this.#upDone : this.#downDone) return;
    const tracker = fromClient ? this.up : this.down;
    const dest = fromClient ? this.#upstream : this.#client;
    if (tracker === null || dest === null) return;
    const at = tracker.scan(chunk, 0, true);
    if (at > 0 && !dest.writableEnded) dest.write(at === chunk.length ? chunk : chunk.subarray(0, at));
    this.#closeAtBoundary(fromClient);
  }

  /** Writes the close frame of one direction if it is at a frame boundary (or gives up on one that cannot be followed). */
  #closeAtBoundary(fromClient: boolean): void {
    const tracker = fromClient ? this.up : this.down;
    const dest = fromClient ? this.#upstream : this.#client;
    if (tracker === null || dest === null) return;
    if (tracker.lost || tracker.closeSeen) {
      // Not a frame stream we can follow, or that side is closing already: relay nothing more.
      if (fromClient) this.#upDone = true;
      else this.#downDone = true;
      return;
    }
    if (!tracker.atBoundary) return;
    if (fromClient) this.#upDone = true;
    else this.#downDone = true;
    if (!dest.writableEnded && !dest.destroyed) dest.write(fromClient ? clientCloseFrame() : serverCloseFrame());
  }

  /** The upstream answered the handshake with a final non-101 response: relay it, then close. */
  refused(res: Tagged<IncomingMessage>): void {
    if (this.#phase !== 'handshake') return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const status = res.statusCode ?? 0;
    const head = refusalHead(status, res.rawHeaders, this.#requestId, this.#hsts);
    if (head === null) {
      this.#fail(502);
      return;
    }
    this.#takeEarly();
    this.#phase = 'answering';
    this.#relay = res;
    res[kTunnel] = this;
    res.on('error', onRelayError);
    res.on('end', onRelayEnd);
    this.#ctx.hooks.countStatus(status);
    const client = this.#client;
    client.write(head, 'latin1');
    // The decoded body (never the upstream's chunk framing), then end().
    res.pipe(client);
    client.resume();
  }

  relayEnded(): void {
    // Never reused (R7): the upstream connection goes with its one answer.
    this.#upstream?.destroy();
  }

  /** Refused, reset, unparsable answer, or closed before answering; or an open tunnel's upstream broke. */
  upstreamFailed(): void {
    if (this.#phase === 'connecting' || this.#phase === 'handshake') {
      this.#fail(502);
    } else if (this.#phase === 'open') {
      this.#ctx.hooks.countUpstreamError();
      this.destroy();
    }
  }

  timedOut(): void {
    this.#timer = undefined;
    if (this.#phase === 'connecting' || this.#phase === 'handshake') this.#fail(504);
  }

  clientFinished(): void {
    // Our answer is out: give the client a little while to read it and close.
    if (this.#phase === 'answering') setSocketTimeout(this.#client, LINGER_MS);
  }

  clientClosed(): void {
    this.#clientClosed = true;
    if (this.#phase === 'open') {
      // FIN both ways means the upstream already ended and closes on its own.
      // Going away, the upstream gets its FIN after the close frame.
      if (this.#goingAway) this.#upstream?.end();
      else if (!closedCleanly(this.#client)) this.#upstream?.destroy();
    } else {
      if (this.#phase !== 'done') this.#phase = 'closing';
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#upstream?.destroy();
    }
    this.#maybeEnded();
  }

  upstreamClosed(): void {
    this.#upstreamClosed = true;
    const phase = this.#phase;
    if (phase === 'connecting' || phase === 'handshake') {
      this.#fail(502);
    } else if (phase === 'open') {
      if (this.#goingAway) this.#client.end();
      else if (!closedCleanly(this.#upstream!)) this.#client.destroy();
    } else if (phase === 'answering' && this.#relay !== null && !this.#relay.complete) {
      // The refusal's body was cut: cut the client too, never fake an end.
      this.#client.destroy();
    }
    this.#maybeEnded();
  }

  /** Route removal, drain deadline, idle timeout, socket error: cut both sides. */
  destroy(): void {
    if (this.#phase !== 'done') this.#phase = 'closing';
    this.#request = null;
    this.#pendingHeaders = null;
    this.#early = [];
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#upstream?.destroy();
    this.#client.destroy();
  }

  /**
   * The endpoint left the routing table: a handshake still waiting is
   * answered 502, an open tunnel is cut, an answer being delivered finishes.
   */
  abandon(): void {
    if (this.#phase === 'connecting' || this.#phase === 'handshake') this.#fail(502, false);
    else if (this.#phase === 'open') this.destroy();
  }

  #fail(status: 502 | 504, upstreamError = true): void {
    if (this.#phase !== 'connecting' && this.#phase !== 'handshake') return;
    if (upstreamError) this.#ctx.hooks.countUpstreamError();
    this.#upstream?.destroy();
    this.#takeEarly();
    this.#answerLocal(status);
  }

  #answerLocal(status: number, extraHeaders: readonly string[] = [], body?: Buffer): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#phase = 'answering';
    this.#request = null;
    this.#pendingHeaders = null;
    const client = this.#client;
    if (client.destroyed || !client.writable) {
      client.destroy();
      return;
    }
    this.#ctx.hooks.countStatus(status);
    client.end(localResponseBytes(status, this.#requestId, extraHeaders, body));
    // Read and drop whatever else arrives, so closing does not reset the answer away.
    client.resume();
  }

  #maybeEnded(): void {
    if (this.#phase === 'done') return;
    if (!this.#clientClosed || (this.#upstream !== null && !this.#upstreamClosed)) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#phase = 'done';
    this.#ctx.ended(this);
  }
}
