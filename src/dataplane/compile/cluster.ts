// A compiled cluster: the model's Cluster plus a load balancer over
// endpoints that already carry everything the forwarder needs (pool key,
// origin URL), so nothing about an endpoint is formatted per request. The
// balancer follows the cluster's loadBalancing and affinity policies
// (lb/cluster-balancer.ts says what the data path calls).

import { createHash } from 'node:crypto';
import type { Cluster, EndpointAddress, UpstreamProtocol, UpstreamTimeouts, UpstreamTls } from '../../model/model.ts';
import { ClusterBalancer } from './lb/cluster-balancer.ts';
import type { LoadRegistry } from './lb/endpoint-load.ts';
import { type ActiveHealthRegistry, EndpointHealth, outlierConfigOf } from './lb/endpoint-health.ts';
import type { EjectionReason, OutlierRegistry } from './lb/outlier.ts';
import { DEFAULT_SLOW_START_CONFIG, type SlowStartRegistry } from './lb/slow-start.ts';
import { outlierPolicyOf } from '../../model/upstream-defaults.ts';
import type { TableCache } from './lb/table-cache.ts';
import { flatString } from '../../shared/flat-string.ts';
import { endpointsForZone } from './lb/zone-hints.ts';

export interface UpstreamEndpoint extends EndpointAddress {
  /**
   * The upstream pool key. "address:port" (IPv6 unbracketed, as in the
   * model) for plain HTTP/1.1; other protocols prefix it with the protocol
   * and a digest of the TLS settings ("h2c|10.0.0.1:50051",
   * "https.3f2a…|10.0.0.1:443"), so one address reached two ways gets two pools.
   */
  readonly key: string;
  /** "http://address:port" (or https://) with IPv6 in brackets: what an HTTP client dials. */
  readonly origin: string;
  /** "address:port" with IPv6 in brackets: how logs and spans name the endpoint. */
  readonly hostPort: string;
  readonly protocol: UpstreamProtocol;
  /** TLS settings for "https" and "h2"; null for clear-text protocols. */
  readonly tls: UpstreamTls | null;
}

const NO_VERIFY: UpstreamTls = Object.freeze({ verify: false, caPem: null, serverName: null });

export interface CompiledCluster {
  readonly id: string;
  /** The model cluster; a synthetic one when a target names a missing cluster. */
  readonly source: Cluster;
  readonly balancer: ClusterBalancer<UpstreamEndpoint>;
  /** Why this cluster cannot serve (model problem, or "cluster-not-found"); undefined when it has endpoints. */
  readonly problem: string | undefined;
  /** The cluster's own timeouts (proxy-connect-timeout, ...), every field set: 0 where the Ingress set none (the proxy's option applies). */
  readonly timeouts: ClusterTimeouts;
}

/**
 * Per-cluster timeouts in milliseconds, resolved at compile time so that a
 * request reads four numbers: 0 means "not set by the cluster", and the data
 * path then uses the proxy's global option (ProxyOptions.connectTimeoutMs,
 * responseHeaderTimeoutMs, upstreamBodyTimeoutMs; whose defaults are
 * ingress-nginx's, as DEFAULT_UPSTREAM_TIMEOUTS). See docs/load-balancing.md, "Timeouts".
 */
export interface ClusterTimeouts {
  readonly connectMs: number;
  readonly responseHeaderMs: number;
  readonly idleMs: number;
  readonly sendIdleMs: number;
}

/** A cluster without timeouts of its own: the proxy's options apply. */
export const PROXY_TIMEOUTS: ClusterTimeouts = Object.freeze({ connectMs: 0, responseHeaderMs: 0, idleMs: 0, sendIdleMs: 0 });

export function clusterTimeouts(t: UpstreamTimeouts | undefined): ClusterTimeouts {
  if (t === undefined) return PROXY_TIMEOUTS;
  return Object.freeze({ connectMs: t.connectMs ?? 0, responseHeaderMs: t.responseHeaderMs ?? 0, idleMs: t.idleMs ?? 0, sendIdleMs: t.sendIdleMs ?? 0 });
}

export function endpointKey(e: EndpointAddress, protocol: UpstreamProtocol = 'http1', tls: UpstreamTls | null = null): string {
  const plain = `${e.address}:${e.port}`;
  if (protocol === 'http1') return plain;
  if (tls === null) return `${protocol}|${plain}`;
  const digest = createHash('sha256').update(JSON.stringify([tls.verify, tls.caPem, tls.serverName])).digest('hex').slice(0, 12);
  return `${protocol}.${digest}|${plain}`;
}

function usesTls(protocol: UpstreamProtocol): boolean {
  return protocol === 'https' || protocol === 'h2';
}

export function toUpstreamEndpoint(e: EndpointAddress, protocol: UpstreamProtocol = 'http1', upstreamTls?: UpstreamTls): UpstreamEndpoint {
  const host = e.address.includes(':') ? `[${e.address}]` : e.address;
  const tls = usesTls(protocol) ? (upstreamTls ?? NO_VERIFY) : null;
  const scheme = tls === null ? 'http' : 'https';
  return Object.freeze({
    address: e.address,
    port: e.port,
    ...(e.weight === undefined ? {} : { weight: e.weight }),
    ...(e.zone === undefined ? {} : { zone: e.zone }),
    ...(e.forZones === undefined ? {} : { forZones: e.forZones }),
    key: endpointKey(e, protocol, tls),
    origin: `${scheme}://${host}:${e.port}`,
    // Flat: this string goes into every access log line and upstream Host
    // field, whose character loops are slower on a concatenation.
    hostPort: flatString(`${host}:${e.port}`),
    protocol,
    tls,
  });
}

