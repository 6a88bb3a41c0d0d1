// Pass 3: every referenced Service port becomes a cluster of Pod endpoints,
// read from the Service's EndpointSlices. Problems (missing Service, unknown
// port, no endpoints) leave the cluster empty, which the proxy answers with
// 503 for the routes that use it and nothing else.

import type { Endpoint, EndpointSlice, Service, ServicePort } from '../../k8s/objects.ts';
import type { Cluster, EndpointAddress, UpstreamProtocol, UpstreamTls } from '../../model/model.ts';
import { isRefusedAddress } from '../address-policy.ts';
import { clip } from '../annotations.ts';
import type { TranslateOptions } from '../options.ts';
import { compareStrings } from '../order.ts';
import type { ResourceSnapshot } from '../snapshot.ts';
import type { StatusRecorder } from '../status.ts';
import type { ClusterRef, ClusterRefs } from './cluster-refs.ts';

type Problem = { readonly code: string; readonly severity: 'error' | 'warning'; readonly message: string };

export function resolveClusters(refs: ClusterRefs, snap: ResourceSnapshot, opts: TranslateOptions, rec: StatusRecorder): Cluster[] {
  const clusters: Cluster[] = [];
  for (const ref of [...refs.values()].sort((a, b) => compareStrings(a.id, b.id))) {
    const resolved = resolveEndpoints(ref, snap, opts, rec);
    const protocol = ref.override?.protocol ?? protocolOfAppProtocol(resolved.appProtocol);
    const upstreamTls = ref.override?.upstreamTls ?? (protocol === 'https' || protocol === 'h2' ? DEFAULT_UPSTREAM_TLS : undefined);
    // Active health checks are HTTP/1.1 GETs: endpoints that speak only HTTP/2 are not checked.
    const http2Only = protocol === 'h2c' || protocol === 'h2';
    if (ref.healthCheck !== undefined && http2Only && !('problem' in resolved)) {
      for (const use of ref.usedBy) {
        rec.report('warning', 'health-check-unsupported', use.object, use.field,
          `active health checks are HTTP/1.1 requests and the backend is reached over ${protocol}; its endpoints are not checked`);
      }
    }
    const base = {
      id: ref.id,
      namespace: ref.namespace,
      service: ref.service,
      port: ref.portNumber !== undefined ? String(ref.portNumber) : (ref.portName ?? ''),
      protocol,
      ...(upstreamTls === undefined ? {} : { upstreamTls }),
      ...(ref.loadBalancing.kind === 'round-robin' ? {} : { loadBalancing: ref.loadBalancing }),
      ...(ref.affinity === undefined ? {} : { affinity: ref.affinity }),
      ...(ref.retry === undefined ? {} : { retry: ref.retry }),
      ...(ref.timeouts === undefined ? {} : { timeouts: ref.timeouts }),
      ...(ref.outlier === undefined ? {} : { outlier: ref.outlier }),
      ...(ref.slowStart === undefined ? {} : { slowStart: ref.slowStart }),
      ...(ref.healthCheck === undefined || http2Only ? {} : { healthCheck: ref.healthCheck }),
    };
    if ('problem' in resolved) {
      for (const use of ref.usedBy) rec.report(resolved.problem.severity, resolved.problem.code, use.object, use.field, resolved.problem.message);
      clusters.push({ ...base, endpoints: [], problem: resolved.problem.code });
    } else {
      clusters.push({ ...base, endpoints: resolved.endpoints });
    }
  }
  return clusters;
}

/** Encryption without verification, as ingress-nginx does for HTTPS backends unless proxy-ssl-verify is on. */
const DEFAULT_UPSTREAM_TLS: UpstreamTls = { verify: false, caPem: null, serverName: null };

/**
 * The Service port's appProtocol (KEP-3726 standard names, and the plain
 * names other controllers honour) → how to reach the endpoints. Anything
 * else, or none, is HTTP/1.1: appProtocol carries many unrelated values.
 */
const APP_PROTOCOLS: ReadonlyMap<string, UpstreamProtocol> = new Map([
  ['kubernetes.io/h2c', 'h2c'],
  ['h2c', 'h2c'],
  ['grpc', 'h2c'],
  ['kubernetes.io/ws', 'http1'],
  ['http', 'http1'],
  ['kubernetes.io/wss', 'https'],
  ['https', 'https'],
  ['tls', 'https'],
  ['h2', 'h2'],
  ['grpcs', 'h2'],
]);

function protocolOfAppProtocol(appProtocol: string | undefined): UpstreamProtocol {
  return (appProtocol === undefined ? undefined : APP_PROTOCOLS.get(appProtocol.toLowerCase())) ?? 'http1';
}

