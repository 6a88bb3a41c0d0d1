// Least-request with the power of two choices, Envoy's default balancer:
// draw two endpoints at random and send to the one with fewer requests in
// flight (per weight, when weights differ). Nearly as good as scanning all
// endpoints, O(1), and it never herds every new request onto the one
// endpoint that just became idle, which a full "least connections" scan does
// when many proxies share endpoints. Ties go to the first draw.
// In-flight counts come from the data path's onStart/onEnd.

import type { EndpointAddress } from '../../../model/model.ts';
import { indexOf, loadsFor, type BalancerOptions, type EndpointLoad } from './endpoint-load.ts';
import { weightOf, type LoadBalancer, type PickContext } from './load-balancer.ts';
import { Rng } from './rng.ts';
import { Sampler } from './two-choices.ts';

export class LeastRequest<E extends EndpointAddress = EndpointAddress> implements LoadBalancer<E> {
  readonly endpoints: readonly E[];
  readonly #loads: readonly EndpointLoad[];
  readonly #weights: Float64Array;
  readonly #index: ReadonlyMap<E, number>;
  readonly #sampler: Sampler<E>;

  constructor(endpoints: readonly E[], options: BalancerOptions = {}) {
    this.endpoints = endpoints;
    this.#loads = loadsFor(endpoints.length, options.loads);
    this.#weights = Float64Array.from(endpoints, weightOf);
    this.#index = indexOf(endpoints);
    this.#sampler = new Sampler(endpoints, new Rng(options.seed ?? 0));
  }

  pick(ctx?: PickContext<E>): E | undefined {
    const exclude = ctx?.exclude;
    const a = this.#sampler.drawAllowed(exclude, -1);
    if (a === -1) return undefined;
    const b = this.#sampler.drawAllowed(exclude, a);
    if (b === -1) return this.endpoints[a];
    const loads = this.#loads;
    const w = this.#weights;
    // (active + 1) / weight: Envoy's effective weight with an active-request bias of 1, inverted.
    const costA = (loads[a]!.active + 1) / w[a]!;
    const costB = (loads[b]!.active + 1) / w[b]!;
    return this.endpoints[costB < costA ? b : a];
  }

  onStart(endpoint: E): void {
    const i = this.#index.get(endpoint);
    if (i !== undefined) this.#loads[i]!.active++;
  }

  onEnd(endpoint: E, _latencyMs: number, _ok: boolean): void {
    const i = this.#index.get(endpoint);
    if (i !== undefined) {
      const load = this.#loads[i]!;
      if (load.active > 0) load.active--;
    }
  }
}
