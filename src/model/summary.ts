// Human-readable one-line-per-route view of a model, used for change logs,
// `martello routes` and /debug/config, and the difference between two models.

import type { Cluster, EndpointAddress, RoutingModel, Target } from './model.ts';

export interface RouteLine {
  readonly host: string;
  /** "exact /foo", "prefix /api", "fallback" (host default backend) or "default" (catch-all). */
  readonly match: string;
  readonly cluster: string;
  readonly ingress: string;
  readonly endpoints: readonly string[];
  readonly problem?: string;
}

export function routeLines(model: RoutingModel): RouteLine[] {
  const clusters = new Map(model.clusters.map((c) => [c.id, c]));
  const lines: RouteLine[] = [];
  for (const vh of model.virtualHosts) {
    for (const r of vh.routes) lines.push(line(vh.host, `${r.match.type} ${r.match.path}`, r.target, clusters));
    if (vh.fallback !== null) lines.push(line(vh.host, 'fallback', vh.fallback, clusters));
  }
  if (model.defaultBackend !== null) lines.push(line('*', 'default', model.defaultBackend, clusters));
  return lines;
}

function line(host: string, match: string, target: Target, clusters: ReadonlyMap<string, Cluster>): RouteLine {
  const c = clusters.get(target.cluster);
  const endpoints = c?.endpoints.map((e) => (e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`)) ?? [];
  const base = { host, match, cluster: target.cluster, ingress: target.ingress, endpoints };
  return c?.problem === undefined ? base : { ...base, problem: c.problem };
}

export interface ModelChange {
  readonly routesAdded: string[];
  readonly routesRemoved: string[];
  /** Clusters whose endpoint list changed: "ns/svc:port 2 → 3 endpoints". */
  readonly endpointsChanged: string[];
}

/** "host match → cluster" for every route, fallback and default: what the change log compares. */
function routeKeys(model: RoutingModel): Set<string> {
  const keys = new Set<string>();
  for (const vh of model.virtualHosts) {
    for (const r of vh.routes) keys.add(`${vh.host} ${r.match.type} ${r.match.path} → ${r.target.cluster}`);
    if (vh.fallback !== null) keys.add(`${vh.host} fallback → ${vh.fallback.cluster}`);
  }
  if (model.defaultBackend !== null) keys.add(`* default → ${model.defaultBackend.cluster}`);
  return keys;
}

/**
 * What changed between two models, in short strings for the log. Runs after
 * every applied rebuild, so it builds only the keys it compares (no
 * endpoint formatting) and compares endpoint lists without serialising them.
 */
export function diffModels(before: RoutingModel, after: RoutingModel): ModelChange {
  const a = routeKeys(before);
  const b = routeKeys(after);
  const prevClusters = new Map(before.clusters.map((c) => [c.id, c]));
  const endpointsChanged: string[] = [];
  for (const c of after.clusters) {
    const prev = prevClusters.get(c.id);
    if (prev === undefined) continue;
    if (prev !== c && !sameEndpoints(prev.endpoints, c.endpoints)) {
      endpointsChanged.push(`${c.id} ${prev.endpoints.length} → ${c.endpoints.length} endpoints`);
    }
  }
  return {
    routesAdded: [...b].filter((x) => !a.has(x)),
    routesRemoved: [...a].filter((x) => !b.has(x)),
    endpointsChanged,
  };
}

function sameEndpoints(a: readonly EndpointAddress[], b: readonly EndpointAddress[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.address !== b[i]!.address || a[i]!.port !== b[i]!.port) return false;
  }
  return true;
}

/**
 * The model with every private key replaced by a marker: what goes into
 * golden files, debug views and logs. Certificates stay recognisable by id,
 * fingerprint and names.
 */
export function redactModel(model: RoutingModel): RoutingModel {
  if (model.certificates.length === 0) return model;
  return { ...model, certificates: model.certificates.map((c) => ({ ...c, keyPem: '<redacted>' })) };
}
