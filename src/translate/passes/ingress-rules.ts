// Pass 2: Ingress rules and default backends become virtual hosts and routes.
// A host takes rules only from the namespace that owns it (host-owners.ts);
// rules for it from other namespaces are refused and reported. Within that
// namespace, Ingresses arrive oldest first, so the first claim on a host+path
// (or on a host's fallback) wins and every later one is reported as the loser.

import { formatKey, keyOf } from '../../k8s/keys.ts';
import type { HTTPIngressPath, Ingress, IngressBackend } from '../../k8s/objects.ts';
import type { PathMatch, Route, Target, VirtualHost } from '../../model/model.ts';
import { compareRoutes, compareStrings } from '../order.ts';
import type { StatusRecorder } from '../status.ts';
import { refBackend, type ClusterRefs } from './cluster-refs.ts';
import { ownershipHint, type HostOwners } from './host-owners.ts';
import type { IngressSettings } from './ingress-settings.ts';

/** What the rules pass needs from the earlier passes. */
export interface RulesContext {
  readonly settings: (ing: Ingress) => IngressSettings;
  /** Whether a rule host has TLS (an Ingress's tls section lists it or a wildcard covering it). */
  readonly hasTls: (host: string) => boolean;
  /** Which namespace owns each host; absent: every namespace merges into every host. */
  readonly owners?: HostOwners;
}

/** The virtual host that rules without a host go to: it matches any host. */
export const ANY_HOST = '*';

interface HostBuilder {
  readonly routes: Route[];
  /** "type path" → "ns/name" of the Ingress that claimed it. */
  readonly claimed: Map<string, string>;
  fallback: Target | null;
  fallbackOwner: string;
}

export interface RulesResult {
  readonly virtualHosts: VirtualHost[];
  readonly defaultBackend: Target | null;
}

export function buildVirtualHosts(owned: readonly Ingress[], refs: ClusterRefs, rec: StatusRecorder, ctx: RulesContext): RulesResult {
  const hosts = new Map<string, HostBuilder>();
  let defaultBackend: Target | null = null;
  let defaultOwner = '';
  for (const ing of owned) {
    const name = `${ing.metadata.namespace}/${ing.metadata.name}`;
    const object = formatKey(keyOf(ing));
    // Resolved on first use, so a default backend that loses every claim adds no cluster and no diagnostics.
    let ingressDefault: Target | undefined | null = null;
    const defaultTarget = (): Target | undefined => {
      if (ingressDefault === null) {
        // The catch-all default serves every host, so only a forced redirect applies to it.
        const redirect = ctx.settings(ing).forceSslRedirect;
        ingressDefault = ing.spec.defaultBackend === undefined ? undefined : resolveTarget(ing.spec.defaultBackend, ing, refs, rec, 'spec.defaultBackend', ctx, redirect);
      }
      return ingressDefault;
    };
    ing.spec.rules.forEach((rule, ruleIndex) => {
      const host = rule.host ?? ANY_HOST;
      const owner = ctx.owners?.refuses(host, ing.metadata.namespace);
      if (owner !== undefined) {
        const what = rule.host === undefined ? 'the any-host virtual host "*" (rules without a host)' : `host "${host}"`;
        rec.report('warning', 'host-owned-by-other-namespace', object, rule.host === undefined ? `spec.rules[${ruleIndex}]` : `spec.rules[${ruleIndex}].host`,
          `this rule is ignored: ${what} is not shared across namespaces; ${ownershipHint(owner)}`);
        return;
      }
      const hb = hostBuilder(hosts, host);
      const settings = ctx.settings(ing);
      const redirect = settings.forceSslRedirect || (settings.sslRedirect && rule.host !== undefined && ctx.hasTls(rule.host));
      rule.paths.forEach((p, pathIndex) => {
        const field = `spec.rules[${ruleIndex}].http.paths[${pathIndex}]`;
        const match = pathMatchOf(p);
        const claimKey = `${match.type} ${match.path}`;
        const winner = hb.claimed.get(claimKey);
        if (winner !== undefined) {
          const by = winner === name ? 'earlier in this Ingress' : `by Ingress ${winner} (older, or first by namespace/name)`;
          rec.report('warning', 'route-conflict', object, field,
            `host "${host}" ${match.type} path "${match.path}" is already defined ${by}; this path is ignored`);
          return;
        }
        const target = resolveTarget(p.backend, ing, refs, rec, `${field}.backend`, ctx, redirect);
        if (target === undefined) return;
        hb.claimed.set(claimKey, name);
        hb.routes.push({ match, target });
      });
      if (ing.spec.defaultBackend !== undefined) {
        const hostFallback = (): Target | undefined => {
          const t = defaultTarget();
          return t !== undefined && redirect && t.httpsRedirect !== true ? { ...t, httpsRedirect: true } : t;
        };
        claimFallback(hb, host, hostFallback, name, object, rec);
      }
    });
    if (ing.spec.defaultBackend !== undefined) {
      if (defaultBackend === null) {
        defaultBackend = defaultTarget() ?? null;
        if (defaultBackend !== null) defaultOwner = name;
      } else if (ing.spec.rules.length === 0) {
        // An Ingress with only a default backend has nothing else to serve: say it is unused.
        rec.report('warning', 'default-backend-conflict', object, 'spec.defaultBackend',
          `the catch-all default backend is already taken by Ingress ${defaultOwner} (older, or first by namespace/name); this one is not used`);
      }
    }
  }
  const virtualHosts = [...hosts.entries()]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([host, hb]) => ({ host, routes: hb.routes.sort(compareRoutes), fallback: hb.fallback }));
  return { virtualHosts, defaultBackend };
}

