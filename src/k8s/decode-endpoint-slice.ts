// discovery.k8s.io/v1 EndpointSlice: the Pod addresses behind a Service.

import type { Endpoint, EndpointHints, EndpointPort, EndpointSlice } from './objects.ts';
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
  optBoolean,
  optInteger,
  optObject,
  optString,
  reqString,
  stringList,
  type JsonObject,
  type Problems,
} from './decode-fields.ts';
import { decodeMeta } from './decode-meta.ts';
import { PROTOCOLS } from './decode-service.ts';
import { isIPv4, isIPv6 } from './ip-literal.ts';
import { dns1123LabelProblem, dns1123SubdomainProblem, labelValueProblem, qualifiedNameProblem } from './validate-names.ts';

type AddressType = EndpointSlice['addressType'];
const ADDRESS_TYPES: readonly AddressType[] = ['IPv4', 'IPv6', 'FQDN'];

export function decodeEndpointSlice(p: Problems, raw: JsonObject): EndpointSlice {
  const metadata = decodeMeta(p, raw, { namespaced: true, nameFormat: 'dns1123-subdomain' });
  const addressType = oneOf(p, raw, 'addressType', '', ADDRESS_TYPES, undefined);
  const typeKnown = (ADDRESS_TYPES as readonly unknown[]).includes(get(raw, 'addressType'));
  const endpoints = list(p, raw, 'endpoints', '', (v, path) =>
    decodeEndpoint(p, itemObject(p, v, path), path, typeKnown ? addressType : undefined),
  );
  const ports = list(p, raw, 'ports', '', (v, path) => decodePort(p, itemObject(p, v, path), path));
  checkDuplicateNames(p, ports);
  return { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', metadata, addressType, endpoints, ports };
}

function decodeEndpoint(p: Problems, raw: JsonObject, path: string, addressType: AddressType | undefined): Endpoint {
  const addresses = stringList(p, raw, 'addresses', path);
  const addressesPath = fieldPath(path, 'addresses');
  if (raw !== MISSING && addresses.length === 0 && (get(raw, 'addresses') === undefined || Array.isArray(get(raw, 'addresses')))) {
    p.required(addressesPath, 'an endpoint needs at least one address');
  }
  if (addressType !== undefined) {
    addresses.forEach((address, i) => checkFormat(p, indexPath(addressesPath, i), address, (a) => addressProblem(a, addressType)));
  }
  const conditions = optObject(p, raw, 'conditions', path) ?? {};
  const conditionsPath = fieldPath(path, 'conditions');
  const nodeName = optString(p, raw, 'nodeName', path) || undefined;
  checkFormat(p, fieldPath(path, 'nodeName'), nodeName, dns1123SubdomainProblem);
  return {
    addresses,
    conditions: {
      ready: optBoolean(p, conditions, 'ready', conditionsPath),
      serving: optBoolean(p, conditions, 'serving', conditionsPath),
      terminating: optBoolean(p, conditions, 'terminating', conditionsPath),
    },
    nodeName,
    zone: optString(p, raw, 'zone', path) || undefined,
    ...decodeHints(p, raw, path),
  };
}

/** The API server allows at most 8 zone hints per endpoint. */
const MAX_ZONE_HINTS = 8;

/**
 * `hints.forZones[].name`, validated as the API server does (label values,
 * no duplicates, at most 8). `hints.forNodes` is not read: Martello does not
 * know which node it runs on, only (optionally) its zone.
 */
function decodeHints(p: Problems, raw: JsonObject, path: string): { hints?: EndpointHints } {
  const hints = optObject(p, raw, 'hints', path);
  if (hints === undefined) return {};
  const hintsPath = fieldPath(path, 'hints');
  const zonesPath = fieldPath(hintsPath, 'forZones');
  const forZones = list(p, hints, 'forZones', hintsPath, (v, itemPath) => {
    const zone = itemObject(p, v, itemPath);
    if (zone === MISSING) return undefined;
    const name = reqString(p, zone, 'name', itemPath);
    checkFormat(p, fieldPath(itemPath, 'name'), name, labelValueProblem);
    return name;
  });
  if (forZones.length > MAX_ZONE_HINTS) {
    p.add(zonesPath, 'field-too-many', `Too many: ${forZones.length}: must have at most ${MAX_ZONE_HINTS} items`);
  }
  const seen = new Set<string>();
  forZones.forEach((name, i) => {
    if (seen.has(name)) p.add(fieldPath(indexPath(zonesPath, i), 'name'), 'field-duplicate', `Duplicate value: ${JSON.stringify(name)}`);
    seen.add(name);
  });
  return { hints: { forZones } };
}

function addressProblem(address: string, addressType: AddressType): string | undefined {
  if (address === '') return 'must not be empty';
  if (addressType === 'IPv4') return isIPv4(address) ? undefined : 'must be a valid IPv4 address';
  if (addressType === 'IPv6') return isIPv6(address) ? undefined : 'must be a valid IPv6 address';
  return dns1123SubdomainProblem(address);
}

function decodePort(p: Problems, raw: JsonObject, path: string): EndpointPort {
  const name = optString(p, raw, 'name', path) ?? '';
  if (name !== '') checkFormat(p, fieldPath(path, 'name'), name, dns1123LabelProblem);
  const port = optInteger(p, raw, 'port', path);
  checkPort(p, fieldPath(path, 'port'), port);
  const appProtocol = optString(p, raw, 'appProtocol', path);
  checkFormat(p, fieldPath(path, 'appProtocol'), appProtocol, qualifiedNameProblem);
  return { name, port, protocol: oneOf(p, raw, 'protocol', path, PROTOCOLS, 'TCP'), appProtocol };
}

/** Ports are matched to Service ports by name, so a name may appear once (the unnamed "" included). */
function checkDuplicateNames(p: Problems, ports: readonly EndpointPort[]): void {
  const seen = new Set<string>();
  ports.forEach((port, i) => {
    if (seen.has(port.name)) {
      p.add(fieldPath(indexPath('ports', i), 'name'), 'field-duplicate', `Duplicate value: ${JSON.stringify(port.name)}`);
    }
    seen.add(port.name);
  });
}
