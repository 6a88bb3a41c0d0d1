// A diagnostic is how every stage reports a problem with user input: it is
// data, returned alongside the result, never an exception. Each one names
// where the problem is as precisely as the stage knows it.

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  readonly severity: Severity;
  /** Stable kebab-case code, e.g. "service-not-found"; tests and docs refer to it. */
  readonly code: string;
  readonly message: string;
  /** Manifest file (relative to the manifests directory), when the object came from one. */
  readonly file?: string;
  /** 1-based index of the YAML document within the file. */
  readonly document?: number;
  /** "Kind namespace/name" of the object concerned, when known. */
  readonly object?: string;
  /** Field path inside the object, e.g. "spec.rules[0].http.paths[1].pathType". */
  readonly field?: string;
}

/** One line, location first: "file.yaml#2 Ingress default/web spec.rules[0].host: message [code]". */
export function formatDiagnostic(d: Diagnostic): string {
  const where: string[] = [];
  if (d.file !== undefined) where.push(d.document !== undefined ? `${d.file}#${d.document}` : d.file);
  if (d.object !== undefined) where.push(d.object);
  if (d.field !== undefined) where.push(d.field);
  const prefix = where.length > 0 ? `${where.join(' ')}: ` : '';
  return `${d.severity}: ${prefix}${d.message} [${d.code}]`;
}

/** Deterministic order for output: by object, field, code, message. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return (
    cmp(a.file ?? '', b.file ?? '') ||
    (a.document ?? 0) - (b.document ?? 0) ||
    cmp(a.object ?? '', b.object ?? '') ||
    cmp(a.field ?? '', b.field ?? '') ||
    cmp(a.code, b.code) ||
    cmp(a.message, b.message)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
