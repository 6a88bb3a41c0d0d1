// W3C trace context at the edge (docs/tracing.md): what the request sent
// upstream carries, decided with the routing decision.
//
// - Spans exported (--otlp-endpoint): Martello is a hop of the trace. A valid
//   incoming traceparent is continued with our span as the upstream's parent
//   (tracestate validated, passed on); without one, a new trace is started
//   (--trace-create, sampled at --trace-sample-ratio).
// - No export: Martello must not put a span id nobody will ever see between
//   the caller and the backend, so an incoming traceparent goes upstream
//   unchanged; only a request without one gets a new trace (--trace-create),
//   so that the backend's spans and our access log share a trace id.

import { equalsLowerAscii } from '../http1/tokens.ts';
import { decideTrace, FLAG_SAMPLED, type IdSource, parseTraceparent, type TracePolicy } from '../../observability/tracing/trace-context.ts';

export interface TraceSettings {
  readonly policy: TracePolicy;
  /** Our spans are exported: continue incoming traces with our own span id. */
  readonly exporting: boolean;
  readonly ids: IdSource;
  readonly random: () => number;
}

/** The trace of one proxied request, for the access log and the span. */
export interface RequestTrace {
  readonly traceId: string;
  /** Our span ('' when we are not a hop of the trace: no export and the caller's traceparent went on unchanged). */
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly sampled: boolean;
}

/**
 * Decides the trace and rewrites `headers` (the upstream list) to match.
 * `traceparent`: the request's only traceparent value (undefined when absent
 * or sent twice); `tracestate`: every tracestate value.
 */
export function traceUpstream(headers: string[], traceparent: string | undefined, tracestate: readonly string[], settings: TraceSettings): RequestTrace | null {
  if (!settings.exporting) {
    const incoming = traceparent === undefined ? null : parseTraceparent(traceparent);
    if (incoming !== null) return { traceId: incoming.traceId, spanId: '', parentSpanId: incoming.parentId, sampled: false };
    if (!settings.policy.create) return null;
    const sampled = settings.random() < settings.policy.sampleRatio;
    const value = settings.ids.traceparent(sampled ? FLAG_SAMPLED : 0);
    // A malformed traceparent (or tracestate without a valid parent) must not reach the backend next to ours.
    removeHeaders(headers, 'traceparent', 'tracestate');
    headers.push('traceparent', value);
    return { traceId: settings.ids.lastTraceId(), spanId: '', parentSpanId: '', sampled: false };
  }
  const decision = decideTrace(traceparent, tracestate, settings.policy, settings.ids, settings.random);
  if (decision === null) return null;
  removeHeaders(headers, 'traceparent', 'tracestate');
  headers.push('traceparent', decision.upstreamTraceparent);
  if (decision.tracestate !== null) headers.push('tracestate', decision.tracestate);
  return { traceId: decision.traceId, spanId: decision.spanId, parentSpanId: decision.parentSpanId, sampled: decision.sampled };
}

function removeHeaders(headers: string[], a: string, b: string): void {
  let w = 0;
  for (let r = 0; r + 1 < headers.length; r += 2) {
    const name = headers[r]!;
    const len = name.length;
    if ((len === a.length && equalsLowerAscii(name, a)) || (len === b.length && equalsLowerAscii(name, b))) continue;
    headers[w++] = name;
    headers[w++] = headers[r + 1]!;
  }
  headers.length = w;
}
