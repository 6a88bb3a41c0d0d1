// Round-robin over a fixed endpoint list. The cursor is the only mutable
// state in a compiled route table; it is a plain integer so a pick costs one
// modulo and one array read.

import type { EndpointAddress } from '../../../model/model.ts';
import type { LoadBalancer } from './load-balancer.ts';

export class RoundRobin<E extends EndpointAddress = EndpointAddress> implements LoadBalancer<E> {
  readonly endpoints: readonly E[];
  #cursor: number;

  /**
   * `seed` sets the starting offset, so that many replicas (or many table
   * generations) do not all send their first request to the same endpoint.
   */
  constructor(endpoints: readonly E[], seed = 0) {
    this.endpoints = endpoints;
    const n = endpoints.length;
    this.#cursor = n === 0 ? 0 : ((Math.trunc(seed) % n) + n) % n;
  }

  pick(): E | undefined {
    const list = this.endpoints;
    const n = list.length;
    if (n === 0) return undefined;
    const i = this.#cursor;
    this.#cursor = i + 1 === n ? 0 : i + 1;
    return list[i];
  }
}
