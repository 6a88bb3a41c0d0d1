// Sends finished spans to an OTLP/HTTP collector as JSON, off the hot path.
//
// `add` is O(1) and never waits: spans go into a fixed-size ring; when it is
// full the span is dropped and counted. A timer (unref'd: it never keeps the
// process alive) sends what is queued every `flushIntervalMs`, and a full
// batch (`maxBatch`) is sent at once without waiting for the timer. At most
// one export is in flight; a failed, timed-out or non-2xx export drops that
// batch and counts its spans (no retries: a collector that is down must not
// grow memory or delay the proxy; the next batch tries again).
//
// HTTP client: undici, not node:http. It is already Martello's upstream and
// Kubernetes client; a dedicated `Client` (one connection, which is all "one
// export in flight" needs) keeps the connection alive between batches,
// stays out of the global dispatcher the rest of the process uses, takes an
// AbortSignal for the per-export deadline, and unrefs its socket while idle,
// so an exporter with nothing to send does not keep the process running.

import { Client } from 'undici';
import { encodeOtlpJson, type FinishedSpan, type SpanResource } from './span.ts';

export interface OtlpExporterOptions {
  /** Base URL (e.g. http://otel-collector:4318); spans go to endpoint + '/v1/traces' unless it already ends with it. */
  readonly endpoint: string;
  /** Extra request headers (e.g. authorization). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Spans waiting to be sent, at most (default 2048); more are dropped. */
  readonly maxQueue?: number;
  /** Spans per export request, at most (default 512). */
  readonly maxBatch?: number;
  /** How often queued spans are sent (default 1000 ms). */
  readonly flushIntervalMs?: number;
  /** Deadline of one export request, connection included (default 10000 ms). */
  readonly timeoutMs?: number;
  readonly serviceName: string;
  readonly instanceId: string;
}

export interface ExporterStats {
  /** Spans the collector accepted (2xx). */
  readonly exported: number;
  /** Spans lost: queue full, export failed or timed out, added after shutdown, or unsent at the shutdown deadline. */
  readonly dropped: number;
  /** Spans waiting or in the export in flight. Every span added is exactly one of exported, dropped, queued. */
  readonly queued: number;
}

const TRACES_PATH = '/v1/traces';

/** The URL spans are POSTed to: endpoint + /v1/traces unless it already ends with it. */
export function tracesUrl(endpoint: string): URL {
  const url = new URL(endpoint);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`OTLP endpoint must be http or https: ${endpoint}`);
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path.endsWith(TRACES_PATH) ? path : path + TRACES_PATH;
  return url;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`OtlpExporter: ${name} must be a positive integer, got ${value}`);
  return value;
}

export class OtlpExporter {
  readonly #client: Client;
  readonly #path: string;
  readonly #headers: Record<string, string>;
  readonly #resource: SpanResource;
  readonly #maxBatch: number;
  readonly #timeoutMs: number;
  readonly #timer: NodeJS.Timeout;
  /** Aborts the export in flight when the shutdown deadline passes. */
  readonly #stop = new AbortController();

  // The queue: a ring of maxQueue slots.
  readonly #ring: Array<FinishedSpan | undefined>;
  #head = 0;
  #size = 0;

  #sending: Promise<void> | null = null;
  #inFlight = 0;
  #batchScheduled = false;
  #closed = false;
  #shutdown: Promise<void> | null = null;

  #exported = 0;
  #dropped = 0;

  constructor(options: OtlpExporterOptions) {
    const url = tracesUrl(options.endpoint);
    const maxQueue = positiveInteger('maxQueue', options.maxQueue ?? 2048);
    this.#maxBatch = positiveInteger('maxBatch', options.maxBatch ?? 512);
    const flushIntervalMs = positiveInteger('flushIntervalMs', options.flushIntervalMs ?? 1000);
    this.#timeoutMs = positiveInteger('timeoutMs', options.timeoutMs ?? 10_000);
    this.#path = url.pathname + url.search;
    this.#headers = {};
    for (const [k, v] of Object.entries(options.headers ?? {})) this.#headers[k.toLowerCase()] = v;
    this.#headers['content-type'] = 'application/json';
    this.#resource = { serviceName: options.serviceName, instanceId: options.instanceId };
    this.#ring = Array.from({ length: maxQueue }, () => undefined);
    this.#client = new Client(url.origin, { pipelining: 1, connectTimeout: this.#timeoutMs });
    this.#timer = setInterval(() => this.#pump(true), flushIntervalMs);
    this.#timer.unref();
  }

