// Passive outlier detection, after Envoy's consecutive-failure detectors: an
// endpoint that fails several times in a row (connect failures, 5xx, or the
// gateway errors 502/503/504) is ejected from balancing for a while, longer
// each time it is ejected again, and never more than a set share of a
// cluster's endpoints at once. Pure: the clock comes in with every call.
// See docs/load-balancing.md, "Outlier detection".
//
// State is kept per cluster id and endpoint key in an OutlierRegistry, the
// way LoadRegistry keeps in-flight counts: every route table that contains
// the endpoint shares its record, so an ejection outlives a table swap.
//
// The data path, per compiled cluster:
//   const detector = registry.detector(cluster.id, balancer.endpoints)  (at compile)
//   exclude = detector.ejected(now)          for the first attempt; on a retry
//                                            mergeExclusions(tried, ejected)
//   detector.onResult(endpoint, { ok, connectFailure, status }, now)   once per attempt
// When every endpoint left is ejected the pick returns undefined: pick again
// without the ejected set (Envoy's panic routing: better a suspect endpoint
// than a certain 503).

export interface OutlierConfig {
  /** Consecutive 5xx (connect failures, resets and timeouts count as 5xx) that eject; 0: off. Envoy: 5. */
  readonly consecutive5xx: number;
  /** Consecutive gateway errors (502, 503, 504, connect failures, resets, timeouts) that eject; 0: off. Envoy: 5. */
  readonly consecutiveGatewayFailure: number;
  /** Consecutive connect failures that eject; 0: off. Envoy's consecutive_local_origin_failure: 5. */
  readonly consecutiveConnectFailure: number;
  /** First ejection's length; the n-th lasts base × 2^(n−1). Envoy's base_ejection_time: 30 s. */
  readonly baseEjectionMs: number;
  /** Longest ejection. Envoy's max_ejection_time: 300 s. */
  readonly maxEjectionMs: number;
  /** Largest share of a cluster's endpoints ejected at once, in percent; one endpoint may always be. Envoy: 10. */
  readonly maxEjectionPercent: number;
  /** Each such period an endpoint spends un-ejected takes one off its ejection count. Envoy's interval: 10 s. */
  readonly intervalMs: number;
}

export const DEFAULT_OUTLIER_CONFIG: OutlierConfig = Object.freeze({
  consecutive5xx: 5,
  consecutiveGatewayFailure: 5,
  consecutiveConnectFailure: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 10,
  intervalMs: 10_000,
});

/** One attempt's outcome as the data path saw it. */
export interface AttemptResult {
  /** The attempt succeeded (a response head arrived and, when there is a status, it is below 500). */
  readonly ok: boolean;
  /** No connection could be made (refused, unreachable, connect timeout, TLS handshake failed). */
  readonly connectFailure: boolean;
  /** The response status, when a response head arrived. */
  readonly status?: number;
}

export type EjectionReason = 'consecutive-5xx' | 'gateway-failure' | 'connect-failure';

/** One endpoint's detector state: mutable, shared by every table that has the endpoint. */
export interface OutlierRecord {
  consecutive5xx: number;
  consecutiveGateway: number;
  consecutiveConnect: number;
  /** Clock time the current ejection ends; 0 (or any past time): not ejected. */
  ejectedUntil: number;
  /** Ejections so far, less one per interval spent un-ejected since. */
  timesEjected: number;
  /** When timesEjected next goes down by one (while not ejected). */
  decayAt: number;
}

/** Counters of one cluster's detector (plain fields, for metrics). */
export interface OutlierStats {
  ejectionsTotal: number;
  ejectionsConsecutive5xx: number;
  ejectionsGatewayFailure: number;
  ejectionsConnectFailure: number;
  /** Ejections not made because the share of ejected endpoints was at its maximum (Envoy's ejections_overflow). */
  ejectionsOverflow: number;
}

/** One cluster's shared state. */
export interface ClusterOutliers {
  readonly records: Map<string, OutlierRecord>;
  readonly stats: OutlierStats;
  /** Goes up with every ejection, so cached ejected sets know to rebuild. */
  version: number;
}

