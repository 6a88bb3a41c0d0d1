// The storage: objects by storage key and namespace/name, one global
// resourceVersion counter shared by every kind (like an etcd revision), and
// a bounded history of changes that watches resume from. Stored objects are
// never mutated after commit; every write stores a fresh object, so list
// snapshots and history entries can share them safely.

import type { KubeObject } from './resources.ts';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  readonly rv: number;
  readonly type: ChangeType;
  readonly storage: string;
  /** The new state; for DELETED the last state carrying the deletion's RV. */
  readonly object: KubeObject;
  /** The state before (MODIFIED and DELETED), for selector transitions. */
  readonly previous?: KubeObject;
}

export type ChangeListener = (change: Change) => void;

export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export function keyOf(obj: KubeObject): string {
  const meta = metaOf(obj);
  return objectKey(meta['namespace'] as string | undefined, meta['name'] as string);
}

export function metaOf(obj: KubeObject): Record<string, unknown> {
  return obj['metadata'] as Record<string, unknown>;
}

export class Store {
  /** The last committed revision. */
  #rv: number;
  readonly #data = new Map<string, Map<string, KubeObject>>();
  #history: Change[] = [];
  /** Every change with rv > historyStart is in #history. */
  #historyStart: number;
  readonly #historySize: number;
  readonly #listeners = new Set<ChangeListener>();

  constructor(historySize: number, firstRv = 100) {
    this.#historySize = historySize;
    this.#rv = firstRv;
    this.#historyStart = firstRv;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  get historyStart(): number {
    return this.#historyStart;
  }

  /** Reserves the next revision (stamped into an object before commit). */
  nextRv(): number {
    return this.#rv + 1;
  }

  get(storage: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.#data.get(storage)?.get(objectKey(namespace, name));
  }

  /** Objects of one storage, sorted by namespace then name (the real list order). */
  list(storage: string, namespace?: string): KubeObject[] {
    const all = [...(this.#data.get(storage)?.entries() ?? [])];
    all.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return all
      .map(([, obj]) => obj)
      .filter((obj) => namespace === undefined || metaOf(obj)['namespace'] === namespace);
  }

  /**
   * Stores `object` (already stamped with rv = nextRv()) or removes the key
   * for DELETED, appends to history and tells every listener synchronously,
   * so a watch never misses a change between list and watch.
   */
  commit(type: ChangeType, storage: string, object: KubeObject, previous?: KubeObject): Change {
    const meta = metaOf(object);
    const key = objectKey(meta['namespace'] as string | undefined, meta['name'] as string);
    let bucket = this.#data.get(storage);
    if (bucket === undefined) {
      bucket = new Map();
      this.#data.set(storage, bucket);
    }
    if (type === 'DELETED') bucket.delete(key);
    else bucket.set(key, object);
    this.#rv++;
    const change: Change = previous === undefined
      ? { rv: this.#rv, type, storage, object }
      : { rv: this.#rv, type, storage, object, previous };
    this.#history.push(change);
    while (this.#history.length > this.#historySize) {
      this.#historyStart = this.#history.shift()!.rv;
    }
    for (const l of this.#listeners) l(change);
    return change;
  }

  /**
   * The objects of one storage as they were at revision `rv`, rebuilt by
   * undoing later changes; undefined when history no longer reaches back
   * (compacted), which is what expires continue tokens, as in etcd.
   */
  stateAt(storage: string, rv: number, namespace?: string): KubeObject[] | undefined {
    const later = this.changesSince(rv);
    if (later === undefined) return undefined;
    const state = new Map<string, KubeObject>();
    for (const obj of this.list(storage, namespace)) state.set(keyOf(obj), obj);
    for (const change of later.toReversed()) {
      if (change.storage !== storage) continue;
      const key = keyOf(change.object);
      if (change.type === 'ADDED') state.delete(key);
      else if (change.previous !== undefined && (namespace === undefined || metaOf(change.previous)['namespace'] === namespace)) {
        state.set(key, change.previous);
      }
    }
    return [...state.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, obj]) => obj);
  }

  /** Changes with rv > after, or undefined when history no longer reaches back that far. */
  changesSince(after: number): Change[] | undefined {
    if (after < this.#historyStart) return undefined;
    return this.#history.filter((c) => c.rv > after);
  }

  /** Forgets all history: every resume from an older revision now gets 410. */
  compact(): void {
    this.#history = [];
    this.#historyStart = this.#rv;
  }

  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
