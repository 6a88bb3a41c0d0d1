// The retry bookkeeping of one forwarded exchange, shared by the engine's
// HTTP/1.1 client connections and HTTP/2 client streams: which endpoints were
// tried, how many attempts, when the first one started, whether this exchange
// holds a slot of the process's retry budget. The decision itself is the pure
// shouldRetry (compile/lb/retry.ts); the rules are in docs/load-balancing.md,
// "Retries". A client connection reuses one RetryState for all its requests.

import type { UpstreamEndpoint } from '../compile/cluster.ts';
import type { AttemptFailure } from '../compile/lb/retry.ts';
import { shouldRetry } from '../compile/lb/retry.ts';
import type { Selection } from '../compile/lb/sticky-sessions.ts';
import type { ForwardDecision } from '../proxy/route-request.ts';
import { RequestPickContext } from '../proxy/request-pick-context.ts';
import type { UpstreamFailureReason } from '../../observability/metrics/request-metrics.ts';
import type { EngineContext } from './engine-context.ts';

/** Request body framing towards an HTTP/1.1 upstream. */
export type BodyMode = 'none' | 'length' | 'chunked';

/** A failure as the engine sees it: how (for metrics) and the status it would answer. */
export type FailureKind = UpstreamFailureReason | 'status';

export class RetryState {
  /** The routing decision of the exchange; null: this exchange cannot be retried. */
  decision: ForwardDecision | null = null;
  /** HTTP/1.1 upstreams: the request head as serialised, sent again as is (null for HTTP/2 upstreams). */
  head: Buffer | null = null;
  bodyMode: BodyMode = 'none';
  /** The attempt in progress: 1 = the first. */
  attempt = 1;
  #tried: Set<UpstreamEndpoint> | null = null;
  #firstAttemptAt = 0;
  /** This exchange holds a slot of the retry budget (released when it is observed). */
  #budgetHeld = false;
  /** A Set-Cookie for the response when affinity moved the session with a retry. */
  setCookie: string | undefined = undefined;

  /** A new exchange: `decision` may be retried (a null decision: it may not). */
  begin(decision: ForwardDecision | null, head: Buffer | null, bodyMode: BodyMode, startedAt: number): void {
    this.decision = decision;
    this.head = head;
    this.bodyMode = bodyMode;
    this.attempt = 1;
    this.#tried = null;
    this.#firstAttemptAt = startedAt;
    this.setCookie = undefined;
  }

  /** The exchange is over: forget it and give back the budget slot. */
  end(ctx: EngineContext): void {
    this.decision = null;
    this.head = null;
    this.#tried = null;
    if (this.#budgetHeld) {
      this.#budgetHeld = false;
      ctx.retryBudget.release();
    }
  }

  /**
   * After attempt `attempt` on `failed` failed before any response byte
   * reached the client: the endpoint of the next attempt, or undefined (the
   * failure is the answer). On success the balancer has been told the
   * failed attempt's end and the new one's start, the retry is counted, and
   * `attempt` moved on. `bodySent`: some byte of the request body left
   * Martello (only a connect failure before that can be retried for a
   * request with a body; see docs/load-balancing.md).
   */
  next(ctx: EngineContext, failed: UpstreamEndpoint, kind: FailureKind, status: number, method: string, bodySent: boolean, encrypted: boolean, attemptStartedAt: number, now: number): UpstreamEndpoint | undefined {
    const decision = this.decision;
    if (decision === null) return undefined;
    // A connect deadline is a timeout in the policy's words (nginx's `timeout`), and no byte went out.
    const failure: AttemptFailure = {
      kind: kind === 'connect' && status === 504 ? 'timeout' : kind,
      status,
      responseStarted: false,
      requestBodySent: kind !== 'connect',
      method,
      elapsedMs: now - this.#firstAttemptAt,
    };
    // Rule 6: the request can be sent again only if nothing of its body is lost.
    if (this.bodyMode !== 'none' && (bodySent || kind !== 'connect')) return undefined;
    if (!shouldRetry(decision.retry, this.attempt, failure)) return undefined;
    if (!this.#budgetHeld) {
      const open = ctx.observer.metrics.connectionsOpen;
      if (!ctx.retryBudget.tryAcquire(open.http1 + open.h2)) return undefined;
      this.#budgetHeld = true;
    }
    const tried = (this.#tried ??= new Set());
    tried.add(failed);
    const selection: Selection<UpstreamEndpoint> = { endpoint: undefined, setCookie: undefined };
    const next = decision.balancer.select(new RequestPickContext(decision.headers, decision.client, decision.target, encrypted, tried), selection);
    if (next === undefined || tried.has(next)) return undefined;
    // The failed attempt ends for the balancer (and outlier detection: its status, or a local failure); the new one starts.
    const ok = kind === 'status' && status < 500;
    decision.balancer.onEnd(failed, now - attemptStartedAt, ok, kind === 'status' ? { ok, connectFailure: false, status } : { ok: false, connectFailure: kind === 'connect' });
    decision.balancer.onStart(next);
    // A new sticky session for the new endpoint, when affinity moved it.
    if (selection.setCookie !== undefined) this.setCookie = selection.setCookie;
    this.attempt++;
    ctx.observer.metrics.upstreamRetries++;
    return next;
  }
}
