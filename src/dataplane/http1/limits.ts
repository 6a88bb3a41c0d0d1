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

/** `base` overridden by `partial`; every limit must be a positive safe integer. */
export function resolveLimits(base: Http1Limits, partial: Partial<Http1Limits> | undefined): Http1Limits {
  const limits: Http1Limits = { ...base, ...partial };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || (value as number) < 1) throw new RangeError(`http1 limit ${key} must be a positive safe integer, got ${String(value)}`);
  }
  if (limits.maxStartLineBytes > limits.maxHeadBytes) throw new RangeError('http1 limit maxStartLineBytes cannot exceed maxHeadBytes');
  return limits;
}
