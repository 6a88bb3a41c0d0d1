// The routing model: the contract between the control plane (which builds it
// from Kubernetes objects) and the data plane (which compiles it into a route
// table). It is plain, immutable data with no Kubernetes types in it, sorted
// deterministically so that equal inputs give byte-equal serialisations.
//
// Semantics (see docs/routing.md for the full rules and their sources):
// - A request picks exactly one virtual host: exact host first, then the
//   wildcard whose suffix matches (one extra DNS label), then "*" (rules
//   written without a host). No fall-through to another host after that.
// - Within the host, the longest matching path wins; on equal length an exact
//   match beats a prefix match. Routes are listed in that precedence order.
// - No route matches: the host's fallback (an Ingress defaultBackend on that
//   host), else the model's defaultBackend, else the built-in 404.

export interface RoutingModel {
  readonly virtualHosts: readonly VirtualHost[];
  /** Catch-all for requests that match no virtual host or route and have no host fallback. */
  readonly defaultBackend: Target | null;
  /** Every cluster referenced by a target, sorted by id. */
  readonly clusters: readonly Cluster[];
  /** Server names that have TLS configured, sorted by host; SNI selects among them. */
  readonly tlsHosts: readonly TlsHost[];
  /** Every certificate a TLS host (or the default) uses, sorted by id. */
  readonly certificates: readonly TlsCertificate[];
  /** Certificate id served when no TLS host matches the SNI (--default-ssl-certificate); null: one Martello generates. */
  readonly defaultCertificate?: string;
}

/**
 * A server name with TLS: the certificate served when a client's SNI matches
 * it (exact name first, then the one-label wildcard), and the name for which
 * HTTPS responses carry HSTS and plain-HTTP requests may be redirected.
 */
export interface TlsHost {
  /** Lowercase: "app.example.com" or "*.example.com". */
  readonly host: string;
  /** Certificate id (see TlsCertificate.id), or null: the default certificate (Secret missing or unusable). */
  readonly certificate: string | null;
  /** "namespace/name" of the Ingress whose tls section listed this host. */
  readonly ingress: string;
}

/**
 * A validated certificate and key from a kubernetes.io/tls Secret. The key is
 * secret material: views and logs print `fingerprint` and `names`, never
 * `keyPem` (see redactModel in summary.ts).
 */
export interface TlsCertificate {
  /** "namespace/name" of the Secret. */
  readonly id: string;
  /** PEM chain, leaf first, as given in tls.crt. */
  readonly certPem: string;
  /** PEM private key, as given in tls.key. */
  readonly keyPem: string;
  /** SHA-256 fingerprint of the leaf ("AB:CD:..."), what `openssl x509 -fingerprint -sha256` prints. */
  readonly fingerprint: string;
  /** DNS names the leaf is valid for (subjectAltName, else the common name). */
  readonly names: readonly string[];
  /** End of validity, ISO 8601. */
  readonly notAfter: string;
}

export interface VirtualHost {
  /** Lowercase: "app.example.com", "*.example.com" (one extra label), or "*" (any host). */
  readonly host: string;
  /** In precedence order: longest path first; on equal length, exact before prefix. */
  readonly routes: readonly Route[];
  /** Where unmatched paths of this host go (an Ingress defaultBackend); null: the model default. */
  readonly fallback: Target | null;
}

export interface Route {
  readonly match: PathMatch;
  readonly target: Target;
}

/**
 * - exact: the request path equals `path`.
 * - prefix: element-wise prefix; `path` never ends in "/" unless it is "/".
 *   "/foo" matches "/foo", "/foo/", "/foo/bar", never "/foobar".
 */
export interface PathMatch {
  readonly type: 'exact' | 'prefix';
  readonly path: string;
}

export interface Target {
  /** Cluster id, see Cluster.id. */
  readonly cluster: string;
  /** "namespace/name" of the Ingress that defined this target (for logs, metrics and explain). */
  readonly ingress: string;
  /**
   * Plain-HTTP requests for this target are redirected to HTTPS with 308
   * (except ACME HTTP-01 challenges). Present only when true: the host has
   * TLS and redirects are on, or the Ingress forces them.
   */
  readonly httpsRedirect?: true;
  /**
   * Largest request body in bytes (proxy-body-size); 0: no limit. Absent:
   * the proxy's --max-body-size applies.
   */
  readonly maxBodyBytes?: number;
}

