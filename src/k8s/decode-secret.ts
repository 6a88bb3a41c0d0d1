// v1 Secret: TLS certificates and keys (and whatever else users keep next to them).

import type { Secret } from './objects.ts';
import { decodeBase64 } from './base64.ts';
import { entries, entryPath, optString, type JsonObject, type Problems } from './decode-fields.ts';
import { decodeMeta } from './decode-meta.ts';
import { configKeyProblem } from './validate-names.ts';

/** The API server's limit on the total size of a Secret's data. */
const MAX_SECRET_BYTES = 1024 * 1024;
const TLS_TYPE = 'kubernetes.io/tls';
const TLS_KEYS = ['tls.crt', 'tls.key'];

const encoder = new TextEncoder();

export function decodeSecret(p: Problems, raw: JsonObject): Secret {
  const metadata = decodeMeta(p, raw, { namespaced: true, nameFormat: 'dns1123-subdomain' });
  const type = optString(p, raw, 'type', '') || 'Opaque';
  const data = entries(p, raw, 'data', '', (v, path) => {
    if (v === null || v === undefined) return new Uint8Array(0);
    if (typeof v !== 'string') {
      p.wrongType(path, 'a base64 string', v);
      return undefined;
    }
    const bytes = decodeBase64(v);
    if (bytes === undefined) p.invalid(path, 'must be valid base64 (standard alphabet, padded)');
    return bytes;
  });
  const stringData = entries(p, raw, 'stringData', '', (v, path) => {
    if (v === null || v === undefined) return new Uint8Array(0);
    if (typeof v === 'string') return encoder.encode(v);
    p.wrongType(path, 'a string', v);
    return undefined;
  });
  checkKeys(p, 'data', data);
  checkKeys(p, 'stringData', stringData);
  // stringData is write-only convenience: the API server merges it over data.
  const merged: Record<string, Uint8Array> = Object.assign(Object.create(null) as Record<string, Uint8Array>, data, stringData);
  checkSize(p, merged);
  if (type === TLS_TYPE) {
    for (const key of TLS_KEYS.filter((k) => !Object.hasOwn(merged, k))) p.required(entryPath('data', key), `a ${TLS_TYPE} Secret needs "${key}"`);
  }
  return { kind: 'Secret', apiVersion: 'v1', metadata, type, data: merged };
}

function checkKeys(p: Problems, field: string, map: Readonly<Record<string, Uint8Array>>): void {
  for (const key of Object.keys(map)) {
    const problem = configKeyProblem(key);
    if (problem !== undefined) p.invalid(entryPath(field, key), `Invalid key ${JSON.stringify(key)}: ${problem}`);
  }
}

function checkSize(p: Problems, map: Readonly<Record<string, Uint8Array>>): void {
  const total = Object.values(map).reduce((sum, bytes) => sum + bytes.length, 0);
  if (total > MAX_SECRET_BYTES) p.add('data', 'field-too-long', `Too long: must have at most ${MAX_SECRET_BYTES} bytes`);
}
