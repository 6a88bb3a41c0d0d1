// One data-plane worker: a ProxyServer fed by the primary over a message
// channel. It opens its listeners (SO_REUSEPORT, shared with the other
// workers) only once the first model is applied, so a worker never answers
// with an empty table; every later model is compiled, swapped in and
// acknowledged with its generation. The channel is an interface so tests can
// drive a worker in-process; worker-main.ts binds it to the IPC channel.

import { BalancerState } from '../../dataplane/runtime/balancer-state.ts';
import { ProxyServer, type ProxyStats } from '../../dataplane/proxy/proxy-server.ts';
import { mergeSnapshots } from '../../observability/metrics/snapshot.ts';
import { ProcessMetrics } from '../../observability/process-metrics.ts';
import { createLogger, type Logger, type LogSink } from '../../shared/log.ts';
import { type InitMessage, type ModelMessage, parsePrimaryMessage, type WorkerMessage } from './protocol.ts';

export interface WorkerChannel {
  send(message: WorkerMessage): void;
}

export interface WorkerRuntimeInit {
  readonly channel: WorkerChannel;
  /** Where log lines go (the shared stderr in a real worker). */
  readonly logSink: LogSink;
  /** Ends the worker once it has drained (process.exit in a real worker). */
  readonly exit: (code: number) => void;
  /** Logs before `init` arrives (and for malformed messages). */
  readonly logger: Logger;
}

type Phase = 'waiting' | 'starting' | 'listening' | 'draining';

export class WorkerRuntime {
  readonly #channel: WorkerChannel;
  readonly #logSink: LogSink;
  readonly #exit: (code: number) => void;
  #logger: Logger;
  #proxy: ProxyServer | undefined;
  #init: InitMessage | undefined;
  /** A model that arrived before init (the protocol sends init first; tolerated anyway). */
  #early: ModelMessage | undefined;
  #phase: Phase = 'waiting';
  #processMetrics: ProcessMetrics | undefined;
  readonly #balancers = new BalancerState();

  constructor(init: WorkerRuntimeInit) {
    this.#channel = init.channel;
    this.#logSink = init.logSink;
    this.#exit = init.exit;
    this.#logger = init.logger;
  }

  /** The proxy's counters plus this process's gauges (process="worker-N"). */
  #statsWithProcess(proxy: ProxyServer): ProxyStats {
    const stats = proxy.stats();
    this.#processMetrics ??= new ProcessMetrics(`worker-${this.#init?.worker ?? 0}`);
    return { ...stats, metrics: mergeSnapshots([stats.metrics, this.#processMetrics.snapshot(), this.#balancers.snapshot()]) };
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** Tells the primary the message handler is installed. */
  hello(): void {
    this.#channel.send({ type: 'hello' });
  }

  /** One message from the primary, unvalidated. */
  handle(raw: unknown): void {
    const msg = parsePrimaryMessage(raw);
    if (msg === undefined) {
      this.#logger.warn('ignoring a malformed message from the primary', { type: typeof raw === 'object' && raw !== null ? String((raw as { type?: unknown }).type) : typeof raw });
      return;
    }
    switch (msg.type) {
      case 'init':
        return this.#onInit(msg);
      case 'model':
        return this.#onModel(msg);
      case 'stats':
        if (this.#proxy !== undefined) this.#channel.send({ type: 'stats', id: msg.id, stats: this.#statsWithProcess(this.#proxy) });
        return;
      case 'drain':
        void this.drain('asked by the primary');
        return;
    }
  }

  /** Stop accepting, let in-flight requests finish, then exit 0. */
  async drain(reason: string): Promise<void> {
    if (this.#phase === 'draining') return;
    this.#phase = 'draining';
    this.#logger.info('worker draining', { reason });
    this.#balancers.close();
    try {
      await this.#proxy?.close();
    } catch (err) {
      this.#logger.error('draining failed', { err });
    }
    this.#exit(0);
  }

  #onInit(init: InitMessage): void {
    if (this.#init !== undefined) {
      this.#logger.warn('ignoring a second init message');
      return;
    }
    this.#init = init;
    this.#logger = createLogger(this.#logSink, init.logLevel, { worker: init.worker, pid: process.pid });
    this.#proxy = new ProxyServer({
      logger: this.#logger.child({ component: 'proxy' }),
      options: init.proxyOptions,
      fallbackCertificate: init.fallbackCertificate,
      ticketKeys: Buffer.from(init.ticketKeys, 'base64'),
    });
    const early = this.#early;
    this.#early = undefined;
    if (early !== undefined) this.#onModel(early);
  }

  #onModel(msg: ModelMessage): void {
    const proxy = this.#proxy;
    if (proxy === undefined) {
      this.#early = msg;
      return;
    }
    if (this.#phase === 'draining') return;
    try {
      proxy.swap(this.#balancers.compile(msg.model, msg.generation));
    } catch (err) {
      // The previous table stays in use, as in a single process.
      this.#logger.error('compiling the configuration failed; the previous one stays in use', { generation: msg.generation, err });
      this.#channel.send({ type: 'apply-failed', generation: msg.generation, error: (err as Error).message });
      if (this.#phase !== 'waiting') return;
    }
    if (this.#phase === 'listening') this.#channel.send({ type: 'applied', generation: msg.generation });
    else if (this.#phase === 'waiting') void this.#listen(proxy, this.#init!);
    // 'starting': the listening message reports whatever is current when the listeners are up.
  }

  async #listen(proxy: ProxyServer, init: InitMessage): Promise<void> {
    this.#phase = 'starting';
    try {
      const http = await proxy.listen(init.http.host, init.http.port, { reusePort: true });
      const https = await proxy.listenTls(init.https.host, init.https.port, { reusePort: true });
      if (this.#phase !== 'starting') return;
      this.#phase = 'listening';
      const generation = proxy.holder.current.generation;
      this.#logger.info('worker listening', { http: http.port, https: https.port, generation });
      this.#channel.send({ type: 'listening', generation, http, https });
    } catch (err) {
      this.#logger.error('worker could not listen', { err });
      this.#channel.send({ type: 'failed', error: (err as Error).message });
      this.#phase = 'draining';
      await proxy.close().catch(() => {});
      this.#exit(1);
    }
  }
}
