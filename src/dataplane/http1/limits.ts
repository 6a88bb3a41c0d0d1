// The bounds every byte the codec consumes is held to (security.md §7 and
// CVE-2024-22019: nothing the peer sends may grow without a limit). Request
// defaults follow the edge recommendations; responses come from our own
// backends and get roomier heads (Set-Cookie-heavy applications).

export interface Http1Limits {
  /** Start line + header fields + final CRLF. Requests: 431 above it. */
  readonly maxHeadBytes: number;
  /** Request line (status line for responses) including its CRLF. Requests: 414 above it. */
  readonly maxStartLineBytes: number;
  /** Header field lines. Requests: 431 above it. */
  readonly maxHeaders: number;
  /** Chunk-extension bytes summed over one message (413 above it; CVE-2024-22019). */
  readonly maxChunkExtensionBytes: number;
  /** Trailer section bytes including its final CRLF (431 above it). */
  readonly maxTrailerBytes: number;
  /** Trailer field lines (431 above it). */
  readonly maxTrailers: number;
  /** Body bytes of one message, Content-Length or chunked (413 above it). */
  readonly maxBodyBytes: number;
}

export const DEFAULT_REQUEST_LIMITS: Http1Limits = Object.freeze({
  maxHeadBytes: 16 * 1024,
  maxStartLineBytes: 8 * 1024,
  maxHeaders: 100,
  maxChunkExtensionBytes: 4 * 1024,
  maxTrailerBytes: 8 * 1024,
  maxTrailers: 32,
  maxBodyBytes: Number.MAX_SAFE_INTEGER,
});

export const DEFAULT_RESPONSE_LIMITS: Http1Limits = Object.freeze({
  maxHeadBytes: 64 * 1024,
  maxStartLineBytes: 8 * 1024,
  maxHeaders: 200,
  maxChunkExtensionBytes: 4 * 1024,
  maxTrailerBytes: 16 * 1024,
  maxTrailers: 64,
  maxBodyBytes: Number.MAX_SAFE_INTEGER,
});

// Recent resolutions, reused while the same limits are asked for again:
// every client and upstream connection makes a parser with the same limits
// (one set for requests, one for responses), so validating and copying them
// per connection is wasted work.
interface Resolved {
  readonly base: Http1Limits;
  readonly partial: Partial<Http1Limits> | undefined;
  readonly limits: Http1Limits;
}
const recent: Resolved[] = [];
const RECENT_MAX = 4;

/** `base` overridden by `partial`; every limit must be a positive safe integer. The result is frozen (and may be shared). */
export function resolveLimits(base: Http1Limits, partial: Partial<Http1Limits> | undefined): Http1Limits {
  for (let i = 0; i < recent.length; i++) {
    const r = recent[i]!;
    if (r.base === base && sameLimits(partial, r.partial)) return r.limits;
  }
  const limits = computeLimits(base, partial);
  if (recent.length === RECENT_MAX) recent.shift();
  recent.push({ base, partial: partial === undefined ? undefined : { ...partial }, limits });
  return limits;
}

function sameLimits(a: Partial<Http1Limits> | undefined, b: Partial<Http1Limits> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  let n = 0;
  for (const key in a) {
    if (a[key as keyof Http1Limits] !== b[key as keyof Http1Limits]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

function computeLimits(base: Http1Limits, partial: Partial<Http1Limits> | undefined): Http1Limits {
  const limits: Http1Limits = { ...base, ...partial };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || (value as number) < 1) throw new RangeError(`http1 limit ${key} must be a positive safe integer, got ${String(value)}`);
  }
  if (limits.maxStartLineBytes > limits.maxHeadBytes) throw new RangeError('http1 limit maxStartLineBytes cannot exceed maxHeadBytes');
  return Object.freeze(limits);
}
