// The answer of RouteTable.match. Every variant is built once at compile
// time and returned by reference, so matching allocates nothing beyond the
// normalised host string.

import type { PathMatch, Target } from '../../model/model.ts';
import type { RouteRef } from '../../observability/exchange-record.ts';
import type { CompiledCluster } from './cluster.ts';

export interface CompiledVirtualHostInfo {
  /** As in the model: "app.example.com", "*.example.com" or "*". */
  readonly host: string;
}

/** A route of a virtual host matched the path. */
export interface RouteMatched {
  readonly kind: 'route';
  /** Labels for metrics and logs (namespace, ingress, service, host), shared by every request of this route. */
  readonly ref: RouteRef;
  readonly vhost: CompiledVirtualHostInfo;
  readonly match: PathMatch;
  readonly target: Target;
  readonly cluster: CompiledCluster;
}

/** A virtual host was chosen but none of its routes matched: its fallback serves. */
export interface FallbackMatched {
  readonly kind: 'fallback';
  /** Labels for metrics and logs (namespace, ingress, service, host), shared by every request of this route. */
  readonly ref: RouteRef;
  readonly vhost: CompiledVirtualHostInfo;
  readonly target: Target;
  readonly cluster: CompiledCluster;
}

/** No route and no host fallback: the model's default backend serves. vhost is null when no virtual host was chosen. */
export interface DefaultMatched {
  readonly kind: 'default';
  /** Labels for metrics and logs (namespace, ingress, service, host), shared by every request of this route. */
  readonly ref: RouteRef;
  readonly vhost: CompiledVirtualHostInfo | null;
  readonly target: Target;
  readonly cluster: CompiledCluster;
}

/** Nothing serves this request: the built-in 404. */
export interface NotFound {
  readonly kind: 'not-found';
  readonly vhost: CompiledVirtualHostInfo | null;
}

export type RouteMatch = RouteMatched | FallbackMatched | DefaultMatched | NotFound;

/** The variants that forward to a cluster. */
export type ForwardMatch = RouteMatched | FallbackMatched | DefaultMatched;
