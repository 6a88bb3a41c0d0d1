// The answer of explainRequest: what happens to one request and why, as
// plain JSON-serialisable data. The admin listener returns it as it is
// (GET /debug/explain), and render-text.ts prints it for people; nothing in
// it needs the model or the objects to be read, so a client can render an
// answer it received over HTTP.

export interface ExplainResult {
  readonly request: ExplainedRequest;
  /** Generation of the model explained, when the caller knows it. */
  readonly generation: number | null;
  readonly decision: ExplainedDecision;
  readonly virtualHost: ExplainedVirtualHost;
  /** What served the request inside the virtual host (or the catch-all); null: nothing (404, or an answer before routing). */
  readonly route: ExplainedRoute | null;
  /** Every route of the chosen virtual host, in precedence order, with why it did or did not serve. */
  readonly routes: readonly ExplainedCandidate[];
  /** Ingress rules that would match this request but are not in the routing table, or lost it to another host. */
  readonly notServed: readonly NotServedRule[];
  /** The cluster the request goes to; null when nothing serves it. */
  readonly backend: ExplainedBackend | null;
  readonly tls: ExplainedTls;
}

export interface ExplainedRequest {
  /** The URL as given. */
  readonly url: string;
  readonly method: string;
  readonly scheme: 'http' | 'https';
  /** The Host header sent (from the URL, or a Host header given explicitly). */
  readonly authority: string;
  /** Lowercase, without port or trailing dot: what virtual hosts are matched on. */
  readonly host: string;
  /** Path and query as sent ("origin-form"). */
  readonly target: string;
  /** The path matched (the target up to "?"). */
  readonly path: string;
  /** SNI of the TLS connection; null on plain HTTP or when none is sent. */
  readonly sni: string | null;
  /** Headers as given, Host included when it was given explicitly. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

export interface ExplainedDecision {
  /** "forward": to an endpoint of `backend`; "local": Martello answers itself with `status`. */
  readonly action: 'forward' | 'local';
  /** The local answer's status; null for a forward (the upstream decides). */
  readonly status: number | null;
  /** One line: what happens and why. */
  readonly summary: string;
  /** Location of a 308 redirect. */
  readonly location?: string;
  /** Strict-Transport-Security sent with the response, or null. */
  readonly hsts: string | null;
  /** The request is gRPC (content-type application/grpc...): local answers are gRPC statuses. */
  readonly grpc: boolean;
  /** Forward only: the target sent upstream. */
  readonly upstreamTarget?: string;
  /** Forward only: the header list sent upstream (hop-by-hop removed, forwarding headers added). */
  readonly upstreamHeaders?: ReadonlyArray<readonly [string, string]>;
}

export type HostKind = 'exact' | 'wildcard' | 'any';

export interface ExplainedVirtualHost {
  /** The virtual host the request's host selects; null: none (only the catch-all or the built-in 404 can answer). */
  readonly selected: { readonly host: string; readonly kind: HostKind } | null;
  readonly reason: string;
  /** Virtual hosts that relate to the request's host (equal, wildcard over it, "*"), with why each was or was not chosen. */
  readonly considered: ReadonlyArray<{ readonly host: string; readonly kind: HostKind; readonly selected: boolean; readonly reason: string }>;
}

/** Where a route came from in its Ingress. */
export interface RuleSource {
  /** "namespace/name". */
  readonly ingress: string;
  /** e.g. "spec.rules[0].http.paths[1]" or "spec.defaultBackend". */
  readonly field: string;
  /** As written: "Prefix", "Exact", "ImplementationSpecific"; absent for default backends. */
  readonly pathType?: string;
  /** As written (a missing path is "/"). */
  readonly path?: string;
}

export interface ExplainedRoute {
  /** "route": a path of the virtual host; "fallback": the host's default backend; "default": the catch-all default backend. */
  readonly kind: 'route' | 'fallback' | 'default';
  /** The virtual host ("*" for rules without host); null for the catch-all reached without a virtual host. */
  readonly host: string | null;
  /** The path match (routes only), as the table holds it. */
  readonly match?: { readonly type: 'exact' | 'prefix'; readonly path: string };
  readonly ingress: string;
  readonly source: RuleSource | null;
  readonly reason: string;
}

export interface ExplainedCandidate {
  readonly match: { readonly type: 'exact' | 'prefix'; readonly path: string };
  readonly ingress: string;
  readonly source: RuleSource | null;
  readonly cluster: string;
  /** "selected", "matches" (but lost on precedence) or "no-match". */
  readonly verdict: 'selected' | 'matches' | 'no-match';
  readonly reason: string;
}

export interface NotServedRule {
  readonly source: RuleSource;
  /** The rule's host ("*" when it has none). */
  readonly host: string;
  /** not-ours (IngressClass), a diagnostic code (route-conflict, default-backend-conflict...), or other-virtual-host. */
  readonly code: string;
  readonly reason: string;
}

export interface ExplainedBackend {
  /** Cluster id "namespace/service:port". */
  readonly cluster: string;
  readonly namespace: string;
  readonly service: string;
  readonly port: string;
  readonly protocol: 'http1' | 'https' | 'h2c' | 'h2';
  /** HTTPS and h2 only. */
  readonly upstreamTls?: { readonly verify: boolean; readonly serverName: string | null; readonly caBundle: boolean };
  /** How requests are spread over the endpoints, e.g. "round-robin". */
  readonly balancing: string;
  /** Session affinity, when configured. */
  readonly affinity?: string;
  /** "address:port" (IPv6 in brackets) of every endpoint balanced over. */
  readonly endpoints: readonly string[];
  /** Why it answers 503 (service-not-found, no-endpoints...); absent when it has endpoints. */
  readonly problem?: string;
  /** The diagnostics that explain the problem. */
  readonly problemDetails: readonly string[];
}

export interface ExplainedCertificate {
  /** "tls-host": the Secret of the TLS host the name matched; "default": --default-ssl-certificate; "generated": the self-signed one made at start-up. */
  readonly source: 'tls-host' | 'default' | 'generated';
  /** Secret "namespace/name"; absent for the generated certificate. */
  readonly id?: string;
  readonly fingerprint?: string;
  readonly names?: readonly string[];
  readonly notAfter?: string;
}

export interface ExplainedTls {
  /** The request's host is a TLS host (an Ingress's tls section lists it, or a wildcard over it). */
  readonly hostHasTls: boolean;
  /** The TLS host entry that covers the name looked up, and the Ingress that listed it. */
  readonly tlsHost: { readonly host: string; readonly ingress: string } | null;
  /** The name the certificate was looked up for: the SNI on HTTPS, the host on plain HTTP (what HTTPS would serve); null: no SNI. */
  readonly certificateFor: string | null;
  readonly certificate: ExplainedCertificate;
  /** Why this certificate (e.g. why a TLS host gets the default one). */
  readonly certificateReason: string;
  /** Diagnostics about the TLS host's Secret. */
  readonly problems: readonly string[];
  /** HTTPS with SNI: the virtual host the SNI selects, and whether it differs from the Host's (421). */
  readonly sniCheck: { readonly sniVirtualHost: string | null; readonly hostVirtualHost: string | null; readonly misdirected: boolean } | null;
  /** Plain HTTP: whether the route redirects to HTTPS, and why. */
  readonly redirect: { readonly applies: boolean; readonly reason: string; readonly acmeException: boolean } | null;
  readonly hstsReason: string;
}
