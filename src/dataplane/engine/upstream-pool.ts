// Keep-alive HTTP/1.1 connections to one upstream endpoint, for the engine.
// Idle connections are reused last-in first-out (the warmest first) and
// expire after the upstream idle timeout. With upstreamMaxConnections set,
// requests beyond it wait in a bounded queue (beyond that bound they are
// refused: the caller answers 503). close() is graceful, as
// UpstreamRegistry expects when it retires an endpoint: idle connections
// close at once, queued and in-flight exchanges finish, then the promise
// resolves.

import type { UpstreamEndpoint } from '../compile/cluster.ts';
import type { ClosablePool } from '../runtime/upstream-registry.ts';
import type { DeadlineSweep } from './deadline-sweep.ts';
import { type ConnectionOwner, type ConnectionTimeouts, UpstreamConnection, type UpstreamUser } from './upstream-connection.ts';

/** Requests waiting for a connection per endpoint, at most. */
export const MAX_QUEUED = 1024;

export interface PoolSettings extends ConnectionTimeouts {
  /** Connections at most; null: unbounded. */
  readonly maxConnections: number | null;
}

/** acquire() could not give a connection now: the user was queued (upstreamReady follows) or refused. */
export const QUEUED = 1;
export const REFUSED = 2;

export class Http1Pool implements ClosablePool, ConnectionOwner {
  readonly endpoint: UpstreamEndpoint;
  readonly timeouts: ConnectionTimeouts;
  readonly sweep: DeadlineSweep;
  readonly #max: number;
  readonly #idle: UpstreamConnection[] = [];
  readonly #queue: UpstreamUser[] = [];
  /** Open connections: connecting, busy and idle. */
  #open = 0;
  /** Connections ever dialled (tests count them). */
  dialled = 0;
  #closing = false;
  #closed: PromiseWithResolvers<void> | undefined;

  constructor(endpoint: UpstreamEndpoint, settings: PoolSettings, sweep: DeadlineSweep) {
    this.endpoint = endpoint;
    this.timeouts = settings;
    this.sweep = sweep;
    this.#max = settings.maxConnections ?? Infinity;
  }

  get openConnections(): number {
    return this.#open;
  }

  get idleConnections(): number {
    return this.#idle.length;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** A connection for `user` now, or QUEUED (upstreamReady(conn) comes later) or REFUSED. */
  acquire(user: UpstreamUser): UpstreamConnection | typeof QUEUED | typeof REFUSED {
    const idle = this.#idle;
    while (idle.length > 0) {
      const conn = idle.pop()!;
      if (!conn.closedOrClosing) return conn;
      conn.destroy();
    }
    if (this.#open < this.#max) return this.#dial(user);
    if (this.#queue.length >= MAX_QUEUED) return REFUSED;
    this.#queue.push(user);
    return QUEUED;
  }

  /** A queued user gave up (its client left). */
  cancel(user: UpstreamUser): void {
    const i = this.#queue.indexOf(user);
    if (i !== -1) this.#queue.splice(i, 1);
    this.#checkClosed();
  }

  // ConnectionOwner -------------------------------------------------------------

  reusable(conn: UpstreamConnection): void {
    const next = this.#queue.shift();
    if (next !== undefined) {
      next.upstreamReady(conn);
      return;
    }
    if (this.#closing) {
      conn.destroy();
      return;
    }
    conn.parked();
    this.#idle.push(conn);
  }

  discarded(conn: UpstreamConnection): void {
    this.#open--;
    const i = this.#idle.indexOf(conn);
    if (i !== -1) this.#idle.splice(i, 1);
    // A freed slot serves the next queued request on a new connection.
    if (this.#queue.length > 0 && this.#open < this.#max) {
      const next = this.#queue.shift()!;
      next.upstreamReady(this.#dial(next));
      return;
    }
    this.#checkClosed();
  }

  close(): Promise<void> {
    this.#closing = true;
    this.#closed ??= Promise.withResolvers<void>();
    const idle = this.#idle.splice(0);
    for (const conn of idle) conn.destroy();
    this.#checkClosed();
    return this.#closed.promise;
  }

  /** A new connection, with the connect deadline of the exchange it is dialled for. */
  #dial(user: UpstreamUser): UpstreamConnection {
    this.#open++;
    this.dialled++;
    return new UpstreamConnection(this.endpoint, this, user.upstreamTimeouts.connectTimeoutMs);
  }

  #checkClosed(): void {
    if (this.#closing && this.#open === 0 && this.#queue.length === 0) this.#closed?.resolve();
  }
}
