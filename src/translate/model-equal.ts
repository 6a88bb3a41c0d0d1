// Whether two routing models are the same: the reconcile loop applies a new
// model only when it differs from the applied one. Compares the plain data
// directly, the way their JSON serialisations would compare (a property set
// to undefined counts as absent; array order counts, object key order does
// not), without building a serialisation of either: at 5,000 Ingresses that
// string is megabytes per rebuild. Pure.

import type { RoutingModel } from '../model/model.ts';

export function sameModel(a: RoutingModel, b: RoutingModel): boolean {
  return sameData(a, b);
}

/** Deep equality of JSON-like data (objects, arrays, strings, numbers, booleans, null). */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let defined = 0;
  for (const k in x) {
    const v = x[k];
    if (v === undefined) continue;
    defined++;
    if (!sameData(v, y[k])) return false;
  }
  for (const k in y) if (y[k] !== undefined) defined--;
  return defined === 0;
}
