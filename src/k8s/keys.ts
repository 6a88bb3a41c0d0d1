import type { KubeKind, KubeObject } from './objects.ts';

/** Identity of an object across sources: kind plus namespace/name. */
export interface ObjectKey {
  readonly kind: KubeKind;
  readonly namespace: string;
  readonly name: string;
}

export function keyOf(obj: KubeObject): ObjectKey {
  return { kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name };
}

/** "Kind ns/name" (or "Kind name" for cluster-scoped objects): the form used in logs and diagnostics. */
export function formatKey(key: ObjectKey): string {
  return key.namespace === '' ? `${key.kind} ${key.name}` : `${key.kind} ${key.namespace}/${key.name}`;
}

/** A string usable as a Map key, unique per kind/namespace/name. */
export function keyString(key: ObjectKey): string {
  return `${key.kind}/${key.namespace}/${key.name}`;
}

export function namespacedName(namespace: string, name: string): string {
  return namespace === '' ? name : `${namespace}/${name}`;
}
