// Retry pacing for everything that talks to the API server: exponential
// backoff with full jitter (so a thousand controllers restarted together do
// not hit a recovering API server in lockstep), a cap, a reset once things
// have been healthy for a while, and the server's Retry-After as a floor.

export interface BackoffOptions {
  /** First delay ceiling (default 300 ms). */
  readonly baseMs?: number;
  /** Largest delay ceiling (default 30 s). */
  readonly capMs?: number;
  /** A failure this long after the previous one starts again from the base (default 2 min). */
  readonly resetAfterMs?: number;
  /** Largest Retry-After honoured, so a broken header cannot park a watch for hours (default 10 min). */
  readonly maxRetryAfterMs?: number;
  /** Test hooks. */
  readonly random?: () => number;
  readonly now?: () => number;
}

export class Backoff {
  readonly #base: number;
  readonly #cap: number;
  readonly #resetAfter: number;
  readonly #maxRetryAfter: number;
  readonly #random: () => number;
  readonly #now: () => number;
  #attempt = 0;
  #lastFailureAt: number | undefined;

  constructor(options: BackoffOptions = {}) {
    this.#base = options.baseMs ?? 300;
    this.#cap = options.capMs ?? 30_000;
    this.#resetAfter = options.resetAfterMs ?? 120_000;
    this.#maxRetryAfter = options.maxRetryAfterMs ?? 600_000;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }

  /**
   * Records a failure and returns how long to wait before the next try:
   * uniformly random in [0, min(cap, base·2^n)], but never less than the
   * server's Retry-After.
   */
  next(retryAfterSeconds?: number): number {
    const now = this.#now();
    if (this.#lastFailureAt !== undefined && now - this.#lastFailureAt > this.#resetAfter) this.#attempt = 0;
    this.#lastFailureAt = now;
    const ceiling = Math.min(this.#cap, this.#base * 2 ** Math.min(this.#attempt, 30));
    this.#attempt += 1;
    const jittered = Math.floor(this.#random() * ceiling);
    if (retryAfterSeconds === undefined || !Number.isFinite(retryAfterSeconds) || retryAfterSeconds <= 0) return jittered;
    return Math.max(jittered, Math.min(this.#maxRetryAfter, Math.ceil(retryAfterSeconds * 1000)));
  }

  /** Forgets past failures (after a clearly healthy period). */
  reset(): void {
    this.#attempt = 0;
    this.#lastFailureAt = undefined;
  }
}

/** Resolves after `ms`, or early (without rejecting) when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