function resolveEndpoints(
  ref: ClusterRef,
  snap: ResourceSnapshot,
  opts: TranslateOptions,
  rec: StatusRecorder,
): ({ endpoints: EndpointAddress[] } | { problem: Problem }) & { appProtocol?: string } {
  const svcName = `${ref.namespace}/${ref.service}`;
  const svc = snap.services.get(svcName);
  if (svc === undefined) {
    return { problem: { code: 'service-not-found', severity: 'error', message: `Service ${svcName} not found; requests for this backend get 503` } };
  }
  if (svc.spec.type === 'ExternalName') {
    return { problem: { code: 'externalname-unsupported', severity: 'error', message: `Service ${svcName} is of type ExternalName, which Martello refuses (it would let an Ingress reach any host); requests get 503` } };
  }
  const port = findServicePort(svc, ref);
  if (port === undefined) {
    const wanted = ref.portNumber !== undefined ? `number ${ref.portNumber}` : `name "${ref.portName}"`;
    return { problem: { code: 'service-port-not-found', severity: 'error', message: `Service ${svcName} has no TCP port with ${wanted}; requests for this backend get 503` } };
  }
  const endpoints = collectEndpoints(snap.endpointSlices.get(svcName) ?? [], port, opts, rec);
  const appProtocol = port.appProtocol;
  if (endpoints.length === 0) {
    return { appProtocol, problem: { code: 'no-endpoints', severity: 'warning', message: `Service ${svcName} port ${port.name ?? port.port} has no ready or serving endpoints; requests for this backend get 503` } };
  }
  return { appProtocol, endpoints };
}

function findServicePort(svc: Service, ref: ClusterRef): ServicePort | undefined {
  return svc.spec.ports.find((p) =>
    p.protocol === 'TCP' && (ref.portNumber !== undefined ? p.port === ref.portNumber : p.name === ref.portName));
}

/**
 * Ready endpoints when there are any; otherwise the ones still serving while
 * terminating, so a Service whose every Pod is shutting down keeps answering
 * until they are gone (the EndpointSlice guidance for proxies).
 * EndpointSlice ports are matched to the Service port by name ("" when unnamed).
 */
const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';

function collectEndpoints(slices: readonly EndpointSlice[], port: ServicePort, opts: TranslateOptions, rec: StatusRecorder): EndpointAddress[] {
  const wantedName = port.name ?? '';
  const ready = new Map<string, EndpointAddress>();
  const terminating = new Map<string, EndpointAddress>();
  const managers = opts.endpointSliceManagers;
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') continue; // FQDN endpoints are not Pod addresses; like ExternalName, refused
    if (managers !== undefined && !managers.includes(slice.metadata.labels[MANAGED_BY] ?? '')) {
      const by = slice.metadata.labels[MANAGED_BY];
      rec.report('warning', 'endpointslice-unmanaged', `EndpointSlice ${slice.metadata.namespace}/${slice.metadata.name}`, `metadata.labels["${MANAGED_BY}"]`,
        `${by === undefined ? 'has no managed-by label' : `is managed by "${clip(by)}"`} (expected ${managers.join(' or ')}); its endpoints are not used (--endpointslice-managers)`);
      continue;
    }
    const slicePort = slice.ports.find((p) => p.name === wantedName && p.protocol === 'TCP');
    if (slicePort?.port === undefined) continue;
    for (const ep of slice.endpoints) {
      const isReady = ep.conditions.ready !== false; // the API says a nil ready means ready
      const isServing = ep.conditions.serving ?? isReady;
      const isTerminating = ep.conditions.terminating ?? false;
      const bucket = isReady ? ready : isServing && isTerminating ? terminating : undefined;
      if (bucket === undefined) continue;
      for (const address of ep.addresses) {
        if (!opts.allowLoopbackEndpoints && isRefusedAddress(address)) {
          rec.report('warning', 'endpoint-address-refused', `EndpointSlice ${slice.metadata.namespace}/${slice.metadata.name}`, 'endpoints',
            `endpoint ${address} is a loopback, link-local or cloud metadata address and is not used (--allow-loopback-endpoints allows it)`);
          continue;
        }
        const key = `${address}|${slicePort.port}`;
        if (!bucket.has(key)) bucket.set(key, endpointAddress(address, slicePort.port, ep));
      }
    }
  }
  const chosen = ready.size > 0 ? ready : terminating;
  return [...chosen.values()].sort((a, b) => compareStrings(a.address, b.address) || a.port - b.port);
}

/** Zone and zone hints travel with the address; Kubernetes has no per-endpoint weight, so none is set. */
function endpointAddress(address: string, port: number, ep: Endpoint): EndpointAddress {
  const forZones = ep.hints?.forZones;
  return {
    address,
    port,
    ...(ep.zone === undefined ? {} : { zone: ep.zone }),
    ...(forZones === undefined ? {} : { forZones: [...forZones].sort(compareStrings) }),
  };
}
