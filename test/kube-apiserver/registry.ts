// Write semantics of the generic registry store and the per-kind
// strategies (kubernetes-api.md §2.3, §2.7, §3.4 items 4 and 7): server-set
// metadata, status stripped on create and main updates, spec kept on
// /status, generation on spec change, RV preconditions, no-op writes that
// change nothing, finalizers, namespace existence. Used by both the HTTP
// handlers and the in-process seeding API, so both behave the same.

import { randomUUID } from 'node:crypto';
import { apiVersionOf, findByPlural, RESOURCE_DEFS, type KubeObject, type ResourceDef } from './resources.ts';
import { metaOf, type Store } from './store.ts';
import {
  alreadyExists, badRequest, conflict, invalid, notFound, success, unsupportedMediaType, type StatusBody,
} from './status.ts';
import { checkMicroTimes, validateObject } from './validation.ts';
import { canonical, jsonPatch, mergePatch, strategicMergePatch } from './patch.ts';

export interface WriteOptions {
  /** dryRun=All: validate and answer, store nothing. */
  readonly dryRun?: boolean;
}

export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/apply-patch+yaml',
  'application/strategic-merge-patch+json',
] as const;

const NAMESPACES = findByPlural('', 'v1', 'namespaces')!;

/** Second-precision RFC 3339, as metav1.Time serialises. */
export function nowTime(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Stored form → API form of `def`, with kind and apiVersion. */
export function toApi(def: ResourceDef, stored: KubeObject): KubeObject {
  const obj = def.fromStorage ? def.fromStorage(stored) : stored;
  const { kind: _k, apiVersion: _a, ...rest } = obj;
  return { kind: def.kind, apiVersion: apiVersionOf(def), ...rest };
}

function toStored(def: ResourceDef, obj: KubeObject): KubeObject {
  return def.toStorage ? def.toStorage(obj) : obj;
}

/** Everything but metadata and status: what generation tracks. */
function specPart(obj: KubeObject): string {
  const { metadata: _m, status: _s, kind: _k, apiVersion: _a, ...rest } = obj;
  return JSON.stringify(canonical(rest));
}

function withoutRv(obj: KubeObject): string {
  const meta = { ...metaOf(obj) };
  delete meta['resourceVersion'];
  return JSON.stringify(canonical({ ...obj, metadata: meta }));
}

const RANDOM_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += RANDOM_ALPHABET[Math.floor(Math.random() * RANDOM_ALPHABET.length)];
  return s;
}

/** Checks and fills kind/apiVersion of a request body, like the decoder does. */
function decodeBody(def: ResourceDef, body: unknown): KubeObject {
  if (!isObject(body)) throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: the request body is not a JSON object`);
  const apiVersion = apiVersionOf(def);
  if (body['apiVersion'] !== undefined && body['apiVersion'] !== apiVersion) {
    throw badRequest(`the API version in the data (${String(body['apiVersion'])}) does not match the expected API version (${apiVersion})`);
  }
  if (body['kind'] !== undefined && body['kind'] !== def.kind) {
    throw badRequest(`the kind in the data (${String(body['kind'])}) does not match the expected kind (${def.kind})`);
  }
  checkMicroTimes(def, body);
  const metadata = body['metadata'] ?? {};
  if (!isObject(metadata)) throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: metadata must be an object`);
  const { kind: _k, apiVersion: _a, ...rest } = structuredClone(body);
  return { kind: def.kind, apiVersion, ...rest, metadata: structuredClone(metadata) };
}

