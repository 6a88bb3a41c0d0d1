// Precedence rules in one place: which Ingress wins a conflict and in which
// order routes are tried.

import type { Ingress } from '../k8s/objects.ts';
import type { Route } from '../model/model.ts';

/**
 * Oldest first by creationTimestamp, then by namespace/name: the rule
 * ingress-nginx and Contour use for conflicting hosts and paths. Objects
 * without a timestamp (hand-written manifests) count as newer than any
 * object that has one and are ordered by namespace/name among themselves.
 */
export function compareIngressAge(a: Ingress, b: Ingress): number {
  const ta = timestampOf(a);
  const tb = timestampOf(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return compareStrings(`${a.metadata.namespace}/${a.metadata.name}`, `${b.metadata.namespace}/${b.metadata.name}`);
}

function timestampOf(ing: Ingress): number {
  const raw = ing.metadata.creationTimestamp;
  const t = raw === undefined ? Number.NaN : Date.parse(raw);
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/** Longest path first; on equal length exact before prefix; then by path text for determinism. */
export function compareRoutes(a: Route, b: Route): number {
  const byLength = b.match.path.length - a.match.path.length;
  if (byLength !== 0) return byLength;
  if (a.match.type !== b.match.type) return a.match.type === 'exact' ? -1 : 1;
  return compareStrings(a.match.path, b.match.path);
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
