// One cluster's endpoint selection: the balancing algorithm its policy names,
// with cookie affinity on top when the cluster has it. This is the object the
// data path talks to (CompiledCluster.balancer):
//
//   select(ctx, selection)        once per attempt; selection.endpoint is where
//                                 to send (undefined: 503), selection.setCookie a
//                                 Set-Cookie value to add to the response
//   onStart(endpoint)             when the request is sent to the endpoint
//   onEnd(endpoint, latencyMs, ok) when its response headers arrived or it failed
//
// pick(ctx?) remains for callers without affinity handling: it selects and
// drops any cookie decision.

import type { AffinityPolicy, EndpointAddress, LoadBalancingPolicy } from '../../../model/model.ts';
import type { BalancerOptions } from './endpoint-load.ts';
import { endpointIds } from './endpoint-id.ts';
import { HashBalancer } from './hash-balancer.ts';
import { LeastRequest } from './least-request.ts';
import type { LoadBalancer, PickContext } from './load-balancer.ts';
import { PeakEwma } from './peak-ewma.ts';
import { RoundRobin } from './round-robin.ts';
import { StickySessions, type Selection } from './sticky-sessions.ts';

export interface ClusterBalancerOptions extends BalancerOptions {
  /** "namespace/name" of the Service: keys the stable endpoint identifiers. */
  readonly service: string;
}

export class ClusterBalancer<E extends EndpointAddress = EndpointAddress> implements LoadBalancer<E> {
  readonly endpoints: readonly E[];
  /** The algorithm alone (places new sessions when there is affinity). */
  readonly algorithm: LoadBalancer<E>;
  readonly sticky: StickySessions<E> | undefined;
  /** select() reads the request (a hash key, the affinity cookie): build a PickContext; else pick() suffices. */
  readonly needsRequest: boolean;
  readonly #scratch: Selection<E> = { endpoint: undefined, setCookie: undefined };

  constructor(endpoints: readonly E[], policy: LoadBalancingPolicy | undefined, affinity: AffinityPolicy | undefined, options: ClusterBalancerOptions) {
    this.endpoints = endpoints;
    const needIds = affinity !== undefined || policy?.kind === 'hash';
    const ids = needIds ? endpointIds(options.service, endpoints) : [];
    this.algorithm = createAlgorithm(endpoints, ids, policy, options);
    this.sticky = affinity === undefined ? undefined : new StickySessions(endpoints, ids, affinity, this.algorithm, options);
    this.needsRequest = needIds;
  }

  select(ctx: PickContext<E> | undefined, out: Selection<E>): E | undefined {
    const sticky = this.sticky;
    if (sticky !== undefined) return sticky.select(ctx, out);
    out.setCookie = undefined;
    return (out.endpoint = this.algorithm.pick(ctx));
  }

  pick(ctx?: PickContext<E>): E | undefined {
    return this.select(ctx, this.#scratch);
  }

  onStart(endpoint: E): void {
    this.algorithm.onStart(endpoint);
  }

  onEnd(endpoint: E, latencyMs: number, ok: boolean): void {
    this.algorithm.onEnd(endpoint, latencyMs, ok);
  }
}

export function createAlgorithm<E extends EndpointAddress>(
  endpoints: readonly E[],
  ids: readonly string[],
  policy: LoadBalancingPolicy | undefined,
  options: BalancerOptions,
): LoadBalancer<E> {
  switch (policy?.kind) {
    case undefined:
    case 'round-robin':
      return new RoundRobin(endpoints, options);
    case 'least-request':
      return new LeastRequest(endpoints, options);
    case 'peak-ewma':
      return new PeakEwma(endpoints, policy.decayMs, options);
    case 'hash':
      return new HashBalancer(endpoints, ids, policy.key, policy.table, options);
  }
}
