// The header list sent upstream, rebuilt from the parsed request headers
// (never raw bytes, security.md R6). Order of operations matters (R9):
// 1. drop hop-by-hop headers and every header the client's Connection header
//    names (except Host and Content-Length);
// 2. drop client-supplied forwarding headers: without trusted proxies
//    configured they are spoofable, so they are overwritten, not appended;
// 3. add Martello's own headers last, so nothing the client sent can remove
//    or shadow them.

import { ADDED_REQUEST_HEADERS, CONNECTION_PROTECTED, HOP_BY_HOP, connectionTokens } from './hop-by-hop.ts';

/**
 * Client headers Martello replaces with its own values. `forwarded` (RFC
 * 7239) is dropped without replacement until trusted proxies exist.
 * `expect` is dropped because node:http already answered "100 Continue" to
 * the client and the body is streamed upstream as it arrives.
 */
const REPLACED: ReadonlySet<string> = new Set([...ADDED_REQUEST_HEADERS, 'forwarded', 'expect']);

export interface ScannedRequest {
  /** Flat [name, value, ...] list to send upstream, Martello's headers not yet added. */
  readonly headers: string[];
  /** The request's authority: HTTP/2 `:authority`, else the Host header ('' if absent). */
  readonly host: string;
  /**
   * A request to reject with 400 (security.md R5): more than one Host header,
   * or on HTTP/2 a Host header that disagrees with `:authority`.
   */
  readonly duplicateHost: boolean;
  /** The request's content-type is gRPC (application/grpc, application/grpc+proto, ...). */
  readonly grpc: boolean;
  /** Some header name contains "_" (still in `headers`: the caller rejects or drops them). */
  readonly underscore: boolean;
  /** The client's X-Request-ID, if any (not yet validated). */
  readonly clientRequestId: string | undefined;
  /** The request announces a body (Content-Length > 0 or Transfer-Encoding). */
  readonly hasBody: boolean;
  /** The Content-Length value; -1 when absent or not a plain decimal (chunked, HTTP/2 without it). */
  readonly declaredLength: number;
  /** The request's traceparent; undefined when absent or sent more than once (then invalid). */
  readonly traceparent: string | undefined;
  /** Every tracestate value, in order (empty when none). */
  readonly tracestate: readonly string[];
  /**
   * The client's forwarding headers (removed from `headers`): used only when
   * the peer is a trusted proxy (--trusted-proxies), else ignored.
   */
  readonly forwarded: ClientForwarding | undefined;
}

/** X-Forwarded-* as a client (or the proxy in front of us) sent them; first value of each, every X-Forwarded-For line. */
export interface ClientForwarding {
  readonly for: string[];
  proto: string | undefined;
  host: string | undefined;
  port: string | undefined;
}

const NO_VALUES: readonly string[] = Object.freeze([]);

/**
 * One pass over the parsed headers; a second pass only when Connection lists
 * names to drop. `raw` is node's rawHeaders: for HTTP/2 it starts with the
 * pseudo-headers, which are consumed here (`:authority` becomes the host and
 * is sent upstream as Host; the others are rebuilt by the forwarder), and
 * split `cookie` fields are joined with "; " as RFC 9113 §8.2.3 requires
 * before they reach an HTTP/1.1 upstream.
 */
