// The one store every source feeds: the current set of decoded objects, keyed
// by "Kind namespace/name" (the form diagnostics use), plus each source's current input problems. The
// reconcile loop takes snapshots of it; nothing else mutates it.

import { formatKey, keyOf } from '../k8s/keys.ts';
import type { KubeObject } from '../k8s/objects.ts';
import type { Diagnostic } from '../shared/diagnostic.ts';
import type { Origin, ResourceEvent } from './sources/source.ts';

export interface ObjectChange {
  readonly before: KubeObject | undefined;
  readonly after: KubeObject | undefined;
}

interface Entry {
  readonly object: KubeObject;
  readonly origin: Origin | undefined;
}

export class ObjectStore {
  readonly #entries = new Map<string, Entry>();
  readonly #problems = new Map<string, readonly Diagnostic[]>();

  /** Applies a batch; returns what changed (the object before and after; undefined for none). */
  apply(batch: readonly ResourceEvent[]): ObjectChange[] {
    const changes: ObjectChange[] = [];
    for (const event of batch) {
      if (event.type === 'upsert') {
        const key = formatKey(keyOf(event.object));
        const prev = this.#entries.get(key);
        if (prev?.object === event.object) continue;
        this.#entries.set(key, { object: event.object, origin: event.origin });
        changes.push({ before: prev?.object, after: event.object });
      } else {
        const key = formatKey(event.key);
        const prev = this.#entries.get(key);
        if (prev === undefined) continue;
        this.#entries.delete(key);
        changes.push({ before: prev.object, after: undefined });
      }
    }
    return changes;
  }

  /** Replaces the problems reported by one source; returns true when they differ. */
  setProblems(source: string, list: readonly Diagnostic[]): boolean {
    const prev = this.#problems.get(source) ?? [];
    this.#problems.set(source, list);
    return JSON.stringify(prev) !== JSON.stringify(list);
  }

  objects(): KubeObject[] {
    return [...this.#entries.values()].map((e) => e.object);
  }

  /** Where an object ("Kind ns/name", as diagnostics name it) came from, when its source knows. */
  originOf(object: string): Origin | undefined {
    return this.#entries.get(object)?.origin;
  }

  problems(): Diagnostic[] {
    return [...this.#problems.values()].flat();
  }

  get size(): number {
    return this.#entries.size;
  }
}
