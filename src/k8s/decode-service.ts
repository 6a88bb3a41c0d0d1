// v1 Service: the ports an Ingress backend refers to, by number or by name.

import type { Service, ServicePort } from './objects.ts';
import {
  checkFormat,
  checkPort,
  fieldPath,
  get,
  indexPath,
  itemObject,
  list,
  MISSING,
  oneOf,
  optInteger,
  optObject,
  optString,
  stringList,
  type JsonObject,
  type Problems,
} from './decode-fields.ts';
import { decodeLoadBalancerStatus } from './decode-ingress.ts';
import { decodeMeta } from './decode-meta.ts';
import { isIPLiteral } from './ip-literal.ts';
import { dns1123LabelProblem, dns1123SubdomainProblem, ianaSvcNameProblem, qualifiedNameProblem } from './validate-names.ts';

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

export function decodeService(p: Problems, raw: JsonObject): Service {
  const metadata = decodeMeta(p, raw, { namespaced: true, nameFormat: 'dns1035-label' });
  // A missing spec reads as an empty one: the port rule below then reports what is missing.
  const spec = optObject(p, raw, 'spec', '') ?? {};
  const type = oneOf(p, spec, 'type', 'spec', SERVICE_TYPES, 'ClusterIP');
  const ports = list(p, spec, 'ports', 'spec', (v, path) => decodePort(p, itemObject(p, v, path), path));
  checkPorts(p, ports, spec, type);
  const externalName = optString(p, spec, 'externalName', 'spec') || undefined;
  if (type === 'ExternalName') {
    if (externalName === undefined) p.required('spec.externalName');
    // A trailing dot (fully qualified) is allowed, as in DNS.
    checkFormat(p, 'spec.externalName', externalName?.replace(/\.$/, ''), dns1123SubdomainProblem);
  }
  const clusterIP = optString(p, spec, 'clusterIP', 'spec') || undefined;
  checkFormat(p, 'spec.clusterIP', clusterIP, clusterIPProblem);
  const clusterIPs = stringList(p, spec, 'clusterIPs', 'spec');
  clusterIPs.forEach((ip, i) => checkFormat(p, indexPath('spec.clusterIPs', i), ip, clusterIPProblem));
  const externalIPs = stringList(p, spec, 'externalIPs', 'spec');
  externalIPs.forEach((ip, i) => checkFormat(p, indexPath('spec.externalIPs', i), ip, ipProblem));
  return {
    kind: 'Service',
    apiVersion: 'v1',
    metadata,
    spec: { type, ports, externalName, clusterIP, clusterIPs, externalIPs },
    status: decodeLoadBalancerStatus(raw),
  };
}

function ipProblem(value: string): string | undefined {
  return isIPLiteral(value) ? undefined : 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';
}

/** A cluster IP, or "None" for a headless Service. */
function clusterIPProblem(value: string): string | undefined {
  return value === 'None' ? undefined : ipProblem(value);
}

function decodePort(p: Problems, raw: JsonObject, path: string): ServicePort {
  const name = optString(p, raw, 'name', path) || undefined;
  checkFormat(p, fieldPath(path, 'name'), name, dns1123LabelProblem);
  const port = optInteger(p, raw, 'port', path);
  if (get(raw, 'port') === undefined && raw !== MISSING) p.required(fieldPath(path, 'port'));
  checkPort(p, fieldPath(path, 'port'), port);
  const appProtocol = optString(p, raw, 'appProtocol', path);
  checkFormat(p, fieldPath(path, 'appProtocol'), appProtocol, qualifiedNameProblem);
  return {
    name,
    port: port ?? 0,
    targetPort: decodeTargetPort(p, raw, path),
    protocol: oneOf(p, raw, 'protocol', path, PROTOCOLS, 'TCP'),
    appProtocol,
  };
}

/** An "int-or-string": a port number or the name of a container port. */
function decodeTargetPort(p: Problems, raw: JsonObject, path: string): number | string | undefined {
  const value = get(raw, 'targetPort');
  const target = fieldPath(path, 'targetPort');
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    checkFormat(p, target, value, ianaSvcNameProblem);
    return value;
  }
  if (typeof value === 'number' && Number.isSafeInteger(value)) {
    checkPort(p, target, value);
    return value;
  }
  p.wrongType(target, 'a port number or a port name', value);
  return undefined;
}

function checkPorts(p: Problems, ports: readonly ServicePort[], spec: JsonObject, type: Service['spec']['type']): void {
  const headless = get(spec, 'clusterIP') === 'None';
  const rawPorts = get(spec, 'ports');
  // Only headless and ExternalName Services may have no ports (a wrong type is reported by the list reader).
  if (ports.length === 0 && type !== 'ExternalName' && !headless && (rawPorts === undefined || Array.isArray(rawPorts))) {
    p.required('spec.ports');
  }
  const names = new Set<string>();
  const numbers = new Set<string>();
  ports.forEach((port, i) => {
    const path = indexPath('spec.ports', i);
    if (port.name === undefined && ports.length > 1) {
      p.required(fieldPath(path, 'name'), 'every port needs a name when a Service has more than one');
    } else if (port.name !== undefined) {
      if (names.has(port.name)) p.add(fieldPath(path, 'name'), 'field-duplicate', `Duplicate value: ${JSON.stringify(port.name)}`);
      names.add(port.name);
    }
    const key = `${port.port}/${port.protocol}`;
    if (port.port !== 0 && numbers.has(key)) p.add(path, 'field-duplicate', `Duplicate value: port ${port.port} with protocol ${port.protocol}`);
    numbers.add(key);
  });
}
