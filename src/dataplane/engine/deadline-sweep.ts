// Deadlines for the engine's connections without a timer per connection or
// per request: each tracked object carries a `deadline` (ms on the
// performance clock, Infinity for none) and one coarse interval timer per
// engine checks them all. Setting a deadline is a field write against
// `now`, which the sweep refreshes on every tick; a deadline therefore fires
// between `ms` and `ms + tick` after it was set, which is what timeouts of
// seconds need (security.md R10) and costs nothing per request.

export interface Expiring {
  /** When to call expired(), on the performance clock; Infinity: never. */
  deadline: number;
  /** Called once the deadline passed; set a new deadline or forget the object. */
  expired(now: number): void;
}

export class DeadlineSweep {
  /** The performance clock as of the last tick (or the last refresh()). */
  now = performance.now();
  readonly #items = new Set<Expiring>();
  readonly #tickMs: number;
  #timer: NodeJS.Timeout | undefined;

  /** `tickMs`: how often deadlines are checked (their resolution). */
  constructor(tickMs: number) {
    this.#tickMs = tickMs;
  }

  get size(): number {
    return this.#items.size;
  }

  add(item: Expiring): void {
    this.#items.add(item);
    if (this.#timer === undefined) {
      this.now = performance.now();
      this.#timer = setInterval(onTick, this.#tickMs, this);
      this.#timer.unref();
    }
  }

  delete(item: Expiring): void {
    this.#items.delete(item);
    if (this.#items.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Reads the clock now (for the first deadline of an object created between ticks). */
  refresh(): number {
    this.now = performance.now();
    return this.now;
  }

  tick(): void {
    const now = performance.now();
    this.now = now;
    for (const item of this.#items) {
      if (item.deadline <= now) item.expired(now);
    }
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#items.clear();
  }
}

function onTick(sweep: DeadlineSweep): void {
  sweep.tick();
}

/** A tick that resolves the smallest timeout to about a quarter of itself, between 10 ms and 1 s. */
export function tickFor(timeoutsMs: readonly number[]): number {
  let min = Infinity;
  for (const t of timeoutsMs) if (t > 0 && t < min) min = t;
  return Math.max(10, Math.min(1000, Math.floor(min / 4)));
}
