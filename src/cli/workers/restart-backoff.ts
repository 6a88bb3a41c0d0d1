// How soon a worker that exited unexpectedly is replaced. A worker that had
// run for a while is replaced at once; one that dies soon after starting
// (bad flags, a crash on some input, no memory) waits longer each time, so a
// crash loop costs little CPU and leaves readable logs, while a single crash
// costs almost no capacity.

/** A worker that lived at least this long counts as stable: the backoff starts over. */
export const STABLE_RUN_MS = 10_000;
export const FIRST_DELAY_MS = 250;
export const MAX_DELAY_MS = 30_000;

export interface RestartDecision {
  /** Consecutive short runs, including the one that just ended. */
  readonly shortRuns: number;
  readonly delayMs: number;
}

/** `shortRuns`: consecutive short runs before this one; `uptimeMs`: how long the worker that exited ran. */
export function nextRestart(shortRuns: number, uptimeMs: number): RestartDecision {
  if (uptimeMs >= STABLE_RUN_MS) return { shortRuns: 0, delayMs: 0 };
  const runs = shortRuns + 1;
  return { shortRuns: runs, delayMs: Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(runs - 1, 20)) };
}
