// The Prometheus text exposition format (version 0.0.4): HELP and TYPE from
// the catalog, families in catalog order, histogram buckets cumulative with
// `le`, label values escaped (backslash, double quote, newline).

import { ALL_FAMILIES } from './catalog.ts';
import type { HistogramValue, MetricSnapshot } from './snapshot.ts';

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function renderExposition(snapshot: MetricSnapshot): string {
  const out: string[] = [];
  for (const spec of ALL_FAMILIES) {
    const fam = snapshot[spec.name];
    if (fam === undefined || fam.samples.length === 0) continue;
    out.push(`# HELP ${spec.name} ${escapeHelp(spec.help)}`, `# TYPE ${spec.name} ${spec.type}`);
    const names = fam.labels;
    const samples = [...fam.samples].sort((a, b) => compareLabels(a.labels, b.labels));
    for (const s of samples) {
      const labelText = s.labels.map((v, i) => `${names[i]}="${escapeLabel(v)}"`).join(',');
      if (typeof s.value === 'number') {
        out.push(`${spec.name}${labelText === '' ? '' : `{${labelText}}`} ${formatNumber(s.value)}`);
        continue;
      }
      renderHistogram(out, spec.name, labelText, spec.buckets ?? [], s.value);
    }
  }
  return out.join('\n') + '\n';
}

function renderHistogram(out: string[], name: string, labelText: string, bounds: readonly number[], h: HistogramValue): void {
  const prefix = labelText === '' ? '' : `${labelText},`;
  let cumulative = 0;
  for (let i = 0; i < bounds.length; i++) {
    cumulative += h.counts[i] ?? 0;
    out.push(`${name}_bucket{${prefix}le="${formatNumber(bounds[i]!)}"} ${cumulative}`);
  }
  out.push(`${name}_bucket{${prefix}le="+Inf"} ${h.count}`);
  const braces = labelText === '' ? '' : `{${labelText}}`;
  out.push(`${name}_sum${braces} ${formatNumber(h.sum)}`, `${name}_count${braces} ${h.count}`);
}

function compareLabels(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}
