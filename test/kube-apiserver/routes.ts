// URL path → what is addressed: a discovery document, a collection, one
// object, or one object's status. Mirrors the API server's path layout
// (kubernetes-api.md §2.1): /api/v1/... for the core group,
// /apis/{group}/{version}/... for the others, with optional
// /namespaces/{ns} before the resource.

import { findByPlural, type ResourceDef } from './resources.ts';

export type Route =
  | { readonly kind: 'version' }
  | { readonly kind: 'api' }
  | { readonly kind: 'apis' }
  | { readonly kind: 'group'; readonly group: string }
  | { readonly kind: 'resources'; readonly group: string; readonly version: string }
  | { readonly kind: 'health' }
  | {
    readonly kind: 'resource';
    readonly def: ResourceDef;
    /** undefined: cluster-scoped, or all namespaces for a namespaced collection. */
    readonly namespace: string | undefined;
    readonly name: string | undefined;
    readonly subresource: string | undefined;
  }
  | { readonly kind: 'unknown' };

export function parseRoute(pathname: string): Route {
  let segments: string[];
  try {
    segments = pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  } catch {
    return { kind: 'unknown' };
  }
  const [root, ...rest] = segments;
  if (root === 'version' && rest.length === 0) return { kind: 'version' };
  if ((root === 'healthz' || root === 'readyz' || root === 'livez') && rest.length === 0) return { kind: 'health' };
  if (root === 'api') {
    if (rest.length === 0) return { kind: 'api' };
    const [version, ...tail] = rest;
    if (tail.length === 0) return { kind: 'resources', group: '', version: version! };
    return resourceRoute('', version!, tail);
  }
  if (root === 'apis') {
    if (rest.length === 0) return { kind: 'apis' };
    const [group, version, ...tail] = rest;
    if (version === undefined) return { kind: 'group', group: group! };
    if (tail.length === 0) return { kind: 'resources', group: group!, version };
    return resourceRoute(group!, version, tail);
  }
  return { kind: 'unknown' };
}

function resourceRoute(group: string, version: string, tail: readonly string[]): Route {
  // /namespaces/{ns}/{plural}... unless it is the namespaces resource itself.
  if (tail[0] === 'namespaces' && tail.length >= 3) {
    const def = findByPlural(group, version, tail[2]!);
    if (def !== undefined && def.namespaced) return objectRoute(def, tail[1]!, tail.slice(3));
  }
  const def = findByPlural(group, version, tail[0]!);
  if (def === undefined) return { kind: 'unknown' };
  if (def.namespaced && tail.length > 1) return { kind: 'unknown' }; // a name needs a namespace
  return objectRoute(def, undefined, tail.slice(1));
}

function objectRoute(def: ResourceDef, namespace: string | undefined, tail: readonly string[]): Route {
  if (tail.length > 2) return { kind: 'unknown' };
  const [name, subresource] = tail;
  if (subresource !== undefined && !(subresource === 'status' && def.hasStatus)) return { kind: 'unknown' };
  return { kind: 'resource', def, namespace, name, subresource };
}
