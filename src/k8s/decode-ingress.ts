// networking.k8s.io/v1 Ingress: rules, TLS and backends, validated as the API server does.

import type {
  HTTPIngressPath,
  Ingress,
  IngressBackend,
  IngressRule,
  IngressServiceBackend,
  IngressTLS,
  LoadBalancerIngress,
  LoadBalancerPortStatus,
  LoadBalancerStatusHolder,
  PathType,
  TypedLocalObjectReference,
} from './objects.ts';
import {
  checkFormat,
  checkPort,
  fieldPath,
  get,
  indexPath,
  isJsonObject,
  itemObject,
  list,
  MISSING,
  oneOf,
  optInteger,
  optObject,
  optString,
  reqObject,
  reqString,
  stringList,
  type JsonObject,
  type Problems,
} from './decode-fields.ts';
import { decodeMeta } from './decode-meta.ts';
import { hostProblem, pathProblem } from './validate-ingress.ts';
import { dns1035LabelProblem, dns1123SubdomainProblem, ianaSvcNameProblem } from './validate-names.ts';

const PATH_TYPES: readonly PathType[] = ['Exact', 'Prefix', 'ImplementationSpecific'];

export function decodeIngress(p: Problems, raw: JsonObject): Ingress {
  const metadata = decodeMeta(p, raw, { namespaced: true, nameFormat: 'dns1123-subdomain' });
  const spec = reqObject(p, raw, 'spec', '');
  const ingressClassName = optString(p, spec, 'ingressClassName', 'spec');
  checkFormat(p, 'spec.ingressClassName', ingressClassName, dns1123SubdomainProblem);
  const backendRaw = optObject(p, spec, 'defaultBackend', 'spec');
  const defaultBackend = backendRaw === undefined ? undefined : decodeBackend(p, backendRaw, 'spec.defaultBackend');
  const rules = list(p, spec, 'rules', 'spec', (v, path) => decodeRule(p, itemObject(p, v, path), path));
  if (isJsonObjectSpec(raw) && get(spec, 'defaultBackend') === undefined && isEmptyList(get(spec, 'rules'))) {
    p.required('spec', 'either `defaultBackend` or `rules` must be specified');
  }
  const tls = list(p, spec, 'tls', 'spec', (v, path) => decodeTLS(p, itemObject(p, v, path), path));
  return {
    kind: 'Ingress',
    apiVersion: 'networking.k8s.io/v1',
    metadata,
    spec: { ingressClassName, defaultBackend, tls, rules },
    status: decodeLoadBalancerStatus(raw),
  };
}

const LB_PROTOCOLS: ReadonlySet<string> = new Set(['TCP', 'UDP', 'SCTP']);

/**
 * `status.loadBalancer.ingress` of an Ingress or a Service, read leniently:
 * status is written by controllers (the API server validates it, and strips
 * it from created objects), so a malformed part is skipped, never reported
 * as a problem with the user's object. Entries keep the API's shape: absent
 * fields stay absent.
 */
export function decodeLoadBalancerStatus(raw: JsonObject): LoadBalancerStatusHolder {
  const status = get(raw, 'status');
  const lb = isJsonObject(status) ? get(status, 'loadBalancer') : undefined;
  const items = isJsonObject(lb) ? get(lb, 'ingress') : undefined;
  if (!Array.isArray(items)) return { loadBalancer: { ingress: [] } };
  const ingress: LoadBalancerIngress[] = [];
  for (const item of items as unknown[]) {
    if (!isJsonObject(item)) continue;
    const ip = get(item, 'ip');
    const hostname = get(item, 'hostname');
    const entry: { ip?: string; hostname?: string; ports?: LoadBalancerPortStatus[] } = {};
    if (typeof ip === 'string' && ip !== '') entry.ip = ip;
    if (typeof hostname === 'string' && hostname !== '') entry.hostname = hostname;
    const ports = get(item, 'ports');
    if (Array.isArray(ports)) {
      const decoded = (ports as unknown[]).flatMap((p): LoadBalancerPortStatus[] => {
        if (!isJsonObject(p)) return [];
        const port = get(p, 'port');
        const protocol = get(p, 'protocol');
        const error = get(p, 'error');
        if (typeof port !== 'number' || !Number.isSafeInteger(port) || typeof protocol !== 'string' || !LB_PROTOCOLS.has(protocol)) return [];
        const out = { port, protocol: protocol as LoadBalancerPortStatus['protocol'] };
        return [typeof error === 'string' && error !== '' ? { ...out, error } : out];
      });
      if (decoded.length > 0) entry.ports = decoded;
    }
    if (entry.ip !== undefined || entry.hostname !== undefined) ingress.push(entry);
  }
  return { loadBalancer: { ingress } };
}

