// Snapshot in, routing model out: a pure function with its passes in one
// visible order. Nothing here touches the network, the file system or the
// clock, so golden files pin its behaviour exactly.

import type { RoutingModel } from '../model/model.ts';
import type { Diagnostic } from '../shared/diagnostic.ts';
import type { TranslateOptions } from './options.ts';
import { resolveClusters } from './passes/backends.ts';
import type { ClusterRefs } from './passes/cluster-refs.ts';
import { selectOwnedIngresses } from './passes/ingress-class.ts';
import { buildVirtualHosts } from './passes/ingress-rules.ts';
import type { ResourceSnapshot } from './snapshot.ts';
import { StatusRecorder, type IngressStatus } from './status.ts';

export interface TranslateResult {
  readonly model: RoutingModel;
  readonly statuses: readonly IngressStatus[];
  readonly diagnostics: readonly Diagnostic[];
  /** What the model depends on besides Ingresses and IngressClasses, so changes to other objects can be skipped. */
  readonly references: References;
}

export interface References {
  /** "namespace/name" of every Service an Ingress we own refers to. */
  readonly services: ReadonlySet<string>;
  /** "namespace/name" of every Secret an Ingress we own refers to (TLS, later). */
  readonly secrets: ReadonlySet<string>;
}

export function translate(snap: ResourceSnapshot, opts: TranslateOptions): TranslateResult {
  const rec = new StatusRecorder();
  const refs: ClusterRefs = new Map();
  const owned = selectOwnedIngresses(snap, opts, rec); // 1. which Ingresses are ours
  const rules = buildVirtualHosts(owned, refs, rec); // 2. hosts, paths, default backends
  const clusters = resolveClusters(refs, snap, opts, rec); // 3. Services → endpoints
  const model: RoutingModel = deepFreeze({ virtualHosts: rules.virtualHosts, defaultBackend: rules.defaultBackend, clusters });
  const services = new Set([...refs.values()].map((r) => `${r.namespace}/${r.service}`));
  return { model, statuses: rec.statuses(), diagnostics: rec.diagnostics(), references: { services, secrets: new Set() } };
}

/** Freezes the model and everything in it, walking it without a temporary array per object. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
  } else {
    const obj = value as Record<string, unknown>;
    for (const k in obj) deepFreeze(obj[k]);
  }
  return value;
}
