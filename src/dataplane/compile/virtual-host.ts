// One compiled virtual host: exact paths in a Map, prefixes in a Map keyed by
// their path, and the prebuilt answer for "no route matched" (fallback,
// model default or 404), so matching a path is a handful of Map lookups.

import type { Route, Target } from '../../model/model.ts';
import type { RouteRef } from '../../observability/exchange-record.ts';
import type { CompiledCluster } from './cluster.ts';
import type { CompiledVirtualHostInfo, FallbackMatched, RouteMatch, RouteMatched } from './route-match.ts';

const SLASH = 0x2f;

export type ClusterResolver = (target: Target) => CompiledCluster;
/** The route labels of `target` served on the virtual host `host`. */
export type RouteRefResolver = (target: Target, cluster: CompiledCluster, host: string) => RouteRef;

export class CompiledVirtualHost implements CompiledVirtualHostInfo {
  readonly host: string;
  readonly routes: readonly RouteMatched[];
  readonly #exact = new Map<string, RouteMatched>();
  readonly #prefix = new Map<string, RouteMatched>();
  /** Length of the longest prefix key: request-path candidates longer than it cannot match. */
  readonly #maxPrefixLength: number;
  readonly #miss: RouteMatch;

  /** `miss(vhost)` builds the answer when no route matches and there is no host fallback. */
  constructor(host: string, routes: readonly Route[], fallback: Target | null, resolve: ClusterResolver, refOf: RouteRefResolver, miss: (vhost: CompiledVirtualHostInfo) => RouteMatch) {
    this.host = host;
    const compiled: RouteMatched[] = [];
    let maxLen = 0;
    for (const route of routes) {
      const match = Object.freeze({ type: route.match.type, path: route.match.type === 'prefix' ? trimPrefix(route.match.path) : route.match.path });
      const table = match.type === 'exact' ? this.#exact : this.#prefix;
      // The model lists routes in precedence order; a duplicate match later
      // in the list can never win, so the first one is kept.
      if (table.has(match.path)) continue;
      const cluster = resolve(route.target);
      const entry: RouteMatched = Object.freeze({ kind: 'route', vhost: this, match, target: route.target, cluster, ref: refOf(route.target, cluster, host) });
      table.set(match.path, entry);
      compiled.push(entry);
      if (match.type === 'prefix' && match.path.length > maxLen) maxLen = match.path.length;
    }
    this.routes = Object.freeze(compiled);
    this.#maxPrefixLength = maxLen;
    if (fallback !== null) {
      const cluster = resolve(fallback);
      const fb: FallbackMatched = Object.freeze({ kind: 'fallback', vhost: this, target: fallback, cluster, ref: refOf(fallback, cluster, host) });
      this.#miss = fb;
    } else {
      this.#miss = miss(this);
    }
  }

  matchPath(path: string): RouteMatch {
    const exact = this.#exact.get(path);
    if (exact !== undefined) return exact;
    const prefixes = this.#prefix;
    if (prefixes.size === 0 || path.charCodeAt(0) !== SLASH) return this.#miss;
    // Walk the '/' boundaries of the path from the longest candidate to the
    // shortest: "/a/b/c" tries "/a/b/c", "/a/b", "/a", then "/". A candidate
    // always ends at a segment boundary, which is what makes "/foo" match
    // "/foo/bar" but never "/foobar".
    let end: number;
    if (path.length <= this.#maxPrefixLength) {
      const whole = prefixes.get(path);
      if (whole !== undefined) return whole;
      end = path.length;
    } else {
      end = this.#maxPrefixLength + 1;
    }
    for (;;) {
      end = path.lastIndexOf('/', end - 1);
      if (end <= 0) break;
      const hit = prefixes.get(path.slice(0, end));
      if (hit !== undefined) return hit;
    }
    return prefixes.get('/') ?? this.#miss;
  }
}

/** Prefix "/foo/" means the same as "/foo" (element-wise); keep one key for both. */
function trimPrefix(path: string): string {
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === SLASH) end--;
  return end === path.length ? path : path.slice(0, end);
}