export interface Cluster {
  /** "namespace/service:port" where port is the number or name the Ingress used. */
  readonly id: string;
  readonly namespace: string;
  readonly service: string;
  readonly port: string;
  readonly protocol: UpstreamProtocol;
  /** TLS settings towards the endpoints; present only for the "https" and "h2" protocols. */
  readonly upstreamTls?: UpstreamTls;
  /** The endpoints to balance over, sorted by address then port. Empty: requests get 503. */
  readonly endpoints: readonly EndpointAddress[];
  /** Why there are no endpoints (e.g. "service-not-found"); undefined when endpoints exist. */
  readonly problem?: string;
  /** How requests are spread over the endpoints; absent: weighted round-robin. See docs/load-balancing.md. */
  readonly loadBalancing?: LoadBalancingPolicy;
  /** Session affinity (sticky sessions); absent: none. */
  readonly affinity?: AffinityPolicy;
  /**
   * When a failed attempt is tried again on another endpoint; absent: the
   * defaults (DEFAULT_RETRY_POLICY in model/upstream-defaults.ts,
   * ingress-nginx's: connect failures, resets and timeouts, 3 tries in all,
   * idempotent requests only). See docs/load-balancing.md, "Retries".
   */
  readonly retry?: RetryPolicy;
  /** Timeouts towards the endpoints; absent (or a field absent): the defaults (DEFAULT_UPSTREAM_TIMEOUTS in model/upstream-defaults.ts, ingress-nginx's). */
  readonly timeouts?: UpstreamTimeouts;
  /**
   * Passive outlier detection; absent: the default (DEFAULT_OUTLIER_POLICY in
   * model/upstream-defaults.ts: on, 5 consecutive gateway errors, 30 s, 10 %).
   * See docs/load-balancing.md, "Outlier detection".
   */
  readonly outlier?: OutlierPolicy;
  /** Slow start for endpoints that join the cluster; absent: none (Envoy's default). */
  readonly slowStart?: SlowStartPolicy;
  /** Active HTTP health checks of every endpoint; absent: none. See docs/load-balancing.md, "Active health checks". */
  readonly healthCheck?: HealthCheckPolicy;
}

/** Ejecting endpoints that fail several times in a row (lb/outlier.ts). */
export interface OutlierPolicy {
  /** Consecutive gateway errors (connect failures, resets, timeouts, 502, 503, 504) that eject; 0: outlier detection off. */
  readonly consecutiveErrors: number;
  /** The first ejection's length; the n-th lasts base × 2^(n−1), at most max(300 s, base). */
  readonly baseEjectionMs: number;
  /** Largest share of the cluster's endpoints ejected at once, in percent (one endpoint always may be). */
  readonly maxEjectionPercent: number;
}

/** A new endpoint's share ramps up over `windowMs` (lb/slow-start.ts). */
export interface SlowStartPolicy {
  readonly windowMs: number;
}

/** An HTTP/1.1 GET of `path` on every endpoint, every `intervalMs`; 2xx and 3xx pass. */
export interface HealthCheckPolicy {
  /** Origin-form path (and query) to request. */
  readonly path: string;
  readonly intervalMs: number;
  /** A check without a complete response head after this long fails. */
  readonly timeoutMs: number;
  /** Consecutive passes that make an unhealthy endpoint healthy again. */
  readonly healthyThreshold: number;
  /** Consecutive failures that make a healthy endpoint unhealthy. */
  readonly unhealthyThreshold: number;
}

/**
 * What makes an attempt worth retrying on another endpoint:
 * - connect-failure: the connection could not be established (refused,
 *   unreachable, TLS handshake failed); nginx's `error`, in part;
 * - reset: the connection broke, or the response head was malformed, before
 *   the response head was complete; nginx's `error` (the rest) and `invalid_header`;
 * - timeout: connecting, sending the request or waiting for the response head
 *   took too long (connect, per-try or response-header timeout); nginx's `timeout`;
 * - http-NNN: the endpoint answered with that status (nginx's `http_NNN`).
 */
export type RetryCondition =
  | 'connect-failure'
  | 'reset'
  | 'timeout'
  | 'http-500'
  | 'http-502'
  | 'http-503'
  | 'http-504'
  | 'http-403'
  | 'http-404'
  | 'http-429';

/**
 * Retrying a failed attempt on a different endpoint (ingress-nginx's
 * proxy-next-upstream, -tries, -timeout). Whatever the policy, a retry never
 * happens once a response byte reached the client, and a non-idempotent
 * request is retried only if `nonIdempotent` or none of its bytes reached the
 * endpoint (lb/retry.ts, shouldRetry).
 */
export interface RetryPolicy {
  /** Failures that are retried, in a fixed order (see RETRY_CONDITIONS); empty: never retry (nginx's `off`). */
  readonly on: readonly RetryCondition[];
  /** Attempts in all, the first included: 1 = no retry; 0 = no limit of its own (nginx's 0): each endpoint is tried at most once. */
  readonly tries: number;
  /** Time limit of each attempt up to the response head; absent: none besides the timeouts. */
  readonly perTryTimeoutMs?: number;
  /** No retry starts this long after the first attempt started (proxy-next-upstream-timeout); absent: no limit. */
  readonly budgetMs?: number;
  /** Retry POST, PATCH, LOCK and other non-idempotent requests too (nginx's `non_idempotent`). */
  readonly nonIdempotent: boolean;
}

