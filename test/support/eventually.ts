// Polling for process tests whose condition lives in another process (an
// API server object, an event list): checks on a short interval until the
// check returns a value, or fails with what was awaited after the deadline.

export async function eventually<T>(what: string, check: () => T | undefined | Promise<T | undefined>, deadlineMs = 15_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`not within ${deadlineMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
