// Summing the counters of several workers for /metrics. Counters of a worker
// that exited are kept (its last report is folded into `retired`), so the
// sums Prometheus scrapes never go down when a worker is replaced; gauges
// (open connections) count live workers only.

import type { ProxyStats } from '../../dataplane/proxy/proxy-server.ts';
import { type MetricSnapshot, mergeSnapshots, retainCounters } from '../../observability/metrics/snapshot.ts';

export interface CounterTotals {
  readonly requests: number;
  readonly responsesByClass: Readonly<Record<string, number>>;
  readonly upstreamErrors: number;
  readonly activeConnections: number;
  /** Metric families summed over the workers (counters of exited workers kept). */
  readonly metrics: MetricSnapshot;
}

export const ZERO_TOTALS: CounterTotals = Object.freeze({ requests: 0, responsesByClass: Object.freeze({}), upstreamErrors: 0, activeConnections: 0, metrics: Object.freeze({}) });

/** `base` plus the monotonic counters of `stats` (open connections are not carried over). */
export function retire(base: CounterTotals, stats: ProxyStats | undefined): CounterTotals {
  if (stats === undefined) return base;
  return {
    requests: base.requests + stats.requests,
    responsesByClass: addClasses(base.responsesByClass, stats.responsesByClass),
    upstreamErrors: base.upstreamErrors + stats.upstreamErrors,
    activeConnections: 0,
    metrics: stats.metrics === undefined ? base.metrics : mergeSnapshots([base.metrics, retainCounters(stats.metrics)]),
  };
}

/** Retired counters plus every live worker's latest report. */
export function sumCounters(retired: CounterTotals, live: ReadonlyArray<ProxyStats | undefined>): CounterTotals {
  let requests = retired.requests;
  let upstreamErrors = retired.upstreamErrors;
  let activeConnections = 0;
  let classes: Readonly<Record<string, number>> = retired.responsesByClass;
  const metrics: Array<MetricSnapshot | undefined> = [retired.metrics];
  for (const s of live) {
    if (s === undefined) continue;
    metrics.push(s.metrics);
    requests += s.requests;
    upstreamErrors += s.upstreamErrors;
    activeConnections += s.activeConnections;
    classes = addClasses(classes, s.responsesByClass);
  }
  return { requests, responsesByClass: classes, upstreamErrors, activeConnections, metrics: mergeSnapshots(metrics) };
}

function addClasses(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = { ...a };
  for (const [cls, n] of Object.entries(b)) out[cls] = (out[cls] ?? 0) + n;
  return out;
}
