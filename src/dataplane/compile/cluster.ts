// A compiled cluster: the model's Cluster plus a load balancer over
// endpoints that already carry everything the forwarder needs (pool key,
// origin URL), so nothing about an endpoint is formatted per request.

import type { Cluster, EndpointAddress } from '../../model/model.ts';
import type { LoadBalancer } from './lb/load-balancer.ts';
import { RoundRobin } from './lb/round-robin.ts';

export interface UpstreamEndpoint extends EndpointAddress {
  /** "address:port" (IPv6 unbracketed, as in the model): the upstream pool key. */
  readonly key: string;
  /** "http://address:port" with IPv6 in brackets: what an HTTP client dials. */
  readonly origin: string;
}

export interface CompiledCluster {
  readonly id: string;
  /** The model cluster; a synthetic one when a target names a missing cluster. */
  readonly source: Cluster;
  readonly balancer: LoadBalancer<UpstreamEndpoint>;
  /** Why this cluster cannot serve (model problem, or "cluster-not-found"); undefined when it has endpoints. */
  readonly problem: string | undefined;
}

export function endpointKey(e: EndpointAddress): string {
  return `${e.address}:${e.port}`;
}

export function toUpstreamEndpoint(e: EndpointAddress): UpstreamEndpoint {
  const host = e.address.includes(':') ? `[${e.address}]` : e.address;
  return Object.freeze({ address: e.address, port: e.port, key: endpointKey(e), origin: `http://${host}:${e.port}` });
}

export function compileCluster(cluster: Cluster, seed: number): CompiledCluster {
  // A cluster that reports a problem serves nothing even if endpoints were
  // listed: the model says endpoints and problem are exclusive, and 503 is
  // the safe reading of a contradiction.
  const usable = cluster.problem === undefined ? cluster.endpoints : [];
  const endpoints = Object.freeze(usable.map(toUpstreamEndpoint));
  return Object.freeze({
    id: cluster.id,
    source: cluster,
    balancer: new RoundRobin(endpoints, seed),
    problem: cluster.problem ?? (endpoints.length === 0 ? 'no-endpoints' : undefined),
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
