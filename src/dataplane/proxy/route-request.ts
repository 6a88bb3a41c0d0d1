// Where a request goes, decided once for every way a request can arrive
// (HTTP/1.1 on node:http, HTTP/2, a WebSocket handshake, Martello's own
// HTTP/1.1 engine): header scan, request ID, target and host checks, the
// SNI/Host rule (421), route lookup (404), the HTTPS redirect (308), HSTS,
// endpoint pick (503) and the upstream header list. The caller only writes
// the answer in its own protocol. Nothing here does I/O.

import type { ClusterTimeouts, UpstreamEndpoint } from '../compile/cluster.ts';
import type { RouteTable } from '../compile/route-table.ts';
import type { RouteRef } from '../../observability/exchange-record.ts';
import { canonicalizeTarget, type CanonicalPathOptions, DEFAULT_PATH_OPTIONS, isPathRejection, matchPathOf } from '../edge/canonical-path.ts';
import type { CidrSet } from '../edge/cidr.ts';
import type { OverloadSignal } from '../edge/overload-policy.ts';
import type { RetryPolicy } from '../../model/model.ts';
import { retryPolicyOf } from '../../model/upstream-defaults.ts';
import type { ClusterBalancer } from '../compile/lb/cluster-balancer.ts';
import type { Selection } from '../compile/lb/sticky-sessions.ts';
import { RequestPickContext } from './request-pick-context.ts';
import { clientAddress } from '../edge/client-address.ts';
import { type Authority, effectivePort, parseAuthority } from '../http1/authority.ts';
import { parseAbsoluteTarget } from '../http1/target.ts';
import { ACCEPTED_METHODS } from '../http1/methods.ts';
import { notFoundBody } from './local-response.ts';
import { isAcmeChallenge, redirectLocation } from './redirect.ts';
import { addForwardingHeaders, scanRequestHeaders } from './request-headers.ts';
import { isAcceptableRequestId, newRequestId } from './request-id.ts';
import { type RequestTrace, type TraceSettings, traceUpstream } from './trace-headers.ts';

/** What the transport knows about a request; `rawHeaders` as node's rawHeaders ([name, value, ...], HTTP/2 pseudo-headers first). */
export interface RequestFacts {
  readonly rawHeaders: readonly string[];
  readonly http2: boolean;
  /**
   * The request target as received: origin-form, absolute-form (its
   * authority must agree with Host; its path and query are routed) or "*".
   */
  readonly target: string;
  /**
   * The request method, when the transport passes it: needed only to tell
   * `OPTIONS *` (answered here) from other asterisk-form requests (400).
   */
  readonly method?: string;
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
  /** Trace context handling; absent: trace headers pass through untouched. */
  readonly tracing?: TraceSettings | null;
  /** How request paths are made canonical (docs/edge.md); absent: the defaults. */
  readonly path?: CanonicalPathOptions;
  /** Peers whose X-Forwarded-* are believed (--trusted-proxies); absent or empty: none. */
  readonly trustedProxies?: CidrSet;
  /**
   * Request header names containing "_" (docs/security-tests.md): 'reject'
   * (400, the default, Envoy's edge recommendation), 'drop' (ingress-nginx
   * and nginx's default) or 'allow'. `X_Forwarded_For` and
   * `X-Forwarded-For` are the same variable to CGI-style backends.
   */
  readonly headersWithUnderscores?: UnderscoreHeaderAction;
  /** The process's overload manager; while it sheds, requests get 503 and Connection: close. */
  readonly overload?: OverloadSignal;
  /** Largest request body in bytes for routes without their own limit (--max-body-size); 0 or absent: none. */
  readonly maxBodySize?: number;
}

export type UnderscoreHeaderAction = 'reject' | 'drop' | 'allow';

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
  /** The route that answered (redirect, no endpoints), null when none matched. */
  readonly route: RouteRef | null;
  /** The request's authority ('' when it had none usable). */
  readonly host: string;
  /** The request path without the query ('' when the target was refused). */
  readonly path: string;
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
  /** The path the route was matched on, without the query. */
  readonly path: string;
  readonly route: RouteRef;
  /** The trace the upstream request belongs to; null when tracing is off. */
  readonly trace: RequestTrace | null;
  /** The client address: the peer, or behind trusted proxies the address they reported. */
  readonly client: string;
  /**
   * The cluster's balancer: call onStart(endpoint) when the request is handed
   * to the endpoint and then onEnd exactly once (endBalancing), so that
   * least-request and peak-EWMA see in-flight counts and latencies.
   */
  readonly balancer: ClusterBalancer<UpstreamEndpoint>;
  /** A Set-Cookie value for the response (session affinity), or undefined. */
  readonly setCookie: string | undefined;
  /** When and how often a failed attempt may go to another endpoint (the cluster's, else ingress-nginx's defaults). */
  readonly retry: RetryPolicy;
  /** The cluster's own timeouts (0: the proxy's option applies), resolved at compile time. */
  readonly timeouts: ClusterTimeouts;
  /**
   * Largest request body in bytes (the route's proxy-body-size, else
   * --max-body-size); 0: no limit. A declared Content-Length over it was
   * answered 413 here; a body without one is counted by the transport,
   * which answers 413 (or cuts the exchange) when it goes over.
   */
  readonly maxBodyBytes: number;
  /**
   * The request target to send upstream (path and query). Always use this,
   * not the target as received: it is the form the route was matched on.
   */
  readonly target: string;
}

