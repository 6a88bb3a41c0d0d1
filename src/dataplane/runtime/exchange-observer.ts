// Where every finished exchange goes: the request metrics, the access log
// (sampled; 5xx and cut exchanges always) and, for sampled traces, a span.
// One object per process, shared by every transport; finish() runs once per
// request on the hot path, so it only records numbers and, when logging is
// on, encodes one line into the writer's in-memory batch.

import type { ExchangeRecord } from '../../observability/exchange-record.ts';
import { shouldLog } from '../../observability/access-log/sampler.ts';
import type { RequestMetrics } from '../../observability/metrics/request-metrics.ts';
import type { RouteDecision } from '../proxy/route-request.ts';
import { ATTEMPT_LOCAL_FAILURE, attemptOfStatus } from '../compile/lb/endpoint-health.ts';
import type { AttemptResult } from '../compile/lb/outlier.ts';

/** The access log as the observer sees it: a non-blocking sink for exchanges. */
export interface AccessLogOutput {
  /** Share of exchanges logged, 0..1; 5xx and cut exchanges are always logged. */
  readonly sampleRatio: number;
  /** Formats the exchange's line and queues it (never blocks). */
  log(rec: ExchangeRecord): void;
}

/** Turns a sampled exchange into a span and queues it for export (never blocks). */
export interface SpanOutput {
  export(rec: ExchangeRecord): void;
}

export class ExchangeObserver {
  readonly metrics: RequestMetrics;
  readonly #log: AccessLogOutput | null;
  readonly #spans: SpanOutput | null;
  readonly #random: () => number;

  constructor(metrics: RequestMetrics, log: AccessLogOutput | null = null, spans: SpanOutput | null = null, random: () => number = Math.random) {
    this.metrics = metrics;
    this.#log = log;
    this.#spans = spans;
    this.#random = random;
  }

  /** The exchange ended now (response complete, answered locally, or cut). */
  finish(rec: ExchangeRecord): void {
    rec.endedAt = performance.now();
    this.metrics.observe(rec);
    const log = this.#log;
    if (log !== null && shouldLog(rec.status, log.sampleRatio, this.#random)) log.log(rec);
    if (rec.sampled && this.#spans !== null) this.#spans.export(rec);
  }
}

/** What the routing decision tells the record (both decision kinds). */
export function noteDecision(rec: ExchangeRecord, decision: RouteDecision): void {
  rec.requestId = decision.requestId;
  rec.host = decision.host;
  rec.path = decision.path;
  rec.route = decision.route;
  if (decision.kind !== 'forward') return;
  rec.upstream = decision.endpoint.hostPort;
  rec.clientAddress = decision.client;
  const trace = decision.trace;
  if (trace !== null) {
    rec.traceId = trace.traceId;
    rec.spanId = trace.spanId;
    rec.parentSpanId = trace.parentSpanId;
    rec.sampled = trace.sampled;
  }
}

/** The balancer feedback of a forwarded exchange: what onStart began, onEnd finishes (once). */
export interface BalancerFeedback<E> {
  onEnd(endpoint: E, latencyMs: number, ok: boolean, result?: AttemptResult | null): void;
}

/**
 * What outlier detection hears of a finished exchange: the endpoint's status
 * when its response head arrived; without one, a 502 or 504 Martello
 * answered (reset, timeout, connect failure) is a gateway error; a 503
 * Martello answered (the pool's queue was full) and an exchange the client
 * cut before any response (status 0) are not the endpoint's doing (null).
 */
export function attemptOf(rec: ExchangeRecord): AttemptResult | null {
  if (rec.upstreamHeadAt !== 0) return attemptOfStatus(rec.status);
  const status = rec.status;
  return status === 502 || status === 504 ? ATTEMPT_LOCAL_FAILURE : null;
}

/**
 * Tells the balancer how the exchange went, after observer.finish(rec):
 * latency to the response head (or to the end when none came), and ok
 * unless it was cut or a 5xx (which least-request ignores and peak-EWMA
 * penalises).
 */
export function endBalancing<E>(balancer: BalancerFeedback<E>, endpoint: E, rec: ExchangeRecord): void {
  const started = rec.upstreamStartedAt;
  const latency = started === 0 ? 0 : (rec.upstreamHeadAt !== 0 ? rec.upstreamHeadAt : rec.endedAt) - started;
  const status = rec.status;
  balancer.onEnd(endpoint, latency, status !== 0 && status < 500, attemptOf(rec));
}

/** Fills in the start of an exchange: the clock and what the connection knows. */
export function beginExchange(rec: ExchangeRecord, method: string, protocol: ExchangeRecord['protocol'], tls: string, clientAddress: string): void {
  rec.reset();
  const now = performance.now();
  rec.startedAt = now;
  rec.startedWall = performance.timeOrigin + now;
  rec.method = method;
  rec.protocol = protocol;
  rec.tls = tls;
  rec.clientAddress = clientAddress;
}
