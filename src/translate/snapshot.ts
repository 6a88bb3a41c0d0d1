// A frozen view of every object the sources delivered, indexed the way the
// translation passes look things up. Built by the control plane from its
// store; translation only reads it.

import { namespacedName } from '../k8s/keys.ts';
import {
  SERVICE_NAME_LABEL,
  type EndpointSlice,
  type Ingress,
  type IngressClass,
  type KubeObject,
  type Secret,
  type Service,
} from '../k8s/objects.ts';

export interface ResourceSnapshot {
  /** Sorted by namespace/name. */
  readonly ingresses: readonly Ingress[];
  /** By name (cluster-scoped). */
  readonly ingressClasses: ReadonlyMap<string, IngressClass>;
  /** By "namespace/name". */
  readonly services: ReadonlyMap<string, Service>;
  /** By "namespace/service-name" (the kubernetes.io/service-name label); each list sorted by slice name. */
  readonly endpointSlices: ReadonlyMap<string, readonly EndpointSlice[]>;
  /** By "namespace/name". */
  readonly secrets: ReadonlyMap<string, Secret>;
}

export function buildSnapshot(objects: Iterable<KubeObject>): ResourceSnapshot {
  const ingresses: Ingress[] = [];
  const ingressClasses = new Map<string, IngressClass>();
  const services = new Map<string, Service>();
  const endpointSlices = new Map<string, EndpointSlice[]>();
  const secrets = new Map<string, Secret>();
  for (const obj of objects) {
    const key = namespacedName(obj.metadata.namespace, obj.metadata.name);
    switch (obj.kind) {
      case 'Ingress':
        ingresses.push(obj);
        break;
      case 'IngressClass':
        ingressClasses.set(obj.metadata.name, obj);
        break;
      case 'Service':
        services.set(key, obj);
        break;
      case 'Secret':
        secrets.set(key, obj);
        break;
      case 'EndpointSlice': {
        const service = obj.metadata.labels[SERVICE_NAME_LABEL];
        if (service === undefined) break; // not tied to a Service: irrelevant for Ingress backends
        const owner = namespacedName(obj.metadata.namespace, service);
        const list = endpointSlices.get(owner);
        if (list === undefined) endpointSlices.set(owner, [obj]);
        else list.push(obj);
        break;
      }
    }
  }
  for (const [owner, list] of endpointSlices) if (list.length > 1) endpointSlices.set(owner, sortByName(list));
  return { ingresses: sortByName(ingresses), ingressClasses, services, endpointSlices, secrets };
}

/** Sorted by "namespace/name", each key joined once per object rather than once per comparison. */
function sortByName<T extends KubeObject>(list: readonly T[]): T[] {
  return list
    .map((obj) => ({ obj, key: `${obj.metadata.namespace}/${obj.metadata.name}` }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((e) => e.obj);
}
