// What the admin listener shows: the debug view of the applied configuration
// and the Prometheus metrics. Built on demand from state the planes keep;
// nothing here runs per proxied request.

import type { ReconcileState } from '../controlplane/reconcile-loop.ts';
import { routeLines } from '../model/summary.ts';
import { formatDiagnostic } from '../shared/diagnostic.ts';

/** Counters the proxy keeps; read when /metrics is scraped. */
export interface ProxyCounters {
  readonly requests: number;
  readonly responsesByClass: Readonly<Record<string, number>>;
  readonly activeConnections: number;
}

export function buildDebugConfig(state: ReconcileState): unknown {
  const model = state.model;
  return {
    generation: state.generation,
    rebuilds: state.rebuilds,
    appliedAt: state.appliedAt ?? null,
    routes: model === undefined ? [] : routeLines(model),
    clusters: model?.clusters ?? [],
    // Which certificate each TLS host gets (never the keys): the answer to
    // "why does this host serve that certificate?".
    tls: {
      hosts: model?.tlsHosts ?? [],
      certificates: (model?.certificates ?? []).map((c) => ({ id: c.id, fingerprint: c.fingerprint, names: c.names, notAfter: c.notAfter })),
      defaultCertificate: model?.defaultCertificate ?? null,
    },
    ingresses: state.statuses,
    diagnostics: state.diagnostics.map(formatDiagnostic),
  };
}

/** One data-plane process as the metrics show it (in-process mode: one, this process). */
export interface WorkerGauges {
  readonly worker: number;
  readonly state: string;
  readonly generation: number;
  readonly restarts: number;
}

export function buildMetrics(state: ReconcileState, proxy: ProxyCounters, workers: readonly WorkerGauges[] = []): string {
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, samples: Array<[labels: string, value: number]>): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  metric('martello_config_generation', 'gauge', 'Generation of the routing configuration currently applied.', [['', state.generation]]);
  metric('martello_config_rebuilds_total', 'counter', 'Configuration rebuilds run, whether or not they changed anything.', [['', state.rebuilds]]);
  const errors = state.diagnostics.filter((d) => d.severity === 'error').length;
  metric('martello_config_problems', 'gauge', 'Configuration problems currently reported, by severity.', [
    ['{severity="error"}', errors],
    ['{severity="warning"}', state.diagnostics.length - errors],
  ]);
  metric('martello_http_requests_total', 'counter', 'HTTP requests received by the proxy.', [['', proxy.requests]]);
  metric('martello_http_responses_total', 'counter', 'HTTP responses sent by the proxy, by status class.',
    Object.entries(proxy.responsesByClass).map(([cls, n]) => [`{code="${cls}"}`, n]));
  metric('martello_http_connections_active', 'gauge', 'Client connections currently open.', [['', proxy.activeConnections]]);
  if (workers.length > 0) {
    // Requests and connections above are summed over the workers; these say which worker is where.
    metric('martello_worker_up', 'gauge', 'Whether each data-plane worker is listening (1) or starting, draining or down (0).',
      workers.map((w) => [`{worker="${w.worker}"}`, w.state === 'listening' ? 1 : 0]));
    metric('martello_worker_config_generation', 'gauge', 'Generation of the routing configuration each worker acknowledged.',
      workers.map((w) => [`{worker="${w.worker}"}`, w.generation]));
    metric('martello_worker_restarts_total', 'counter', 'Times each worker was replaced after exiting unexpectedly.',
      workers.map((w) => [`{worker="${w.worker}"}`, w.restarts]));
  }
  return lines.join('\n') + '\n';
}