/**
 * Timeouts towards an endpoint, in milliseconds (ingress-nginx's
 * proxy-connect-timeout, proxy-read-timeout, proxy-send-timeout).
 */
export interface UpstreamTimeouts {
  /** Establishing the connection (TCP, and TLS when used). */
  readonly connectMs?: number;
  /** From the end of sending the request to the complete response head. */
  readonly responseHeaderMs?: number;
  /** Longest pause between two reads of the response (after the head). */
  readonly idleMs?: number;
  /** Longest pause between two writes of the request to the endpoint (a stalled upload). */
  readonly sendIdleMs?: number;
}

/**
 * - round-robin: weighted round-robin (smooth: equal weights give plain rotation).
 * - least-request: power of `choices` random choices, the one with fewer requests in flight wins.
 * - peak-ewma: the endpoint with the lowest (peak-sensitive, exponentially
 *   decayed) latency × (requests in flight + 1), among two random choices.
 * - hash: consistent hashing of a request key over a Maglev table or a ring;
 *   requests without the key are spread round-robin.
 */
export type LoadBalancingPolicy =
  | { readonly kind: 'round-robin' }
  | { readonly kind: 'least-request'; readonly choices: 2 }
  | { readonly kind: 'peak-ewma'; readonly decayMs: number }
  | { readonly kind: 'hash'; readonly key: HashKey; readonly table: HashTableKind };

export type HashTableKind = 'maglev' | 'ring';

/**
 * What a hash balancer hashes: a request header (name lowercase), a cookie
 * (name as sent, case-sensitive), the client's IP address, or the request
 * URI (path and query as received).
 */
export type HashKey =
  | { readonly source: 'header'; readonly name: string }
  | { readonly source: 'cookie'; readonly name: string }
  | { readonly source: 'client-ip' }
  | { readonly source: 'uri' };

/**
 * Cookie-based session affinity. The cookie value identifies the session
 * without naming an address (see docs/load-balancing.md):
 * - balanced: the value is a session key hashed over the current endpoints,
 *   so scaling up moves about 1/n of sessions to new endpoints;
 * - persistent: the value identifies one endpoint, kept as long as it exists.
 */
export interface CookieAffinity {
  readonly kind: 'cookie';
  readonly mode: 'balanced' | 'persistent';
  /** A cookie-name token (RFC 6265); default "INGRESSCOOKIE". */
  readonly name: string;
  /** Path attribute; absent: "/". */
  readonly path?: string;
  readonly domain?: string;
  readonly sameSite?: 'Strict' | 'Lax' | 'None';
  /** Always send Secure (it is sent anyway on HTTPS requests). */
  readonly secure?: true;
  readonly maxAgeSeconds?: number;
  readonly expiresSeconds?: number;
  /** After a failed attempt, re-point the cookie at the endpoint that served the retry. */
  readonly changeOnFailure: boolean;
}

export type AffinityPolicy = CookieAffinity;

/**
 * How Martello talks to the endpoints: HTTP/1.1 in clear ("http1", the
 * default), HTTP/1.1 over TLS ("https"), HTTP/2 with prior knowledge in clear
 * ("h2c", gRPC's usual choice) or HTTP/2 over TLS with ALPN ("h2").
 */
export type UpstreamProtocol = 'http1' | 'https' | 'h2c' | 'h2';

export interface UpstreamTls {
  /** Verify the endpoint's certificate chain and name. Off by default, like ingress-nginx's proxy-ssl-verify. */
  readonly verify: boolean;
  /** PEM CA bundle to verify against; null: the runtime's default roots. */
  readonly caPem: string | null;
  /** SNI to send and name to verify; null: send no SNI (endpoints are IP addresses). */
  readonly serverName: string | null;
}

export interface EndpointAddress {
  /** IPv4 or IPv6 literal (no brackets). */
  readonly address: string;
  readonly port: number;
  /**
   * Relative share of requests, a positive integer; absent: 1. Kubernetes
   * has no per-endpoint weight (EndpointSlices carry none), so translation
   * never sets it today; the balancers honour it for future sources.
   */
  readonly weight?: number;
  /** The endpoint's zone (EndpointSlice `endpoints[].zone`). */
  readonly zone?: string;
  /** Topology Aware Routing hints: zones whose clients should use this endpoint (`hints.forZones`). */
  readonly forZones?: readonly string[];
}

export const EMPTY_MODEL: RoutingModel = Object.freeze({
  virtualHosts: Object.freeze([]),
  defaultBackend: null,
  clusters: Object.freeze([]),
  tlsHosts: Object.freeze([]),
  certificates: Object.freeze([]),
});