  /** Queues a span for export; O(1), never blocks. Returns false if it was dropped (queue full or shut down). */
  add(span: FinishedSpan): boolean {
    const ring = this.#ring;
    if (this.#closed || this.#size === ring.length) {
      this.#dropped++;
      return false;
    }
    let i = this.#head + this.#size;
    if (i >= ring.length) i -= ring.length;
    ring[i] = span;
    this.#size++;
    if (this.#size >= this.#maxBatch && this.#sending === null && !this.#batchScheduled) {
      // A full batch goes out now, but not inside the caller's request handling.
      this.#batchScheduled = true;
      setImmediate(() => {
        this.#batchScheduled = false;
        this.#pump(false);
      });
    }
    return true;
  }

  stats(): ExporterStats {
    return { exported: this.#exported, dropped: this.#dropped, queued: this.#size + this.#inFlight };
  }

  /**
   * Stops the timer and refuses new spans, sends what is queued (batch after
   * batch) until the queue is empty or `deadlineMs` has passed, then aborts
   * an export still in flight, counts what was not sent as dropped and closes
   * the connection. Idempotent.
   */
  shutdown(deadlineMs = 5000): Promise<void> {
    if (this.#shutdown === null) this.#shutdown = this.#drain(deadlineMs);
    return this.#shutdown;
  }

  async #drain(deadlineMs: number): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    const deadline = setTimeout(() => this.#stop.abort(), Math.max(0, deadlineMs));
    try {
      for (;;) {
        if (this.#sending !== null) {
          await this.#sending;
          continue;
        }
        if (this.#size === 0 || this.#stop.signal.aborted) break;
        this.#startExport();
      }
    } finally {
      clearTimeout(deadline);
    }
    this.#dropped += this.#size;
    this.#ring.fill(undefined);
    this.#size = 0;
    this.#head = 0;
    await this.#client.destroy();
  }

  /** Starts an export if none is in flight and there is a full batch (or anything, when `force`). */
  #pump(force: boolean): void {
    if (this.#closed || this.#sending !== null || this.#size === 0) return;
    if (!force && this.#size < this.#maxBatch) return;
    this.#startExport();
  }

  #startExport(): void {
    const n = Math.min(this.#size, this.#maxBatch);
    const batch: FinishedSpan[] = [];
    const ring = this.#ring;
    for (let k = 0; k < n; k++) {
      batch.push(ring[this.#head]!);
      ring[this.#head] = undefined;
      this.#head = this.#head + 1 === ring.length ? 0 : this.#head + 1;
    }
    this.#size -= n;
    this.#inFlight = n;
    this.#sending = this.#export(batch).finally(() => {
      this.#inFlight = 0;
      this.#sending = null;
      // A backlog of full batches drains without waiting for the timer.
      this.#pump(false);
    });
  }

  /** One POST; settles (never rejects) once the batch is counted as exported or dropped. */
  async #export(batch: FinishedSpan[]): Promise<void> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error(`OTLP export timed out after ${this.#timeoutMs} ms`)), this.#timeoutMs);
    timer.unref();
    const signal = AbortSignal.any([timeout.signal, this.#stop.signal]);
    let ok = false;
    try {
      const res = await this.#client.request({ path: this.#path, method: 'POST', headers: this.#headers, body: encodeOtlpJson(batch, this.#resource), signal });
      ok = res.statusCode >= 200 && res.statusCode < 300;
      // The body (an ExportTraceServiceResponse, maybe a partialSuccess) is not needed; read it so the connection is reused.
      await res.body.dump().catch(() => undefined);
    } catch {
      ok = false;
    } finally {
      clearTimeout(timer);
    }
    if (ok) this.#exported += batch.length;
    else this.#dropped += batch.length;
  }
}
