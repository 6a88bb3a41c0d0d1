// Balancer state that must outlive a routing table: in-flight counts and
// latency averages by endpoint (least-request, peak-EWMA), the hash tables
// (Maglev, ring) of clusters whose endpoints did not change, outlier
// ejections, slow-start join times and active health check results. Each
// process that compiles tables keeps one and compiles through it, so a swap
// neither forgets which endpoints are busy or ejected nor rebuilds every
// hash table. With several worker processes each has its own (ejections and
// health checks are per process, as they are per Envoy instance).

import type { Cluster, RoutingModel } from '../../model/model.ts';
import type { UpstreamEndpoint } from '../compile/cluster.ts';
import { ActiveHealthRegistry } from '../compile/lb/endpoint-health.ts';
import { LoadRegistry } from '../compile/lb/endpoint-load.ts';
import { type EjectionReason, OutlierRegistry } from '../compile/lb/outlier.ts';
import { SlowStartRegistry } from '../compile/lb/slow-start.ts';
import { TableCache } from '../compile/lb/table-cache.ts';
import { compile, type RouteTable } from '../compile/route-table.ts';
import { F } from '../../observability/metrics/catalog.ts';
import { type MetricSnapshot, type Sample, samplesOf } from '../../observability/metrics/snapshot.ts';
import { HealthChecker, type HealthCheckerOptions } from './health-checker.ts';

export interface BalancerStateOptions {
  /** Active health checker settings (tests); default: its defaults. */
  readonly healthChecks?: HealthCheckerOptions;
  /** Told of every ejection (logging); the metric is kept here either way. */
  readonly onEjection?: (cluster: Cluster, endpoint: UpstreamEndpoint, reason: EjectionReason) => void;
}

export class BalancerState {
  readonly loads = new LoadRegistry();
  readonly tables = new TableCache();
  readonly outliers = new OutlierRegistry();
  readonly slowStarts = new SlowStartRegistry();
  readonly activeHealth = new ActiveHealthRegistry();
  readonly checker: HealthChecker;
  /** Ejections so far by namespace\0service\0reason: a counter, kept when clusters leave. */
  readonly #ejections = new Map<string, number>();
  readonly #onEjection: BalancerStateOptions['onEjection'];
  #table: RouteTable | undefined;

  constructor(options: BalancerStateOptions = {}) {
    this.checker = new HealthChecker(this.activeHealth, options.healthChecks);
    this.#onEjection = options.onEjection;
  }

  /** Compiles `model` with the shared state, then forgets endpoints no longer in any cluster and probes the new table's health-checked endpoints. */
  compile(model: RoutingModel, generation: number): RouteTable {
    const table = compile(model, generation, {
      loads: this.loads,
      tables: this.tables,
      outliers: this.outliers,
      slowStarts: this.slowStarts,
      activeHealth: this.activeHealth,
      onEjection: (cluster, endpoint, reason) => this.#ejected(cluster, endpoint, reason),
    });
    this.loads.retain(table.endpointKeys);
    const ids = [...table.clusters.keys()];
    this.outliers.retain(ids);
    this.slowStarts.retain(ids);
    this.activeHealth.retain(ids);
    this.checker.update(table);
    this.#table = table;
    return table;
  }

  #ejected(cluster: Cluster, endpoint: UpstreamEndpoint, reason: EjectionReason): void {
    const key = `${cluster.namespace}\u0000${cluster.service}\u0000${reason}`;
    this.#ejections.set(key, (this.#ejections.get(key) ?? 0) + 1);
    this.#onEjection?.(cluster, endpoint, reason);
  }

  /** Ejections so far and the endpoints left out of balancing now (the current table's), as metric families. */
  snapshot(now: number = Date.now()): MetricSnapshot {
    const ejections: Sample[] = [];
    for (const [key, n] of this.#ejections) ejections.push({ labels: key.split('\u0000'), value: n });
    const excluded = new Map<string, number>();
    for (const c of this.#table?.clusters.values() ?? []) {
      const health = c.balancer.health;
      if (health === undefined) continue;
      const base = `${c.source.namespace}\u0000${c.source.service}\u0000`;
      const ejected = health.detector?.ejectedCount(now) ?? 0;
      excluded.set(`${base}ejected`, (excluded.get(`${base}ejected`) ?? 0) + ejected);
      if (c.source.healthCheck !== undefined) excluded.set(`${base}health-check`, (excluded.get(`${base}health-check`) ?? 0) + health.unhealthyCount);
    }
    const gauges: Sample[] = [];
    for (const [key, n] of excluded) gauges.push({ labels: key.split('\u0000'), value: n });
    return {
      [F.upstreamEjections.name]: samplesOf(F.upstreamEjections, ejections),
      [F.upstreamExcluded.name]: samplesOf(F.upstreamExcluded, gauges),
    };
  }

  /** Stops the health checker (its timers and probes in flight). */
  close(): void {
    this.checker.close();
  }
}