/** Absent, null or []: wrong types are reported by the list reader instead. */
function isEmptyList(value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.length === 0);
}

function isJsonObjectSpec(raw: JsonObject): boolean {
  return isJsonObject(get(raw, 'spec'));
}

function decodeTLS(p: Problems, raw: JsonObject, path: string): IngressTLS {
  const hosts = stringList(p, raw, 'hosts', path);
  hosts.forEach((host, i) => checkFormat(p, indexPath(fieldPath(path, 'hosts'), i), host, hostProblem));
  const secretName = optString(p, raw, 'secretName', path) || undefined;
  checkFormat(p, fieldPath(path, 'secretName'), secretName, dns1123SubdomainProblem);
  return { hosts, secretName };
}

function decodeRule(p: Problems, raw: JsonObject, path: string): IngressRule {
  const host = optString(p, raw, 'host', path) || undefined;
  checkFormat(p, fieldPath(path, 'host'), host, hostProblem);
  const http = optObject(p, raw, 'http', path);
  if (http === undefined) return { host, paths: [] };
  const httpPath = fieldPath(path, 'http');
  const paths = list(p, http, 'paths', httpPath, (v, itemPath) => decodePath(p, itemObject(p, v, itemPath), itemPath));
  if (isEmptyList(get(http, 'paths'))) {
    p.required(fieldPath(httpPath, 'paths'), 'an `http` section needs at least one path');
  }
  return { host, paths };
}

function decodePath(p: Problems, raw: JsonObject, path: string): HTTPIngressPath {
  const pathType = oneOf(p, raw, 'pathType', path, PATH_TYPES, undefined);
  const value = optString(p, raw, 'path', path) || undefined;
  const valuePath = fieldPath(path, 'path');
  const missing = get(raw, 'path') === undefined || get(raw, 'path') === '';
  if (missing && pathType !== 'ImplementationSpecific' && get(raw, 'pathType') !== undefined) {
    p.required(valuePath, `pathType ${pathType} needs a path`);
  }
  if (value !== undefined) checkFormat(p, valuePath, value, (v) => pathProblem(v, pathType));
  const backend = decodeBackend(p, reqObject(p, raw, 'backend', path), fieldPath(path, 'backend'));
  return { path: value, pathType, backend };
}

function decodeBackend(p: Problems, raw: JsonObject, path: string): IngressBackend {
  if (raw === MISSING) return { service: undefined, resource: undefined };
  const serviceRaw = optObject(p, raw, 'service', path);
  const resourceRaw = optObject(p, raw, 'resource', path);
  if (serviceRaw !== undefined && resourceRaw !== undefined) {
    p.invalid(path, 'cannot set both `service` and `resource` backends');
  } else if (serviceRaw === undefined && resourceRaw === undefined && get(raw, 'service') === undefined && get(raw, 'resource') === undefined) {
    p.required(path, 'one backend (`service` or `resource`) must be specified');
  }
  return {
    service: serviceRaw === undefined ? undefined : decodeServiceBackend(p, serviceRaw, fieldPath(path, 'service')),
    resource: resourceRaw === undefined ? undefined : decodeResource(p, resourceRaw, fieldPath(path, 'resource')),
  };
}

function decodeServiceBackend(p: Problems, raw: JsonObject, path: string): IngressServiceBackend {
  const name = reqString(p, raw, 'name', path);
  if (name !== '') checkFormat(p, fieldPath(path, 'name'), name, dns1035LabelProblem);
  const portPath = fieldPath(path, 'port');
  const port = reqObject(p, raw, 'port', path);
  const number = optInteger(p, port, 'number', portPath);
  const portName = optString(p, port, 'name', portPath) || undefined;
  const hasNumber = get(port, 'number') !== undefined;
  if (hasNumber && portName !== undefined) {
    p.invalid(portPath, 'cannot set both port name and port number');
  } else if (!hasNumber && portName === undefined && get(raw, 'port') !== undefined) {
    p.required(portPath, 'port name or number is required');
  }
  checkPort(p, fieldPath(portPath, 'number'), number);
  checkFormat(p, fieldPath(portPath, 'name'), portName, ianaSvcNameProblem);
  return { name, port: { number, name: portName } };
}

function decodeResource(p: Problems, raw: JsonObject, path: string): TypedLocalObjectReference {
  return {
    apiGroup: optString(p, raw, 'apiGroup', path) || undefined,
    kind: reqString(p, raw, 'kind', path),
    name: reqString(p, raw, 'name', path),
  };
}
