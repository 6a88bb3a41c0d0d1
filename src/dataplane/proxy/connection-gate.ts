// The first thing every accepted connection meets, on every listener: the
// PROXY protocol header when the listener expects one (--proxy-protocol),
// then the connection caps (global and per client address). Only then is the
// socket handed to TLS, HTTP/1.1 or HTTP/2, so that a refused connection
// costs no parser, no handshake and no upstream connection.
//
// With the PROXY protocol the header is required (a listener that would also
// take connections without one lets any client claim any address), read
// under its own deadline and limited to one header; its source address
// becomes the connection's peer address (see peer-address.ts) for the caps,
// --trusted-proxies, X-Forwarded-For, X-Real-IP and the access log. A
// malformed, missing or late header closes the connection.
//
// Per connection: one small state object on the socket and module-level
// listeners, no closures.

import type { Socket } from 'node:net';
import type { ConnectionLimits, RejectReason } from '../edge/connection-limits.ts';
import { parseProxyHeader, PROXY_V2_MAX_LENGTH } from '../edge/proxy-protocol.ts';
import { setPeerAddress } from './peer-address.ts';

/** Why a connection was closed before it was served (martello_connections_rejected_total's reason). */
export type GateRejectReason = RejectReason | 'proxy_protocol';

export interface GateSettings {
  /** Require and parse a PROXY protocol v1/v2 header before anything else. */
  readonly proxyProtocol: boolean;
  /** How long the PROXY header may take to arrive. */
  readonly proxyHeaderTimeoutMs: number;
}

export interface GateOwner {
  /** A connection was refused (counted in metrics). */
  connectionRejected(reason: GateRejectReason): void;
}

/** Hands an admitted socket to its protocol (its first bytes, if any were read, put back). */
export type Dispatch = (socket: Socket) => void;

const kGate = Symbol('martello.connectionGate');

/** What the gate keeps on a socket it admitted or is reading a PROXY header for. */
interface GateState {
  readonly gate: ConnectionGate;
  readonly dispatch: Dispatch;
  /** The PROXY header bytes read so far (only while reading it). */
  pending: Buffer | null;
  /** The address admitted under; released on close. */
  address: string | undefined;
  admitted: boolean;
}

type GatedSocket = Socket & { [kGate]?: GateState };

export class ConnectionGate {
  readonly #limits: ConnectionLimits;
  readonly #settings: GateSettings;
  readonly #owner: GateOwner;

  constructor(limits: ConnectionLimits, settings: GateSettings, owner: GateOwner) {
    this.#limits = limits;
    this.#settings = settings;
    this.#owner = owner;
  }

  get limits(): ConnectionLimits {
    return this.#limits;
  }

  /** A listener accepted `socket`: admit it (after its PROXY header) and dispatch, or close it. */
  accept(socket: Socket, dispatch: Dispatch): void {
    const s = socket as GatedSocket;
    s.on('error', ignoreError);
    const state: GateState = { gate: this, dispatch, pending: null, address: undefined, admitted: false };
    s[kGate] = state;
    s.on('close', onGatedClose);
    if (!this.#settings.proxyProtocol) {
      this.#admit(s, state, s.remoteAddress);
      return;
    }
    state.pending = EMPTY;
    s.setTimeout(this.#settings.proxyHeaderTimeoutMs);
    s.once('timeout', onHeaderTimeout);
    s.on('readable', onHeaderReadable);
  }

  /** Admission by address, then dispatch; a refused socket is destroyed. */
  #admit(s: GatedSocket, state: GateState, address: string | undefined): void {
    const refused = this.#limits.admit(address);
    if (refused !== null) {
      this.#owner.connectionRejected(refused);
      s.destroy();
      return;
    }
    state.address = address;
    state.admitted = true;
    state.dispatch(s);
  }

  /** More PROXY header bytes arrived (or the socket ended). */
  headerReadable(s: GatedSocket, state: GateState): void {
    let chunk: Buffer | null;
    while ((chunk = s.read() as Buffer | null) !== null) {
      const bytes = state.pending === null || state.pending.length === 0 ? chunk : Buffer.concat([state.pending, chunk]);
      const header = parseProxyHeader(bytes);
      if (header.kind === 'incomplete') {
        if (bytes.length > PROXY_V2_MAX_LENGTH) return this.#refuseHeader(s);
        state.pending = bytes;
        continue;
      }
      if (header.kind === 'error') return this.#refuseHeader(s);
      // The header is complete: stop reading it, put the connection's own bytes back.
      s.removeListener('readable', onHeaderReadable);
      s.removeListener('timeout', onHeaderTimeout);
      s.setTimeout(0);
      state.pending = null;
      if (header.consumed < bytes.length) s.unshift(bytes.subarray(header.consumed));
      const address = header.source?.address ?? s.remoteAddress;
      if (header.source !== undefined) setPeerAddress(s, header.source.address);
      this.#admit(s, state, address);
      return;
    }
  }

  /** The PROXY header deadline passed without a complete header. */
  headerTimedOut(s: GatedSocket): void {
    this.#refuseHeader(s);
  }

  #refuseHeader(s: GatedSocket): void {
    this.#owner.connectionRejected('proxy_protocol');
    s.destroy();
  }

  released(state: GateState): void {
    if (!state.admitted) return;
    state.admitted = false;
    this.#limits.release(state.address);
  }
}

const EMPTY = Buffer.alloc(0);

function ignoreError(): void {}

function onHeaderReadable(this: GatedSocket): void {
  const state = this[kGate];
  if (state !== undefined) state.gate.headerReadable(this, state);
}

function onHeaderTimeout(this: GatedSocket): void {
  const state = this[kGate];
  if (state !== undefined && state.pending !== null) state.gate.headerTimedOut(this);
}

function onGatedClose(this: GatedSocket): void {
  const state = this[kGate];
  if (state !== undefined) state.gate.released(state);
}
