// Pass 1: which Ingresses are ours. Follows the Kubernetes IngressClass rules:
// spec.ingressClassName names an IngressClass whose spec.controller is ours;
// the legacy kubernetes.io/ingress.class annotation names our class directly;
// an Ingress naming no class is ours when we watch class-less Ingresses or
// when our IngressClass is the cluster default.

import { formatKey, keyOf } from '../../k8s/keys.ts';
import { DEFAULT_CLASS_ANNOTATION, LEGACY_CLASS_ANNOTATION, type Ingress, type IngressClass } from '../../k8s/objects.ts';
import type { TranslateOptions } from '../options.ts';
import { sortByAge } from '../order.ts';
import type { ResourceSnapshot } from '../snapshot.ts';
import type { StatusRecorder } from '../status.ts';

interface Ownership {
  readonly owned: boolean;
  readonly reason: string;
}

/** Returns the Ingresses this controller serves, oldest first (the order conflicts are resolved in). */
export function selectOwnedIngresses(snap: ResourceSnapshot, opts: TranslateOptions, rec: StatusRecorder): Ingress[] {
  const defaultClass = findDefaultClass(snap, opts, rec);
  const owned: Ingress[] = [];
  for (const ing of snap.ingresses) {
    const verdict = decideOwnership(ing, snap, opts, defaultClass, rec);
    rec.status({ ingress: `${ing.metadata.namespace}/${ing.metadata.name}`, owned: verdict.owned, reason: verdict.reason });
    if (verdict.owned) owned.push(ing);
  }
  return sortByAge(owned);
}

function decideOwnership(
  ing: Ingress,
  snap: ResourceSnapshot,
  opts: TranslateOptions,
  defaultClass: IngressClass | undefined,
  rec: StatusRecorder,
): Ownership {
  const className = ing.spec.ingressClassName;
  const legacy = ing.metadata.annotations[LEGACY_CLASS_ANNOTATION];
  const object = formatKey(keyOf(ing));
  if (className !== undefined) {
    if (legacy !== undefined && legacy !== className) {
      rec.report('warning', 'ingress-class-mismatch', object, `metadata.annotations["${LEGACY_CLASS_ANNOTATION}"]`,
        `annotation names class "${legacy}" but spec.ingressClassName is "${className}"; spec.ingressClassName wins`);
    }
    const cls = snap.ingressClasses.get(className);
    if (cls === undefined) {
      if (className === opts.ingressClass) {
        rec.report('warning', 'ingress-class-not-found', object, 'spec.ingressClassName',
          `IngressClass "${className}" does not exist; create it with spec.controller "${opts.controllerClass}" for Martello to serve this Ingress`);
      }
      return { owned: false, reason: `IngressClass "${className}" not found` };
    }
    if (cls.spec.controller !== opts.controllerClass) {
      return { owned: false, reason: `IngressClass "${className}" belongs to controller "${cls.spec.controller}"` };
    }
    return { owned: true, reason: `IngressClass "${className}" has controller "${opts.controllerClass}"` };
  }
  if (legacy !== undefined) {
    return legacy === opts.ingressClass
      ? { owned: true, reason: `annotation ${LEGACY_CLASS_ANNOTATION} is "${legacy}"` }
      : { owned: false, reason: `annotation ${LEGACY_CLASS_ANNOTATION} names class "${legacy}"` };
  }
  if (opts.watchIngressWithoutClass) return { owned: true, reason: 'no class, and class-less Ingresses are watched' };
  if (defaultClass !== undefined) return { owned: true, reason: `no class, and IngressClass "${defaultClass.metadata.name}" is the default` };
  return { owned: false, reason: 'no class, and class-less Ingresses are not watched' };
}

/** Our IngressClass marked as the cluster default, if any. Two defaults is an error the API server would also flag. */
function findDefaultClass(snap: ResourceSnapshot, opts: TranslateOptions, rec: StatusRecorder): IngressClass | undefined {
  const defaults = [...snap.ingressClasses.values()]
    .filter((c) => c.metadata.annotations[DEFAULT_CLASS_ANNOTATION] === 'true')
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  if (defaults.length > 1) {
    for (const cls of defaults) {
      rec.report('warning', 'multiple-default-classes', formatKey(keyOf(cls)), `metadata.annotations["${DEFAULT_CLASS_ANNOTATION}"]`,
        `${defaults.length} IngressClasses are marked as default (${defaults.map((c) => c.metadata.name).join(', ')}); the API server refuses class-less Ingresses in that state`);
    }
  }
  return defaults.find((c) => c.spec.controller === opts.controllerClass);
}