function newRecord(): OutlierRecord {
  return { consecutive5xx: 0, consecutiveGateway: 0, consecutiveConnect: 0, ejectedUntil: 0, timesEjected: 0, decayAt: 0 };
}

function newCluster(): ClusterOutliers {
  return {
    records: new Map(),
    stats: { ejectionsTotal: 0, ejectionsConsecutive5xx: 0, ejectionsGatewayFailure: 0, ejectionsConnectFailure: 0, ejectionsOverflow: 0 },
    version: 0,
  };
}

/**
 * Outlier state by cluster id and endpoint key, shared across compiles when
 * the runtime passes one registry to every compile. The owner calls
 * retain(table.clusters.keys()) after a swap so that clusters which left
 * the table are forgotten; endpoints that left a cluster are forgotten when
 * the cluster's next detector is made.
 */
export class OutlierRegistry {
  readonly #clusters = new Map<string, ClusterOutliers>();
  readonly #config: OutlierConfig;

  constructor(config: OutlierConfig = DEFAULT_OUTLIER_CONFIG) {
    this.#config = config;
  }

  /** The detector for `clusterId` over this table's `endpoints` (state shared with earlier tables). */
  detector<E extends { readonly key: string }>(clusterId: string, endpoints: readonly E[], config: OutlierConfig = this.#config): OutlierDetector<E> {
    let cluster = this.#clusters.get(clusterId);
    if (cluster === undefined) {
      cluster = newCluster();
      this.#clusters.set(clusterId, cluster);
    }
    const keys = new Set(endpoints.map((e) => e.key));
    for (const key of cluster.records.keys()) if (!keys.has(key)) cluster.records.delete(key);
    const records = endpoints.map((e) => {
      let r = cluster.records.get(e.key);
      if (r === undefined) {
        r = newRecord();
        cluster.records.set(e.key, r);
      }
      return r;
    });
    return new OutlierDetector(endpoints, records, cluster, config);
  }

  /** Forgets every cluster whose id is not in `clusterIds`. */
  retain(clusterIds: Iterable<string>): void {
    const keep = new Set(clusterIds);
    for (const id of this.#clusters.keys()) if (!keep.has(id)) this.#clusters.delete(id);
  }

  /** A cluster's counters (undefined when the registry has never seen it). */
  stats(clusterId: string): Readonly<OutlierStats> | undefined {
    return this.#clusters.get(clusterId)?.stats;
  }

  get size(): number {
    return this.#clusters.size;
  }
}

const EMPTY: ReadonlySet<never> = new Set();

/** One compiled cluster's view of its outlier state: the endpoints of one table. */
export class OutlierDetector<E> {
  readonly endpoints: readonly E[];
  readonly config: OutlierConfig;
  readonly #records: readonly OutlierRecord[];
  readonly #index: ReadonlyMap<E, number>;
  readonly #cluster: ClusterOutliers;
  #ejected: ReadonlySet<E> = EMPTY;
  #builtVersion = -1;
  /** The earliest end of an ejection in #ejected; Infinity when none. */
  #nextExpiry = Infinity;

  /** Use OutlierRegistry.detector (or this, for a detector of its own). */
  constructor(endpoints: readonly E[], records?: readonly OutlierRecord[], cluster?: ClusterOutliers, config: OutlierConfig = DEFAULT_OUTLIER_CONFIG) {
    this.endpoints = endpoints;
    this.config = config;
    this.#records = records !== undefined && records.length === endpoints.length ? records : endpoints.map(newRecord);
    this.#cluster = cluster ?? newCluster();
    const index = new Map<E, number>();
    endpoints.forEach((e, i) => {
      if (!index.has(e)) index.set(e, i);
    });
    this.#index = index;
  }

  /** This cluster's counters (shared with the cluster's other detectors). */
  get stats(): Readonly<OutlierStats> {
    return this.#cluster.stats;
  }

  isEjected(endpoint: E, now: number): boolean {
    const i = this.#index.get(endpoint);
    return i !== undefined && this.#records[i]!.ejectedUntil > now;
  }