function hostBuilder(hosts: Map<string, HostBuilder>, host: string): HostBuilder {
  let hb = hosts.get(host);
  if (hb === undefined) {
    hb = { routes: [], claimed: new Map(), fallback: null, fallbackOwner: '' };
    hosts.set(host, hb);
  }
  return hb;
}

function claimFallback(hb: HostBuilder, host: string, target: () => Target | undefined, name: string, object: string, rec: StatusRecorder): void {
  if (hb.fallback === null) {
    const t = target();
    if (t === undefined) return;
    hb.fallback = t;
    hb.fallbackOwner = name;
  } else if (hb.fallbackOwner !== name) {
    rec.report('warning', 'default-backend-conflict', object, 'spec.defaultBackend',
      `unmatched paths of host "${host}" already go to the default backend of Ingress ${hb.fallbackOwner}; this one is not used for that host`);
  }
}

/**
 * Prefix and ImplementationSpecific are both element-wise prefixes (see
 * docs/routing.md); a trailing slash on a prefix is insignificant, so it is
 * dropped here once instead of at every request.
 */
function pathMatchOf(p: HTTPIngressPath): PathMatch {
  const path = p.path ?? '/';
  if (p.pathType === 'Exact') return { type: 'exact', path };
  return { type: 'prefix', path: trimTrailingSlashes(path) };
}

function trimTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.slice(0, end);
}

function resolveTarget(backend: IngressBackend, ing: Ingress, refs: ClusterRefs, rec: StatusRecorder, field: string, ctx: RulesContext, httpsRedirect: boolean): Target | undefined {
  const name = `${ing.metadata.namespace}/${ing.metadata.name}`;
  const object = formatKey(keyOf(ing));
  const target = refBackend(refs, backend, ing.metadata.namespace, name, object, field, ctx.settings(ing), httpsRedirect);
  if (target === undefined) {
    const kind = backend.resource?.kind ?? 'resource';
    rec.report('error', 'resource-backend-unsupported', object, `${field}.resource`,
      `${kind} backends are not supported (only Service backends); this backend is ignored`);
  }
  return target;
}
