// What Martello writes into status.loadBalancer.ingress of the Ingresses it
// owns: the address clients (and external-dns) should use to reach it.
//
// Two sources, as with other controllers:
//  --publish-status-address A,B,...  static entries, one per item.
//  --publish-service NS/NAME         the Service that exposes Martello:
//     1. its status.loadBalancer.ingress, when it is type LoadBalancer and
//        the cloud has filled it in (ip and hostname are copied; the
//        Service's port statuses are not, they describe the Service);
//     2. else its spec.externalIPs, when it has any;
//     3. else, for type ClusterIP and NodePort only, its clusterIPs (or
//        clusterIP), headless ("None") excepted;
//     4. else, for type ExternalName, its externalName as a hostname;
//     otherwise nothing: a LoadBalancer whose address is still pending
//     publishes nothing rather than an address outside clients cannot reach.
// Each address is validated: an IP literal goes in `ip`, a DNS name in
// `hostname` (a name ending in a numeric label such as "10.0.0.256" is a
// mistyped IP and refused), anything else is refused. Entries are sorted (IPs first, then
// hostnames, each in string order) and de-duplicated, so equal address sets
// compare equal whatever order the sources listed them in. Pure.

import { isIPLiteral } from '../../k8s/ip-literal.ts';
import type { LoadBalancerIngress, Service } from '../../k8s/objects.ts';
import { dns1123LabelProblem, dns1123SubdomainProblem } from '../../k8s/validate-names.ts';

export interface ParsedAddresses {
  readonly entries: LoadBalancerIngress[];
  /** One message per refused item. */
  readonly problems: string[];
}

/** One address as a status entry, or a message saying why it cannot be one. */
export function addressEntry(value: string): LoadBalancerIngress | string {
  const v = value.trim();
  if (v === '') return 'an empty address';
  if (isIPLiteral(v)) return { ip: v };
  const host = v.toLowerCase().replace(/\.$/, '');
  const problem = dns1123SubdomainProblem(host);
  if (problem !== undefined) return `${JSON.stringify(value)} is neither an IP address nor a DNS name: ${problem}`;
  // No top-level domain is numeric: "10.0.0.256" is a mistyped IP, not a name.
  if (/(^|\.)[0-9]+$/.test(host)) return `${JSON.stringify(value)} is neither an IP address nor a DNS name`;
  return { hostname: host };
}

/** `--publish-status-address`: a comma-separated list of IP addresses and DNS names. */
export function parseStatusAddresses(list: string): ParsedAddresses {
  return fromValues(list.split(',').filter((item) => item.trim() !== ''));
}

function fromValues(values: readonly string[]): ParsedAddresses {
  const entries: LoadBalancerIngress[] = [];
  const problems: string[] = [];
  for (const item of values) {
    const entry = addressEntry(item);
    if (typeof entry === 'string') problems.push(entry);
    else entries.push(entry);
  }
  return { entries: normalizeEntries(entries), problems };
}

/** `--publish-service NS/NAME`, each part a DNS label (NAME a DNS-1035 label in practice, checked by the API). */
export function parsePublishService(value: string): { namespace: string; name: string } | string {
  const parts = value.split('/');
  if (parts.length !== 2) return `--publish-service must be NAMESPACE/NAME, got ${JSON.stringify(value)}`;
  const [namespace, name] = parts as [string, string];
  const problem = dns1123LabelProblem(namespace) ?? dns1123LabelProblem(name);
  return problem === undefined ? { namespace, name } : `--publish-service ${JSON.stringify(value)}: ${problem}`;
}

/** The addresses a published Service stands for (rules in the header). */
export function serviceAddresses(svc: Service): ParsedAddresses {
  if (svc.spec.type === 'LoadBalancer') {
    const lb = svc.status.loadBalancer.ingress.flatMap((e) => [e.ip, e.hostname]).filter((v): v is string => v !== undefined);
    if (lb.length > 0) return fromValues(lb);
  }
  if (svc.spec.externalIPs.length > 0) return fromValues(svc.spec.externalIPs);
  if (svc.spec.type === 'ClusterIP' || svc.spec.type === 'NodePort') {
    const ips = svc.spec.clusterIPs.length > 0 ? svc.spec.clusterIPs : svc.spec.clusterIP === undefined ? [] : [svc.spec.clusterIP];
    return fromValues(ips.filter((ip) => ip !== 'None'));
  }
  if (svc.spec.type === 'ExternalName' && svc.spec.externalName !== undefined) return fromValues([svc.spec.externalName]);
  return { entries: [], problems: [] };
}

/** Sorted (IPs before hostnames), de-duplicated, ports sorted: the canonical form used for comparisons. */
export function normalizeEntries(entries: readonly LoadBalancerIngress[]): LoadBalancerIngress[] {
  const byKey = new Map<string, LoadBalancerIngress>();
  for (const e of entries) {
    const canonical = canonicalEntry(e);
    byKey.set(JSON.stringify(canonical), canonical);
  }
  return [...byKey.values()].sort(compareEntries);
}

/** Same addresses, whatever the order or duplicates. */
export function sameEntries(a: readonly LoadBalancerIngress[], b: readonly LoadBalancerIngress[]): boolean {
  return entriesKey(a) === entriesKey(b);
}

/** A string that is equal for equal address sets. */
export function entriesKey(entries: readonly LoadBalancerIngress[]): string {
  return JSON.stringify(normalizeEntries(entries));
}

function canonicalEntry(e: LoadBalancerIngress): LoadBalancerIngress {
  const out: { ip?: string; hostname?: string; ports?: LoadBalancerIngress['ports'] } = {};
  if (e.ip !== undefined) out.ip = e.ip;
  if (e.hostname !== undefined) out.hostname = e.hostname;
  if (e.ports !== undefined && e.ports.length > 0) {
    out.ports = [...e.ports]
      .map((p) => (p.error === undefined ? { port: p.port, protocol: p.protocol } : { port: p.port, protocol: p.protocol, error: p.error }))
      .sort((x, y) => x.port - y.port || cmp(x.protocol, y.protocol));
  }
  return out;
}

function compareEntries(a: LoadBalancerIngress, b: LoadBalancerIngress): number {
  const aIp = a.ip !== undefined ? 0 : 1;
  const bIp = b.ip !== undefined ? 0 : 1;
  return aIp - bIp || cmp(a.ip ?? '', b.ip ?? '') || cmp(a.hostname ?? '', b.hostname ?? '') || cmp(JSON.stringify(a.ports ?? []), JSON.stringify(b.ports ?? []));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
