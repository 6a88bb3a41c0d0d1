// Builds a process's ExchangeObserver from the observability options: the
// request metrics, the access log (format + writer thread) and the span
// export (OTLP/HTTP), and the trace settings routeRequest uses. Everything
// that does I/O here (the log thread, the collector connection) is closed
// by close().

import { hostname } from 'node:os';
import type { ExchangeRecord } from '../../observability/exchange-record.ts';
import { RequestMetrics } from '../../observability/metrics/request-metrics.ts';
import { OtlpExporter } from '../../observability/tracing/otlp-exporter.ts';
import { httpServerSpan } from '../../observability/tracing/span.ts';
import { IdSource } from '../../observability/tracing/trace-context.ts';
import type { ObservabilityOptions } from '../proxy/options.ts';
import type { TraceSettings } from '../proxy/trace-headers.ts';
import { type AccessLogOutput, ExchangeObserver, type SpanOutput } from './exchange-observer.ts';

export interface ObserverSetup {
  readonly observer: ExchangeObserver;
  readonly tracing: TraceSettings | null;
  /** Counters of the outputs, for /metrics. */
  outputStats(): { accessLog: { lines: number; dropped: number }; spans: { exported: number; dropped: number } };
  close(): Promise<void>;
}

export interface ObserverDeps {
  /** Builds the access log output, or null when it is off (injected: the writer thread is I/O). */
  readonly accessLog?: (options: ObservabilityOptions) => (AccessLogOutput & { stats(): { lines: number; dropped: number }; close(): Promise<void> }) | null;
}

export function setUpObserver(options: ObservabilityOptions, deps: ObserverDeps = {}): ObserverSetup {
  const metrics = new RequestMetrics({ perHost: options.metricsPerHost });
  const log = deps.accessLog?.(options) ?? null;
  let exporter: OtlpExporter | null = null;
  let spans: SpanOutput | null = null;
  if (options.otlpEndpoint !== null) {
    const ex = new OtlpExporter({
      endpoint: options.otlpEndpoint,
      headers: { ...options.otlpHeaders },
      serviceName: 'martello',
      instanceId: `${hostname()}:${process.pid}`,
    });
    exporter = ex;
    spans = { export: (rec) => ex.add(spanOf(rec)) };
  }
  const tracing: TraceSettings | null = options.traceCreate || exporter !== null
    ? {
        policy: { create: options.traceCreate, sampleRatio: options.traceSampleRatio },
        exporting: exporter !== null,
        ids: new IdSource(),
        random: Math.random,
      }
    : null;
  return {
    observer: new ExchangeObserver(metrics, log, spans),
    tracing,
    outputStats: () => {
      const e = exporter?.stats();
      return { accessLog: log?.stats() ?? { lines: 0, dropped: 0 }, spans: { exported: e?.exported ?? 0, dropped: e?.dropped ?? 0 } };
    },
    close: async () => {
      await Promise.all([log?.close(), exporter?.shutdown(2_000)]);
    },
  };
}

/** The span of one proxied exchange (server kind: Martello received the request). */
function spanOf(rec: ExchangeRecord): ReturnType<typeof httpServerSpan> {
  const startNs = BigInt(Math.round(rec.startedWall * 1e6));
  const endNs = startNs + BigInt(Math.round((rec.endedAt - rec.startedAt) * 1e6));
  return httpServerSpan({
    traceId: rec.traceId,
    spanId: rec.spanId,
    parentSpanId: rec.parentSpanId,
    startTimeUnixNano: startNs,
    endTimeUnixNano: endNs,
    method: rec.method,
    target: rec.path,
    scheme: rec.tls === '' ? 'http' : 'https',
    host: rec.host,
    status: rec.status,
    protocolVersion: rec.protocol === 'HTTP/2' ? '2' : rec.protocol === 'HTTP/1.0' ? '1.0' : '1.1',
    clientAddress: rec.clientAddress,
    ...(rec.route === null ? {} : { route: { namespace: rec.route.namespace, ingress: rec.route.ingress, service: rec.route.service } }),
    ...(rec.upstream === '' ? {} : { upstreamAddress: rec.upstream }),
  });
}
