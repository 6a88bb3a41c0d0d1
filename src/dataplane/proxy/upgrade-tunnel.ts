// WebSocket tunnels, one registry per proxy server. After node:http hands
// over a client socket ('upgrade' event), open() dials the endpoint on a
// connection of its own, sends a freshly serialised handshake (security.md
// R6) and joins the two sockets byte for byte only if the upstream answers
// 101 with `Upgrade: websocket`; any other answer is relayed once and both
// connections close, so a refused upgrade never becomes a tunnel and the
// upstream connection is never reused (R7). The per-tunnel state machine is
// in tunnel.ts, the bytes Martello writes itself in upgrade-wire.ts.
//
// Tunnels belong to endpoints, like upstream pools: after a routing-table
// swap, retain() keeps the tunnels of endpoints still listed and cuts the
// others. close() drains: new upgrades get 503, open tunnels may finish until
// a deadline, then each gets a WebSocket close frame (1001 "going away", at a
// frame boundary: tunnel.ts, ws-frames.ts) and is cut after a short grace.
// Every phase has a deadline (connect, response head, idle; R10).

import type { Duplex } from 'node:stream';
import type { UpstreamEndpoint } from '../compile/cluster.ts';
import { type LocalAnswer, Tunnel, type TunnelContext } from './tunnel.ts';

export { localResponseBytes } from './upgrade-wire.ts';

export interface TunnelRequest {
  /** net.Socket or tls.TLSSocket from node:http's 'upgrade' event; the registry owns it from open() on. */
  readonly clientSocket: Duplex;
  /** Bytes the client sent after its request head (already WebSocket frames); sent upstream only after 101. */
  readonly head: Buffer;
  readonly endpoint: UpstreamEndpoint;
  /** "GET" (anything else is answered 400). */
  readonly method: string;
  /** Origin-form path and query. */
  readonly target: string;
  /**
   * Flat [name, value, ...] upstream headers: hop-by-hop removed, forwarding
   * headers added, Host included. The tunnel adds `Connection: Upgrade` and
   * `Upgrade: websocket` itself.
   */
  readonly headers: readonly string[];
  readonly requestId: string;
  /** Strict-Transport-Security for the 101 or refusal head (replacing the upstream's), as ForwardRequest.hsts; default none. */
  readonly hsts?: string | null;
}

export interface TunnelOptions {
  /** TCP (and TLS handshake) deadline; exceeded → 504. */
  readonly connectTimeoutMs: number;
  /** Deadline for the upstream's response head once connected; exceeded → 504. */
  readonly responseHeaderTimeoutMs: number;
  /** A tunnel with no bytes moving on a leg for this long is cut (both legs). */
  readonly idleTimeoutMs: number;
  /** Largest upstream response head accepted; larger → 502. Default 16 KiB. */
  readonly maxResponseHeadBytes?: number;
  /** After the drain deadline's close frames, how long the closing handshakes may take before both connections are cut. Default 1 s. */
  readonly closeGraceMs?: number;
}

export interface TunnelHooks {
  /** A response head written to a client: 101, a relayed refusal, or a local 400/426/502/503/504. */
  countStatus(status: number): void;
  /** The endpoint failed: refused, timed out, broke the handshake, or reset an open tunnel. */
  countUpstreamError(): void;
}

export const DEFAULT_MAX_RESPONSE_HEAD_BYTES = 16 * 1024;
export const DEFAULT_CLOSE_GRACE_MS = 1_000;

const EMPTY = Buffer.alloc(0);

/** Stands in for the endpoint of a refusal, which dials nothing. */
const NO_ENDPOINT: UpstreamEndpoint = Object.freeze({ address: '', port: 0, key: '', origin: '', hostPort: '', protocol: 'http1', tls: null });

export class TunnelRegistry {
  readonly #ctx: TunnelContext;
  /** Every live tunnel (any phase), by endpoint key. */
  readonly #tunnels = new Map<string, Set<Tunnel>>();
  /** Open (post-101) tunnels, by endpoint key. */
  readonly #openByKey = new Map<string, number>();
  #live = 0;
  #open = 0;
  #opened = 0;
  #wanted: ReadonlySet<string> | undefined;
  readonly #closeGraceMs: number;
  #closing = false;
  #closed: Promise<void> | undefined;
  /** Resolved (and cleared) when the last live tunnel ends. */
  #drained: PromiseWithResolvers<void> | undefined;

