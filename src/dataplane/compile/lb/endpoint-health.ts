// Which endpoints of a cluster are left out of balancing right now: those
// passive outlier detection ejected (outlier.ts) and those active health
// checks found unhealthy (ActiveHealthRegistry, written by the runtime's
// health checker). ClusterBalancer asks excluded(now) once per pick and
// merges it with the endpoints a request already tried; when nothing is
// left it picks without it (panic routing: a suspect endpoint beats a
// certain 503). Pure: the clock comes in with every call. See
// docs/load-balancing.md, "Outlier detection" and "Active health checks".

import type { OutlierPolicy } from '../../../model/model.ts';
import { DEFAULT_OUTLIER_CONFIG, type AttemptResult, type EjectionReason, type OutlierConfig, type OutlierDetector } from './outlier.ts';

/** An endpoint's active health: not checked yet, passing, failing. */
export type ActiveState = 'pending' | 'healthy' | 'unhealthy';

/** One endpoint's active health check state, shared by every table that has the endpoint. */
export interface ActiveRecord {
  state: ActiveState;
  /** Consecutive passes (while not healthy) or failures (while healthy). */
  streak: number;
}

/** One cluster's active health state. */
export interface ClusterActiveHealth {
  readonly records: Map<string, ActiveRecord>;
  /** Goes up whenever an endpoint's state changes, so cached excluded sets know to rebuild. */
  version: number;
}

export interface HealthThresholds {
  /** Consecutive passes that make an unhealthy endpoint healthy. */
  readonly healthyThreshold: number;
  /** Consecutive failures that make a healthy endpoint unhealthy. */
  readonly unhealthyThreshold: number;
}

/**
 * Active health state by cluster id and endpoint key, across compiles. The
 * health checker reports results; compiles read views. Envoy's rules: an
 * endpoint starts pending (left out while others are healthy) and its first
 * check decides at once (the thresholds apply from then on).
 */
export class ActiveHealthRegistry {
  readonly #clusters = new Map<string, ClusterActiveHealth>();

  /** The records of `keys` in cluster `clusterId` (new keys pending); keys that left the cluster are forgotten. */
  cluster(clusterId: string, keys: readonly string[]): { readonly cluster: ClusterActiveHealth; readonly records: readonly ActiveRecord[] } {
    let cluster = this.#clusters.get(clusterId);
    if (cluster === undefined) {
      cluster = { records: new Map(), version: 0 };
      this.#clusters.set(clusterId, cluster);
    }
    const wanted = new Set(keys);
    for (const key of cluster.records.keys()) if (!wanted.has(key)) cluster.records.delete(key);
    const c = cluster;
    const records = keys.map((key) => {
      let r = c.records.get(key);
      if (r === undefined) {
        r = { state: 'pending', streak: 0 };
        c.records.set(key, r);
      }
      return r;
    });
    return { cluster, records };
  }

  /** One check's outcome; returns the endpoint's new state when it changed, else undefined. */
  report(clusterId: string, key: string, passed: boolean, thresholds: HealthThresholds): ActiveState | undefined {
    const cluster = this.#clusters.get(clusterId);
    const r = cluster?.records.get(key);
    if (cluster === undefined || r === undefined) return undefined;
    let next: ActiveState | undefined;
    if (r.state === 'pending') {
      next = passed ? 'healthy' : 'unhealthy';
      r.streak = 0;
    } else if (r.state === 'healthy') {
      r.streak = passed ? 0 : r.streak + 1;
      if (r.streak >= Math.max(1, thresholds.unhealthyThreshold)) next = 'unhealthy';
    } else {
      r.streak = passed ? r.streak + 1 : 0;
      if (r.streak >= Math.max(1, thresholds.healthyThreshold)) next = 'healthy';
    }
    if (next === undefined) return undefined;
    r.state = next;
    r.streak = 0;
    cluster.version++;
    return next;
  }

