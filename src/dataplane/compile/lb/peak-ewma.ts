// Peak-EWMA, the latency-aware balancer of Finagle and Linkerd (ingress-nginx
// calls it "ewma"): each endpoint keeps an exponentially weighted moving
// average of its response latency that jumps up at once to a higher sample
// (the "peak") and decays towards lower ones with time constant `decayMs`.
// A pick draws two endpoints at random (as least-request does) and takes the
// one with the lower cost = average latency × (requests in flight + 1).
//
// - The average also decays towards zero while an endpoint is not used, so a
//   slow endpoint is tried again after a while instead of being starved forever.
// - An endpoint with no sample yet costs 0 while idle (new endpoints get
//   traffic and thereby a measurement) and a large penalty once it has a
//   request in flight, so a burst does not all land on it.
// - A failure (ok = false) counts as at least FAILURE_PENALTY_MS of latency:
//   an endpoint that fails fast must not look fast.

import type { EndpointAddress } from '../../../model/model.ts';
import { indexOf, loadsFor, type BalancerOptions, type EndpointLoad } from './endpoint-load.ts';
import type { LoadBalancer, PickContext } from './load-balancer.ts';
import { Rng } from './rng.ts';
import { Sampler } from './two-choices.ts';

/** Latency charged for a failed request, when it failed faster than this. */
export const FAILURE_PENALTY_MS = 1000;

/** Cost of a busy endpoint that has no latency sample yet (Finagle uses a similar large constant). */
const UNMEASURED_PENALTY = 1e9;

export class PeakEwma<E extends EndpointAddress = EndpointAddress> implements LoadBalancer<E> {
  readonly endpoints: readonly E[];
  readonly #loads: readonly EndpointLoad[];
  readonly #index: ReadonlyMap<E, number>;
  readonly #sampler: Sampler<E>;
  readonly #decayMs: number;
  readonly #now: () => number;

  constructor(endpoints: readonly E[], decayMs: number, options: BalancerOptions = {}) {
    this.endpoints = endpoints;
    this.#loads = loadsFor(endpoints.length, options.loads);
    this.#index = indexOf(endpoints);
    this.#sampler = new Sampler(endpoints, new Rng(options.seed ?? 0));
    this.#decayMs = decayMs > 0 ? decayMs : 1;
    this.#now = options.now ?? Date.now;
  }

  pick(ctx?: PickContext<E>): E | undefined {
    const exclude = ctx?.exclude;
    const a = this.#sampler.drawAllowed(exclude, -1);
    if (a === -1) return undefined;
    const b = this.#sampler.drawAllowed(exclude, a);
    if (b === -1) return this.endpoints[a];
    const now = this.#now();
    return this.endpoints[this.#cost(b, now) < this.#cost(a, now) ? b : a];
  }

  #cost(i: number, now: number): number {
    const load = this.#loads[i]!;
    const latency = this.#decayed(load, now);
    if (latency === 0) return load.active === 0 ? 0 : UNMEASURED_PENALTY + load.active;
    return latency * (load.active + 1);
  }

  #decayed(load: EndpointLoad, now: number): number {
    if (load.ewmaMs === 0) return 0;
    const elapsed = now - load.stampMs;
    return elapsed <= 0 ? load.ewmaMs : load.ewmaMs * Math.exp(-elapsed / this.#decayMs);
  }

  onStart(endpoint: E): void {
    const i = this.#index.get(endpoint);
    if (i !== undefined) this.#loads[i]!.active++;
  }

  onEnd(endpoint: E, latencyMs: number, ok: boolean): void {
    const i = this.#index.get(endpoint);
    if (i === undefined) return;
    const load = this.#loads[i]!;
    if (load.active > 0) load.active--;
    let sample = Number.isFinite(latencyMs) && latencyMs > 0 ? latencyMs : 0;
    if (!ok && sample < FAILURE_PENALTY_MS) sample = FAILURE_PENALTY_MS;
    const now = this.#now();
    if (sample > load.ewmaMs) {
      load.ewmaMs = sample; // the peak: react to a slow-down at once
    } else {
      const elapsed = Math.max(0, now - load.stampMs);
      const w = Math.exp(-elapsed / this.#decayMs);
      load.ewmaMs = load.ewmaMs * w + sample * (1 - w);
    }
    // A zero average means "never measured"; keep a measured endpoint measured.
    if (load.ewmaMs === 0) load.ewmaMs = Number.MIN_VALUE;
    load.stampMs = now;
  }

  /** The current (decayed) average of an endpoint, for tests and views. */
  latencyOf(endpoint: E): number | undefined {
    const i = this.#index.get(endpoint);
    return i === undefined ? undefined : this.#decayed(this.#loads[i]!, this.#now());
  }
}
