// metadata: the identity and labels every object carries.

import type { ObjectMeta } from './objects.ts';
import {
  checkFormat,
  entryPath,
  optInteger,
  optString,
  reqObject,
  reqString,
  stringMap,
  type JsonObject,
  type Problems,
} from './decode-fields.ts';
import {
  dns1035LabelProblem,
  dns1123LabelProblem,
  dns1123SubdomainProblem,
  labelValueProblem,
  qualifiedNameProblem,
  rfc3339Problem,
} from './validate-names.ts';

export interface MetaRules {
  /** Cluster-scoped kinds (IngressClass) get namespace "" whatever the manifest says, as the API server does. */
  readonly namespaced: boolean;
  /** Services need a DNS-1035 label (their name becomes a DNS label and env var prefix); other kinds a subdomain. */
  readonly nameFormat: 'dns1123-subdomain' | 'dns1035-label';
}

/** The API server caps the total size of all annotations of an object. */
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

export function decodeMeta(p: Problems, raw: JsonObject, rules: MetaRules): ObjectMeta {
  const meta = reqObject(p, raw, 'metadata', '');
  const name = reqString(p, meta, 'name', 'metadata');
  if (name !== '') {
    checkFormat(p, 'metadata.name', name, rules.nameFormat === 'dns1035-label' ? dns1035LabelProblem : dns1123SubdomainProblem);
  }
  const namespace = optString(p, meta, 'namespace', 'metadata');
  if (rules.namespaced && namespace !== undefined && namespace !== '') {
    checkFormat(p, 'metadata.namespace', namespace, dns1123LabelProblem);
  }
  const creationTimestamp = optString(p, meta, 'creationTimestamp', 'metadata');
  checkFormat(p, 'metadata.creationTimestamp', creationTimestamp, rfc3339Problem);
  const generation = optInteger(p, meta, 'generation', 'metadata');
  return {
    name,
    namespace: rules.namespaced ? namespace || 'default' : '',
    uid: optString(p, meta, 'uid', 'metadata'),
    resourceVersion: optString(p, meta, 'resourceVersion', 'metadata'),
    generation,
    creationTimestamp,
    labels: labels(p, meta),
    annotations: annotations(p, meta),
  };
}

function labels(p: Problems, meta: JsonObject): Record<string, string> {
  const map = stringMap(p, meta, 'labels', 'metadata');
  for (const [key, value] of Object.entries(map)) {
    const path = entryPath('metadata.labels', key);
    checkKey(p, path, key);
    checkFormat(p, path, value, labelValueProblem);
  }
  return map;
}

function annotations(p: Problems, meta: JsonObject): Record<string, string> {
  const map = stringMap(p, meta, 'annotations', 'metadata');
  let bytes = 0;
  for (const [key, value] of Object.entries(map)) {
    checkKey(p, entryPath('metadata.annotations', key), key);
    bytes += utf8Length(key) + utf8Length(value);
  }
  if (bytes > MAX_ANNOTATIONS_BYTES) {
    p.add('metadata.annotations', 'field-too-long', `Too long: must have at most ${MAX_ANNOTATIONS_BYTES} bytes`);
  }
  return map;
}

function checkKey(p: Problems, path: string, key: string): void {
  const problem = qualifiedNameProblem(key);
  if (problem !== undefined) p.invalid(path, `Invalid key ${JSON.stringify(key)}: ${problem}`);
}

const encoder = new TextEncoder();

export function utf8Length(s: string): number {
  return encoder.encode(s).length;
}