  /**
   * The endpoints ejected at `now`, usable as PickContext.exclude. The same
   * set object is returned until an ejection starts or ends (no allocation
   * per request); it is never modified once returned.
   */
  ejected(now: number): ReadonlySet<E> {
    if (this.#builtVersion === this.#cluster.version && now < this.#nextExpiry) return this.#ejected;
    let set: Set<E> | undefined;
    let next = Infinity;
    const records = this.#records;
    for (let i = 0; i < records.length; i++) {
      const until = records[i]!.ejectedUntil;
      if (until > now) {
        (set ??= new Set()).add(this.endpoints[i]!);
        if (until < next) next = until;
      }
    }
    this.#ejected = set ?? EMPTY;
    this.#nextExpiry = next;
    this.#builtVersion = this.#cluster.version;
    return this.#ejected;
  }

  /** How many of this table's endpoints are ejected at `now`. */
  ejectedCount(now: number): number {
    let n = 0;
    for (const r of this.#records) if (r.ejectedUntil > now) n++;
    return n;
  }

  /**
   * Records one attempt's outcome; returns the reason when it ejected the
   * endpoint. Outcomes reported while the endpoint is ejected (requests
   * that were already in flight) are ignored.
   */
  onResult(endpoint: E, result: AttemptResult, now: number): EjectionReason | undefined {
    const i = this.#index.get(endpoint);
    if (i === undefined) return undefined;
    const r = this.#records[i]!;
    if (r.ejectedUntil > now) return undefined;
    this.#decay(r, now);
    const status = result.status;
    const connect = result.connectFailure;
    // Envoy (without split_external_local_origin_errors): a connect failure, reset or timeout counts as a 5xx and a gateway error.
    const local = connect || (status === undefined && !result.ok);
    const is5xx = local || (status !== undefined && status >= 500 && status <= 599);
    const gateway = local || status === 502 || status === 503 || status === 504;
    r.consecutiveConnect = connect ? r.consecutiveConnect + 1 : 0;
    r.consecutive5xx = is5xx ? r.consecutive5xx + 1 : 0;
    r.consecutiveGateway = gateway ? r.consecutiveGateway + 1 : 0;
    const c = this.config;
    const reason: EjectionReason | undefined =
      c.consecutiveConnectFailure > 0 && r.consecutiveConnect >= c.consecutiveConnectFailure ? 'connect-failure'
        : c.consecutiveGatewayFailure > 0 && r.consecutiveGateway >= c.consecutiveGatewayFailure ? 'gateway-failure'
          : c.consecutive5xx > 0 && r.consecutive5xx >= c.consecutive5xx ? 'consecutive-5xx'
            : undefined;
    if (reason === undefined) return undefined;
    return this.#eject(r, reason, now) ? reason : undefined;
  }

  /** One off the ejection count per interval spent un-ejected. */
  #decay(r: OutlierRecord, now: number): void {
    if (r.timesEjected === 0 || now < r.decayAt) return;
    const interval = Math.max(1, this.config.intervalMs);
    const steps = Math.floor((now - r.decayAt) / interval) + 1;
    r.timesEjected = Math.max(0, r.timesEjected - steps);
    r.decayAt += steps * interval;
  }

  #eject(r: OutlierRecord, reason: EjectionReason, now: number): boolean {
    const stats = this.#cluster.stats;
    const ejectedNow = this.ejectedCount(now);
    // Envoy: the first ejection always happens; later ones only while the share stays within the maximum.
    if (ejectedNow > 0 && (ejectedNow + 1) * 100 > this.config.maxEjectionPercent * this.endpoints.length) {
      stats.ejectionsOverflow++;
      return false;
    }
    r.timesEjected++;
    const c = this.config;
    const length = Math.min(c.maxEjectionMs, c.baseEjectionMs * 2 ** Math.min(r.timesEjected - 1, 40));
    r.ejectedUntil = now + length;
    r.decayAt = r.ejectedUntil + Math.max(1, c.intervalMs);
    r.consecutive5xx = 0;
    r.consecutiveGateway = 0;
    r.consecutiveConnect = 0;
    this.#cluster.version++;
    stats.ejectionsTotal++;
    if (reason === 'consecutive-5xx') stats.ejectionsConsecutive5xx++;
    else if (reason === 'gateway-failure') stats.ejectionsGatewayFailure++;
    else stats.ejectionsConnectFailure++;
    return true;
  }
}
