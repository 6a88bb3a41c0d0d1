// What a cluster without `retry` or `timeouts` gets: ingress-nginx's
// defaults, which Martello applies just as ingress-nginx does (see
// docs/load-balancing.md, "Retries" and "Timeouts"). Here rather than in
// translate/ so that both planes read the same values: translation omits a
// policy equal to these, and the data path falls back to them.

import type { Cluster, RetryCondition, RetryPolicy, UpstreamTimeouts } from './model.ts';

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
