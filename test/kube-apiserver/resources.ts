// The resource types the test API server serves, with the per-type facts
// the real registry strategies encode: scope, status subresource,
// generation, name rules, field selectors, discovery data. Both Event APIs
// share one storage ("events"); the events.k8s.io view is converted on the
// way in and out (event-mapping.ts).

import { coreEventToEventsV1, eventsV1ToCoreEvent } from './event-mapping.ts';

export type KubeObject = Record<string, unknown>;

/** Which DNS rule the object name must follow. */
export type NameRule = 'subdomain' | 'label' | 'label1035';

export interface ResourceDef {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  /** Key of the shared storage; equal to `plural` except for events.k8s.io. */
  readonly storage: string;
  readonly hasStatus: boolean;
  /** What a create resets status to (the strategy's PrepareForCreate). */
  readonly emptyStatus?: () => KubeObject;
  /** metadata.generation is set to 1 on create and bumped on spec changes. */
  readonly hasGeneration: boolean;
  readonly nameRule: NameRule;
  /** PUT of a missing object creates it (true for core events only here). */
  readonly allowCreateOnUpdate: boolean;
  /** A PUT without metadata.resourceVersion overwrites (false for Leases: 422). */
  readonly allowUnconditionalUpdate: boolean;
  /** Field selector labels besides metadata.name/metadata.namespace, evaluated on the API form. */
  readonly fieldLabels: Readonly<Record<string, (obj: KubeObject) => string>>;
  /** Storage form → API form (defaults to identity). */
  readonly fromStorage?: (stored: KubeObject) => KubeObject;
  /** API form → storage form (defaults to identity). */
  readonly toStorage?: (obj: KubeObject) => KubeObject;
}

export const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] as const;

/** "networking.k8s.io/v1" or "v1". */
export function apiVersionOf(def: ResourceDef): string {
  return def.group === '' ? def.version : `${def.group}/${def.version}`;
}

/** Reads a dotted path as the field selector sees it: missing values are "". */
export function fieldValue(obj: KubeObject, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : String(cur);
}

function fields(...paths: string[]): Record<string, (obj: KubeObject) => string> {
  return Object.fromEntries(paths.map((p) => [p, (obj: KubeObject) => fieldValue(obj, p)]));
}

const loadBalancerStatus = (): KubeObject => ({ loadBalancer: {} });

type Defaulted = 'storage' | 'shortNames' | 'categories' | 'fieldLabels' | 'allowCreateOnUpdate' | 'allowUnconditionalUpdate';

function resource(d: Omit<ResourceDef, Defaulted> & Partial<ResourceDef>): ResourceDef {
  return { storage: d.plural, shortNames: [], categories: [], fieldLabels: {}, allowCreateOnUpdate: false, allowUnconditionalUpdate: true, ...d };
}

