// The connection's peer address as the data plane should believe it: the
// socket's remote address, or the source address a load balancer reported in
// a PROXY protocol header (connection-gate.ts). Kept on the socket under a
// symbol so that every transport reads it the same way: the HTTP/1.1 engine
// and node:http (the socket itself), HTTP/2 (session.socket, a proxy that
// forwards property reads to the socket) and TLS (the TLS socket adopts the
// address of the TCP socket it wraps once, at the handshake).

import type { Socket } from 'node:net';

const kPeer = Symbol('martello.peerAddress');

/** Where a TLSSocket keeps the socket it wraps (node's _tls_wrap.js). */
const PARENT = '_parent';

type PeerSocket = { [kPeer]?: string; remoteAddress?: string | undefined };

/** Record `address` as the peer of `socket` (the PROXY protocol source). */
export function setPeerAddress(socket: Socket, address: string): void {
  (socket as PeerSocket)[kPeer] = address;
}

/** The peer address: the PROXY protocol source when there was one, else the socket's remote address. */
export function peerAddressOf(socket: { readonly remoteAddress?: string | undefined } | null | undefined): string | undefined {
  if (socket === null || socket === undefined) return undefined;
  const s = socket as PeerSocket;
  return s[kPeer] ?? s.remoteAddress;
}

/**
 * A TLS socket made by the TLS server around a TCP socket the gate admitted:
 * take over the address recorded on the TCP socket. Node keeps the wrapped
 * socket as `_parent` (not a documented property; the PROXY protocol TLS
 * tests fail if that ever changes), so this is done once per connection.
 */
export function adoptPeerAddress(tlsSocket: Socket): void {
  const parent = (tlsSocket as unknown as Record<string, PeerSocket | null | undefined>)[PARENT];
  const address = parent?.[kPeer];
  if (address !== undefined) (tlsSocket as PeerSocket)[kPeer] = address;
}