  state(clusterId: string, key: string): ActiveState | undefined {
    return this.#clusters.get(clusterId)?.records.get(key)?.state;
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

const EMPTY: ReadonlySet<never> = new Set();

/** One compiled cluster's view of its endpoints' health: outlier ejections and active checks together. */
export class EndpointHealth<E> {
  readonly endpoints: readonly E[];
  readonly detector: OutlierDetector<E> | undefined;
  readonly #active: ClusterActiveHealth | undefined;
  readonly #activeRecords: readonly ActiveRecord[];
  #excluded: ReadonlySet<E> = EMPTY;
  #fromEjected: ReadonlySet<E> | undefined;
  #fromVersion = -1;

  constructor(endpoints: readonly E[], detector: OutlierDetector<E> | undefined, active?: { readonly cluster: ClusterActiveHealth; readonly records: readonly ActiveRecord[] }) {
    this.endpoints = endpoints;
    this.detector = detector;
    this.#active = active?.cluster;
    this.#activeRecords = active !== undefined && active.records.length === endpoints.length ? active.records : [];
  }

  /**
   * The endpoints to leave out at `now`: ejected or not (yet) passing their
   * health checks. The same set object until that changes; never modified
   * once returned.
   */
  excluded(now: number): ReadonlySet<E> {
    const ejected = this.detector?.ejected(now) ?? EMPTY;
    const active = this.#active;
    if (active === undefined) return ejected;
    if (ejected === this.#fromEjected && active.version === this.#fromVersion) return this.#excluded;
    let set: Set<E> | undefined;
    const records = this.#activeRecords;
    for (let i = 0; i < records.length; i++) {
      if (records[i]!.state !== 'healthy') (set ??= new Set(ejected)).add(this.endpoints[i]!);
    }
    this.#excluded = set ?? ejected;
    this.#fromEjected = ejected;
    this.#fromVersion = active.version;
    return this.#excluded;
  }

  /** How many endpoints active checks leave out (pending or unhealthy). */
  get unhealthyCount(): number {
    let n = 0;
    for (const r of this.#activeRecords) if (r.state !== 'healthy') n++;
    return n;
  }

  /** One attempt's outcome, for outlier detection; the reason when it ejected the endpoint. */
  onResult(endpoint: E, result: AttemptResult, now: number): EjectionReason | undefined {
    return this.detector?.onResult(endpoint, result, now);
  }
}

/** Outcomes without a status, shared (reporting one allocates nothing). */
export const ATTEMPT_OK: AttemptResult = Object.freeze({ ok: true, connectFailure: false });
/** No usable response: a reset, a timeout, a malformed head (counts as a gateway error). */
export const ATTEMPT_LOCAL_FAILURE: AttemptResult = Object.freeze({ ok: false, connectFailure: false });
export const ATTEMPT_CONNECT_FAILURE: AttemptResult = Object.freeze({ ok: false, connectFailure: true });

const BY_5XX: readonly AttemptResult[] = Array.from({ length: 100 }, (_, i) => Object.freeze({ ok: false, connectFailure: false, status: 500 + i }));

/** The outcome of an attempt the endpoint answered with `status` (below 500: ok). */
export function attemptOfStatus(status: number): AttemptResult {
  return status >= 500 && status <= 599 ? BY_5XX[status - 500]! : ATTEMPT_OK;
}

/**
 * The detector settings of a cluster's policy: `consecutiveErrors` counts
 * gateway errors (502, 503, 504, connect failures, resets, timeouts) and,
 * with the same count, connect failures alone (so the reason says which);
 * other 5xx do not eject (Envoy's consecutive_5xx is not used: a 500 is
 * usually one request's bug, not a sick endpoint). Ejections grow up to
 * max(300 s, base).
 */
export function outlierConfigOf(policy: OutlierPolicy): OutlierConfig | undefined {
  if (!(policy.consecutiveErrors > 0)) return undefined;
  return {
    consecutive5xx: 0,
    consecutiveGatewayFailure: policy.consecutiveErrors,
    consecutiveConnectFailure: policy.consecutiveErrors,
    baseEjectionMs: policy.baseEjectionMs,
    maxEjectionMs: Math.max(DEFAULT_OUTLIER_CONFIG.maxEjectionMs, policy.baseEjectionMs),
    maxEjectionPercent: policy.maxEjectionPercent,
    intervalMs: DEFAULT_OUTLIER_CONFIG.intervalMs,
  };
}