export const RESOURCE_DEFS: readonly ResourceDef[] = [
  resource({ group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', singular: 'ingress', kind: 'Ingress', namespaced: true,
    shortNames: ['ing'], categories: ['all'], hasStatus: true, emptyStatus: loadBalancerStatus, hasGeneration: true, nameRule: 'subdomain' }),
  resource({ group: 'networking.k8s.io', version: 'v1', plural: 'ingressclasses', singular: 'ingressclass', kind: 'IngressClass', namespaced: false,
    hasStatus: false, hasGeneration: true, nameRule: 'subdomain' }),
  resource({ group: '', version: 'v1', plural: 'services', singular: 'service', kind: 'Service', namespaced: true,
    shortNames: ['svc'], categories: ['all'], hasStatus: true, emptyStatus: loadBalancerStatus, hasGeneration: true, nameRule: 'label1035',
    fieldLabels: fields('spec.clusterIP', 'spec.type') }),
  resource({ group: '', version: 'v1', plural: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true,
    hasStatus: false, hasGeneration: false, nameRule: 'subdomain', fieldLabels: fields('type') }),
  resource({ group: '', version: 'v1', plural: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true,
    shortNames: ['cm'], hasStatus: false, hasGeneration: false, nameRule: 'subdomain' }),
  resource({ group: '', version: 'v1', plural: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false,
    shortNames: ['ns'], hasStatus: true, emptyStatus: () => ({ phase: 'Active' }), hasGeneration: false, nameRule: 'label',
    fieldLabels: fields('status.phase') }),
  resource({ group: '', version: 'v1', plural: 'events', singular: 'event', kind: 'Event', namespaced: true,
    shortNames: ['ev'], hasStatus: false, hasGeneration: false, nameRule: 'subdomain', allowCreateOnUpdate: true,
    fieldLabels: fields('involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid',
      'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason',
      'reportingComponent', 'source', 'type') }),
  resource({ group: 'events.k8s.io', version: 'v1', plural: 'events', singular: 'event', kind: 'Event', namespaced: true,
    shortNames: ['ev'], hasStatus: false, hasGeneration: false, nameRule: 'subdomain', storage: 'events',
    fieldLabels: fields('regarding.kind', 'regarding.namespace', 'regarding.name', 'regarding.uid',
      'regarding.apiVersion', 'regarding.resourceVersion', 'regarding.fieldPath', 'reason', 'reportingController', 'type'),
    fromStorage: coreEventToEventsV1, toStorage: eventsV1ToCoreEvent }),
  resource({ group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice', namespaced: true,
    hasStatus: false, hasGeneration: true, nameRule: 'subdomain' }),
  resource({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', singular: 'lease', kind: 'Lease', namespaced: true,
    hasStatus: false, hasGeneration: false, nameRule: 'subdomain', allowUnconditionalUpdate: false }),
  // Stored but otherwise inert kinds, so the installation manifests (deploy/)
  // can be applied with the real kubectl: no controllers act on them here.
  resource({ group: '', version: 'v1', plural: 'serviceaccounts', singular: 'serviceaccount', kind: 'ServiceAccount', namespaced: true,
    shortNames: ['sa'], hasStatus: false, hasGeneration: false, nameRule: 'subdomain' }),
  ...(['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'] as const).map((kind) => resource({
    group: 'rbac.authorization.k8s.io', version: 'v1', plural: `${kind.toLowerCase()}s`, singular: kind.toLowerCase(), kind,
    namespaced: !kind.startsWith('Cluster'), hasStatus: false, hasGeneration: false, nameRule: 'subdomain' })),
  resource({ group: 'apps', version: 'v1', plural: 'deployments', singular: 'deployment', kind: 'Deployment', namespaced: true,
    shortNames: ['deploy'], categories: ['all'], hasStatus: true, emptyStatus: () => ({}), hasGeneration: true, nameRule: 'subdomain' }),
  resource({ group: 'apps', version: 'v1', plural: 'daemonsets', singular: 'daemonset', kind: 'DaemonSet', namespaced: true,
    shortNames: ['ds'], categories: ['all'], hasStatus: true, emptyStatus: () => ({}), hasGeneration: true, nameRule: 'subdomain' }),
  resource({ group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', singular: 'poddisruptionbudget', kind: 'PodDisruptionBudget', namespaced: true,
    shortNames: ['pdb'], hasStatus: true, emptyStatus: () => ({}), hasGeneration: true, nameRule: 'subdomain' }),
  resource({ group: 'autoscaling', version: 'v2', plural: 'horizontalpodautoscalers', singular: 'horizontalpodautoscaler', kind: 'HorizontalPodAutoscaler',
    namespaced: true, shortNames: ['hpa'], categories: ['all'], hasStatus: true, emptyStatus: () => ({}), hasGeneration: false, nameRule: 'subdomain' }),
];

/** The def serving `group/version/plural`. */
export function findByPlural(group: string, version: string, plural: string): ResourceDef | undefined {
  return RESOURCE_DEFS.find((d) => d.group === group && d.version === version && d.plural === plural);
}

/** The def for an object's apiVersion and kind (for the in-process seeding API). */
export function findByKind(apiVersion: string, kind: string): ResourceDef | undefined {
  return RESOURCE_DEFS.find((d) => apiVersionOf(d) === apiVersion && d.kind === kind);
}

/** Every (group, version) served, in discovery order; "" is the core group. */
export function groupVersions(): Array<{ group: string; version: string }> {
  const seen = new Map<string, { group: string; version: string }>();
  for (const d of RESOURCE_DEFS) seen.set(`${d.group}/${d.version}`, { group: d.group, version: d.version });
  return [...seen.values()];
}
