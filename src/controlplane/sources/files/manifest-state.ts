// What every manifest file contributes, and what the sink has been told.
// Pure: the directory source feeds it fresh parses and asks for the batch
// that brings the sink up to date. The rules it implements:
// - an unreadable file keeps its last good objects;
// - an invalid object keeps its last valid version (if it had one);
// - the same object in two files: the file that sorts first wins.

import { formatKey, keyOf, keyString, type ObjectKey } from '../../../k8s/keys.ts';
import type { KubeObject } from '../../../k8s/objects.ts';
import { compareDiagnostics, type Diagnostic } from '../../../shared/diagnostic.ts';
import type { Origin, ResourceEvent } from '../source.ts';
import { canonicalJson } from './canonical-json.ts';
import type { ManifestFile } from './manifest-file.ts';

interface Contribution {
  readonly key: ObjectKey;
  readonly object: KubeObject;
  readonly origin: Origin;
  /** Object and origin serialised: equal serials mean nothing to re-emit. */
  readonly serial: string;
}

interface FileEntry {
  /** By keyString, in file order. */
  readonly objects: ReadonlyMap<string, Contribution>;
  readonly problems: readonly Diagnostic[];
}

export interface Batch {
  readonly events: ResourceEvent[];
  readonly upserted: number;
  readonly deleted: number;
}

export class ManifestState {
  readonly #files = new Map<string, FileEntry>();
  #emitted = new Map<string, Contribution>();

  files(): string[] {
    return [...this.#files.keys()];
  }

  /** Records a fresh parse of `file`. */
  update(file: string, parsed: ManifestFile): void {
    const previous = this.#files.get(file);
    if (parsed.unreadable) {
      this.#files.set(file, keepLastGood(file, parsed, previous));
      return;
    }
    const objects = new Map<string, Contribution>();
    for (const { object, origin } of parsed.objects) {
      const key = keyOf(object);
      objects.set(keyString(key), { key, object, origin, serial: canonicalJson({ object, origin }) });
    }
    const problems = [...parsed.problems];
    for (const { key, document } of parsed.invalid) {
      const old = previous?.objects.get(keyString(key));
      if (old === undefined || objects.has(keyString(key))) continue;
      objects.set(keyString(key), old);
      problems.push({
        severity: 'error',
        code: 'object-kept-last-valid',
        message: `${formatKey(key)} is invalid; keeping the last valid version`,
        file,
        document,
        object: formatKey(key),
      });
    }
    this.#files.set(file, { objects, problems });
  }

  remove(file: string): void {
    this.#files.delete(file);
  }

  /** The events that take the sink from what it was last told to the current state; marks them as told. */
  takeBatch(): Batch {
    const { winners } = this.#resolve();
    const events: ResourceEvent[] = [];
    for (const [k, c] of winners) {
      if (this.#emitted.get(k)?.serial !== c.serial) events.push({ type: 'upsert', object: c.object, origin: c.origin });
    }
    const upserted = events.length;
    const gone = [...this.#emitted.keys()].filter((k) => !winners.has(k)).sort();
    for (const k of gone) {
      const key = this.#emitted.get(k)?.key;
      if (key !== undefined) events.push({ type: 'delete', key });
    }
    this.#emitted = winners;
    return { events, upserted, deleted: gone.length };
  }

  /** Every file's problems plus cross-file duplicates, in a stable order. */
  problems(): Diagnostic[] {
    const all = [...this.#files.values()].flatMap((f) => f.problems);
    return [...all, ...this.#resolve().duplicates].sort(compareDiagnostics);
  }

  #resolve(): { winners: Map<string, Contribution>; duplicates: Diagnostic[] } {
    const winners = new Map<string, Contribution>();
    const duplicates: Diagnostic[] = [];
    for (const file of [...this.#files.keys()].sort()) {
      for (const [k, c] of this.#files.get(file)?.objects ?? []) {
        const winner = winners.get(k);
        if (winner === undefined) winners.set(k, c);
        else duplicates.push(duplicateOf(c, winner));
      }
    }
    return { winners, duplicates };
  }
}

function keepLastGood(file: string, parsed: ManifestFile, previous: FileEntry | undefined): FileEntry {
  if (previous === undefined || previous.objects.size === 0) return { objects: new Map(), problems: parsed.problems };
  const kept: Diagnostic = {
    severity: 'error',
    code: 'file-unreadable-kept-last-good',
    message: `file cannot be read; the last good version (${previous.objects.size} object(s)) stays in use`,
    file,
  };
  return { objects: previous.objects, problems: [...parsed.problems, kept] };
}

function duplicateOf(loser: Contribution, winner: Contribution): Diagnostic {
  return {
    severity: 'error',
    code: 'duplicate-object',
    message: `${formatKey(loser.key)} is also defined in ${winner.origin.file} (document ${winner.origin.document}), which takes precedence; this definition is ignored`,
    file: loser.origin.file,
    document: loser.origin.document,
    object: formatKey(loser.key),
  };
}
