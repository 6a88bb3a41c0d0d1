// What the admin listener shows: the debug view of the applied configuration
// (the metrics are in src/observability/metrics/). Built on demand from state
// the planes keep; nothing here runs per proxied request.

import type { ReconcileState } from '../controlplane/reconcile-loop.ts';
import { routeLines } from '../model/summary.ts';
import { formatDiagnostic } from '../shared/diagnostic.ts';

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