export type RouteDecision = LocalAnswer | ForwardDecision;

const SLASH = 0x2f;
const EMPTY = Buffer.alloc(0);
const RETRY_AFTER: readonly string[] = Object.freeze(['retry-after', '1']);
const ALLOW_HEADERS: readonly string[] = Object.freeze(['allow', ACCEPTED_METHODS.join(', ')]);
const hostScratch: Authority = { host: '', port: undefined };

/**
 * The origin-form equivalent of an absolute-form target whose authority
 * agrees with `host` (the Host header): same name (case-insensitive, one
 * trailing dot ignored) and same effective port (80/443 by the target's
 * scheme when omitted). Undefined when the target is malformed (other
 * schemes, userinfo, empty authority) or names another host or port.
 */
export function originFormOf(target: string, host: string): string | undefined {
  const absolute = parseAbsoluteTarget(target);
  if (absolute === undefined || host === '') return undefined;
  if (!parseAuthority(host, 0, host.length, hostScratch)) return undefined;
  if (hostScratch.host !== absolute.host) return undefined;
  if (effectivePort(hostScratch.port, absolute.scheme) !== effectivePort(absolute.port, absolute.scheme)) return undefined;
  return absolute.pathAndQuery;
}

function pseudoHeader(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i] === name) return raw[i + 1];
  return undefined;
}

function dropUnderscoreHeaders(headers: string[]): void {
  let w = 0;
  for (let r = 0; r + 1 < headers.length; r += 2) {
    if (headers[r]!.includes('_')) continue;
    headers[w++] = headers[r]!;
    headers[w++] = headers[r + 1]!;
  }
  headers.length = w;
}

