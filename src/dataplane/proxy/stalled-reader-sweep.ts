// Cuts client connections whose response is stuck because the client stopped
// reading. Node's own socket timeout does not fire while a write is pending,
// so a client that never reads would hold its connection, and the upstream
// connection paused behind it, forever. One coarse interval timer checks all
// connections (no timer or closure per connection); a connection with bytes
// waiting to be written and no progress in either direction for the idle
// timeout is destroyed, which aborts its upstream request.

import type { Socket } from 'node:net';

interface Progress {
  written: number;
  read: number;
  since: number;
}

const kProgress = Symbol('martello.progress');
const kSweep = Symbol('martello.sweep');
type TrackedSocket = Socket & { [kProgress]?: Progress; [kSweep]?: StalledReaderSweep };

/** Module-level 'close' listener (no closure per connection): forget the socket. */
function onTrackedClose(this: TrackedSocket): void {
  this[kSweep]?.delete(this);
}

export class StalledReaderSweep {
  readonly #sockets = new Set<TrackedSocket>();
  readonly #idleMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(idleMs: number) {
    this.#idleMs = idleMs;
  }

  /** Tracks `socket` until it closes. */
  add(socket: Socket): void {
    const tracked = socket as TrackedSocket;
    tracked[kSweep] = this;
    tracked.on('close', onTrackedClose); // 'close' comes once; on() allocates no wrapper
    this.#sockets.add(tracked);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.sweep(performance.now()), Math.max(50, Math.min(1000, this.#idleMs / 2)));
      this.#timer.unref();
    }
  }

  delete(socket: Socket): void {
    this.#sockets.delete(socket as TrackedSocket);
    if (this.#sockets.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Destroys the connections stalled for the idle timeout as of `now` (ms, performance clock). */
  sweep(now: number): void {
    for (const socket of this.#sockets) {
      if (socket.writableLength === 0) {
        socket[kProgress] = undefined; // nothing waiting to go out: not a stalled reader
        continue;
      }
      const p = socket[kProgress];
      if (p === undefined || p.written !== socket.bytesWritten || p.read !== socket.bytesRead) {
        socket[kProgress] = { written: socket.bytesWritten, read: socket.bytesRead, since: now };
      } else if (now - p.since >= this.#idleMs) {
        socket.destroy();
      }
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#sockets.clear();
  }
}
