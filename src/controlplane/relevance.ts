// Which object changes can change the routing model. Ingresses and
// IngressClasses always can (they decide what is ours); a Service, its
// EndpointSlices or a Secret only when an Ingress we own refers to it.
// Filtering here keeps unrelated churn in a busy cluster (every Pod
// rollout rewrites EndpointSlices) from rebuilding anything. Pure.

import { SERVICE_NAME_LABEL, type KubeObject } from '../k8s/objects.ts';
import type { References } from '../translate/translate.ts';
import type { ObjectChange } from './store.ts';

export function isRelevant(change: ObjectChange, refs: References): boolean {
  if (isStatusOnlyIngressChange(change)) return false;
  return touches(change.before, refs) || touches(change.after, refs);
}

/**
 * Our own status writes come back as Ingress updates; what translation reads
 * (spec, labels, annotations, creation time) is unchanged by them.
 */
function isStatusOnlyIngressChange({ before, after }: ObjectChange): boolean {
  if (before?.kind !== 'Ingress' || after?.kind !== 'Ingress') return false;
  const a = before.metadata;
  const b = after.metadata;
  return a.creationTimestamp === b.creationTimestamp
    && JSON.stringify(before.spec) === JSON.stringify(after.spec)
    && JSON.stringify(a.annotations) === JSON.stringify(b.annotations)
    && JSON.stringify(a.labels) === JSON.stringify(b.labels);
}

function touches(obj: KubeObject | undefined, refs: References): boolean {
  if (obj === undefined) return false;
  const ns = obj.metadata.namespace;
  switch (obj.kind) {
    case 'Ingress':
    case 'IngressClass':
      return true;
    case 'Service':
      return refs.services.has(`${ns}/${obj.metadata.name}`);
    case 'EndpointSlice': {
      const service = obj.metadata.labels[SERVICE_NAME_LABEL];
      return service !== undefined && refs.services.has(`${ns}/${service}`);
    }
    case 'Secret':
      return refs.secrets.has(`${ns}/${obj.metadata.name}`);
  }
}
