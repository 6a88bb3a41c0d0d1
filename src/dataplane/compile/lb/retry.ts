// Whether a failed attempt is tried again, and the process-wide bound on how
// many retries may be in flight at once. Pure: the data path describes the
// failure, these functions decide. See docs/load-balancing.md, "Retries".
//
// How the data path uses them, per request:
//
//   attempt 1: pick with exclude = the ejected endpoints (outlier.ts)
//   on failure: if shouldRetry(policy, attempt, failure)
//               and budget.tryAcquire(requestsInFlight):
//                 add the failed endpoint to the request's tried set and pick
//                 again with exclude = tried ∪ ejected (mergeExclusions), so a
//                 retry always goes to a different endpoint; no endpoint left:
//                 answer with the last failure; budget.release() when that
//                 retried attempt ends, whatever its outcome
//               else answer with the failure (502/503/504, or the status)

import type { RetryPolicy } from '../../../model/model.ts';

/** How an attempt failed, as the data path saw it. */
export interface AttemptFailure {
  /**
   * - connect: no connection (refused, unreachable, TLS handshake failed);
   * - timeout: connecting, sending, or waiting for the response head took too
   *   long (connect, per-try or response-header timeout);
   * - reset: the connection broke, or the response head was malformed,
   *   before the head was complete;
   * - status: the endpoint answered with `status` (held back from the client).
   */
  readonly kind: 'connect' | 'timeout' | 'reset' | 'status';
  /** The response status, for kind "status". */
  readonly status?: number;
  /** Some byte of the response already went to the client (head or body). */
  readonly responseStarted: boolean;
  /**
   * Some byte of the request (head or body) was written to the endpoint. A
   * request none of whose bytes was written cannot have had an effect there.
   */
  readonly requestBodySent: boolean;
  /** The request method as received (case-sensitive, as HTTP says). */
  readonly method: string;
  /** Time since the request's first attempt started. */
  readonly elapsedMs: number;
}

/**
 * RFC 9110 §9.2.2's idempotent methods. Everything else counts as
 * non-idempotent: POST, PATCH, LOCK (nginx's three), CONNECT, and every
 * method HTTP does not define (an unknown method may well not be idempotent).
 */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/** Whether `failure` is one of the policy's retry conditions. */
export function matchesCondition(policy: RetryPolicy, failure: AttemptFailure): boolean {
  const on = policy.on;
  switch (failure.kind) {
    case 'connect': return on.includes('connect-failure');
    case 'timeout': return on.includes('timeout');
    case 'reset': return on.includes('reset');
    case 'status': {
      const s = failure.status;
      switch (s) {
        case 500: return on.includes('http-500');
        case 502: return on.includes('http-502');
        case 503: return on.includes('http-503');
        case 504: return on.includes('http-504');
        case 403: return on.includes('http-403');
        case 404: return on.includes('http-404');
        case 429: return on.includes('http-429');
        default: return false;
      }
    }
  }
}

/**
 * Whether the attempt numbered `attempt` (1 = the first), which failed as
 * `failure` says, is tried again on another endpoint:
 * - never once a response byte reached the client;
 * - only for the policy's conditions;
 * - never past `tries` attempts in all (0: no limit of its own: the caller's
 *   tried set, which excludes every endpoint once, ends it);
 * - never once `budgetMs` has passed since the first attempt started;
 * - a non-idempotent request only when the policy allows it, or when the
 *   connection failed (or timed out) before any byte of it was written.
 * The caller must also be able to send the request again (a body it still
 * has), and passes the endpoints already tried as PickContext.exclude.
 */
export function shouldRetry(policy: RetryPolicy, attempt: number, failure: AttemptFailure): boolean {
  if (failure.responseStarted) return false;
  if (!matchesCondition(policy, failure)) return false;
  if (policy.tries > 0 && attempt >= policy.tries) return false;
  if (policy.budgetMs !== undefined && !(failure.elapsedMs < policy.budgetMs)) return false;
  if (policy.nonIdempotent || isIdempotent(failure.method)) return true;
  return !failure.requestBodySent && (failure.kind === 'connect' || failure.kind === 'timeout');
}

/** The endpoints a retry must avoid: those already tried and those ejected. Allocates only when both are non-empty. */
export function mergeExclusions<E>(tried: ReadonlySet<E> | undefined, ejected: ReadonlySet<E> | undefined): ReadonlySet<E> | undefined {
  if (tried === undefined || tried.size === 0) return ejected;
  if (ejected === undefined || ejected.size === 0) return tried;
  const all = new Set(tried);
  for (const e of ejected) all.add(e);
  return all;
}

export interface RetryBudgetOptions {
  /** Share of the requests in flight that may be retries at once; default 0.2 (Envoy's budget_percent 20 %). */
  readonly ratio?: number;
  /** Retries allowed in flight whatever the ratio says; default 3 (Envoy's min_retry_concurrency). */
  readonly minRetryConcurrency?: number;
}

export const DEFAULT_RETRY_BUDGET_RATIO = 0.2;
export const DEFAULT_MIN_RETRY_CONCURRENCY = 3;

/**
 * Envoy's retry budget: retries in flight may not exceed
 * max(minRetryConcurrency, ratio × requests in flight), so that when an
 * upstream fails wholesale, retries add at most a fifth to its load instead
 * of multiplying it. One instance per process is the global budget (Envoy
 * keeps one per cluster; either works with this class).
 */
export class RetryBudget {
  readonly ratio: number;
  readonly minRetryConcurrency: number;
  /** Retries granted and not yet released. */
  active = 0;
  /** Retries granted since creation. */
  grantedTotal = 0;
  /** Retries refused because the budget was spent (Envoy's upstream_rq_retry_overflow). */
  overflowTotal = 0;

  constructor(options: RetryBudgetOptions = {}) {
    const ratio = options.ratio ?? DEFAULT_RETRY_BUDGET_RATIO;
    const min = options.minRetryConcurrency ?? DEFAULT_MIN_RETRY_CONCURRENCY;
    if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`retry budget ratio must be within 0..1, got ${ratio}`);
    if (!(Number.isInteger(min) && min >= 0)) throw new RangeError(`minRetryConcurrency must be a whole number, got ${min}`);
    this.ratio = ratio;
    this.minRetryConcurrency = min;
  }

  /** The retries allowed in flight with `activeRequests` requests in flight (retries included). */
  limit(activeRequests: number): number {
    return Math.max(this.minRetryConcurrency, Math.floor(this.ratio * Math.max(0, activeRequests)));
  }

  /** Takes one retry from the budget; false (and counted) when it is spent. */
  tryAcquire(activeRequests: number): boolean {
    if (this.active >= this.limit(activeRequests)) {
      this.overflowTotal++;
      return false;
    }
    this.active++;
    this.grantedTotal++;
    return true;
  }

  /** The retried attempt ended (whatever its outcome); once per successful tryAcquire. */
  release(): void {
    if (this.active > 0) this.active--;
  }
}
