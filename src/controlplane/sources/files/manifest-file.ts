// One manifest file in, decoded objects and diagnostics out. Pure apart
// from parsing: the directory source does the reading and the watching.

import { decodeDocument, type DecodeResult } from '../../../k8s/decode.ts';
import { formatKey, keyOf, keyString, type ObjectKey } from '../../../k8s/keys.ts';
import type { KubeObject } from '../../../k8s/objects.ts';
import type { Diagnostic } from '../../../shared/diagnostic.ts';
import type { Origin } from '../source.ts';
import { parseJson, parseYaml, type ParsedDocument, type ParseResult } from './parse-documents.ts';

/** Files above this size are refused unread: no manifest set needs more, and parsing is memory-hungry. */
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;

export interface ManifestObject {
  readonly object: KubeObject;
  readonly origin: Origin;
}

export interface InvalidObject {
  readonly key: ObjectKey;
  readonly document: number;
}

export interface ManifestFile {
  readonly objects: ManifestObject[];
  readonly problems: Diagnostic[];
  /** The file could not be parsed at all (syntax error, too large...): it yields no objects, and a watcher keeps its last good version. */
  readonly unreadable: boolean;
  /** Objects recognised by kind and name but invalid, so a watcher can keep their last valid version. */
  readonly invalid: InvalidObject[];
}

export function isManifestPath(relPath: string): boolean {
  return /\.(ya?ml|json)$/i.test(relPath);
}

export function parseManifestFile(relPath: string, text: string): ManifestFile {
  if (Buffer.byteLength(text, 'utf8') > MAX_MANIFEST_BYTES) return tooLarge(relPath);
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const parsed: ParseResult = /\.json$/i.test(relPath) ? parseJson(body) : parseYaml(body);
  if (!parsed.ok) {
    const problems = parsed.errors.map((e): Diagnostic => ({ severity: 'error', code: e.code, message: e.message, file: relPath, document: e.document }));
    return { objects: [], problems, unreadable: true, invalid: [] };
  }
  return decodeDocuments(relPath, parsed.documents);
}

export function tooLarge(relPath: string): ManifestFile {
  const problem: Diagnostic = {
    severity: 'error',
    code: 'file-too-large',
    message: `file is larger than ${MAX_MANIFEST_BYTES / (1024 * 1024)} MiB and is not read`,
    file: relPath,
  };
  return { objects: [], problems: [problem], unreadable: true, invalid: [] };
}

function decodeDocuments(file: string, documents: readonly ParsedDocument[]): ManifestFile {
  const out: ManifestFile = { objects: [], problems: [], unreadable: false, invalid: [] };
  const seen = new Map<string, Origin>();
  for (const { document, value } of documents) {
    for (const { result, index } of decodeDocument(value)) {
      addResult(out, seen, result, { file, document }, index);
    }
  }
  return out;
}

function addResult(out: ManifestFile, seen: Map<string, Origin>, result: DecodeResult, origin: Origin, index: number | undefined): void {
  const where = { file: origin.file, document: origin.document };
  if (result.ok === 'ignored') return;
  if (result.ok === false) {
    const object = result.key === undefined ? undefined : formatKey(result.key);
    for (const pr of result.problems) {
      out.problems.push(withoutUndefined({ severity: 'error', code: pr.code, message: pr.message, ...where, object, field: pr.field || undefined }));
    }
    if (result.key !== undefined) out.invalid.push({ key: result.key, document: origin.document });
    return;
  }
  const key = keyOf(result.object);
  const first = seen.get(keyString(key));
  if (first !== undefined) {
    out.problems.push(withoutUndefined({
      severity: 'error',
      code: 'duplicate-object',
      message: `${formatKey(key)} is already defined in document ${first.document} of this file; this definition is ignored`,
      ...where,
      object: formatKey(key),
      field: index === undefined ? undefined : `items[${index}]`,
    }));
    return;
  }
  seen.set(keyString(key), origin);
  out.objects.push({ object: result.object, origin });
}

/** Diagnostics leave unknown locations out rather than set them to undefined, so they compare and print cleanly. */
export function withoutUndefined(d: { [K in keyof Diagnostic]: Diagnostic[K] | undefined }): Diagnostic {
  return Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined)) as unknown as Diagnostic;
}
