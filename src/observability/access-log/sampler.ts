// Which exchanges get an access log line (--access-log-sample-ratio).
// Pure: the randomness comes in as a function.
//
// Server errors (status >= 500) and cut exchanges (status 0: no response
// head was sent) are always logged: they are the lines someone will look
// for. Every other exchange is logged with probability `ratio`:
//   ratio >= 1  every exchange (the default; `random` is not called),
//   ratio <= 0  only the 5xx and cut exchanges (use --access-log off to log nothing),
//   otherwise   a uniform sample of about ratio × the rest.

/** true: write a line for an exchange with this status. `random` returns [0, 1). */
export function shouldLog(status: number, ratio: number, random: () => number = Math.random): boolean {
  if (status >= 500 || status === 0) return true;
  if (ratio >= 1) return true;
  if (!(ratio > 0)) return false;
  return random() < ratio;
}

/** The flag's value: a number in [0, 1]. */
export function parseSampleRatio(text: string): number | { error: string } {
  const t = text.trim();
  const r = /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(t) ? Number(t) : Number.NaN;
  if (!(r >= 0 && r <= 1)) return { error: `access log sample ratio must be a number from 0 to 1, got ${JSON.stringify(text)}` };
  return r;
}
