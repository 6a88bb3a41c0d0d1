// Untrusted parsed JSON/YAML in, typed readonly objects out: the single
// gate every object passes, from manifest files and from the API server
// alike. It applies the API server's own validation so a manifest that works
// here would also be accepted by a cluster, and reports every problem of an
// object with its exact field path.

import type { ObjectKey } from './keys.ts';
import { API_VERSIONS, KUBE_KINDS, type KubeKind, type KubeObject } from './objects.ts';
import { describe, get, indexPath, isJsonObject, Problems, type FieldProblem, type JsonObject } from './decode-fields.ts';
import { decodeEndpointSlice } from './decode-endpoint-slice.ts';
import { decodeIngress } from './decode-ingress.ts';
import { decodeIngressClass } from './decode-ingress-class.ts';
import { decodeSecret } from './decode-secret.ts';
import { decodeService } from './decode-service.ts';

export type { FieldProblem } from './decode-fields.ts';

export type DecodeResult =
  | { readonly ok: true; readonly object: KubeObject }
  /** `key` is known when kind and name could be read, so callers can name the object and keep its last valid version. */
  | { readonly ok: false; readonly problems: readonly FieldProblem[]; readonly key: ObjectKey | undefined }
  /** A kind Martello does not read (Deployment, ConfigMap...): not an error. */
  | { readonly ok: 'ignored'; readonly reason: string };

export interface DocumentItem {
  readonly result: DecodeResult;
  /** Position in `items` when the document was a List, else undefined. */
  readonly index: number | undefined;
}

const DECODERS: Readonly<Record<KubeKind, (p: Problems, raw: JsonObject) => KubeObject>> = {
  Ingress: decodeIngress,
  IngressClass: decodeIngressClass,
  Service: decodeService,
  EndpointSlice: decodeEndpointSlice,
  Secret: decodeSecret,
};

/**
 * API groups each kind has lived in. A supported kind in one of these groups
 * with another version (extensions/v1beta1 Ingress) is an error; the same
 * kind name in an unrelated group (a Knative `Service`) is another kind.
 */
const KIND_GROUPS: Readonly<Record<KubeKind, readonly string[]>> = {
  Ingress: ['networking.k8s.io', 'extensions'],
  IngressClass: ['networking.k8s.io'],
  Service: [''],
  EndpointSlice: ['discovery.k8s.io'],
  Secret: [''],
};

const CLUSTER_SCOPED: ReadonlySet<KubeKind> = new Set(['IngressClass']);

export function decodeObject(value: unknown): DecodeResult {
  if (!isJsonObject(value)) {
    return failure([{ field: '', code: 'field-invalid-type', message: `a manifest must be an object (a mapping), got ${describe(value)}` }], undefined);
  }
  const p = new Problems();
  const kind = typeTag(p, value, 'kind');
  if (kind === undefined) return failure(p.list, undefined);
  // Other kinds are not ours to judge, not even their apiVersion.
  if (!isKubeKind(kind)) return { ok: 'ignored', reason: `${kind} is not a kind Martello reads` };
  const apiVersion = typeTag(p, value, 'apiVersion');
  if (apiVersion === undefined) return failure(p.list, looseKey(kind, value));
  if (apiVersion !== API_VERSIONS[kind]) {
    if (!KIND_GROUPS[kind].includes(groupOf(apiVersion))) {
      return { ok: 'ignored', reason: `${kind} (${apiVersion}) is not the Kubernetes ${kind} (${API_VERSIONS[kind]})` };
    }
    p.add('apiVersion', 'field-not-supported', `Unsupported value ${JSON.stringify(apiVersion)}: ${kind} must use apiVersion "${API_VERSIONS[kind]}"`);
    return failure(p.list, looseKey(kind, value));
  }
  const object = DECODERS[kind](p, value);
  return p.list.length === 0 ? { ok: true, object } : failure(p.list, looseKey(kind, value));
}

/**
 * Decodes one parsed document: a single object, or a `List` (`kind: List`, or
 * a typed list such as `IngressList`) whose items are decoded one by one, each
 * reporting its problems under `items[i]`.
 */
export function decodeDocument(value: unknown): DocumentItem[] {
  if (!isListDocument(value)) return [{ result: decodeObject(value), index: undefined }];
  const items = get(value, 'items');
  if (items === undefined) return [];
  if (!Array.isArray(items)) {
    const message = `must be a list, got ${describe(items)}`;
    return [{ result: failure([{ field: 'items', code: 'field-invalid-type', message }], undefined), index: undefined }];
  }
  const defaults = listItemDefaults(value);
  return items.map((item: unknown, index) => ({ result: prefixed(decodeListItem(item, defaults), indexPath('items', index)), index }));
}

function decodeListItem(item: unknown, defaults: JsonObject): DecodeResult {
  if (isListDocument(item)) {
    return failure([{ field: 'kind', code: 'field-not-supported', message: 'a List inside a List is not supported' }], undefined);
  }
  // Items of a typed list (as the API returns them) may omit kind and apiVersion.
  return decodeObject(isJsonObject(item) ? { ...defaults, ...item } : item);
}

function listItemDefaults(list: JsonObject): JsonObject {
  const kind = get(list, 'kind');
  const apiVersion = get(list, 'apiVersion');
  if (kind === 'List' || typeof kind !== 'string' || typeof apiVersion !== 'string') return {};
  return { kind: kind.slice(0, -'List'.length), apiVersion };
}

function isListDocument(value: unknown): value is JsonObject {
  if (!isJsonObject(value)) return false;
  const kind = get(value, 'kind');
  return typeof kind === 'string' && kind.endsWith('List') && !isKubeKind(kind);
}

function prefixed(result: DecodeResult, prefix: string): DecodeResult {
  if (result.ok !== false) return result;
  const problems = result.problems.map((pr) => ({ ...pr, field: pr.field === '' ? prefix : `${prefix}.${pr.field}` }));
  return failure(problems, result.key);
}

function typeTag(p: Problems, obj: JsonObject, key: 'kind' | 'apiVersion'): string | undefined {
  const value = get(obj, key);
  if (typeof value === 'string' && value !== '') return value;
  if (value === undefined || value === '') p.required(key);
  else p.wrongType(key, 'a string', value);
  return undefined;
}

function isKubeKind(kind: string): kind is KubeKind {
  return (KUBE_KINDS as readonly string[]).includes(kind);
}

/** "networking.k8s.io/v1" -> "networking.k8s.io"; the core group "v1" -> "". */
function groupOf(apiVersion: string): string {
  const slash = apiVersion.lastIndexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

/** Best-effort identity of an invalid object, for diagnostics and "keep the last valid version". */
function looseKey(kind: KubeKind, raw: JsonObject): ObjectKey | undefined {
  const meta = get(raw, 'metadata');
  if (!isJsonObject(meta)) return undefined;
  const name = get(meta, 'name');
  const namespace = get(meta, 'namespace');
  if (typeof name !== 'string' || name === '') return undefined;
  if (CLUSTER_SCOPED.has(kind)) return { kind, namespace: '', name };
  return { kind, namespace: typeof namespace === 'string' && namespace !== '' ? namespace : 'default', name };
}

function failure(problems: readonly FieldProblem[], key: ObjectKey | undefined): DecodeResult {
  return { ok: false, problems, key };
}
