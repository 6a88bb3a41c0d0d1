// What a cluster without `retry` or `timeouts` gets: ingress-nginx's
// defaults, which Martello applies just as ingress-nginx does (see
// docs/load-balancing.md, "Retries" and "Timeouts"). Here rather than in
// translate/ so that both planes read the same values: translation omits a
// policy equal to these, and the data path falls back to them.

import type { Cluster, HealthCheckPolicy, OutlierPolicy, RetryCondition, RetryPolicy, UpstreamTimeouts } from './model.ts';

/** Every retry condition in the order the model lists them (translation sorts `on` this way). */
export const RETRY_CONDITIONS: readonly RetryCondition[] = Object.freeze([
  'connect-failure',
  'reset',
  'timeout',
  'http-500',
  'http-502',
  'http-503',
  'http-504',
  'http-403',
  'http-404',
  'http-429',
]);

/**
 * ingress-nginx's proxy-next-upstream "error timeout", proxy-next-upstream-tries
 * 3 and proxy-next-upstream-timeout 0 (no limit): connect failures, resets
 * and timeouts are retried, three attempts in all, idempotent requests only.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  on: Object.freeze(['connect-failure', 'reset', 'timeout'] as const),
  tries: 3,
  nonIdempotent: false,
});

/**
 * ingress-nginx's proxy-connect-timeout 5 s, proxy-read-timeout 60 s (for the
 * response head and between reads) and proxy-send-timeout 60 s.
 */
export const DEFAULT_UPSTREAM_TIMEOUTS: Required<UpstreamTimeouts> = Object.freeze({
  connectMs: 5_000,
  responseHeaderMs: 60_000,
  idleMs: 60_000,
  sendIdleMs: 60_000,
});

/** The retry policy a cluster gets: its own, else the default. */
export function retryPolicyOf(cluster: Pick<Cluster, 'retry'>): RetryPolicy {
  return cluster.retry ?? DEFAULT_RETRY_POLICY;
}

/** Every timeout of a cluster: its own where set, the default for the rest. */
export function timeoutsOf(cluster: Pick<Cluster, 'timeouts'>): Required<UpstreamTimeouts> {
  const t = cluster.timeouts;
  if (t === undefined) return DEFAULT_UPSTREAM_TIMEOUTS;
  return {
    connectMs: t.connectMs ?? DEFAULT_UPSTREAM_TIMEOUTS.connectMs,
    responseHeaderMs: t.responseHeaderMs ?? DEFAULT_UPSTREAM_TIMEOUTS.responseHeaderMs,
    idleMs: t.idleMs ?? DEFAULT_UPSTREAM_TIMEOUTS.idleMs,
    sendIdleMs: t.sendIdleMs ?? DEFAULT_UPSTREAM_TIMEOUTS.sendIdleMs,
  };
}

/**
 * Outlier detection is on unless an Ingress turns it off (Envoy enables it
 * only when configured; ingress-nginx has no passive ejection by default):
 * 5 consecutive gateway errors eject an endpoint for 30 s (doubling with each
 * ejection), never more than 10 % of a cluster's endpoints (at least one).
 */
export const DEFAULT_OUTLIER_POLICY: OutlierPolicy = Object.freeze({
  consecutiveErrors: 5,
  baseEjectionMs: 30_000,
  maxEjectionPercent: 10,
});

/** The outlier policy a cluster gets: its own, else the default. */
export function outlierPolicyOf(cluster: Pick<Cluster, 'outlier'>): OutlierPolicy {
  return cluster.outlier ?? DEFAULT_OUTLIER_POLICY;
}

/**
 * Active health check settings an Ingress that names only a path gets:
 * Contour's defaults for Envoy (interval 5 s, timeout 2 s, 2 passes to
 * become healthy, 3 failures to become unhealthy).
 */
export const DEFAULT_HEALTH_CHECK: Omit<HealthCheckPolicy, 'path'> = Object.freeze({
  intervalMs: 5_000,
  timeoutMs: 2_000,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
});

