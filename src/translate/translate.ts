// Snapshot in, routing model out: a pure function with its passes in one
// visible order. Nothing here touches the network, the file system or the
// clock (the time for certificate validity comes in the context), so golden
// files pin its behaviour exactly.

import type { Ingress } from '../k8s/objects.ts';
import type { RoutingModel } from '../model/model.ts';
import type { Diagnostic } from '../shared/diagnostic.ts';
import type { TranslateOptions } from './options.ts';
import { resolveClusters } from './passes/backends.ts';
import type { ClusterRefs } from './passes/cluster-refs.ts';
import { findHostOwners } from './passes/host-owners.ts';
import { selectOwnedIngresses } from './passes/ingress-class.ts';
import { buildVirtualHosts } from './passes/ingress-rules.ts';
import { readIngressSettings, type IngressSettings } from './passes/ingress-settings.ts';
import { buildTls, type TlsContext } from './passes/tls.ts';
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
  /** "namespace/name" of every Secret an Ingress we own refers to (TLS certificates, upstream CAs). */
  readonly secrets: ReadonlySet<string>;
}

/** `now` (ms since epoch) for certificate validity; `previous`: the model served so far (last-known-good certificates). */
export type TranslateContext = Partial<TlsContext>;

export function translate(snap: ResourceSnapshot, opts: TranslateOptions, ctx: TranslateContext = {}): TranslateResult {
  const rec = new StatusRecorder();
  const refs: ClusterRefs = new Map();
  const owned = selectOwnedIngresses(snap, opts, rec); // 1. which Ingresses are ours
  const owners = findHostOwners(owned, opts); // 1b. which namespace owns each host
  const tls = buildTls(owned, snap, { now: ctx.now, previous: ctx.previous }, rec, opts.defaultCertificate, owners); // 2. TLS hosts and certificates
  const secrets = tls.secretRefs;
  const settings = new Map<Ingress, IngressSettings>();
  const settingsOf = (ing: Ingress): IngressSettings => {
    let s = settings.get(ing);
    if (s === undefined) {
      s = readIngressSettings(ing, snap, opts, rec, secrets);
      settings.set(ing, s);
    }
    return s;
  };
  for (const ing of owned) settingsOf(ing); // annotations are checked even on Ingresses whose rules all lose
  const tlsNames = new Set(tls.tlsHosts.map((h) => h.host));
  const hasTls = (host: string): boolean => {
    if (tlsNames.has(host)) return true;
    const dot = host.indexOf('.');
    return dot > 0 && tlsNames.has(`*${host.slice(dot)}`);
  };
  const rules = buildVirtualHosts(owned, refs, rec, { settings: settingsOf, hasTls, owners }); // 3. hosts, paths, default backends
  const clusters = resolveClusters(refs, snap, opts, rec); // 4. Services → endpoints
  const model: RoutingModel = deepFreeze({
    virtualHosts: rules.virtualHosts,
    defaultBackend: rules.defaultBackend,
    clusters,
    tlsHosts: tls.tlsHosts,
    certificates: tls.certificates,
    ...(tls.defaultCertificate === undefined ? {} : { defaultCertificate: tls.defaultCertificate }),
  });
  const services = new Set([...refs.values()].map((r) => `${r.namespace}/${r.service}`));
  return { model, statuses: rec.statuses(), diagnostics: rec.diagnostics(), references: { services, secrets } };
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
