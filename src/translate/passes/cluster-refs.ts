// Service references collected while walking Ingress rules, keyed by the
// cluster id they become. The backends pass resolves each once and reports
// problems on every place that referenced it.

import type { IngressBackend } from '../../k8s/objects.ts';
import type { AffinityPolicy, HealthCheckPolicy, LoadBalancingPolicy, OutlierPolicy, RetryPolicy, SlowStartPolicy, Target, UpstreamTimeouts } from '../../model/model.ts';
import type { BalancingSettings } from './balancing-settings.ts';
import type { HealthSettings } from './health-settings.ts';
import type { BackendOverride } from './ingress-settings.ts';
import type { UpstreamSettings } from './upstream-settings.ts';

export interface ClusterRef {
  readonly id: string;
  readonly namespace: string;
  readonly service: string;
  readonly portNumber: number | undefined;
  readonly portName: string | undefined;
  /** The Ingress's backend-protocol choice, if it made one (else the Service port's appProtocol decides). */
  readonly override: BackendOverride | undefined;
  /** How the referencing Ingress balances (the same for every user: it is part of the id). */
  readonly loadBalancing: LoadBalancingPolicy;
  readonly affinity: AffinityPolicy | undefined;
  /** Retries and timeouts of the referencing Ingress (part of the id too); undefined: the defaults. */
  readonly retry: RetryPolicy | undefined;
  readonly timeouts: UpstreamTimeouts | undefined;
  /** Outlier detection, slow start and active health checks of the referencing Ingress (part of the id); undefined: the defaults. */
  readonly outlier: OutlierPolicy | undefined;
  readonly slowStart: SlowStartPolicy | undefined;
  readonly healthCheck: HealthCheckPolicy | undefined;
  /** Every place that references this cluster: the Ingress ("Kind ns/name") and the field path of the backend. */
  readonly usedBy: Array<{ readonly object: string; readonly field: string }>;
}

export type ClusterRefs = Map<string, ClusterRef>;

/** "namespace/service:port": the cluster id for a service backend. */
export function clusterId(namespace: string, service: string, port: string): string {
  return `${namespace}/${service}:${port}`;
}

/**
 * Records a service backend and returns the Target pointing at its cluster,
 * or undefined when the backend is not a Service (resource backends are not
 * supported; the caller reports that).
 */
export function refBackend(
  refs: ClusterRefs,
  backend: IngressBackend,
  namespace: string,
  ingress: string,
  object: string,
  field: string,
  settings: { readonly backend: BackendOverride | undefined; readonly balancing: BalancingSettings; readonly upstream: UpstreamSettings; readonly health?: HealthSettings; readonly maxBodyBytes?: number | undefined },
  httpsRedirect: boolean,
): Target | undefined {
  const svc = backend.service;
  if (svc === undefined) return undefined;
  const port = svc.port.number !== undefined ? String(svc.port.number) : (svc.port.name ?? '');
  const { backend: override, balancing, upstream, health } = settings;
  const id = clusterId(namespace, svc.name, port) + (override?.idSuffix ?? '') + balancing.idSuffix + upstream.idSuffix + (health?.idSuffix ?? '');
  let ref = refs.get(id);
  if (ref === undefined) {
    ref = {
      id,
      namespace,
      service: svc.name,
      portNumber: svc.port.number,
      portName: svc.port.name,
      override,
      loadBalancing: balancing.loadBalancing,
      affinity: balancing.affinity,
      retry: upstream.retry,
      timeouts: upstream.timeouts,
      outlier: health?.outlier,
      slowStart: health?.slowStart,
      healthCheck: health?.healthCheck,
      usedBy: [],
    };
    refs.set(id, ref);
  }
  ref.usedBy.push({ object, field });
  const target: { cluster: string; ingress: string; httpsRedirect?: true; maxBodyBytes?: number } = { cluster: id, ingress };
  if (httpsRedirect) target.httpsRedirect = true;
  if (settings.maxBodyBytes !== undefined) target.maxBodyBytes = settings.maxBodyBytes;
  return target;
}
