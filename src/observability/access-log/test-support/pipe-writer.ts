// Child process for writer.test.ts: drives an AccessLogWriter in a process
// of its own, so the tests can give it a stdout pipe they do not read, share
// one pipe between processes, or watch it exit. Reports over the IPC channel
// (stdout is the pipe under test).
//
//   pipe-writer.ts stall   {maxPendingBytes, lineChars, durationMs, closeTimeoutMs}
//   pipe-writer.ts lines   {id, count, minChars, maxChars, maxPendingBytes, closeTimeoutMs, destination?, waitForGo?}
//   pipe-writer.ts fanout  {writers, ...lines config}: that many `lines` children sharing this stdout
//   pipe-writer.ts idle    {destination, count}: writes and returns without close(); must flush and exit by itself

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AccessLogWriter, type AccessLogWriterStats } from '../writer.ts';

export type ChildReport =
  | { type: 'stalled'; attempted: number; stats: AccessLogWriterStats; ticks: number; maxGapMs: number }
  | { type: 'enqueued'; id: number; attempted: number }
  | { type: 'closed'; id: number; attempted: number; stats: AccessLogWriterStats; closeMs: number };

const mode = process.argv[2];
const config = JSON.parse(process.argv[3] ?? '{}') as Record<string, number | string | boolean | undefined>;

function send(report: ChildReport): void {
  process.send?.(report);
}

function num(name: string): number {
  const v = config[name];
  if (typeof v !== 'number') throw new Error(`pipe-writer: config.${name} must be a number`);
  return v;
}

/** A JSON line of exactly `chars` characters (at least 40): {"w":id,"seq":n,"pad":"xxx"}. */
function line(id: number, seq: number, chars: number): string {
  const head = `{"w":${id},"seq":${seq},"pad":"`;
  return head + 'x'.repeat(Math.max(0, chars - head.length - 2)) + '"}';
}

/** Deterministic lengths (a tiny LCG), so a failure can be reproduced. */
function lengths(seed: number, min: number, max: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return min + (s % (max - min + 1));
  };
}

function onMessage(type: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (m: unknown): void => {
      if ((m as { type?: unknown }).type !== type) return;
      process.off('message', listener);
      resolve();
    };
    process.on('message', listener);
  });
}

async function closeAndReport(writer: AccessLogWriter, id: number, attempted: number): Promise<void> {
  const t0 = performance.now();
  await writer.close();
  send({ type: 'closed', id, attempted, stats: writer.stats(), closeMs: performance.now() - t0 });
  process.disconnect?.();
}

async function stall(): Promise<void> {
  const writer = new AccessLogWriter({ destination: 'stdout', maxPendingBytes: num('maxPendingBytes'), closeTimeoutMs: num('closeTimeoutMs') });
  const lineChars = num('lineChars');
  let ticks = 0;
  let last = performance.now();
  let maxGapMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    ticks++;
  }, 5);
  let attempted = 0;
  const end = performance.now() + num('durationMs');
  await new Promise<void>((resolve) => {
    const burst = (): void => {
      for (let i = 0; i < 500; i++) writer.write(line(0, attempted++, lineChars));
      if (performance.now() < end) setTimeout(burst, 2);
      else resolve();
    };
    burst();
  });
  clearInterval(ticker);
  send({ type: 'stalled', attempted, stats: writer.stats(), ticks, maxGapMs });
  await onMessage('close');
  await closeAndReport(writer, 0, attempted);
}

async function lines(): Promise<void> {
  const id = num('id');
  const destination = typeof config.destination === 'string' ? config.destination : 'stdout';
  const writer = new AccessLogWriter({ destination, maxPendingBytes: num('maxPendingBytes'), closeTimeoutMs: num('closeTimeoutMs') });
  if (config.waitForGo === true) await onMessage('go');
  const count = num('count');
  const next = lengths(id * 7919 + 1, num('minChars'), num('maxChars'));
  // In several turns, so that several batches are handed off.
  for (let seq = 0; seq < count; ) {
    const until = Math.min(count, seq + 1000);
    for (; seq < until; seq++) writer.write(line(id, seq, next()));
    await new Promise((r) => setImmediate(r));
  }
  send({ type: 'enqueued', id, attempted: count });
  await closeAndReport(writer, id, count);
}

async function fanout(): Promise<void> {
  const writers = num('writers');
  const self = fileURLToPath(import.meta.url);
  const exits: Promise<number | null>[] = [];
  for (let id = 1; id <= writers; id++) {
    const child = spawn(process.execPath, [self, 'lines', JSON.stringify({ ...config, id })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (m: ChildReport) => send(m));
    exits.push(new Promise((resolve) => child.on('exit', (code) => resolve(code))));
  }
  const codes = await Promise.all(exits);
  process.exitCode = codes.every((c) => c === 0) ? 0 : 1;
  process.disconnect?.();
}

function idle(): void {
  const writer = new AccessLogWriter({ destination: String(config.destination) });
  const count = num('count');
  for (let seq = 0; seq < count; seq++) writer.write(line(0, seq, 100));
  // No close(), no timers: the process must write the lines and then exit on its own.
}

switch (mode) {
  case 'stall':
    await stall();
    break;
  case 'lines':
    await lines();
    break;
  case 'fanout':
    await fanout();
    break;
  case 'idle':
    idle();
    break;
  default:
    throw new Error(`pipe-writer: unknown mode ${String(mode)}`);
}
