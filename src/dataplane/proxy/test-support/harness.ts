// Builds a RoutingModel from a compact description and runs a ProxyServer
// over it on 127.0.0.1:0.

import type { Cluster, EndpointAddress, Route, RoutingModel, Target, VirtualHost } from '../../../model/model.ts';
import { silentLogger } from '../../../shared/log.ts';
import { compile, type RouteTable } from '../../compile/route-table.ts';
import type { ProxyOptions } from '../options.ts';
import { ProxyServer } from '../proxy-server.ts';

export interface RouteSpec {
  readonly type?: 'exact' | 'prefix';
  readonly path: string;
  readonly cluster: string;
}

export interface HostSpec {
  readonly host: string;
  readonly routes: readonly RouteSpec[];
  readonly fallback?: string;
}

export interface ModelSpec {
  readonly hosts: readonly HostSpec[];
  /** Cluster id → endpoints (loopback ports) or a problem. */
  readonly clusters: Readonly<Record<string, readonly number[] | { readonly problem: string }>>;
  readonly defaultBackend?: string;
}

function target(cluster: string): Target {
  return { cluster, ingress: 'default/test' };
}

export function buildModel(spec: ModelSpec): RoutingModel {
  const virtualHosts: VirtualHost[] = spec.hosts.map((h) => {
    const routes: Route[] = h.routes
      .map((r) => ({ match: { type: r.type ?? 'prefix', path: r.path }, target: target(r.cluster) }))
      .sort((a, b) => b.match.path.length - a.match.path.length || (a.match.type === 'exact' ? -1 : 1));
    return { host: h.host, routes, fallback: h.fallback === undefined ? null : target(h.fallback) };
  });
  const clusters: Cluster[] = Object.entries(spec.clusters)
    .map(([id, v]) => {
      const endpoints: EndpointAddress[] = Array.isArray(v) ? v.map((port) => ({ address: '127.0.0.1', port })) : [];
      const base = { id, namespace: 'default', service: id, port: '80', protocol: 'http1' as const, endpoints };
      return Array.isArray(v) ? base : { ...base, problem: (v as { problem: string }).problem };
    })
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  return { virtualHosts, defaultBackend: spec.defaultBackend === undefined ? null : target(spec.defaultBackend), clusters };
}

let generation = 0;

export function tableFor(spec: ModelSpec): RouteTable {
  generation++;
  // seed 0: round-robin starts at the first endpoint, so tests can predict it.
  return compile(buildModel(spec), generation, { seed: 0 });
}

export interface RunningProxy {
  readonly proxy: ProxyServer;
  readonly port: number;
  readonly origin: string;
  close(): Promise<void>;
}

export async function startProxy(spec: ModelSpec, options: Partial<ProxyOptions> = {}): Promise<RunningProxy> {
  const proxy = new ProxyServer({ logger: silentLogger, table: tableFor(spec), options });
  const addr = await proxy.listen('127.0.0.1', 0);
  return { proxy, port: addr.port, origin: `http://127.0.0.1:${addr.port}`, close: () => proxy.close() };
}

/** Resolves when `predicate` holds, polling on the event loop; rejects after `ms`. */
export async function eventually(predicate: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
