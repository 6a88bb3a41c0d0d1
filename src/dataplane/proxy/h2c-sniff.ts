// HTTP/2 with prior knowledge (h2c) on the plain listener, next to
// HTTP/1.1: the first bytes of a connection decide. The client preface of
// RFC 9113 §3.4 starts with "PRI", which no HTTP/1.1 request Martello
// accepts can start with, so three bytes are enough. The socket is accepted
// paused, one chunk is read and put back, and the socket is handed to the
// HTTP/1.1 or HTTP/2 server, which then read it from the start. A client
// that sends nothing is cut after the request-head deadline.

import type { Socket } from 'node:net';

const kOwner = Symbol('martello.h2cSniffOwner');

export interface PlainConnectionOwner {
  /** Hand the socket (its first bytes put back) to the server for its protocol. */
  dispatchPlain(socket: Socket, http2: boolean): void;
}

type SniffedSocket = Socket & { [kOwner]?: PlainConnectionOwner };

function isPreface(chunk: Buffer): boolean {
  return chunk.length >= 3 && chunk[0] === 0x50 /* P */ && chunk[1] === 0x52 /* R */ && chunk[2] === 0x49 /* I */;
}

function onSniffTimeout(this: Socket): void {
  this.destroy();
}

function onFirstReadable(this: SniffedSocket): void {
  const owner = this[kOwner];
  const chunk = this.read() as Buffer | null;
  if (owner === undefined || chunk === null) {
    // Nothing readable yet (or the socket ended): wait for the next chunk.
    if (owner !== undefined && !this.destroyed) this.once('readable', onFirstReadable);
    return;
  }
  this[kOwner] = undefined;
  this.setTimeout(0);
  this.removeListener('timeout', onSniffTimeout);
  this.unshift(chunk);
  owner.dispatchPlain(this, isPreface(chunk));
}

/** For a socket accepted with `pauseOnConnect`: read its first chunk, then let `owner` dispatch it. */
export function sniffPlainConnection(socket: Socket, owner: PlainConnectionOwner, deadlineMs: number): void {
  const s = socket as SniffedSocket;
  s[kOwner] = owner;
  s.setTimeout(deadlineMs);
  s.once('timeout', onSniffTimeout);
  s.once('readable', onFirstReadable);
  // Start the handle reading; 'readable' fires with the first chunk buffered.
  s.resume();
  s.pause();
}