/** The namespace the request path and the body agree on. */
function resolveNamespace(def: ResourceDef, pathNamespace: string | undefined, meta: Record<string, unknown>): string | undefined {
  if (!def.namespaced) {
    delete meta['namespace'];
    return undefined;
  }
  const bodyNs = meta['namespace'];
  if (pathNamespace !== undefined) {
    if (bodyNs !== undefined && bodyNs !== '' && bodyNs !== pathNamespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    meta['namespace'] = pathNamespace;
    return pathNamespace;
  }
  if (typeof bodyNs !== 'string' || bodyNs === '') throw badRequest('the server could not find the requested resource: namespace is required');
  return bodyNs;
}

function requireNamespace(store: Store, namespace: string | undefined): void {
  if (namespace === undefined) return;
  if (store.get(NAMESPACES.storage, undefined, namespace) === undefined) throw notFound(NAMESPACES, namespace);
}

/** Per-kind defaults the real defaulters apply and clients see. */
function applyDefaults(def: ResourceDef, obj: KubeObject): void {
  const meta = metaOf(obj);
  if (def.kind === 'Secret' && obj['type'] === undefined) obj['type'] = 'Opaque';
  if (def.kind === 'Namespace') {
    meta['labels'] = { ...(meta['labels'] as Record<string, string> | undefined), 'kubernetes.io/metadata.name': meta['name'] as string };
  }
  if (def.kind === 'Service') {
    const spec = isObject(obj['spec']) ? obj['spec'] : (obj['spec'] = {});
    if (spec['type'] === undefined) spec['type'] = 'ClusterIP';
  }
}

/** Fields of metadata only the server sets. */
const SERVER_META = ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const;

export function createObject(store: Store, def: ResourceDef, pathNamespace: string | undefined, body: unknown, opts: WriteOptions = {}): KubeObject {
  const obj = decodeBody(def, body);
  const meta = metaOf(obj);
  const namespace = resolveNamespace(def, pathNamespace, meta);
  if ((meta['name'] === undefined || meta['name'] === '') && typeof meta['generateName'] === 'string' && meta['generateName'] !== '') {
    meta['name'] = `${meta['generateName']}${randomSuffix()}`;
  }
  for (const f of [...SERVER_META, 'resourceVersion', 'managedFields', 'selfLink'] as const) delete meta[f];
  meta['uid'] = randomUUID();
  meta['creationTimestamp'] = nowTime();
  if (def.hasGeneration) meta['generation'] = 1;
  if (def.hasStatus && def.emptyStatus) obj['status'] = def.emptyStatus();
  applyDefaults(def, obj);
  validateObject(def, obj);
  requireNamespace(store, namespace);
  const name = meta['name'] as string;
  if (store.get(def.storage, namespace, name) !== undefined) throw alreadyExists(def, name);
  if (opts.dryRun) return obj;
  meta['resourceVersion'] = String(store.nextRv());
  store.commit('ADDED', def.storage, toStored(def, obj));
  return obj;
}

export interface UpdateOptions extends WriteOptions {
  readonly subresource?: 'status';
}

export function updateObject(store: Store, def: ResourceDef, pathNamespace: string | undefined, name: string, body: unknown, opts: UpdateOptions = {}): KubeObject {
  const obj = decodeBody(def, body);
  const meta = metaOf(obj);
  if (meta['name'] !== undefined && meta['name'] !== name) {
    throw badRequest(`the name of the object (${String(meta['name'])}) does not match the name on the URL (${name})`);
  }
  meta['name'] = name;
  const namespace = resolveNamespace(def, pathNamespace, meta);
  const stored = store.get(def.storage, namespace, name);
  if (stored === undefined) {
    if (def.allowCreateOnUpdate && opts.subresource === undefined) return createObject(store, def, namespace, obj, opts);
    throw notFound(def, name);
  }
  const current = toApi(def, stored);
  const curMeta = metaOf(current);
  const rv = meta['resourceVersion'];
  if (rv === undefined || rv === '') {
    if (!def.allowUnconditionalUpdate) {
      throw invalid(def.kind, def.group, name, [{ type: 'FieldValueInvalid', field: 'metadata.resourceVersion', detail: 'Invalid value: 0x0: must be specified for an update' }]);
    }
  } else if (rv !== curMeta['resourceVersion']) {
    throw conflict(def, name);
  }

  let next: KubeObject;
  if (opts.subresource === 'status') {
    // Status strategy: everything but status and metadata comes from storage.
    const { metadata: _m, status: _s, ...spec } = current;
    next = { ...spec, metadata: meta, status: obj['status'] };
    if (obj['status'] === undefined) delete next['status'];
  } else {
    next = obj;
    if (def.hasStatus) {
      if (current['status'] === undefined) delete next['status'];
      else next['status'] = current['status'];
    }
  }
  const nextMeta = metaOf(next);
  for (const f of SERVER_META) {
    if (curMeta[f] === undefined) delete nextMeta[f];
    else nextMeta[f] = curMeta[f];
  }
  delete nextMeta['managedFields'];
  delete nextMeta['selfLink'];
  nextMeta['resourceVersion'] = curMeta['resourceVersion'];
  if (def.hasGeneration && opts.subresource === undefined && specPart(next) !== specPart(current)) {
    nextMeta['generation'] = (curMeta['generation'] as number) + 1;
  }
  if (opts.subresource === undefined) applyDefaults(def, next);
  validateObject(def, next);

  // A write that changes nothing is not a write: same RV, no watch event.
  if (withoutRv(next) === withoutRv(current)) return current;
  if (opts.dryRun) return next;

  const finalizers = nextMeta['finalizers'];
  if (nextMeta['deletionTimestamp'] !== undefined && (!Array.isArray(finalizers) || finalizers.length === 0)) {
    nextMeta['resourceVersion'] = String(store.nextRv());
    store.commit('DELETED', def.storage, toStored(def, next), stored);
    return next;
  }
  nextMeta['resourceVersion'] = String(store.nextRv());
  store.commit('MODIFIED', def.storage, toStored(def, next), stored);
  return next;
}

export function patchObject(store: Store, def: ResourceDef, namespace: string | undefined, name: string, contentType: string, patch: unknown, opts: UpdateOptions = {}): KubeObject {
  const stored = store.get(def.storage, namespace, name);
  if (stored === undefined) throw notFound(def, name);
  const current = toApi(def, stored);
  let patched: unknown;
  switch (contentType) {
    case 'application/merge-patch+json':
      if (!isObject(patch)) throw badRequest('merge patch body must be a JSON object');
      patched = mergePatch(current, patch);
      break;
    case 'application/strategic-merge-patch+json':
      if (!isObject(patch)) throw badRequest('strategic merge patch body must be a JSON object');
      patched = strategicMergePatch(current, patch);
      break;
    case 'application/json-patch+json':
      patched = jsonPatch(current, patch);
      break;
    default:
      // application/apply-patch+yaml (server-side apply) is not implemented.
      throw unsupportedMediaType(contentType, PATCH_TYPES.filter((t) => t !== 'application/apply-patch+yaml'));
  }
  if (!isObject(patched) || !isObject(patched['metadata'])) throw badRequest('the patch removed metadata');
  const patchedRv = patched['metadata']['resourceVersion'];
  // A resourceVersion in a patch is a precondition.
  if (patchedRv !== metaOf(current)['resourceVersion']) throw conflict(def, name);
  return updateObject(store, def, namespace, name, patched, opts);
}

export interface DeleteOptions extends WriteOptions {
  readonly preconditions?: { uid?: string; resourceVersion?: string };
}

/** Returns a Success Status, or the object when finalizers keep it alive. */
export function deleteObject(store: Store, def: ResourceDef, namespace: string | undefined, name: string, opts: DeleteOptions = {}): StatusBody | KubeObject {
  const stored = store.get(def.storage, namespace, name);
  if (stored === undefined) throw notFound(def, name);
  const current = toApi(def, stored);
  const curMeta = metaOf(current);
  const pre = opts.preconditions;
  if (pre?.uid !== undefined && pre.uid !== curMeta['uid']) {
    throw conflict(def, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(curMeta['uid'])}`);
  }
  if (pre?.resourceVersion !== undefined && pre.resourceVersion !== curMeta['resourceVersion']) {
    throw conflict(def, name, `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${String(curMeta['resourceVersion'])}). The object might have been modified`);
  }
  const finalizers = curMeta['finalizers'];
  if (Array.isArray(finalizers) && finalizers.length > 0) {
    if (curMeta['deletionTimestamp'] !== undefined || opts.dryRun) return current;
    const next = structuredClone(current);
    const meta = metaOf(next);
    meta['deletionTimestamp'] = nowTime();
    meta['deletionGracePeriodSeconds'] = 0;
    meta['resourceVersion'] = String(store.nextRv());
    store.commit('MODIFIED', def.storage, toStored(def, next), stored);
    return next;
  }
  const details = { name, ...(def.group === '' ? {} : { group: def.group }), kind: def.plural, uid: curMeta['uid'] as string };
  if (opts.dryRun) return success(details);
  if (def.kind === 'Namespace') deleteNamespaceContents(store, name);
  const last = structuredClone(stored);
  metaOf(last)['resourceVersion'] = String(store.nextRv());
  store.commit('DELETED', def.storage, last, stored);
  return success(details);
}

/** The namespace controller's job, done at once: everything inside goes first. */
function deleteNamespaceContents(store: Store, namespace: string): void {
  for (const storage of new Set(RESOURCE_DEFS.filter((d) => d.namespaced).map((d) => d.storage))) {
    for (const obj of store.list(storage, namespace)) {
      const last = structuredClone(obj);
      metaOf(last)['resourceVersion'] = String(store.nextRv());
      store.commit('DELETED', storage, last, obj);
    }
  }
}
