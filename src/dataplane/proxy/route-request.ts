// Where a request goes, decided once for every way a request can arrive
// (HTTP/1.1 on node:http, HTTP/2, a WebSocket handshake, Martello's own
// HTTP/1.1 engine): header scan, request ID, target and host checks, the
// SNI/Host rule (421), route lookup (404), the HTTPS redirect (308), HSTS,
// endpoint pick (503) and the upstream header list. The caller only writes
// the answer in its own protocol. Nothing here does I/O.

import type { UpstreamEndpoint } from '../compile/cluster.ts';
import type { RouteTable } from '../compile/route-table.ts';
import { notFoundBody } from './local-response.ts';
import { isAcmeChallenge, redirectLocation } from './redirect.ts';
import { addForwardingHeaders, scanRequestHeaders } from './request-headers.ts';
import { isAcceptableRequestId, newRequestId } from './request-id.ts';

/** What the transport knows about a request; `rawHeaders` as node's rawHeaders ([name, value, ...], HTTP/2 pseudo-headers first). */
export interface RequestFacts {
  readonly rawHeaders: readonly string[];
  readonly http2: boolean;
  /** The request target as received (origin-form expected). */
  readonly target: string;
  /** The connection is TLS. */
  readonly encrypted: boolean;
  /** The SNI name of a TLS connection (undefined, '' or false: none). */
  readonly servername: string | false | null | undefined;
  readonly remoteAddress: string | undefined;
  readonly localPort: number | undefined;
}

export interface RouteSettings {
  /** Strict-Transport-Security value, or null for none. */
  readonly hsts: string | null;
  readonly httpsRedirectPort: number;
}

/** Martello answers the request itself. */
export interface LocalAnswer {
  readonly kind: 'local';
  readonly status: number;
  readonly requestId: string;
  /** Replaces the status's default text body. */
  readonly body?: Buffer;
  /** Extra response headers, flat [name, value, ...] (Location, HSTS). */
  readonly headers?: readonly string[];
  /** The connection must not carry another request (the request itself was malformed). */
  readonly close: boolean;
  /** Answer as a gRPC status (trailers-only) rather than text. */
  readonly grpc: boolean;
}

/** The request goes to `endpoint` with `headers`. */
export interface ForwardDecision {
  readonly kind: 'forward';
  readonly requestId: string;
  readonly endpoint: UpstreamEndpoint;
  /** Upstream header list: hop-by-hop removed, forwarding headers added. */
  readonly headers: string[];
  /** The request announced a body (HTTP/1.1 framing headers; HTTP/2 callers decide themselves). */
  readonly hasBody: boolean;
  readonly grpc: boolean;
  readonly hsts: string | null;
  /** The request's authority (Host or :authority). */
  readonly host: string;
  /**
   * The request target to send upstream (path and query). Always use this,
   * not the target as received: it is the form the route was matched on.
   */
  readonly target: string;
}

export type RouteDecision = LocalAnswer | ForwardDecision;

const SLASH = 0x2f;

export function routeRequest(table: RouteTable, facts: RequestFacts, settings: RouteSettings): RouteDecision {
  const scan = scanRequestHeaders(facts.rawHeaders, facts.http2);
  const clientId = scan.clientRequestId;
  const requestId = clientId !== undefined && isAcceptableRequestId(clientId) ? clientId : newRequestId();
  const grpc = scan.grpc;
  const url = facts.target;
  // Only origin-form targets for now: absolute-form (which must agree
  // with Host) and asterisk-form arrive with the request canonicaliser.
  if (scan.duplicateHost || url.charCodeAt(0) !== SLASH || (facts.http2 && scan.host === '')) {
    return { kind: 'local', status: 400, requestId, close: true, grpc: false };
  }
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (facts.encrypted) {
    // One tenant's certificate must never front another tenant's host: the
    // SNI name and the request's host must select the same virtual host.
    // Not a gRPC status: 421 tells any HTTP/2 client to retry on a new connection.
    const sni = facts.servername;
    if (typeof sni === 'string' && sni !== '' && table.virtualHostFor(sni) !== table.virtualHostFor(scan.host)) {
      return { kind: 'local', status: 421, requestId, close: false, grpc: false };
    }
  }
  const match = table.match(scan.host, path);
  if (match.kind === 'not-found') {
    return { kind: 'local', status: 404, requestId, body: notFoundBody(scan.host, path), close: false, grpc };
  }
  if (!facts.encrypted && match.target.httpsRedirect === true && !isAcmeChallenge(path)) {
    const location = redirectLocation(scan.host, url, settings.httpsRedirectPort);
    if (location === undefined) return { kind: 'local', status: 400, requestId, close: true, grpc: false };
    return { kind: 'local', status: 308, requestId, headers: ['location', location], close: false, grpc: false };
  }
  const hsts = facts.encrypted && settings.hsts !== null && table.tls.hasTls(scan.host) ? settings.hsts : null;
  const endpoint = match.cluster.balancer.pick();
  if (endpoint === undefined) {
    return { kind: 'local', status: 503, requestId, headers: hsts === null ? undefined : ['strict-transport-security', hsts], close: false, grpc };
  }
  addForwardingHeaders(scan.headers, {
    proto: facts.encrypted ? 'https' : 'http',
    clientAddress: facts.remoteAddress ?? '',
    host: scan.host,
    listenerPort: facts.localPort === undefined ? '' : String(facts.localPort),
    requestId,
  });
  return { kind: 'forward', requestId, endpoint, headers: scan.headers, hasBody: scan.hasBody, grpc, hsts, host: scan.host, target: url };
}
