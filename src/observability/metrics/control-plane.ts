// The control plane's metric families, built from state it already keeps
// (the reconcile loop's state, the model's certificates, the reflectors'
// status) when /metrics is read. Pure: plain values in, a snapshot out.

import type { RoutingModel } from '../../model/model.ts';
import { F } from './catalog.ts';
import type { Histogram } from './histogram.ts';
import { type MetricSnapshot, type Sample, samplesOf } from './snapshot.ts';

export interface ConfigState {
  readonly generation: number;
  readonly rebuilds: number;
  /** ISO time the current model was applied, if ever. */
  readonly appliedAt: string | undefined;
  readonly model: RoutingModel | undefined;
  readonly diagnostics: ReadonlyArray<{ readonly severity: string }>;
}

/** One reflector (one resource in one namespace, or cluster-wide) as the Kubernetes source reports it. */
export interface WatchState {
  readonly resource: string;
  readonly synced: boolean;
  readonly connected: boolean;
  readonly restarts: number;
  readonly relists: number;
  readonly lastContactMs: number | undefined;
  readonly events: Readonly<Record<string, number>>;
}

const EVENT_TYPES = ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK'] as const;

export function configFamilies(state: ConfigState, propagation: Histogram): MetricSnapshot {
  const errors = state.diagnostics.filter((d) => d.severity === 'error').length;
  const applied = state.appliedAt === undefined ? 0 : Date.parse(state.appliedAt) / 1000;
  return {
    [F.configGeneration.name]: samplesOf(F.configGeneration, [{ labels: [], value: state.generation }]),
    [F.configRebuilds.name]: samplesOf(F.configRebuilds, [{ labels: [], value: state.rebuilds }]),
    [F.configProblems.name]: samplesOf(F.configProblems, [
      { labels: ['error'], value: errors },
      { labels: ['warning'], value: state.diagnostics.length - errors },
    ]),
    [F.configLastApplied.name]: samplesOf(F.configLastApplied, [{ labels: [], value: applied }]),
    [F.configPropagation.name]: samplesOf(F.configPropagation, [{ labels: [], value: propagation.value() }]),
    [F.certificateExpiry.name]: samplesOf(F.certificateExpiry, certificateSamples(state.model)),
  };
}

/** One sample per TLS host: when its certificate expires and which Secret it came from. */
function certificateSamples(model: RoutingModel | undefined): Sample[] {
  if (model === undefined) return [];
  const notAfter = new Map(model.certificates.map((c) => [c.id, Date.parse(c.notAfter) / 1000]));
  const out: Sample[] = [];
  for (const h of model.tlsHosts) {
    const id = h.certificate ?? model.defaultCertificate ?? null;
    if (id === null) continue; // the generated default certificate: not the operator's to renew
    const expiry = notAfter.get(id);
    if (expiry !== undefined) out.push({ labels: [h.host, id], value: expiry });
  }
  return out;
}

/** Watch health per resource (reflectors of one resource in several namespaces are combined). */
export function watchFamilies(reflectors: readonly WatchState[]): MetricSnapshot {
  const byResource = new Map<string, { up: boolean; restarts: number; last: number; events: Record<string, number> }>();
  for (const r of reflectors) {
    let acc = byResource.get(r.resource);
    if (acc === undefined) {
      acc = { up: true, restarts: 0, last: 0, events: { ADDED: 0, MODIFIED: 0, DELETED: 0, BOOKMARK: 0 } };
      byResource.set(r.resource, acc);
    }
    acc.up &&= r.synced && r.connected;
    acc.restarts += r.restarts + r.relists;
    acc.last = Math.max(acc.last, (r.lastContactMs ?? 0) / 1000);
    for (const t of EVENT_TYPES) acc.events[t]! += r.events[t] ?? 0;
  }
  const up: Sample[] = [];
  const restarts: Sample[] = [];
  const last: Sample[] = [];
  const events: Sample[] = [];
  for (const [resource, acc] of byResource) {
    up.push({ labels: [resource], value: acc.up ? 1 : 0 });
    restarts.push({ labels: [resource], value: acc.restarts });
    last.push({ labels: [resource], value: acc.last });
    for (const t of EVENT_TYPES) events.push({ labels: [resource, t], value: acc.events[t]! });
  }
  return {
    [F.watchUp.name]: samplesOf(F.watchUp, up),
    [F.watchRestarts.name]: samplesOf(F.watchRestarts, restarts),
    [F.watchLastActivity.name]: samplesOf(F.watchLastActivity, last),
    [F.watchEvents.name]: samplesOf(F.watchEvents, events),
  };
}

export interface WorkerGauge {
  readonly worker: number;
  readonly state: string;
  readonly generation: number;
  readonly restarts: number;
}

export function workerFamilies(workers: readonly WorkerGauge[]): MetricSnapshot {
  if (workers.length === 0) return {};
  return {
    [F.workerUp.name]: samplesOf(F.workerUp, workers.map((w) => ({ labels: [String(w.worker)], value: w.state === 'listening' ? 1 : 0 }))),
    [F.workerGeneration.name]: samplesOf(F.workerGeneration, workers.map((w) => ({ labels: [String(w.worker)], value: w.generation }))),
    [F.workerRestarts.name]: samplesOf(F.workerRestarts, workers.map((w) => ({ labels: [String(w.worker)], value: w.restarts }))),
  };
}
