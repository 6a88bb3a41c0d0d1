// Token bucket and retry delays for everything that writes to the API
// server (status, events): bounded write rates protect the API server from
// a controller in a loop. Pure apart from the injected clock.

export type Clock = () => number;

export interface TokenBucketOptions {
  /** Tokens added per second. */
  readonly perSecond: number;
  /** Bucket size: how many operations may happen at once after a quiet period. */
  readonly burst: number;
  readonly now: Clock;
}

export class TokenBucket {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #now: Clock;
  #tokens: number;
  #updatedAt: number;

  constructor(opts: TokenBucketOptions) {
    if (!(opts.perSecond > 0) || !(opts.burst >= 1)) throw new RangeError('a token bucket needs perSecond > 0 and burst >= 1');
    this.#perMs = opts.perSecond / 1000;
    this.#burst = opts.burst;
    this.#now = opts.now;
    this.#tokens = opts.burst;
    this.#updatedAt = opts.now();
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#updatedAt);
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#perMs);
    this.#updatedAt = now;
  }

  /** Tokens available now (fractional). */
  get tokens(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Takes a token if one is available. */
  tryTake(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until a token will be available (0 when one is). */
  waitMs(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / this.#perMs);
  }

  /** True when the bucket is full: nothing was taken for a while (callers may forget such buckets). */
  get full(): boolean {
    return this.tokens >= this.#burst;
  }
}

export interface RetryDelayOptions {
  /** First delay (default 500 ms). */
  readonly initialMs?: number;
  /** Upper bound (default 60 s). */
  readonly maxMs?: number;
  /** 0..1, the share of each delay that is randomised (default 0.2). */
  readonly jitter?: number;
  /** Injected for deterministic tests (default Math.random). */
  readonly random?: () => number;
}

/** Exponential delay for the n-th consecutive failure (n >= 1), capped and jittered. */
export function retryDelayMs(failures: number, opts: RetryDelayOptions = {}): number {
  const initial = opts.initialMs ?? 500;
  const max = opts.maxMs ?? 60_000;
  const jitter = opts.jitter ?? 0.2;
  const random = opts.random ?? Math.random;
  const base = Math.min(max, initial * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  return Math.round(base * (1 - jitter + jitter * random()));
}