/** What balancers need from the compile besides the cluster. */
export interface BalancerEnvironment {
  /** Clock for latency decay and cookie expiry; default Date.now. */
  readonly now?: () => number;
  /** In-flight and latency state by endpoint key, shared across compiles; default: fresh per compile. */
  readonly loads?: LoadRegistry;
  /** Martello's own zone: endpoints hinted for it are preferred (lb/zone-hints.ts); default: hints ignored. */
  readonly zone?: string;
  /** Hash tables reused across compiles; default: built per compile. */
  readonly tables?: TableCache;
  /** Outlier detection state shared across compiles; absent: no outlier detection (Cluster.outlier is not applied). */
  readonly outliers?: OutlierRegistry;
  /** Join times for slow start, shared across compiles; absent: no slow start (Cluster.slowStart is not applied). */
  readonly slowStarts?: SlowStartRegistry;
  /** Active health check results (written by the runtime's checker); absent: Cluster.healthCheck is not applied. */
  readonly activeHealth?: ActiveHealthRegistry;
  /** Told of every ejection outlier detection makes (the runtime counts them). */
  readonly onEjection?: (cluster: Cluster, endpoint: UpstreamEndpoint, reason: EjectionReason) => void;
}

/** Outlier detection and active health of one cluster's endpoints, from the shared registries; undefined when neither applies. */
function healthOf(cluster: Cluster, endpoints: readonly UpstreamEndpoint[], env: BalancerEnvironment): EndpointHealth<UpstreamEndpoint> | undefined {
  if (endpoints.length === 0) return undefined;
  const config = env.outliers === undefined ? undefined : outlierConfigOf(outlierPolicyOf(cluster));
  const detector = config === undefined ? undefined : env.outliers!.detector(cluster.id, endpoints, config);
  // Active checks are HTTP/1.1 GETs (runtime/health-checker.ts): not for HTTP/2-only endpoints.
  const checked = cluster.healthCheck !== undefined && (cluster.protocol === 'http1' || cluster.protocol === 'https');
  const active = !checked || env.activeHealth === undefined ? undefined : env.activeHealth.cluster(cluster.id, endpoints.map((e) => e.key));
  if (detector === undefined && active === undefined) return undefined;
  return new EndpointHealth(endpoints, detector, active);
}

export function compileCluster(cluster: Cluster, seed: number, env: BalancerEnvironment = {}): CompiledCluster {
  // A cluster that reports a problem serves nothing even if endpoints were
  // listed: the model says endpoints and problem are exclusive, and 503 is
  // the safe reading of a contradiction.
  const usable = cluster.problem === undefined ? cluster.endpoints : [];
  const all = Object.freeze(usable.map((e) => toUpstreamEndpoint(e, cluster.protocol, cluster.upstreamTls)));
  // Zone hints narrow plain balancing only: hashing and affinity must map a
  // key to the same endpoint on every replica, whatever its zone.
  const consistent = cluster.affinity !== undefined || cluster.loadBalancing?.kind === 'hash';
  const endpoints = consistent ? all : Object.freeze([...endpointsForZone(all, env.zone)]);
  const loads = env.loads;
  const health = healthOf(cluster, endpoints, env);
  const onEjection = env.onEjection;
  const slowStart = cluster.slowStart;
  const slowStarts = env.slowStarts;
  const balancer = new ClusterBalancer(endpoints, cluster.loadBalancing, cluster.affinity, {
    service: `${cluster.namespace}/${cluster.service}`,
    seed,
    ...(env.now === undefined ? {} : { now: env.now }),
    ...(env.tables === undefined ? {} : { tables: env.tables }),
    ...(loads === undefined ? {} : { loads: endpoints.map((e) => loads.get(e.key)) }),
    ...(health === undefined ? {} : { health }),
    ...(health === undefined || onEjection === undefined ? {} : { onEjection: (e: UpstreamEndpoint, reason: EjectionReason) => onEjection(cluster, e, reason) }),
    ...(slowStart === undefined || slowStarts === undefined ? {} : {
      slowStart: {
        joinedAt: slowStarts.joinTimes(cluster.id, endpoints.map((e) => e.key), (env.now ?? Date.now)()),
        config: { ...DEFAULT_SLOW_START_CONFIG, windowMs: slowStart.windowMs },
      },
    }),
  });
  return Object.freeze({
    id: cluster.id,
    source: cluster,
    balancer,
    problem: cluster.problem ?? (endpoints.length === 0 ? 'no-endpoints' : undefined),
    timeouts: clusterTimeouts(cluster.timeouts),
  });
}

/** Stand-in for a target whose cluster id is not in the model: always 503, never a crash. */
export function missingCluster(id: string): CompiledCluster {
  const source: Cluster = Object.freeze({
    id,
    namespace: '',
    service: '',
    port: '',
    protocol: 'http1',
    endpoints: Object.freeze([]),
    problem: 'cluster-not-found',
  });
  return compileCluster(source, 0);
}