export function scanRequestHeaders(raw: readonly string[], http2 = false): ScannedRequest {
  let headers: string[] = [];
  let host = '';
  let hostCount = 0;
  let authority: string | undefined;
  let clientRequestId: string | undefined;
  let hasBody = false;
  let declaredLength = -1;
  let grpc = false;
  let connectionValues: string[] | undefined;
  let cookies: string[] | undefined;
  let traceparent: string | undefined;
  let traceparents = 0;
  let tracestate: string[] | undefined;
  let forwarded: ClientForwarding | undefined;
  let underscore = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (http2 && name.charCodeAt(0) === 0x3a /* : */) {
      if (name === ':authority') authority = value;
      continue;
    }
    const lower = name.toLowerCase();
    if (lower.includes('_')) underscore = true;
    if (http2 && lower === 'cookie') {
      (cookies ??= []).push(value);
      continue;
    }
    if (lower === 'content-type') {
      grpc = value.startsWith('application/grpc');
    } else if (lower === 'host') {
      hostCount++;
      if (hostCount === 1) host = value;
      else continue;
    } else if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') (connectionValues ??= []).push(value);
      else if (lower === 'transfer-encoding') hasBody = true;
      continue;
    } else if (REPLACED.has(lower)) {
      if (lower === 'x-request-id') {
        if (clientRequestId === undefined) clientRequestId = value;
      } else if (lower.charCodeAt(0) === 0x78 /* x */ && lower.startsWith('x-forwarded-')) {
        forwarded ??= { for: [], proto: undefined, host: undefined, port: undefined };
        if (lower === 'x-forwarded-for') forwarded.for.push(value);
        else if (lower === 'x-forwarded-proto') forwarded.proto ??= value;
        else if (lower === 'x-forwarded-host') forwarded.host ??= value;
        else if (lower === 'x-forwarded-port') forwarded.port ??= value;
      }
      continue;
    } else if (lower === 'content-length') {
      declaredLength = decimalOf(value);
      if (value !== '0') hasBody = true;
    } else if (lower.length === 11 && lower === 'traceparent') {
      traceparents++;
      traceparent = value;
    } else if (lower.length === 10 && lower === 'tracestate') {
      (tracestate ??= []).push(value);
    }
    headers.push(name, value);
  }
  if (connectionValues !== undefined) {
    const tokens = connectionTokens(connectionValues);
    for (const t of CONNECTION_PROTECTED) tokens.delete(t);
    if (tokens.size > 0) {
      const kept: string[] = [];
      for (let i = 0; i + 1 < headers.length; i += 2) {
        if (!tokens.has(headers[i]!.toLowerCase())) kept.push(headers[i]!, headers[i + 1]!);
      }
      headers = kept;
    }
  }
  let badHost = hostCount > 1;
  if (authority !== undefined) {
    // RFC 9113 §8.3.1: :authority wins; a Host that disagrees is an attempt
    // to make two hops see two different hosts.
    if (hostCount === 1 && host.toLowerCase() !== authority.toLowerCase()) badHost = true;
    if (hostCount === 0) headers.unshift('host', authority);
    host = authority;
  }
  if (cookies !== undefined) headers.push('cookie', cookies.join('; '));
  return { headers, host, duplicateHost: badHost, grpc, underscore, clientRequestId, hasBody, declaredLength, traceparent: traceparents === 1 ? traceparent : undefined, tracestate: tracestate ?? NO_VALUES, forwarded };
}

/** A Content-Length value as a number (up to 2^53), -1 when it is not 1-16 digits. */
function decimalOf(value: string): number {
  const n = value.length;
  if (n === 0 || n > 16) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

export interface ForwardingInfo {
  /** "http" or "https": the scheme the client used. */
  readonly proto: string;
  /** The socket peer. */
  readonly peerAddress: string;
  /** The client as far as we can tell: the peer, or (behind trusted proxies) the address they reported. */
  readonly clientAddress: string;
  readonly host: string;
  readonly listenerPort: string;
  readonly requestId: string;
  /** The headers a trusted proxy sent (undefined: the peer is not trusted, or sent none): extended, not replaced. */
  readonly trusted: ClientForwarding | undefined;
}

/**
 * Appends Martello's forwarding headers (step 3 above). From an untrusted
 * peer they are Martello's alone. From a trusted proxy (R9), its
 * X-Forwarded-For chain is extended with the peer, and the scheme, host and
 * port it reported are kept: they describe the client's request, not ours.
 */
export function addForwardingHeaders(headers: string[], info: ForwardingInfo): void {
  const t = info.trusted;
  if (t !== undefined && t.for.length > 0) {
    const chain = t.for.join(', ');
    headers.push('x-forwarded-for', info.peerAddress === '' ? chain : `${chain}, ${info.peerAddress}`);
  } else if (info.peerAddress !== '') {
    headers.push('x-forwarded-for', info.peerAddress);
  }
  if (info.clientAddress !== '') headers.push('x-real-ip', info.clientAddress);
  headers.push('x-forwarded-proto', t?.proto ?? info.proto);
  const host = t?.host ?? info.host;
  if (host !== '') headers.push('x-forwarded-host', host);
  headers.push('x-forwarded-port', t?.port ?? info.listenerPort, 'x-request-id', info.requestId);
}
