// Text to parsed documents, for YAML (multi-document) and JSON files.
// Strict where YAML is lax: duplicate keys are errors, and alias expansion
// is bounded so a "billion laughs" file is refused instead of eating memory.
// Any error makes the whole file unreadable: a half-written file must not
// be half applied.

import { LineCounter, parseAllDocuments, parseDocument, type Document, type YAMLError } from 'yaml';

export interface ParsedDocument {
  /** 1-based position in the file. */
  readonly document: number;
  readonly value: unknown;
}

export interface ParseError {
  readonly code: string;
  readonly message: string;
  readonly document: number;
}

export type ParseResult = { readonly ok: true; readonly documents: ParsedDocument[] } | { readonly ok: false; readonly errors: ParseError[] };

/** Aliases a file may dereference in total; real manifests use a handful at most. */
export const MAX_ALIAS_COUNT = 100;

export function parseYaml(text: string): ParseResult {
  const lineCounter = new LineCounter();
  // merge: true because kubectl's YAML reader honours `<<` merge keys too.
  const docs: Document.Parsed[] = [...parseAllDocuments(text, { lineCounter, uniqueKeys: true, merge: true, prettyErrors: true })];
  // The first error of a document only: the ones after it are usually its echoes.
  const errors = docs.flatMap((doc, i) => doc.errors.slice(0, 1).map((e) => yamlError(e, i + 1)));
  if (errors.length > 0) return { ok: false, errors };
  const documents: ParsedDocument[] = [];
  for (const [i, doc] of docs.entries()) {
    try {
      documents.push({ document: i + 1, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) });
    } catch (error) {
      return { ok: false, errors: [aliasError(error, i + 1)] };
    }
  }
  return { ok: true, documents: documents.filter((d) => d.value !== null && d.value !== undefined) };
}

export function parseJson(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const where = firstYamlErrorPosition(text);
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { ok: false, errors: [{ code: 'json-syntax', document: 1, message: `invalid JSON${where}: ${message}` }] };
  }
  // JSON.parse silently keeps the last of duplicate keys; the YAML parser (JSON is YAML) finds them with positions.
  const duplicates = parseDocument(text, { uniqueKeys: true }).errors.filter((e) => e.code === 'DUPLICATE_KEY');
  if (duplicates.length > 0) return { ok: false, errors: duplicates.map((e) => ({ ...yamlError(e, 1), code: 'json-duplicate-key' })) };
  return { ok: true, documents: value === null ? [] : [{ document: 1, value }] };
}

function yamlError(error: YAMLError, document: number): ParseError {
  const code = error.code === 'DUPLICATE_KEY' ? 'yaml-duplicate-key' : 'yaml-syntax';
  // The pretty message ends with " at line L, column C:" and a source excerpt; keep one line.
  const summary = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  return { code, document, message: `YAML error${position(error)}: ${summary}` };
}

function aliasError(error: unknown, document: number): ParseError {
  const detail = error instanceof Error ? error.message : String(error);
  return {
    code: 'yaml-alias-limit',
    document,
    message: `refused: YAML aliases expand beyond the limit of ${MAX_ALIAS_COUNT} (${detail})`,
  };
}

function position(error: YAMLError): string {
  const start = error.linePos?.[0];
  return start === undefined ? '' : ` at line ${start.line}, column ${start.col}`;
}

function firstYamlErrorPosition(text: string): string {
  const first = parseDocument(text).errors[0];
  return first === undefined ? '' : position(first);
}
