// `martello backends`: every cluster of the model with its upstream
// protocol, balancing, the endpoints it sends to, the routes that use it,
// and, when the EndpointSlices are at hand, how many endpoints each
// condition counts (ready, serving while terminating, not ready), so an
// empty cluster says whether Pods exist at all. Live health (passive
// outlier detection) belongs to the data plane of a running instance.

import type { EndpointSlice, Service } from '../k8s/objects.ts';
import type { RoutingModel } from '../model/model.ts';
import { describeAffinity, describeBalancing } from './balancing.ts';

export interface EndpointCounts {
  /** Endpoints (addresses) whose ready condition is true or unset. */
  readonly ready: number;
  /** Not ready, but serving and terminating: used only when no endpoint is ready. */
  readonly terminating: number;
  /** Neither: never used. */
  readonly notReady: number;
}

export interface BackendLine {
  readonly cluster: string;
  readonly namespace: string;
  readonly service: string;
  readonly port: string;
  readonly protocol: string;
  readonly balancing: string;
  readonly affinity?: string;
  /** "address:port" of the endpoints requests go to. */
  readonly endpoints: readonly string[];
  /** Why the cluster answers 503; absent when it has endpoints. */
  readonly problem?: string;
  /** "host match" of every route, fallback and default that sends here. */
  readonly usedBy: readonly string[];
  /** From the Service's EndpointSlices, when they were given. */
  readonly slices?: EndpointCounts;
}

export interface BackendObjects {
  readonly services: ReadonlyMap<string, Service>;
  /** By "namespace/service". */
  readonly endpointSlices: ReadonlyMap<string, readonly EndpointSlice[]>;
}

export function backendLines(model: RoutingModel, objects?: BackendObjects): BackendLine[] {
  const usedBy = new Map<string, string[]>();
  const use = (cluster: string, what: string): void => {
    const list = usedBy.get(cluster);
    if (list === undefined) usedBy.set(cluster, [what]);
    else list.push(what);
  };
  for (const vh of model.virtualHosts) {
    for (const r of vh.routes) use(r.target.cluster, `${vh.host} ${r.match.type} ${r.match.path}`);
    if (vh.fallback !== null) use(vh.fallback.cluster, `${vh.host} fallback`);
  }
  if (model.defaultBackend !== null) use(model.defaultBackend.cluster, '* default');
  return model.clusters.map((c) => {
    const affinity = describeAffinity(c);
    const counts = objects === undefined ? undefined : countEndpoints(objects, c.namespace, c.service, c.port);
    return {
      cluster: c.id,
      namespace: c.namespace,
      service: c.service,
      port: c.port,
      protocol: c.protocol,
      balancing: describeBalancing(c),
      ...(affinity === undefined ? {} : { affinity }),
      endpoints: c.endpoints.map((e) => (e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`)),
      ...(c.problem === undefined ? {} : { problem: c.problem }),
      usedBy: usedBy.get(c.id) ?? [],
      ...(counts === undefined ? {} : { slices: counts }),
    };
  });
}

/**
 * Endpoint conditions in the Service's EndpointSlices for one Service port
 * (by number or name; slices match it by port name, as translation does).
 * undefined when the Service or its port does not exist.
 */
function countEndpoints(objects: BackendObjects, namespace: string, service: string, port: string): EndpointCounts | undefined {
  const svc = objects.services.get(`${namespace}/${service}`);
  if (svc === undefined) return undefined;
  const byNumber = /^\d+$/.test(port);
  const sp = svc.spec.ports.find((p) => p.protocol === 'TCP' && (byNumber ? p.port === Number(port) : p.name === port));
  if (sp === undefined) return undefined;
  const name = sp.name ?? '';
  const seen = new Set<string>();
  let ready = 0;
  let terminating = 0;
  let notReady = 0;
  for (const slice of objects.endpointSlices.get(`${namespace}/${service}`) ?? []) {
    const slicePort = slice.ports.find((p) => p.name === name && p.protocol === 'TCP');
    if (slicePort?.port === undefined) continue;
    for (const ep of slice.endpoints) {
      for (const address of ep.addresses) {
        const key = `${address}|${slicePort.port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const isReady = ep.conditions.ready !== false;
        if (isReady) ready++;
        else if ((ep.conditions.serving ?? false) && (ep.conditions.terminating ?? false)) terminating++;
        else notReady++;
      }
    }
  }
  return { ready, terminating, notReady };
}
