// Builds a RoutingModel from a compact description and runs a ProxyServer
// over it on 127.0.0.1:0.

import { X509Certificate } from 'node:crypto';
import type { Cluster, EndpointAddress, Route, RoutingModel, Target, TlsCertificate, TlsHost, UpstreamProtocol, VirtualHost } from '../../../model/model.ts';
import { silentLogger } from '../../../shared/log.ts';
import { compile, type RouteTable } from '../../compile/route-table.ts';
import type { ProxyOptions } from '../options.ts';

export { H2_SERVERS, HTTP1_ENGINES } from '../options.ts';
import { ProxyServer } from '../proxy-server.ts';

export interface RouteSpec {
  readonly type?: 'exact' | 'prefix';
  readonly path: string;
  readonly cluster: string;
  /** Plain-HTTP requests for this route get a 308 to HTTPS. */
  readonly httpsRedirect?: boolean;
}

export interface PemSpec {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface TlsSpec {
  /** TLS host ("a.test" or "*.a.test") → certificate id in `certificates`, or null for the default certificate. */
  readonly hosts: Readonly<Record<string, string | null>>;
  readonly certificates: Readonly<Record<string, PemSpec>>;
  /** Certificate id served when no host matches (else the proxy's fallback). */
  readonly defaultCertificate?: string;
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
  readonly tls?: TlsSpec;
  /** Cluster id → upstream protocol (default http1). */
  readonly protocols?: Readonly<Record<string, UpstreamProtocol>>;
}

function target(cluster: string, httpsRedirect = false): Target {
  return httpsRedirect ? { cluster, ingress: 'default/test', httpsRedirect: true } : { cluster, ingress: 'default/test' };
}

export function certificateOf(id: string, pem: PemSpec): TlsCertificate {
  const leaf = new X509Certificate(pem.certPem);
  const names = (leaf.subjectAltName ?? '').split(', ').filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4));
  return { id, certPem: pem.certPem, keyPem: pem.keyPem, fingerprint: leaf.fingerprint256, names, notAfter: new Date(leaf.validTo).toISOString() };
}

function tlsOf(spec: TlsSpec | undefined): Pick<RoutingModel, 'tlsHosts' | 'certificates' | 'defaultCertificate'> {
  if (spec === undefined) return { tlsHosts: [], certificates: [] };
  const tlsHosts: TlsHost[] = Object.entries(spec.hosts).map(([host, certificate]) => ({ host, certificate, ingress: 'default/test' }));
  const certificates = Object.entries(spec.certificates).map(([id, pem]) => certificateOf(id, pem));
  return { tlsHosts, certificates, ...(spec.defaultCertificate === undefined ? {} : { defaultCertificate: spec.defaultCertificate }) };
}

export function buildModel(spec: ModelSpec): RoutingModel {
  const virtualHosts: VirtualHost[] = spec.hosts.map((h) => {
    const routes: Route[] = h.routes
      .map((r) => ({ match: { type: r.type ?? 'prefix', path: r.path }, target: target(r.cluster, r.httpsRedirect === true) }))
      .sort((a, b) => b.match.path.length - a.match.path.length || (a.match.type === 'exact' ? -1 : 1));
    return { host: h.host, routes, fallback: h.fallback === undefined ? null : target(h.fallback) };
  });
  const clusters: Cluster[] = Object.entries(spec.clusters)
    .map(([id, v]) => {
      const endpoints: EndpointAddress[] = Array.isArray(v) ? v.map((port) => ({ address: '127.0.0.1', port })) : [];
      const base: Cluster = { id, namespace: 'default', service: id, port: '80', protocol: spec.protocols?.[id] ?? 'http1', endpoints };
      return Array.isArray(v) ? base : { ...base, problem: (v as { problem: string }).problem };
    })
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  return { virtualHosts, defaultBackend: spec.defaultBackend === undefined ? null : target(spec.defaultBackend), clusters, ...tlsOf(spec.tls) };
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
  /** The TLS listener's port (0 when not started). */
  readonly tlsPort: number;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Also start the TLS listener, with this fallback certificate. */
  readonly fallbackCertificate?: PemSpec;
}

export async function startProxy(spec: ModelSpec, options: Partial<ProxyOptions> = {}, start: StartOptions = {}): Promise<RunningProxy> {
  const proxy = new ProxyServer({ logger: silentLogger, table: tableFor(spec), options, fallbackCertificate: start.fallbackCertificate });
  const addr = await proxy.listen('127.0.0.1', 0);
  const tlsPort = start.fallbackCertificate === undefined ? 0 : (await proxy.listenTls('127.0.0.1', 0)).port;
  return { proxy, port: addr.port, origin: `http://127.0.0.1:${addr.port}`, tlsPort, close: () => proxy.close() };
}

/** Resolves when `predicate` holds, polling on the event loop; rejects after `ms`. */
export async function eventually(predicate: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
