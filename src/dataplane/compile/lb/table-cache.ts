// Hash tables (Maglev, ring) reused across compiles. A route table is rebuilt
// whenever anything in the model changes, but a cluster's endpoints usually
// did not, and its table (milliseconds to build) is immutable: the same
// identifiers and weights give the same table. The runtime keeps one cache
// and passes it to every compile; entries not used by the latest compile
// are dropped when it finishes (two generations, no sizes to tune).

export class TableCache {
  #current = new Map<string, unknown>();
  #previous = new Map<string, unknown>();

  /** The table for `key`, built by `build` unless this or the previous compile made it. */
  get<T>(key: string, build: () => T): T {
    let table = this.#current.get(key);
    if (table === undefined) {
      table = this.#previous.get(key) ?? build();
      this.#current.set(key, table);
    }
    return table as T;
  }

  /** Called when a compile is complete: what it did not use is forgotten by the next one. */
  endGeneration(): void {
    this.#previous = this.#current;
    this.#current = new Map();
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }
}

/** The cache key of a table: its kind, identifiers and weights. */
export function tableKey(kind: string, ids: readonly string[], weights: readonly number[]): string {
  return `${kind}|${ids.length}|${ids.join(',')}|${weights.join(',')}`;
}
