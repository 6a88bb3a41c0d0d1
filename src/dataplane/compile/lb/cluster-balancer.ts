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
//
// Endpoint health (endpoint-health.ts) sits in front of the algorithm: every
// select leaves out the endpoints outlier detection ejected or active health
// checks failed, together with ctx.exclude (the endpoints a retry already
// tried); when that leaves nothing, it selects as if all were healthy
// (panic routing). onEnd reports each attempt's outcome to outlier
// detection. Slow start wraps round-robin and least-request (slow-start.ts).

import type { AffinityPolicy, EndpointAddress, LoadBalancingPolicy } from '../../../model/model.ts';
import type { BalancerOptions } from './endpoint-load.ts';
import { ATTEMPT_LOCAL_FAILURE, ATTEMPT_OK, type EndpointHealth } from './endpoint-health.ts';
import { endpointIds } from './endpoint-id.ts';
import { HashBalancer } from './hash-balancer.ts';
import { LeastRequest } from './least-request.ts';
import type { LoadBalancer, PickContext } from './load-balancer.ts';
import type { AttemptResult, EjectionReason } from './outlier.ts';
import { PeakEwma } from './peak-ewma.ts';
import { mergeExclusions } from './retry.ts';
import { RoundRobin } from './round-robin.ts';
import { SlowStart, type SlowStartConfig } from './slow-start.ts';
import { StickySessions, type Selection } from './sticky-sessions.ts';

export interface ClusterBalancerOptions<E = EndpointAddress> extends BalancerOptions {
  /** "namespace/name" of the Service: keys the stable endpoint identifiers. */
  readonly service: string;
  /** Outlier ejections and active health of these endpoints; absent: every endpoint counts as healthy. */
  readonly health?: EndpointHealth<E>;
  /** Told of every ejection outlier detection makes (metrics). */
  readonly onEjection?: (endpoint: E, reason: EjectionReason) => void;
  /** Slow start: when each endpoint joined (parallel to the endpoints) and the ramp; applied to round-robin and least-request without affinity. */
  readonly slowStart?: { readonly joinedAt: readonly number[]; readonly config: SlowStartConfig };
}

/** A PickContext with another exclude set: reused by one balancer (picks are synchronous). */
class ExcludingContext<E extends EndpointAddress> implements PickContext<E> {
  inner: PickContext<E> | undefined = undefined;
  exclude: ReadonlySet<E> | undefined = undefined;

  get clientAddress(): string {
    return this.inner?.clientAddress ?? '';
  }

  get uri(): string {
    return this.inner?.uri ?? '';
  }

  get encrypted(): boolean {
    return this.inner?.encrypted ?? false;
  }

  header(name: string): string | undefined {
    return this.inner?.header(name);
  }
}

export class ClusterBalancer<E extends EndpointAddress = EndpointAddress> implements LoadBalancer<E> {
  readonly endpoints: readonly E[];
  /** The algorithm alone (places new sessions when there is affinity). */
  readonly algorithm: LoadBalancer<E>;
  readonly sticky: StickySessions<E> | undefined;
  /** select() reads the request (a hash key, the affinity cookie): build a PickContext; else pick() suffices. */
  readonly needsRequest: boolean;
  /** Outlier ejections and active health; undefined when neither applies. */
  readonly health: EndpointHealth<E> | undefined;
  readonly #scratch: Selection<E> = { endpoint: undefined, setCookie: undefined };
  readonly #ctx = new ExcludingContext<E>();
  readonly #now: () => number;
  readonly #onEjection: ((endpoint: E, reason: EjectionReason) => void) | undefined;

  constructor(endpoints: readonly E[], policy: LoadBalancingPolicy | undefined, affinity: AffinityPolicy | undefined, options: ClusterBalancerOptions<E>) {
    this.endpoints = endpoints;
    const needIds = affinity !== undefined || policy?.kind === 'hash';
    const ids = needIds ? endpointIds(options.service, endpoints) : [];
    let algorithm = createAlgorithm(endpoints, ids, policy, options);
    const ramp = options.slowStart;
    const kind = policy?.kind ?? 'round-robin';
    // Hashing and affinity never ramp: their keys must land on the same endpoint everywhere.
    if (ramp !== undefined && affinity === undefined && (kind === 'round-robin' || kind === 'least-request')) {
      algorithm = new SlowStart(algorithm, ramp.joinedAt, ramp.config, {
        ...(options.now === undefined ? {} : { now: options.now }),
        ...(options.seed === undefined ? {} : { seed: options.seed ^ 0x5eed }),
      });
    }
    this.algorithm = algorithm;
    this.health = options.health;
    this.#now = options.now ?? Date.now;
    this.#onEjection = options.onEjection;
    this.sticky = affinity === undefined ? undefined : new StickySessions(endpoints, ids, affinity, this.algorithm, options);
    this.needsRequest = needIds;
  }

  select(ctx: PickContext<E> | undefined, out: Selection<E>): E | undefined {
    const health = this.health;
    if (health !== undefined) {
      const bad = health.excluded(this.#now());
      if (bad.size > 0) {
        const scratch = this.#ctx;
        scratch.inner = ctx;
        scratch.exclude = mergeExclusions(ctx?.exclude, bad);
        const e = this.#select(scratch, out);
        scratch.inner = undefined;
        if (e !== undefined) return e;
        // Panic routing: nothing healthy is left (or untried): better a suspect endpoint than a certain 503.
      }
    }
    return this.#select(ctx, out);
  }

  #select(ctx: PickContext<E> | undefined, out: Selection<E>): E | undefined {
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

  /**
   * The attempt to `endpoint` ended. `result` tells outlier detection what
   * happened (a status, a connect failure); absent, `ok` decides (a failure
   * without status counts as a gateway error); null: not the endpoint's
   * doing (the client went away), so outlier detection hears nothing.
   */
  onEnd(endpoint: E, latencyMs: number, ok: boolean, result?: AttemptResult | null): void {
    this.algorithm.onEnd(endpoint, latencyMs, ok);
    const health = this.health;
    if (health === undefined || health.detector === undefined || result === null) return;
    const reason = health.onResult(endpoint, result ?? (ok ? ATTEMPT_OK : ATTEMPT_LOCAL_FAILURE), this.#now());
    if (reason !== undefined) this.#onEjection?.(endpoint, reason);
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
