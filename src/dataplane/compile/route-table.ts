// compile(): RoutingModel → RouteTable, the immutable structure the proxy
// consults for every request. All normalisation, cluster resolution and
// answer objects are built here so that match() only normalises the Host
// header and does Map lookups. The only mutable state is inside the load
// balancers (cursors, random generators, and the in-flight and latency
// records, which options.loads can share across tables).

import type { RoutingModel, Target } from '../../model/model.ts';
import type { RouteRef } from '../../observability/exchange-record.ts';
import { compileCluster, type BalancerEnvironment, type CompiledCluster, missingCluster } from './cluster.ts';
import { normaliseHost, parentDomain, wildcardSuffix } from './host.ts';
import type { CompiledVirtualHostInfo, DefaultMatched, NotFound, RouteMatch } from './route-match.ts';
import { TlsTable } from './tls-table.ts';
import { CompiledVirtualHost } from './virtual-host.ts';

export interface CompileOptions extends BalancerEnvironment {
  /** Seed of every balancer's cursor and random choices; default: the generation number. */
  readonly seed?: number;
}

export class RouteTable {
  readonly generation: number;
  readonly model: RoutingModel;
  /** Every compiled cluster by id, including stand-ins for ids a target named but the model lacks. */
  readonly clusters: ReadonlyMap<string, CompiledCluster>;
  /** "address:port" of every endpoint any cluster may pick: the upstream pools worth keeping. */
  readonly endpointKeys: ReadonlySet<string>;
  readonly virtualHosts: readonly CompiledVirtualHost[];
  /** SNI → certificate, and which hosts have TLS. */
  readonly tls: TlsTable;
  readonly #exactHosts: ReadonlyMap<string, CompiledVirtualHost>;
  readonly #wildcardHosts: ReadonlyMap<string, CompiledVirtualHost>;
  readonly #anyHost: CompiledVirtualHost | undefined;
  readonly #noHost: RouteMatch;

  constructor(model: RoutingModel, generation: number, options: CompileOptions = {}) {
    this.generation = generation;
    this.model = model;
    const seed = options.seed ?? generation;

    const clusters = new Map<string, CompiledCluster>();
    const keys = new Set<string>();
    model.clusters.forEach((c, i) => {
      if (clusters.has(c.id)) return;
      const compiled = compileCluster(c, seed + i, options);
      clusters.set(c.id, compiled);
      for (const e of compiled.balancer.endpoints) keys.add(e.key);
    });
    const resolve = (t: Target): CompiledCluster => {
      let c = clusters.get(t.cluster);
      if (c === undefined) {
        c = missingCluster(t.cluster);
        clusters.set(t.cluster, c);
      }
      return c;
    };

    // One RouteRef per (ingress, service, host): requests of the same route share it.
    const refs = new Map<string, RouteRef>();
    const refOf = (t: Target, c: CompiledCluster, host: string): RouteRef => {
      const slash = t.ingress.indexOf('/');
      const namespace = slash === -1 ? c.source.namespace : t.ingress.slice(0, slash);
      const ingress = slash === -1 ? t.ingress : t.ingress.slice(slash + 1);
      const service = c.source.service;
      const key = `${namespace}\u0000${ingress}\u0000${service}`;
      const hostKey = `${key}\u0000${host}`;
      let ref = refs.get(hostKey);
      if (ref === undefined) {
        ref = Object.freeze({ namespace, ingress, service, host, key, hostKey });
        refs.set(hostKey, ref);
      }
      return ref;
    };

    const defaultTarget = model.defaultBackend;
    const defaultCluster = defaultTarget === null ? undefined : resolve(defaultTarget);
    const notFoundNoHost: NotFound = Object.freeze({ kind: 'not-found', vhost: null });
    const missFor = (vhost: CompiledVirtualHostInfo | null): RouteMatch => {
      if (defaultTarget === null || defaultCluster === undefined) {
        return vhost === null ? notFoundNoHost : Object.freeze({ kind: 'not-found', vhost });
      }
      const d: DefaultMatched = Object.freeze({ kind: 'default', vhost, target: defaultTarget, cluster: defaultCluster, ref: refOf(defaultTarget, defaultCluster, '') });
      return d;
    };
    this.#noHost = missFor(null);

    const exact = new Map<string, CompiledVirtualHost>();
    const wildcard = new Map<string, CompiledVirtualHost>();
    let anyHost: CompiledVirtualHost | undefined;
    const vhosts: CompiledVirtualHost[] = [];
    for (const vh of model.virtualHosts) {
      const host = vh.host === '*' ? '*' : normaliseHost(vh.host);
      const compiled = new CompiledVirtualHost(host, vh.routes, vh.fallback, resolve, refOf, missFor);
      const suffix = wildcardSuffix(host);
      // Duplicate hosts should not reach the data plane; if they do, the
      // first one wins, consistently with route precedence.
      if (host === '*') {
        if (anyHost !== undefined) continue;
        anyHost = compiled;
      } else if (suffix !== undefined) {
        if (wildcard.has(suffix)) continue;
        wildcard.set(suffix, compiled);
      } else {
        if (exact.has(host)) continue;
        exact.set(host, compiled);
      }
      vhosts.push(compiled);
    }
    this.#exactHosts = exact;
    this.#wildcardHosts = wildcard;
    this.#anyHost = anyHost;
    this.virtualHosts = Object.freeze(vhosts);
    this.clusters = clusters;
    this.endpointKeys = keys;
    this.tls = new TlsTable(model);
    options.tables?.endGeneration();
  }

  /** The virtual host a Host header selects: exact, then one-label wildcard, then "*". */
  virtualHostFor(hostHeader: string): CompiledVirtualHost | undefined {
    const host = normaliseHost(hostHeader);
    const exact = this.#exactHosts.get(host);
    if (exact !== undefined) return exact;
    if (this.#wildcardHosts.size > 0) {
      const parent = parentDomain(host);
      if (parent !== undefined) {
        const wild = this.#wildcardHosts.get(parent);
        if (wild !== undefined) return wild;
      }
    }
    return this.#anyHost;
  }

  /**
   * `hostHeader`: the raw Host header value; `path`: the request-target path
   * without the query. Once a virtual host is chosen there is no fall-through
   * to another one.
   */
  match(hostHeader: string, path: string): RouteMatch {
    return this.matchIn(this.virtualHostFor(hostHeader), path);
  }

  /** match() with the virtual host already looked up (virtualHostFor), so that a caller that needs it too looks it up once. */
  matchIn(vhost: CompiledVirtualHost | undefined, path: string): RouteMatch {
    return vhost === undefined ? this.#noHost : vhost.matchPath(path);
  }
}

export function compile(model: RoutingModel, generation: number, options?: CompileOptions): RouteTable {
  return new RouteTable(model, generation, options);
}
