import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually } from '../../../test/support/eventually.ts';
import type { ChildReport } from './test-support/pipe-writer.ts';
import { AccessLogWriter } from './writer.ts';

const NODE = fileURLToPath(new URL('../../../node_modules/.bin/node', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./test-support/pipe-writer.ts', import.meta.url));
/** Linux's largest pipe buffer: an upper bound for what a stalled pipe can hold. */
const PIPE_MAX = Number(fs.readFileSync('/proc/sys/fs/pipe-max-size', 'utf8'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'martello-access-log-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

function line(seq: number, chars: number): string {
  const head = `{"seq":${seq},"pad":"`;
  return head + 'y'.repeat(Math.max(0, chars - head.length - 2)) + '"}';
}

async function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface Child {
  proc: ChildProcess;
  /** The next report of this type (reports are queued until asked for). */
  report<T extends ChildReport['type']>(type: T, ms?: number): Promise<Extract<ChildReport, { type: T }>>;
  exit: Promise<number | null>;
  stderr(): string;
}

function runFixture(mode: string, config: object, ipc = true): Child {
  const proc = spawn(NODE, [FIXTURE, mode, JSON.stringify(config)], { stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  const queue: ChildReport[] = [];
  const waiters: (() => void)[] = [];
  proc.on('message', (m: ChildReport) => {
    queue.push(m);
    for (const w of waiters.splice(0)) w();
  });
  let err = '';
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const report = async <T extends ChildReport['type']>(type: T, ms = 20_000): Promise<Extract<ChildReport, { type: T }>> => {
    const take = (): Extract<ChildReport, { type: T }> | undefined => {
      const i = queue.findIndex((m) => m.type === type);
      return i === -1 ? undefined : (queue.splice(i, 1)[0] as Extract<ChildReport, { type: T }>);
    };
    return deadline(
      (async () => {
        for (;;) {
          const m = take();
          if (m !== undefined) return m;
          await Promise.race([new Promise<void>((r) => waiters.push(r)), exit.then(() => { throw new Error(`child exited before "${type}"; stderr: ${err}`); })]);
        }
      })(),
      ms,
      `report "${type}" from pipe-writer ${mode}; stderr: ${err}`,
    );
  };
  return { proc, report, exit, stderr: () => err };
}

/**
 * Collects everything the stream delivers until it ends, starting paused:
 * nothing is read (beyond what Node buffers on its own) until `resume()`.
 * The listener is attached at once because Node resumes a child's unread
 * stdout when the child exits, and without a listener that data is lost.
 * `slowly`: pause 1 ms after every chunk, so that writers keep finding the pipe full.
 */
function capture(stream: NodeJS.ReadableStream, slowly = false): { resume(): void; done: Promise<string> } {
  const chunks: Buffer[] = [];
  const done = new Promise<string>((resolve, reject) => {
    stream.on('data', (c: Buffer) => {
      chunks.push(c);
      if (slowly) {
        stream.pause();
        setTimeout(() => stream.resume(), 1);
      }
    });
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
  stream.pause();
  return { resume: () => stream.resume(), done };
}

/** Parses every line (the text must end with a newline); fails on the first one that is not whole. */
function parseLines(text: string): { w?: number; seq: number; pad: string }[] {
  if (text === '') return [];
  assert.equal(text.at(-1), '\n', 'output ends with a whole line');
  return text.slice(0, -1).split('\n').map((l, i) => {
    try {
      return JSON.parse(l) as { w?: number; seq: number; pad: string };
    } catch {
      assert.fail(`line ${i} is not a whole JSON line: ${JSON.stringify(l.slice(0, 200))}`);
    }
  });
}

function assertIncreasing(seqs: number[], what: string): void {
  for (let i = 1; i < seqs.length; i++) assert.ok((seqs[i] as number) > (seqs[i - 1] as number), `${what}: seq ${seqs[i]} after ${seqs[i - 1]}`);
}

describe('AccessLogWriter to a file', () => {
  test('every line reaches the file, in order and complete (short, long and 10 KB lines)', async () => {
    const file = path.join(tmp, 'order.log');
    const writer = new AccessLogWriter({ destination: file, maxPendingBytes: 64 * 1024 * 1024 });
    const expected: string[] = [];
    for (let seq = 0; seq < 20_000; seq++) {
      const chars = seq % 997 === 0 ? 10_240 : 40 + ((seq * 37) % 400);
      const l = line(seq, chars);
      expected.push(l);
      writer.write(l);
      if (seq % 3000 === 0) await new Promise((r) => setImmediate(r)); // several turns, several batches
    }
    await writer.close();
    assert.deepEqual(writer.stats(), { lines: 20_000, dropped: 0 });
    const got = fs.readFileSync(file, 'utf8');
    assert.equal(got, expected.join('\n') + '\n');
  });

  test('batches larger in UTF-8 than the reused buffers, and batches over their size, arrive intact', async () => {
    const file = path.join(tmp, 'utf8.log');
    // 200 KB batches: as UTF-16 they fit the 256 KiB reused buffers, as UTF-8 (2-4 bytes a character) they do not.
    const writer = new AccessLogWriter({ destination: file, batchBytes: 200_000, maxPendingBytes: 64 * 1024 * 1024 });
    const expected: string[] = [];
    for (let seq = 0; seq < 3000; seq++) {
      const l = seq % 2 === 0 ? `{"seq":${seq},"path":"/caf\u00e9/\u20ac/\ud834\udd1e${'\u00e9'.repeat(300)}"}` : line(seq, seq % 500 === 1 ? 300_000 : 120);
      expected.push(l);
      writer.write(l);
      if (seq % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    await writer.close();
    assert.deepEqual(writer.stats(), { lines: 3000, dropped: 0 });
    assert.equal(fs.readFileSync(file, 'utf8'), expected.join('\n') + '\n');
  });

  test('lines are written without close(): stats().lines counts what the thread wrote', async () => {
    const file = path.join(tmp, 'live.log');
    const writer = new AccessLogWriter({ destination: file });
    for (let seq = 0; seq < 10; seq++) writer.write(line(seq, 60));
    assert.deepEqual(writer.stats(), { lines: 0, dropped: 0 }, 'write() only queues');
    await eventually('10 lines acknowledged', () => (writer.stats().lines === 10 ? true : undefined), 10_000);
    assert.equal(fs.readFileSync(file, 'utf8').split('\n').length, 11);
    await writer.close();
  });

  test('appends to an existing file', async () => {
    const file = path.join(tmp, 'append.log');
    fs.writeFileSync(file, 'before\n');
    const writer = new AccessLogWriter({ destination: file });
    writer.write('after');
    await writer.close();
    assert.equal(fs.readFileSync(file, 'utf8'), 'before\nafter\n');
  });

  test('beyond maxPendingBytes lines are dropped and counted, exactly', async () => {
    const file = path.join(tmp, 'bound.log');
    const writer = new AccessLogWriter({ destination: file, maxPendingBytes: 10_000 });
    // One turn: nothing can be acknowledged in between. 100 chars + newline = 101 per line: 99 fit.
    for (let seq = 0; seq < 1000; seq++) writer.write(line(seq, 100));
    assert.deepEqual(writer.stats(), { lines: 0, dropped: 901 });
    await writer.close();
    assert.deepEqual(writer.stats(), { lines: 99, dropped: 901 });
    const seqs = parseLines(fs.readFileSync(file, 'utf8')).map((l) => l.seq);
    assert.deepEqual(seqs, Array.from({ length: 99 }, (_, i) => i));
  });

  test('a batch of batchBytes is handed off within the turn, and the bound frees up as the thread acknowledges', async () => {
    const file = path.join(tmp, 'batches.log');
    const writer = new AccessLogWriter({ destination: file, maxPendingBytes: 5_000, batchBytes: 1_000 });
    let seq = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 40; i++) writer.write(line(seq++, 99)); // 4000 of 5000
      const before = seq;
      await eventually('round acknowledged', () => (writer.stats().lines === before ? true : undefined), 10_000);
    }
    await writer.close();
    assert.deepEqual(writer.stats(), { lines: 800, dropped: 0 });
  });

  test('close() is idempotent; writes after it are dropped', async () => {
    const file = path.join(tmp, 'closed.log');
    const writer = new AccessLogWriter({ destination: file });
    writer.write('one');
    const a = writer.close();
    assert.equal(writer.close(), a);
    writer.write('two');
    await a;
    writer.write('three');
    assert.deepEqual(writer.stats(), { lines: 1, dropped: 2 });
    assert.equal(fs.readFileSync(file, 'utf8'), 'one\n');
  });

  test('a destination that cannot be opened and bad sizes are errors at construction', () => {
    assert.throws(() => new AccessLogWriter({ destination: path.join(tmp, 'missing-dir', 'x.log') }), { code: 'ENOENT' });
    assert.throws(() => new AccessLogWriter({ destination: path.join(tmp, 'x.log'), maxPendingBytes: 0 }), RangeError);
    assert.throws(() => new AccessLogWriter({ destination: path.join(tmp, 'x.log'), batchBytes: Number.NaN }), RangeError);
  });
});

describe('AccessLogWriter in a process of its own', () => {
  const stallConfig = { maxPendingBytes: 256 * 1024, lineChars: 200, durationMs: 800 };

  test('a stdout pipe nobody reads: the event loop keeps ticking, memory stays bounded, close() keeps its deadline', async () => {
    const child = runFixture('stall', { ...stallConfig, closeTimeoutMs: 1000 });
    const output = capture(child.proc.stdout!);
    const stalled = await child.report('stalled');
    // The event loop ran all along: 5 ms interval, 800 ms.
    assert.ok(stalled.maxGapMs < 1000, `longest gap between ticks ${stalled.maxGapMs} ms`);
    assert.ok(stalled.ticks >= 40, `only ${stalled.ticks} ticks`);
    // Lines beyond the bound were dropped, not buffered: what was accepted fits in maxPendingBytes plus what the pipe holds.
    assert.ok(stalled.stats.dropped > 0, 'the pipe stalled and lines were dropped');
    const accepted = stalled.attempted - stalled.stats.dropped;
    assert.ok(accepted * 201 <= stallConfig.maxPendingBytes + PIPE_MAX + 4096, `accepted ${accepted} of ${stalled.attempted} lines`);
    assert.ok(stalled.stats.lines * 201 <= PIPE_MAX + 4096, `${stalled.stats.lines} lines acknowledged into a stalled pipe`);

    // close() while the pipe is still full: gives up at its deadline, counts the rest as dropped.
    child.proc.send({ type: 'close' });
    const closed = await child.report('closed');
    assert.ok(closed.closeMs >= 900 && closed.closeMs < 1000 + 2500, `close() took ${closed.closeMs} ms`);
    assert.equal(closed.stats.lines + closed.stats.dropped, closed.attempted, 'every line is written or counted as dropped');
    // The thread does not hold the process at exit even though its pipe is full.
    assert.equal(await deadline(child.exit, 10_000, 'child exits with a full stdout pipe'), 0);

    // What is in the pipe is exactly the acknowledged lines, whole and in order.
    output.resume();
    const got = parseLines(await deadline(output.done, 10_000, 'read the pipe'));
    assert.equal(got.length, closed.stats.lines);
    assertIncreasing(got.map((l) => l.seq), 'stalled pipe');
  });

  test('close() flushes everything pending once the pipe is read again', async () => {
    const child = runFixture('stall', { ...stallConfig, closeTimeoutMs: 15_000 });
    const output = capture(child.proc.stdout!);
    const stalled = await child.report('stalled');
    assert.ok(stalled.stats.dropped > 0, 'the pipe stalled');
    output.resume();
    child.proc.send({ type: 'close' });
    const closed = await child.report('closed');
    assert.equal(closed.stats.dropped, stalled.stats.dropped, 'nothing pending was dropped');
    assert.equal(closed.stats.lines, closed.attempted - closed.stats.dropped);
    assert.equal(await deadline(child.exit, 10_000, 'child exit'), 0);
    const got = parseLines(await deadline(output.done, 10_000, 'read the pipe'));
    assert.equal(got.length, closed.stats.lines);
    assertIncreasing(got.map((l) => l.seq), 'flushed pipe');
  });

  test('two processes writing to one pipe produce only whole lines (chunks of at most PIPE_BUF end at line boundaries)', async () => {
    const count = 3000;
    const child = runFixture('fanout', { writers: 2, count, minChars: 40, maxChars: 3000, maxPendingBytes: 64 * 1024 * 1024, closeTimeoutMs: 60_000 });
    // Let both fill the pipe before reading, and read slowly, so that their writes contend for it.
    const output = capture(child.proc.stdout!, true);
    await child.report('enqueued');
    await child.report('enqueued');
    output.resume();
    const got = parseLines(await deadline(output.done, 60_000, 'read the shared pipe'));
    const a = await child.report('closed');
    const b = await child.report('closed');
    assert.equal(await deadline(child.exit, 10_000, 'launcher exit'), 0);
    assert.deepEqual([a.stats, b.stats], [{ lines: count, dropped: 0 }, { lines: count, dropped: 0 }]);
    assert.equal(got.length, 2 * count);
    for (const w of [1, 2]) {
      const seqs = got.filter((l) => l.w === w).map((l) => l.seq);
      assert.deepEqual(seqs, Array.from({ length: count }, (_, i) => i), `writer ${w}: every line once, in order`);
    }
    // Both really wrote concurrently: their lines alternate somewhere in the middle.
    let switches = 0;
    for (let i = 1; i < got.length; i++) if (got[i]?.w !== got[i - 1]?.w) switches++;
    assert.ok(switches >= 2, `lines of the two writers switched ${switches} times`);
  });

  test('EPIPE: lines are counted as dropped, reported once on stderr, never thrown', async () => {
    const child = runFixture('lines', { id: 1, count: 2500, minChars: 50, maxChars: 500, maxPendingBytes: 4 * 1024 * 1024, closeTimeoutMs: 10_000, waitForGo: true });
    child.proc.stdout!.destroy(); // nobody will ever read: writes fail with EPIPE
    child.proc.send({ type: 'go' });
    const closed = await child.report('closed');
    assert.deepEqual(closed.stats, { lines: 0, dropped: 2500 });
    assert.equal(await deadline(child.exit, 10_000, 'child exit'), 0);
    const reports = child.stderr().split('\n').filter((l) => l.includes('access log write failed'));
    assert.equal(reports.length, 1, child.stderr());
    assert.equal((JSON.parse(reports[0] as string) as { code: string }).code, 'EPIPE');
  });

  test('ENOSPC (/dev/full): counted as dropped, reported once', async () => {
    const child = runFixture('lines', { id: 1, count: 2500, minChars: 50, maxChars: 500, maxPendingBytes: 4 * 1024 * 1024, closeTimeoutMs: 10_000, destination: '/dev/full' });
    const closed = await child.report('closed');
    assert.deepEqual(closed.stats, { lines: 0, dropped: 2500 });
    assert.equal(await deadline(child.exit, 10_000, 'child exit'), 0);
    const reports = child.stderr().split('\n').filter((l) => l.includes('access log write failed'));
    assert.equal(reports.length, 1, child.stderr());
    const report = JSON.parse(reports[0] as string) as { code: string; level: string; component: string };
    assert.deepEqual([report.code, report.level, report.component], ['ENOSPC', 'error', 'access-log']);
  });

  test('without close(): the pending lines are written, then the idle thread lets the process exit', async () => {
    const file = path.join(tmp, 'idle.log');
    const child = runFixture('idle', { destination: file, count: 2000 }, false);
    assert.equal(await deadline(child.exit, 15_000, 'a process whose only handle is an idle access log thread exits'), 0, child.stderr());
    const seqs = parseLines(fs.readFileSync(file, 'utf8')).map((l) => l.seq);
    assert.deepEqual(seqs, Array.from({ length: 2000 }, (_, i) => i));
  });
});
