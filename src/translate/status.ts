// Collects what translation has to say about each object: whether an Ingress
// is ours (its status) and every problem found (diagnostics). Problems are
// data returned to the caller, never exceptions.

import { compareDiagnostics, type Diagnostic, type Severity } from '../shared/diagnostic.ts';

export interface IngressStatus {
  /** "namespace/name". */
  readonly ingress: string;
  /** True when this controller serves the Ingress (and will publish its address). */
  readonly owned: boolean;
  /** Why it is or is not ours, in words an operator understands. */
  readonly reason: string;
}

export class StatusRecorder {
  readonly #statuses: IngressStatus[] = [];
  readonly #diagnostics: Diagnostic[] = [];

  status(status: IngressStatus): void {
    this.#statuses.push(status);
  }

  report(severity: Severity, code: string, object: string, field: string | undefined, message: string): void {
    this.#diagnostics.push(field === undefined ? { severity, code, object, message } : { severity, code, object, field, message });
  }

  statuses(): IngressStatus[] {
    return [...this.#statuses].sort((a, b) => (a.ingress < b.ingress ? -1 : a.ingress > b.ingress ? 1 : 0));
  }

  diagnostics(): Diagnostic[] {
    return [...this.#diagnostics].sort(compareDiagnostics);
  }
}
