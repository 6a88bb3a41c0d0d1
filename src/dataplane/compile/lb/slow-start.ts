// Slow start, after Envoy's slow_start_config: an endpoint that joined a
// cluster less than `window` ago gets only part of its share, its weight
// scaled by max(minWeightPercent / 100, timeFactor^(1/aggression)) with
// timeFactor = max(age, 1 s) / window, so a Pod that just became ready (cold
// caches, a JIT still warming up) is not handed a full share at once. See
// docs/load-balancing.md, "Slow start".
//
// Applied as an adapter around round-robin or least-request (the balancers
// Envoy applies it to) rather than inside them: SlowStart.pick asks the
// inner balancer for an endpoint and keeps a ramping one only with
// probability factor, else asks again. Round-robin then moves on to the next
// endpoint, so a ramping endpoint gets factor × its share exactly in
// expectation; least-request's two random choices get it approximately. The
// inner balancers, their weights and their contract stay as they are, and
// once every endpoint is past its window the adapter costs one branch.
//
// Join times live in a SlowStartRegistry (by cluster id and endpoint key,
// across table swaps); the endpoints of a cluster seen for the first time
// count as long established, so a restart of Martello ramps nobody.

import type { EndpointAddress } from '../../../model/model.ts';
import type { Clock, LoadBalancer, PickContext } from './load-balancer.ts';
import { Rng } from './rng.ts';

export interface SlowStartConfig {
  /** How long a new endpoint ramps up; 0: no slow start. */
  readonly windowMs: number;
  /** 1: linear; above 1 ramps faster early on, below 1 slower (Envoy's aggression, default 1). */
  readonly aggression: number;
  /** The least share of its weight a ramping endpoint gets, in percent (Envoy's min_weight_percent, default 10). */
  readonly minWeightPercent: number;
}

/**
 * Martello's default: a 30 s ramp, linear, from 10 %. Envoy has no default
 * window (slow start is off unless configured); the issue asks for slow
 * start, and 30 s covers the usual warm-up without delaying a scale-up much.
 */
export const DEFAULT_SLOW_START_CONFIG: SlowStartConfig = Object.freeze({ windowMs: 30_000, aggression: 1, minWeightPercent: 10 });

/** The share of its weight an endpoint `ageMs` old gets: in (0, 1], 1 once past the window. */
export function slowStartFactor(ageMs: number, config: SlowStartConfig): number {
  const window = config.windowMs;
  if (!(window > 0) || !(ageMs < window)) return 1;
  const timeFactor = Math.max(ageMs, 1000) / window;
  const aggression = config.aggression > 0 ? config.aggression : 1;
  const ramp = aggression === 1 ? timeFactor : timeFactor ** (1 / aggression);
  const floor = Math.min(1, Math.max(0, config.minWeightPercent) / 100);
  return Math.min(1, Math.max(floor, ramp));
}

/** weight × slowStartFactor(age): the effective weight Envoy's formula gives. */
export function effectiveWeight(weight: number, ageMs: number, config: SlowStartConfig): number {
  return weight * slowStartFactor(ageMs, config);
}

/** How often the adapter asks the inner balancer again before it keeps what it got. */
const MAX_ASKS = 8;

export interface SlowStartOptions {
  readonly now?: Clock;
  readonly seed?: number;
}

/**
 * A balancer that ramps endpoints up: `joinedAt[i]` is when the inner
 * balancer's endpoint i joined the cluster (-Infinity: long established).
 */
export class SlowStart<E extends EndpointAddress = EndpointAddress> implements LoadBalancer<E> {
  readonly endpoints: readonly E[];
  readonly inner: LoadBalancer<E>;
  readonly #joinedAt: readonly number[];
  readonly #index: ReadonlyMap<E, number>;
  readonly #config: SlowStartConfig;
  readonly #now: Clock;
  readonly #rng: Rng;
  /** When the last ramp ends; after that picks go straight to the inner balancer. */
  readonly #rampEnd: number;
  #ramping: boolean;

  constructor(inner: LoadBalancer<E>, joinedAt: readonly number[], config: SlowStartConfig = DEFAULT_SLOW_START_CONFIG, options: SlowStartOptions = {}) {
    this.inner = inner;
    this.endpoints = inner.endpoints;
    this.#joinedAt = joinedAt.length === inner.endpoints.length ? joinedAt : inner.endpoints.map(() => -Infinity);
    this.#config = config;
    this.#now = options.now ?? Date.now;
    this.#rng = new Rng(options.seed ?? 0);
    const index = new Map<E, number>();
    inner.endpoints.forEach((e, i) => {
      if (!index.has(e)) index.set(e, i);
    });
    this.#index = index;
    let latest = -Infinity;
    for (const t of this.#joinedAt) if (t > latest) latest = t;
    this.#rampEnd = config.windowMs > 0 ? latest + config.windowMs : -Infinity;
    this.#ramping = this.#rampEnd > -Infinity;
  }

  /** Whether any endpoint may still be ramping (false: the adapter only forwards). */
  get ramping(): boolean {
    return this.#ramping;
  }

  /** Endpoint `e`'s current share of its weight (1 when not ramping or unknown). */
  factor(e: E, now: number = this.#now()): number {
    const i = this.#index.get(e);
    return i === undefined ? 1 : slowStartFactor(now - this.#joinedAt[i]!, this.#config);
  }

  pick(ctx?: PickContext<E>): E | undefined {
    if (!this.#ramping) return this.inner.pick(ctx);
    const now = this.#now();
    if (now >= this.#rampEnd) {
      this.#ramping = false;
      return this.inner.pick(ctx);
    }
    let e: E | undefined;
    for (let ask = 0; ask < MAX_ASKS; ask++) {
      e = this.inner.pick(ctx);
      if (e === undefined) return undefined;
      const i = this.#index.get(e);
      if (i === undefined) return e;
      const f = slowStartFactor(now - this.#joinedAt[i]!, this.#config);
      if (f >= 1 || this.#rng.next() / 0x1_0000_0000 < f) return e;
    }
    return e;
  }

  onStart(endpoint: E): void {
    this.inner.onStart(endpoint);
  }

  onEnd(endpoint: E, latencyMs: number, ok: boolean): void {
    this.inner.onEnd(endpoint, latencyMs, ok);
  }
}

/**
 * When each endpoint joined its cluster, by cluster id and endpoint key,
 * across compiles. The owner calls retain(table.clusters.keys()) after a swap.
 */
export class SlowStartRegistry {
  readonly #clusters = new Map<string, Map<string, number>>();

  /**
   * Join times parallel to `keys`, noting `now` for keys new to the cluster.
   * A cluster seen for the first time has all its endpoints established
   * (-Infinity); keys that left the cluster are forgotten (a returning Pod
   * ramps again).
   */
  joinTimes(clusterId: string, keys: readonly string[], now: number): number[] {
    const known = this.#clusters.get(clusterId);
    const next = new Map<string, number>();
    const out = keys.map((key) => {
      const t = known === undefined ? -Infinity : (known.get(key) ?? next.get(key) ?? now);
      next.set(key, t);
      return t;
    });
    this.#clusters.set(clusterId, next);
    return out;
  }

  /** Forgets every cluster whose id is not in `clusterIds`. */
  retain(clusterIds: Iterable<string>): void {
    const keep = new Set(clusterIds);
    for (const id of this.#clusters.keys()) if (!keep.has(id)) this.#clusters.delete(id);
  }

  get size(): number {
    return this.#clusters.size;
  }
}
