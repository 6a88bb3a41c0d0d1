// The seam between a compiled cluster and how it spreads requests over its
// endpoints. Round-robin is the only policy today; least-request, EWMA or
// consistent hashing (sticky sessions) will implement the same interface and
// must pass the same contract suite (load-balancer.contract.ts).

import type { EndpointAddress } from '../../../model/model.ts';

export interface LoadBalancer<E extends EndpointAddress = EndpointAddress> {
  /** The next endpoint to use; undefined when the cluster has none. */
  pick(): E | undefined;
  /** Every endpoint this balancer can return, in model order. */
  readonly endpoints: readonly E[];
}
