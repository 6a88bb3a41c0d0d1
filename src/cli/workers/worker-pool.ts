// The primary's side of the worker processes: forks N data-plane workers
// (worker-main.ts, same Node binary), sends each the latest model with its
// generation and records their acknowledgements, answers "is every live
// worker on the current generation?" for /readyz, collects their counters
// for /metrics, replaces a worker that exits unexpectedly (with backoff) and
// drains them all on shutdown. The workers share the listeners through
// SO_REUSEPORT; a configured port 0 is resolved by the first worker and the
// others (and every replacement) bind the port it got.

import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ModelUpdate } from '../../controlplane/reconcile-loop.ts';
import type { ProxyOptions } from '../../dataplane/proxy/options.ts';
import type { ProxyStats } from '../../dataplane/proxy/proxy-server.ts';
import type { Logger, LogLevel } from '../../shared/log.ts';
import { type CounterTotals, retire, sumCounters, ZERO_TOTALS } from './counters.ts';
import { type Address, type InitMessage, parseWorkerMessage, type PrimaryMessage, WORKER_SLOT_ENV, type WorkerMessage } from './protocol.ts';
import { nextRestart } from './restart-backoff.ts';
import { workerEnvironment, workerExecArgv, type WorkerUser } from './worker-env.ts';

export const WORKER_ENTRY = fileURLToPath(new URL('./worker-main.ts', import.meta.url));

export interface WorkerPoolOptions {
  readonly count: number;
  readonly http: Address;
  readonly https: Address;
  readonly logLevel: LogLevel;
  readonly proxyOptions: Partial<ProxyOptions>;
  readonly fallbackCertificate: { readonly certPem: string; readonly keyPem: string };
  readonly logger: Logger;
  /** How long a stats request waits for a worker's answer before its last report is used. */
  readonly statsTimeoutMs?: number;
  /** Run the workers as this user and group (--worker-user); default: the primary's. */
  readonly workerUser?: WorkerUser;
}

export type WorkerState = 'starting' | 'listening' | 'draining' | 'down';

/** One worker as /debug/config shows it. */
export interface WorkerView {
  readonly worker: number;
  readonly pid: number | null;
  readonly state: WorkerState;
  /** Generation this worker acknowledged (0: none yet). */
  readonly generation: number;
  /** Listening and on the current generation. */
  readonly ready: boolean;
  /** Times this slot's worker was replaced after an unexpected exit. */
  readonly restarts: number;
  readonly requests: number;
  readonly activeConnections: number;
}

interface Slot {
  readonly index: number;
  child: ChildProcess | undefined;
  state: WorkerState;
  /** The worker said hello: it may be sent messages. */
  greeted: boolean;
  generation: number;
  restarts: number;
  shortRuns: number;
  startedAt: number;
  stats: ProxyStats | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  /** Settled when the current worker first listens (or fails to). */
  started: { resolve: (a: { http: Address; https: Address }) => void; reject: (err: Error) => void } | undefined;
  /** Resolved when the current worker has exited. */
  exited: Promise<void>;
  /** Stats requests waiting for this worker's answer, by id. */
  readonly waiting: Map<number, () => void>;
}

export class WorkerPool {
  readonly #opts: WorkerPoolOptions;
  readonly #logger: Logger;
  readonly #slots: Slot[] = [];
  readonly #ticketKeys = randomBytes(48).toString('base64');
  #latest: ModelUpdate | undefined;
  #http: Address;
  #https: Address;
  /** Between start() and drain(): workers that exit are replaced. */
  #running = false;
  /** start() has not resolved yet: a worker failing to listen fails the start instead of being replaced. */
  #starting = false;
  #draining = false;
  #retired: CounterTotals = ZERO_TOTALS;
  #statsId = 0;
  #appliedListener: ((generation: number) => void) | undefined;

