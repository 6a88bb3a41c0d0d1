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
}

export interface Cluster {
  /** "namespace/service:port" where port is the number or name the Ingress used. */
  readonly id: string;
  readonly namespace: string;
  readonly service: string;
  readonly port: string;
  readonly protocol: UpstreamProtocol;
  /** The endpoints to balance over, sorted by address then port. Empty: requests get 503. */
  readonly endpoints: readonly EndpointAddress[];
  /** Why there are no endpoints (e.g. "service-not-found"); undefined when endpoints exist. */
  readonly problem?: string;
}

export type UpstreamProtocol = 'http1';

export interface EndpointAddress {
  /** IPv4 or IPv6 literal (no brackets). */
  readonly address: string;
  readonly port: number;
}

export const EMPTY_MODEL: RoutingModel = Object.freeze({
  virtualHosts: Object.freeze([]),
  defaultBackend: null,
  clusters: Object.freeze([]),
});