export function routeRequest(table: RouteTable, facts: RequestFacts, settings: RouteSettings): RouteDecision {
  const scan = scanRequestHeaders(facts.rawHeaders, facts.http2);
  const clientId = scan.clientRequestId;
  const requestId = clientId !== undefined && isAcceptableRequestId(clientId) ? clientId : newRequestId();
  const grpc = scan.grpc;
  const overload = settings.overload;
  if (overload !== undefined && overload.shedding) {
    // Before any routing work: the point is to spend as little as possible on it.
    overload.noteShed();
    return { kind: 'local', status: 503, requestId, headers: RETRY_AFTER, close: true, grpc, route: null, host: scan.host, path: '' };
  }
  let url = facts.target;
  const underscores = settings.headersWithUnderscores ?? 'reject';
  if (scan.duplicateHost || (facts.http2 && scan.host === '') || (scan.underscore && underscores === 'reject')) {
    return { kind: 'local', status: 400, requestId, close: true, grpc: false, route: null, host: scan.host, path: '' };
  }
  if (scan.underscore && underscores === 'drop') dropUnderscoreHeaders(scan.headers);
  if (url.charCodeAt(0) !== SLASH) {
    if (url === '*') {
      // RFC 9110 §9.3.7: OPTIONS * asks about the server, not a resource; no route owns it.
      const method = facts.method ?? (facts.http2 ? pseudoHeader(facts.rawHeaders, ':method') : undefined);
      if (method === 'OPTIONS') return { kind: 'local', status: 200, requestId, body: EMPTY, headers: ALLOW_HEADERS, close: false, grpc: false, route: null, host: scan.host, path: '' };
      return { kind: 'local', status: 400, requestId, close: true, grpc: false, route: null, host: scan.host, path: '' };
    }
    // Absolute-form (RFC 9112 §3.2.2, which servers must accept): routed by
    // its path and query, and only when its authority names the same host
    // and port as Host, so that no two hops can read two different hosts.
    const origin = facts.http2 ? undefined : originFormOf(url, scan.host);
    if (origin === undefined) return { kind: 'local', status: 400, requestId, close: true, grpc: false, route: null, host: scan.host, path: '' };
    url = origin;
  }
  // One canonical path for matching and for the request sent upstream
  // (security.md R8): a request can never match one route while the
  // backend reads another path.
  const canonical = canonicalizeTarget(url, settings.path ?? DEFAULT_PATH_OPTIONS);
  if (isPathRejection(canonical)) return { kind: 'local', status: 400, requestId, close: true, grpc: false, route: null, host: scan.host, path: '' };
  const target = canonical.target;
  // Matched without path parameters (";jsessionid=..."), as servlet backends dispatch.
  const path = matchPathOf(canonical.path);
  // Looked up once, for the SNI rule and for the match.
  const vhost = table.virtualHostFor(scan.host);
  if (facts.encrypted) {
    // One tenant's certificate must never front another tenant's host: the
    // SNI name and the request's host must select the same virtual host.
    // Not a gRPC status: 421 tells any HTTP/2 client to retry on a new connection.
    const sni = facts.servername;
    if (typeof sni === 'string' && sni !== '' && table.virtualHostFor(sni) !== vhost) {
      return { kind: 'local', status: 421, requestId, close: false, grpc: false, route: null, host: scan.host, path };
    }
  }
  const match = table.matchIn(vhost, path);
  if (match.kind === 'not-found') {
    return { kind: 'local', status: 404, requestId, body: notFoundBody(scan.host, path), close: false, grpc, route: null, host: scan.host, path };
  }
  if (!facts.encrypted && match.target.httpsRedirect === true && !isAcmeChallenge(path)) {
    const location = redirectLocation(scan.host, target, settings.httpsRedirectPort);
    if (location === undefined) return { kind: 'local', status: 400, requestId, close: true, grpc: false, route: null, host: scan.host, path };
    return { kind: 'local', status: 308, requestId, headers: ['location', location], close: false, grpc: false, route: match.ref, host: scan.host, path };
  }
  const hsts = facts.encrypted && settings.hsts !== null && table.tls.hasTls(scan.host) ? settings.hsts : null;
  const maxBodyBytes = match.target.maxBodyBytes ?? settings.maxBodySize ?? 0;
  if (maxBodyBytes > 0 && scan.declaredLength > maxBodyBytes) {
    // nginx's client_max_body_size: refused before any of the body is read or sent on.
    return { kind: 'local', status: 413, requestId, headers: hsts === null ? undefined : ['strict-transport-security', hsts], close: true, grpc, route: match.ref, host: scan.host, path };
  }
  const peer = facts.remoteAddress ?? '';
  // Behind trusted proxies (--trusted-proxies) the client is who they say it is; else the peer.
  const trustedSet = settings.trustedProxies;
  const trusted = trustedSet !== undefined && trustedSet.size > 0 && peer !== '' && trustedSet.contains(peer);
  const client = trusted && scan.forwarded !== undefined ? clientAddress(peer, trustedSet, scan.forwarded.for) : peer;
  // Balancers that hash a request key or keep sessions sticky read the request; the others need nothing.
  const balancer = match.cluster.balancer;
  let endpoint: UpstreamEndpoint | undefined;
  let setCookie: string | undefined;
  if (balancer.needsRequest) {
    const selection: Selection<UpstreamEndpoint> = { endpoint: undefined, setCookie: undefined };
    endpoint = balancer.select(new RequestPickContext(scan.headers, client, target, facts.encrypted), selection);
    setCookie = selection.setCookie;
  } else {
    endpoint = balancer.pick();
  }
  if (endpoint === undefined) {
    return { kind: 'local', status: 503, requestId, headers: hsts === null ? undefined : ['strict-transport-security', hsts], close: false, grpc, route: match.ref, host: scan.host, path };
  }
  addForwardingHeaders(scan.headers, {
    proto: facts.encrypted ? 'https' : 'http',
    peerAddress: peer,
    clientAddress: client,
    host: scan.host,
    listenerPort: facts.localPort === undefined ? '' : String(facts.localPort),
    requestId,
    trusted: trusted ? scan.forwarded : undefined,
  });
  const tracing = settings.tracing;
  const trace = tracing === undefined || tracing === null ? null : traceUpstream(scan.headers, scan.traceparent, scan.tracestate, tracing);
  return { kind: 'forward', requestId, endpoint, headers: scan.headers, hasBody: scan.hasBody, grpc, hsts, host: scan.host, target, path, route: match.ref, trace, client, balancer, setCookie, retry: retryPolicyOf(match.cluster.source), timeouts: match.cluster.timeouts, maxBodyBytes };
}
