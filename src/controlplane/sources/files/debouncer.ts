// Coalesces bursts of file events: fires `quietMs` after the last poke, but
// never later than `maxMs` after the first one, so an editor (or a process)
// that writes continuously still gets its changes applied.

export class Debouncer {
  readonly #quietMs: number;
  readonly #maxMs: number;
  readonly #fire: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #firstPokeAt: number | undefined;

  constructor(quietMs: number, maxMs: number, fire: () => void) {
    this.#quietMs = quietMs;
    this.#maxMs = maxMs;
    this.#fire = fire;
  }

  poke(): void {
    const now = Date.now();
    this.#firstPokeAt ??= now;
    const delay = Math.max(0, Math.min(this.#quietMs, this.#firstPokeAt + this.#maxMs - now));
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.cancel();
      this.#fire();
    }, delay);
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#firstPokeAt = undefined;
  }
}
