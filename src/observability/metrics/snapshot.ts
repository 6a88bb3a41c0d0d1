// Metric values as plain data: what a worker process sends the primary over
// IPC, what the primary keeps of workers that exited, and what the
// exposition renders. Families are keyed by name (see catalog.ts); a
// sample's labels are values in the order of the family's `labels`.
//
// Merging sums samples with the same labels. That is right for counters and
// histograms, and for the gauges we have: open connections add up over
// workers, and per-process gauges carry a `process` label so they never
// collide.

import { ALL_FAMILIES, type FamilySpec } from './catalog.ts';

export interface HistogramValue {
  /** Per bucket, not cumulative; one more than the family's bounds (+Inf). */
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

export type SampleValue = number | HistogramValue;

export interface Sample {
  readonly labels: readonly string[];
  readonly value: SampleValue;
}

export interface FamilySamples {
  /** Label names, in the order of each sample's values (the catalog's, plus `host` with --metrics-per-host). */
  readonly labels: readonly string[];
  readonly samples: readonly Sample[];
}

export type MetricSnapshot = Readonly<Record<string, FamilySamples>>;

const SPECS: ReadonlyMap<string, FamilySpec> = new Map(ALL_FAMILIES.map((f) => [f.name, f]));

export function familySpec(name: string): FamilySpec | undefined {
  return SPECS.get(name);
}

/** Sums snapshots family by family, sample by sample (same labels). */
export function mergeSnapshots(parts: ReadonlyArray<MetricSnapshot | undefined>): MetricSnapshot {
  const out: Record<string, { labels: readonly string[]; byKey: Map<string, Sample> }> = {};
  for (const part of parts) {
    if (part === undefined) continue;
    for (const [name, fam] of Object.entries(part)) {
      let acc = out[name];
      if (acc === undefined) {
        acc = { labels: fam.labels, byKey: new Map() };
        out[name] = acc;
      } else if (!sameLabels(acc.labels, fam.labels)) {
        continue; // A process with other label names (mixed --metrics-per-host): not summable, skip.
      }
      for (const s of fam.samples) {
        const key = s.labels.join('\u0000');
        const prev = acc.byKey.get(key);
        acc.byKey.set(key, prev === undefined ? s : { labels: s.labels, value: addValues(prev.value, s.value) });
      }
    }
  }
  const result: Record<string, FamilySamples> = {};
  for (const [name, acc] of Object.entries(out)) result[name] = { labels: acc.labels, samples: [...acc.byKey.values()] };
  return result;
}

/**
 * What stays of a process's snapshot after it exited: its counters and
 * histograms (so sums never go down when a worker is replaced), not its
 * gauges, and not per-process families (their `process` label is gone for good).
 */
export function retainCounters(snapshot: MetricSnapshot): MetricSnapshot {
  const out: Record<string, FamilySamples> = {};
  for (const [name, fam] of Object.entries(snapshot)) {
    const spec = SPECS.get(name);
    if (spec === undefined || spec.type === 'gauge' || fam.labels.includes('process')) continue;
    out[name] = fam;
  }
  return out;
}

function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((l, i) => l === b[i]);
}

function addValues(a: SampleValue, b: SampleValue): SampleValue {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'number' || typeof b === 'number') return a; // mismatched kinds cannot happen for one family
  const counts = a.counts.length === b.counts.length ? a.counts.map((c, i) => c + b.counts[i]!) : a.counts;
  return { counts, sum: a.sum + b.sum, count: a.count + b.count };
}

/** Builds a family's samples; the catalog decides its label names. */
export function samplesOf(spec: FamilySpec, samples: Sample[], extraLabels: readonly string[] = []): FamilySamples {
  return { labels: extraLabels.length === 0 ? spec.labels : [...spec.labels, ...extraLabels], samples };
}

/** Is `value` a well-formed snapshot (checked on what arrives over IPC)? */
export function isMetricSnapshot(value: unknown): value is MetricSnapshot {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const [name, fam] of Object.entries(value as Record<string, unknown>)) {
    if (!SPECS.has(name) || typeof fam !== 'object' || fam === null) return false;
    const f = fam as Record<string, unknown>;
    if (!Array.isArray(f['labels']) || !f['labels'].every((l) => typeof l === 'string') || !Array.isArray(f['samples'])) return false;
    const width = f['labels'].length;
    for (const s of f['samples'] as unknown[]) {
      if (typeof s !== 'object' || s === null) return false;
      const sample = s as Record<string, unknown>;
      const labels = sample['labels'];
      if (!Array.isArray(labels) || labels.length !== width || !labels.every((l) => typeof l === 'string')) return false;
      const v = sample['value'];
      if (typeof v === 'number') continue;
      if (typeof v !== 'object' || v === null) return false;
      const h = v as Record<string, unknown>;
      if (!Array.isArray(h['counts']) || !h['counts'].every((c) => typeof c === 'number') || typeof h['sum'] !== 'number' || typeof h['count'] !== 'number') return false;
    }
  }
  return true;
}