  constructor(options: TunnelOptions, hooks: TunnelHooks) {
    this.#closeGraceMs = options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
    this.#ctx = {
      connectTimeoutMs: options.connectTimeoutMs,
      responseHeaderTimeoutMs: options.responseHeaderTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs,
      maxResponseHeadBytes: options.maxResponseHeadBytes ?? DEFAULT_MAX_RESPONSE_HEAD_BYTES,
      hooks,
      established: (tunnel) => this.#established(tunnel),
      ended: (tunnel) => this.#ended(tunnel),
    };
  }

  /** Open tunnels (the upstream said 101 and neither side has closed). */
  get size(): number {
    return this.#open;
  }

  /** Handshakes in progress and refusals being delivered. */
  get pending(): number {
    return this.#live - this.#open;
  }

  /** Tunnels ever opened (a counter for metrics). */
  get opened(): number {
    return this.#opened;
  }

  /** Open tunnels to one endpoint. */
  countFor(endpointKey: string): number {
    return this.#openByKey.get(endpointKey) ?? 0;
  }

  /**
   * Takes over `request.clientSocket` and tunnels it to the endpoint, or
   * answers 400/502/503/504 on it and closes it. Never throws.
   */
  open(request: TunnelRequest): void {
    let refusal: LocalAnswer | null = null;
    if (this.#closing) refusal = { status: 503, extraHeaders: [] };
    // A request that picked its endpoint from a table swapped out since.
    else if (this.#wanted !== undefined && !this.#wanted.has(request.endpoint.key)) refusal = { status: 502, extraHeaders: [] };
    this.#start(request, refusal);
  }

  /**
   * Answers an upgrade the proxy refuses itself on the raw socket and closes
   * it: 400, 426 (pass SUPPORTED_VERSION_HEADERS as `extraHeaders`), 404
   * (with notFoundBody() as `body`), 503, a redirect (Location in
   * `extraHeaders`)... Counted through hooks.countStatus. Never throws.
   */
  refuse(clientSocket: Duplex, status: number, requestId: string, extraHeaders: readonly string[] = [], body?: Buffer): void {
    const request: TunnelRequest = { clientSocket, head: EMPTY, endpoint: NO_ENDPOINT, method: 'GET', target: '/', headers: [], requestId };
    this.#start(request, body === undefined ? { status, extraHeaders } : { status, extraHeaders, body });
  }

  /**
   * After a routing-table swap: tunnels (and handshakes) to endpoints in
   * `endpointKeys` continue; the others are cut (both sockets destroyed; a
   * handshake still waiting is answered 502).
   */
  retain(endpointKeys: ReadonlySet<string>): void {
    this.#wanted = endpointKeys;
    for (const [key, tunnels] of this.#tunnels) {
      if (endpointKeys.has(key)) continue;
      for (const tunnel of tunnels) tunnel.abandon();
    }
  }

  /**
   * Drain: refuse new tunnels (503), resolve once every tunnel has ended on
   * its own. After `deadlineMs` (default 0: at once) open tunnels get a close
   * frame (1001) both ways and are cut closeGraceMs later at the latest;
   * handshakes and refusals still in progress are cut at once.
   */
  close(deadlineMs = 0): Promise<void> {
    this.#closed ??= this.#close(deadlineMs);
    return this.#closed;
  }

  /** Resolves once no tunnel, handshake or refusal is in progress (at once if none is). */
  idle(): Promise<void> {
    if (this.#live === 0) return Promise.resolve();
    this.#drained ??= Promise.withResolvers<void>();
    return this.#drained.promise;
  }

  async #close(deadlineMs: number): Promise<void> {
    this.#closing = true;
    if (this.#live === 0) return;
    const deadline = setTimeout(() => this.#goAwayAll(), deadlineMs);
    try {
      await this.idle();
    } finally {
      clearTimeout(deadline);
    }
  }

  #goAwayAll(): void {
    const grace = this.#closeGraceMs;
    for (const tunnels of this.#tunnels.values()) {
      // A tunnel cut at once leaves its set while it is iterated: a Set allows that.
      for (const tunnel of tunnels) tunnel.goAway(grace);
    }
  }

  #start(request: TunnelRequest, refusal: LocalAnswer | null): void {
    let tunnel: Tunnel | undefined;
    try {
      tunnel = new Tunnel(this.#ctx, request);
      this.#track(tunnel);
      tunnel.start(refusal);
    } catch {
      // A bug, not a client or upstream error: never into the event loop.
      try {
        tunnel?.destroy();
        request.clientSocket.destroy();
      } catch {
        // nothing left to do
      }
      if (tunnel !== undefined) this.#ended(tunnel);
    }
  }

  #track(tunnel: Tunnel): void {
    let set = this.#tunnels.get(tunnel.key);
    if (set === undefined) {
      set = new Set();
      this.#tunnels.set(tunnel.key, set);
    }
    set.add(tunnel);
    this.#live++;
  }

  #established(tunnel: Tunnel): void {
    this.#open++;
    this.#opened++;
    this.#openByKey.set(tunnel.key, (this.#openByKey.get(tunnel.key) ?? 0) + 1);
  }

  #ended(tunnel: Tunnel): void {
    const set = this.#tunnels.get(tunnel.key);
    if (set === undefined || !set.delete(tunnel)) return;
    if (set.size === 0) this.#tunnels.delete(tunnel.key);
    this.#live--;
    if (tunnel.wasOpen) {
      this.#open--;
      const n = (this.#openByKey.get(tunnel.key) ?? 1) - 1;
      if (n === 0) this.#openByKey.delete(tunnel.key);
      else this.#openByKey.set(tunnel.key, n);
    }
    if (this.#live === 0 && this.#drained !== undefined) {
      this.#drained.resolve();
      this.#drained = undefined;
    }
  }
}