  constructor(opts: WorkerPoolOptions) {
    this.#opts = opts;
    this.#logger = opts.logger;
    this.#http = opts.http;
    this.#https = opts.https;
    for (let i = 1; i <= opts.count; i++) {
      this.#slots.push({
        index: i, child: undefined, state: 'down', greeted: false, generation: 0, restarts: 0, shortRuns: 0, startedAt: 0,
        stats: undefined, restartTimer: undefined, started: undefined, exited: Promise.resolve(), waiting: new Map(),
      });
    }
  }

  /** A new model: remembered for workers started later, sent to every worker now. */
  publish(update: ModelUpdate): void {
    this.#latest = update;
    const msg: PrimaryMessage = { type: 'model', generation: update.generation, model: update.model };
    for (const slot of this.#slots) if (slot.greeted && slot.state !== 'draining') this.#send(slot, msg);
  }

  /**
   * Forks every worker and resolves with the bound addresses once all
   * listen. A worker that fails to start fails the whole start (the others
   * are stopped): as with one process, a port in use is a start-up error.
   */
  async start(): Promise<{ http: Address; https: Address }> {
    this.#running = true;
    this.#starting = true;
    try {
      const [first, ...rest] = this.#slots;
      if (first === undefined) throw new Error('no workers to start');
      // Port 0 with SO_REUSEPORT would give each worker a port of its own:
      // let the first one choose, the others join it.
      if (this.#http.port === 0 || this.#https.port === 0) {
        const bound = await this.#spawn(first);
        this.#http = { host: this.#http.host, port: bound.http.port };
        this.#https = { host: this.#https.host, port: bound.https.port };
        await Promise.all(rest.map((s) => this.#spawn(s)));
      } else {
        await Promise.all(this.#slots.map((s) => this.#spawn(s)));
      }
      return { http: this.#http, https: this.#https };
    } catch (err) {
      await this.drain(5_000);
      throw err;
    } finally {
      this.#starting = false;
    }
  }

  /** Every live worker listens on `generation` (and at least one is live). */
  ready(generation: number): boolean {
    let listening = 0;
    for (const slot of this.#slots) {
      if (slot.state !== 'listening') continue;
      if (slot.generation < generation) return false;
      listening++;
    }
    return listening > 0;
  }

  /** `listener(generation)` after every acknowledgement of a model by a worker. */
  onApplied(listener: (generation: number) => void): void {
    this.#appliedListener = listener;
  }

  /** Asks every listening worker for its counters; resolves when all answered or after the stats timeout. */
  async refreshStats(): Promise<void> {
    const id = ++this.#statsId;
    const timeoutMs = this.#opts.statsTimeoutMs ?? 500;
    await Promise.all(this.#slots.filter((s) => s.state === 'listening').map((slot) => new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        slot.waiting.delete(id);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      slot.waiting.set(id, done);
      this.#send(slot, { type: 'stats', id });
    })));
  }

  /** Counters summed over the workers, including those of workers that exited. */
  totals(): CounterTotals {
    return sumCounters(this.#retired, this.#slots.filter((s) => s.child !== undefined).map((s) => s.stats));
  }

  views(currentGeneration: number): WorkerView[] {
    return this.#slots.map((s) => ({
      worker: s.index,
      pid: s.child?.pid ?? null,
      state: s.state,
      generation: s.generation,
      ready: s.state === 'listening' && s.generation >= currentGeneration,
      restarts: s.restarts,
      requests: s.stats?.requests ?? 0,
      activeConnections: s.child === undefined ? 0 : (s.stats?.activeConnections ?? 0),
    }));
  }

  /**
   * Shutdown: no more replacements; every worker stops accepting, finishes
   * its in-flight requests and exits. Workers still running after
   * `timeoutMs` are killed.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.#draining = true;
    this.#running = false;
    for (const slot of this.#slots) {
      clearTimeout(slot.restartTimer);
      slot.restartTimer = undefined;
      if (slot.child === undefined) continue;
      slot.state = 'draining';
      if (slot.greeted) this.#send(slot, { type: 'drain' });
      else slot.child.kill('SIGKILL');
    }
    const all = Promise.all(this.#slots.map((s) => s.exited));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), timeoutMs);
    });
    if (await Promise.race([all, late]) === 'late') {
      for (const slot of this.#slots) {
        if (slot.child === undefined) continue;
        this.#logger.warn('worker did not drain in time; killing it', { worker: slot.index, pid: slot.child.pid });
        slot.child.kill('SIGKILL');
      }
      await all;
    }
    clearTimeout(timer);
  }

  #spawn(slot: Slot): Promise<{ http: Address; https: Address }> {
    let child: ChildProcess;
    const started = new Promise<{ http: Address; https: Address }>((resolve, reject) => {
      slot.started = { resolve, reject };
    });
    // A replacement whose start fails is handled by #onExit; only start() awaits this.
    started.catch(() => {});
    try {
      // No per-worker arguments: Node derives the TLS session-id context from
      // process.argv, and it must be the same in every worker for sessions to
      // resume across them. The slot travels in the environment (and in init).
      // Privilege split (docs/security.md): the environment is an allow-list
      // (no Kubernetes or cloud credentials), the Node options lose inspector
      // ports and --env-file, and with --worker-user the worker runs as
      // another user (libuv also drops the supplementary groups).
      const user = this.#opts.workerUser;
      child = fork(WORKER_ENTRY, [], {
        execPath: process.execPath,
        env: workerEnvironment(process.env, { [WORKER_SLOT_ENV]: String(slot.index) }),
        execArgv: workerExecArgv(process.execArgv),
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'json',
        ...(user === undefined ? {} : { uid: user.uid, gid: user.gid }),
      });
    } catch (err) {
      slot.started = undefined;
      const user = this.#opts.workerUser;
      const failure = user !== undefined && (err as NodeJS.ErrnoException).code === 'EPERM'
        ? new Error(`cannot start a worker as ${user.uid}:${user.gid} (--worker-user): the primary must run as root or with CAP_SETUID and CAP_SETGID (${(err as Error).message})`)
        : err as Error;
      if (!this.#starting) this.#scheduleRestart(slot, 0, failure);
      return Promise.reject(failure);
    }
    slot.child = child;
    slot.state = 'starting';
    slot.greeted = false;
    slot.generation = 0;
    slot.stats = undefined;
    slot.startedAt = Date.now();
    let markExited!: () => void;
    slot.exited = new Promise<void>((resolve) => {
      markExited = resolve;
    });
    let gone = false;
    const onGone = (code: number | null, signal: NodeJS.Signals | null, err?: Error): void => {
      if (gone) return;
      gone = true;
      this.#onExit(slot, child, code, signal, err);
      markExited();
    };
    child.on('message', (raw) => this.#onMessage(slot, child, raw));
    child.on('exit', (code, signal) => onGone(code, signal));
    // Spawn failures come as 'error' without 'exit'; a failed send is reported by its callback instead.
    child.on('error', (err) => {
      if (child.pid === undefined) onGone(null, null, err);
      else this.#logger.debug('worker channel error', { worker: slot.index, err });
    });
    return started;
  }

  #onMessage(slot: Slot, child: ChildProcess, raw: unknown): void {
    if (slot.child !== child) return;
    const msg: WorkerMessage | undefined = parseWorkerMessage(raw);
    if (msg === undefined) {
      this.#logger.warn('ignoring a malformed message from a worker', { worker: slot.index, pid: child.pid });
      return;
    }
    switch (msg.type) {
      case 'hello': {
        slot.greeted = true;
        if (this.#draining) {
          this.#send(slot, { type: 'drain' });
          return;
        }
        const init: InitMessage = {
          type: 'init', worker: slot.index, logLevel: this.#opts.logLevel, proxyOptions: this.#opts.proxyOptions,
          fallbackCertificate: this.#opts.fallbackCertificate, ticketKeys: this.#ticketKeys, http: this.#http, https: this.#https,
        };
        this.#send(slot, init);
        const latest = this.#latest;
        if (latest !== undefined) this.#send(slot, { type: 'model', generation: latest.generation, model: latest.model });
        return;
      }
      case 'listening': {
        if (slot.state !== 'starting') return;
        slot.state = 'listening';
        slot.generation = Math.max(slot.generation, msg.generation);
        if (slot.restarts > 0) this.#logger.info('worker replaced', { worker: slot.index, pid: child.pid, restarts: slot.restarts, generation: msg.generation });
        const started = slot.started;
        slot.started = undefined;
        started?.resolve({ http: msg.http, https: msg.https });
        this.#appliedListener?.(slot.generation);
        return;
      }
      case 'applied':
        slot.generation = Math.max(slot.generation, msg.generation);
        this.#appliedListener?.(slot.generation);
        return;
      case 'apply-failed':
        this.#logger.error('a worker could not apply a configuration; it keeps its previous one', { worker: slot.index, generation: msg.generation, error: msg.error });
        return;
      case 'stats':
        slot.stats = msg.stats;
        slot.waiting.get(msg.id)?.();
        return;
      case 'failed': {
        const started = slot.started;
        slot.started = undefined;
        started?.reject(new Error(msg.error));
        return;
      }
    }
  }

  #onExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, err: Error | undefined): void {
    if (slot.child !== child) return;
    const uptimeMs = Date.now() - slot.startedAt;
    const wasDraining = slot.state === 'draining';
    this.#retired = retire(this.#retired, slot.stats);
    slot.child = undefined;
    slot.stats = undefined;
    slot.state = 'down';
    slot.greeted = false;
    for (const done of slot.waiting.values()) done();
    const started = slot.started;
    slot.started = undefined;
    started?.reject(err ?? new Error(`worker ${slot.index} exited (${signal ?? `code ${code}`}) before listening`));
    if (this.#draining) {
      if (!wasDraining || code !== 0) this.#logger.warn('worker ended during shutdown', { worker: slot.index, pid: child.pid, code, signal });
      return;
    }
    // During start-up, start() reports the failure and stops the others.
    if (!this.#running || (this.#starting && started !== undefined)) return;
    const delayMs = this.#scheduleRestart(slot, uptimeMs);
    this.#logger.error('worker exited unexpectedly; replacing it', {
      worker: slot.index, pid: child.pid ?? null, code, signal, uptimeMs, restartInMs: delayMs, ...(err === undefined ? {} : { err }),
    });
  }

  /** Replaces the slot's worker after the backoff delay, which it returns. */
  #scheduleRestart(slot: Slot, uptimeMs: number, err?: Error): number {
    const next = nextRestart(slot.shortRuns, uptimeMs);
    slot.shortRuns = next.shortRuns;
    if (err !== undefined) this.#logger.error('could not start a worker', { worker: slot.index, restartInMs: next.delayMs, err });
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (this.#draining) return;
      slot.restarts++;
      void this.#spawn(slot).catch(() => {});
    }, next.delayMs);
    return next.delayMs;
  }

  #send(slot: Slot, msg: PrimaryMessage): void {
    const child = slot.child;
    if (child === undefined || !child.connected) return;
    child.send(msg, undefined, {}, (err) => {
      // The worker is exiting; its 'exit' event does the bookkeeping.
      if (err !== null && err !== undefined) this.#logger.debug('message to a worker not delivered', { worker: slot.index, type: msg.type, err });
    });
  }
}
