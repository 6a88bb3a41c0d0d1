// The one mutable reference to the route table in force. A request reads
// `current` once when it starts and keeps that table for its whole life, so
// a swap in the middle of a request changes nothing for it; requests that
// start after the swap see the new table. Swapping is a single assignment:
// no lock, no copy, no reload.

import type { RouteTable } from '../compile/route-table.ts';

export type SwapListener = (next: RouteTable, previous: RouteTable) => void;

export class TableHolder {
  #current: RouteTable;
  readonly #listeners: SwapListener[] = [];

  constructor(initial: RouteTable) {
    this.#current = initial;
  }

  get current(): RouteTable {
    return this.#current;
  }

  swap(next: RouteTable): void {
    const previous = this.#current;
    this.#current = next;
    // Listeners (upstream pool retirement, metrics) run after the reference
    // is switched, so anything they trigger already sees the new table.
    for (const l of this.#listeners) l(next, previous);
  }

  /** Called after every swap; returns an unsubscribe function. */
  onSwap(listener: SwapListener): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i !== -1) this.#listeners.splice(i, 1);
    };
  }
}
