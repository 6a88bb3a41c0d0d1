// Bounded background traffic for "nothing is lost across a change" tests:
// a few keep-alive clients sending requests back to back until stopped, or
// until a request count or time limit is reached, recording every outcome.

import { Agent, request } from 'undici';

export interface TrafficResult {
  readonly sent: number;
  /** Requests that did not get a 200 (status or error message). */
  readonly failures: string[];
  /** Which backend answered, in order, per client (from the echo backend's JSON). */
  readonly backends: string[];
}

export interface Traffic {
  /** Resolves once at least `n` more requests have completed (deadline 10 s). */
  waitForRequests(n: number): Promise<void>;
  stop(): Promise<TrafficResult>;
}

export function startTraffic(port: number, host: string, path: string, clients = 4, maxRequests = 20_000, maxMs = 30_000): Traffic {
  const agent = new Agent({ connections: clients, keepAliveTimeout: 10_000 });
  const failures: string[] = [];
  const backends: string[] = [];
  let sent = 0;
  const control = { stopped: false };
  const started = Date.now();
  const waiters: Array<{ target: number; resolve: () => void }> = [];
  const loop = async (): Promise<void> => {
    while (!control.stopped && sent < maxRequests && Date.now() - started < maxMs) {
      sent++;
      try {
        const res = await request(`http://127.0.0.1:${port}${path}`, { headers: { host }, dispatcher: agent });
        const text = await res.body.text();
        if (res.statusCode !== 200) failures.push(`status ${res.statusCode}: ${text.slice(0, 200)}`);
        else backends.push((JSON.parse(text) as { backend: string }).backend);
      } catch (err) {
        failures.push(`error: ${(err as Error).message}`);
      }
      const done = backends.length + failures.length;
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (done >= waiters[i]!.target) waiters.splice(i, 1)[0]!.resolve();
      }
    }
  };
  const running = Promise.all(Array.from({ length: clients }, loop));
  return {
    waitForRequests(n) {
      const target = backends.length + failures.length + n;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`traffic: ${n} more requests did not complete within 10 s`)), 10_000);
        waiters.push({ target, resolve: () => { clearTimeout(timer); resolve(); } });
      });
    },
    async stop() {
      control.stopped = true;
      await running;
      await agent.close();
      return { sent, failures, backends };
    },
  };
}
