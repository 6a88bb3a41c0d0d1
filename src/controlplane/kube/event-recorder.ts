// Kubernetes Events on Ingresses, so `kubectl describe ingress` tells users
// what Martello thinks of their object: Warnings for the problems
// translation reports (reason from the diagnostic code: "service-not-found"
// becomes "ServiceNotFound"), Normal "Sync" when a change was applied.
//
// Events are best effort and must never slow reconciliation down:
//  - record() only queues; one background worker sends, one request at a time;
//  - the queue is bounded and drops (counted) rather than grows;
//  - token buckets per object (burst 25, then one per 5 min, like client-go's
//    spam filter) and global (10/s, burst 100) cap storms, also counted;
//  - the same object+type+reason+action+note within the dedupe window (6 min
//    since last seen, client-go's series idle limit) updates the existing
//    Event's series (count, lastObservedTime) with a merge patch instead of
//    creating a new Event; repeats still queued are merged in the queue;
//  - client errors (4xx) drop the event; server errors retry a few times.
// events.k8s.io/v1 is used; core/v1 only when the API server does not serve
// events.k8s.io (404 from discovery or from the create).

import type { Diagnostic } from '../../shared/diagnostic.ts';
import type { Logger } from '../../shared/log.ts';
import { KubeApiError, type KubeClient } from './api.ts';
import { formatMicroTime, formatTime } from './microtime.ts';
import { retryDelayMs, TokenBucket, type Clock } from './rate-limit.ts';

export const REPORTING_CONTROLLER = 'martello.dev/ingress-controller';

export interface IngressRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string | undefined;
}

export interface EventSpec {
  readonly regarding: IngressRef;
  readonly type: 'Normal' | 'Warning';
  /** UpperCamelCase, at most 128 characters, e.g. "ServiceNotFound". */
  readonly reason: string;
  /** What Martello did or failed to do, e.g. "Sync", "Translate". */
  readonly action: string;
  /** Human-readable; cut to 1 KiB. */
  readonly note: string;
}

export interface EventRecorderOptions {
  readonly client: KubeClient;
  readonly logger: Logger;
  /** reportingInstance: this replica (pod name). */
  readonly identity: string;
  readonly reportingController?: string;
  readonly now?: Clock;
  /** Same event within this long of its last occurrence updates the series (default 6 min). */
  readonly dedupeWindowMs?: number;
  /** Per-object token bucket (default burst 25, one token per 300 s). */
  readonly perObjectBurst?: number;
  readonly perObjectRefillMs?: number;
  /** Global token bucket (default 10/s, burst 100). */
  readonly globalPerSecond?: number;
  readonly globalBurst?: number;
  /** Events waiting to be sent beyond this are dropped (default 1000). */
  readonly maxQueue?: number;
  /** Remembered events for dedupe (default 4096, least recently used forgotten first). */
  readonly maxCache?: number;
  /** Attempts for server-side errors before an event is dropped (default 3). */
  readonly maxAttempts?: number;
  readonly retryDelayMs?: number;
}

export interface EventRecorderStats {
  readonly created: number;
  /** Series updates (PATCH) of existing Events. */
  readonly updated: number;
  /** Repeats merged into an event still waiting in the queue. */
  readonly merged: number;
  /** Refused by a token bucket. */
  readonly rateLimited: number;
  /** Refused because the queue was full. */
  readonly queueFull: number;
  /** Given up after an API error. */
  readonly failed: number;
  /** rateLimited + queueFull + failed. */
  readonly dropped: number;
}

const MAX_NOTE_BYTES = 1024;
const MAX_FIELD = 128;

/** "service-not-found" → "ServiceNotFound". */
export function reasonForCode(code: string): string {
  const reason = code
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part !== '')
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
  return (reason === '' ? 'Problem' : reason).slice(0, MAX_FIELD);
}

/** Cuts a note to at most 1024 UTF-8 bytes (the API's limit counts bytes) without splitting a character. */
export function truncateNote(note: string): string {
  const bytes = new TextEncoder().encode(note);
  if (bytes.length <= MAX_NOTE_BYTES) return note;
  const marker = '…';
  let end = MAX_NOTE_BYTES - 3; // the marker is 3 bytes
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // back to a character boundary
  return new TextDecoder().decode(bytes.subarray(0, end)) + marker;
}

/** Events with equal keys are one series. */
export function dedupeKey(ev: EventSpec): string {
  const r = ev.regarding;
  return JSON.stringify([r.namespace, r.name, r.uid ?? '', ev.type, ev.reason, ev.action, truncateNote(ev.note)]);
}

const INGRESS_OBJECT = /^Ingress ([^/\s]+)\/(\S+)$/;

/** The Ingress a diagnostic is about ("Ingress ns/name"), if any. */
export function ingressOfDiagnostic(d: Diagnostic): IngressRef | undefined {
  const m = d.object === undefined ? null : INGRESS_OBJECT.exec(d.object);
  return m === null ? undefined : { namespace: m[1]!, name: m[2]! };
}

/** The Warning event for a diagnostic about an Ingress; undefined for other objects. */
export function eventForDiagnostic(d: Diagnostic, uid?: string): EventSpec | undefined {
  const ref = ingressOfDiagnostic(d);
  if (ref === undefined) return undefined;
  const note = d.field === undefined ? d.message : `${d.field}: ${d.message}`;
  return { regarding: { ...ref, uid }, type: 'Warning', reason: reasonForCode(d.code), action: 'Translate', note: truncateNote(note) };
}

/** Event object names: "<regarding name>.<hex unix nanoseconds>", kept within 253 characters. */
export function eventName(regardingName: string, unixNanos: bigint): string {
  const suffix = `.${unixNanos.toString(16)}`;
  return regardingName.slice(0, 253 - suffix.length) + suffix;
}

export interface IngressInfo extends IngressRef {
  /** metadata.generation: a new one means the spec changed. */
  readonly generation?: number | undefined;
  readonly owned: boolean;
}

/**
 * Turns consecutive rebuild results into events: a Warning for every
 * Ingress problem that was not there at the previous rebuild, and a Normal
 * "Sync" for every owned Ingress that is new or whose generation changed.
 * Problems that persist are not repeated at every rebuild; a problem that
 * goes away and comes back is (and then lands in the same series). Pure.
 */
export class RebuildEventTracker {
  #problems = new Set<string>();
  #synced = new Map<string, string>();

  next(input: { readonly modelGeneration: number; readonly ingresses: readonly IngressInfo[]; readonly diagnostics: readonly Diagnostic[] }): EventSpec[] {
    const events: EventSpec[] = [];
    const byKey = new Map(input.ingresses.map((i) => [`${i.namespace}/${i.name}`, i]));
    const problems = new Set<string>();
    for (const d of input.diagnostics) {
      const ref = ingressOfDiagnostic(d);
      if (ref === undefined) continue;
      const ev = eventForDiagnostic(d, byKey.get(`${ref.namespace}/${ref.name}`)?.uid);
      if (ev === undefined) continue;
      const key = dedupeKey(ev);
      if (problems.has(key)) continue;
      problems.add(key);
      if (!this.#problems.has(key)) events.push(ev);
    }
    this.#problems = problems;
    const synced = new Map<string, string>();
    for (const [key, ing] of byKey) {
      if (!ing.owned) continue;
      const signature = `${ing.uid ?? ''}/${ing.generation ?? ''}`;
      synced.set(key, signature);
      if (this.#synced.get(key) !== signature) {
        events.push({
          regarding: { namespace: ing.namespace, name: ing.name, uid: ing.uid },
          type: 'Normal',
          reason: 'Sync',
          action: 'Sync',
          note: `Configuration applied, generation ${input.modelGeneration}`,
        });
      }
    }
    this.#synced = synced;
    return events;
  }
}

interface Queued {
  readonly ev: EventSpec;
  readonly key: string;
  /** Occurrences merged into this entry. */
  count: number;
  lastAt: number;
  attempts: number;
}

interface Sent {
  readonly api: 'events.k8s.io' | 'core';
  readonly namespace: string;
  readonly name: string;
  count: number;
  lastAt: number;
}

type Api = 'events.k8s.io' | 'core';

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #identity: string;
  readonly #controller: string;
  readonly #now: Clock;
  readonly #window: number;
  readonly #perObjectBurst: number;
  readonly #perObjectPerSecond: number;
  readonly #global: TokenBucket;
  readonly #maxQueue: number;
  readonly #maxCache: number;
  readonly #maxAttempts: number;
  readonly #retryDelay: number;

  readonly #queue = new Map<string, Queued>();
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #cache = new Map<string, Sent>();
  #api: Api | undefined;
  #lastNanos = 0n;
  #worker: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #idleWaiters: Array<() => void> = [];
  #stats = { created: 0, updated: 0, merged: 0, rateLimited: 0, queueFull: 0, failed: 0 };

  constructor(opts: EventRecorderOptions) {
    this.#client = opts.client;
    this.#log = opts.logger;
    this.#identity = opts.identity.slice(0, MAX_FIELD);
    this.#controller = opts.reportingController ?? REPORTING_CONTROLLER;
    this.#now = opts.now ?? Date.now;
    this.#window = opts.dedupeWindowMs ?? 6 * 60_000;
    this.#perObjectBurst = opts.perObjectBurst ?? 25;
    this.#perObjectPerSecond = 1000 / (opts.perObjectRefillMs ?? 300_000);
    this.#global = new TokenBucket({ perSecond: opts.globalPerSecond ?? 10, burst: opts.globalBurst ?? 100, now: this.#now });
    this.#maxQueue = opts.maxQueue ?? 1000;
    this.#maxCache = opts.maxCache ?? 4096;
    this.#maxAttempts = opts.maxAttempts ?? 3;
    this.#retryDelay = opts.retryDelayMs ?? 1000;
  }

  get stats(): EventRecorderStats {
    const s = this.#stats;
    return { ...s, dropped: s.rateLimited + s.queueFull + s.failed };
  }

  /** Which API the events go to, once known. */
  get api(): Api | undefined {
    return this.#api;
  }

  /** Queues one event; false when it was dropped (rate limit, full queue, stopped). Never throws, never waits. */
  record(input: EventSpec): boolean {
    if (this.#stopped) return false;
    const ev: EventSpec = {
      ...input,
      reason: input.reason.slice(0, MAX_FIELD),
      action: input.action.slice(0, MAX_FIELD),
      note: truncateNote(input.note),
    };
    const key = dedupeKey(ev);
    const now = this.#now();
    const waiting = this.#queue.get(key);
    if (waiting !== undefined) {
      // Still unsent: one more occurrence of it, no extra request.
      waiting.count++;
      waiting.lastAt = now;
      this.#stats.merged++;
      return true;
    }
    if (this.#queue.size >= this.#maxQueue) {
      this.#stats.queueFull++;
      return false;
    }
    if (!this.#objectBucket(ev.regarding).tryTake() || !this.#global.tryTake()) {
      this.#stats.rateLimited++;
      this.#log.debug('event dropped by rate limit', { ingress: `${ev.regarding.namespace}/${ev.regarding.name}`, reason: ev.reason });
      return false;
    }
    this.#queue.set(key, { ev, key, count: 1, lastAt: now, attempts: 0 });
    this.#startWorker();
    return true;
  }

  /** A Warning per diagnostic about an Ingress (others are ignored). */
  recordDiagnostics(diagnostics: readonly Diagnostic[], uidOf?: (ref: IngressRef) => string | undefined): void {
    for (const d of diagnostics) {
      const ref = ingressOfDiagnostic(d);
      if (ref === undefined) continue;
      const ev = eventForDiagnostic(d, uidOf?.(ref));
      if (ev !== undefined) this.record(ev);
    }
  }

  /** Resolves once the queue is empty and nothing is being sent. */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops sending; queued events are dropped (uncounted); resolves when the request in flight is done. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#queue.clear();
    await this.#worker;
    this.#notifyIdle();
  }

  #objectBucket(ref: IngressRef): TokenBucket {
    const key = `${ref.namespace}/${ref.name}`;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= 4 * this.#maxCache) {
        // Full buckets carry no information: forget them.
        for (const [k, b] of this.#buckets) if (b.full) this.#buckets.delete(k);
      }
      bucket = new TokenBucket({ perSecond: this.#perObjectPerSecond, burst: this.#perObjectBurst, now: this.#now });
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }

  #isIdle(): boolean {
    return this.#queue.size === 0 && this.#worker === undefined && this.#retryTimer === undefined;
  }

  #notifyIdle(): void {
    if (!this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  #startWorker(): void {
    if (this.#worker !== undefined || this.#retryTimer !== undefined || this.#stopped) return;
    this.#worker = this.#drain().finally(() => {
      this.#worker = undefined;
      this.#notifyIdle();
    });
  }

  async #drain(): Promise<void> {
    // Let the caller's synchronous burst of record() calls land first, so repeats merge.
    await Promise.resolve();
    while (!this.#stopped) {
      const next = this.#queue.values().next();
      if (next.done === true) return;
      const item = next.value;
      this.#queue.delete(item.key);
      const outcome = await this.#send(item);
      if (outcome === 'retry' && !this.#stopped) {
        item.attempts++;
        if (item.attempts >= this.#maxAttempts) {
          this.#stats.failed++;
          continue;
        }
        // Back in the queue (merging with repeats recorded meanwhile), after a pause.
        const again = this.#queue.get(item.key);
        if (again !== undefined) {
          item.count += again.count;
          item.lastAt = again.lastAt;
        }
        this.#queue.delete(item.key);
        this.#queue.set(item.key, item);
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.#startWorker();
        }, retryDelayMs(item.attempts, { initialMs: this.#retryDelay, maxMs: 30_000 }));
        return;
      }
    }
  }

  async #send(item: Queued): Promise<'done' | 'retry'> {
    try {
      const api = await this.#discover();
      const sent = this.#cache.get(item.key);
      if (sent !== undefined && item.lastAt - sent.lastAt <= this.#window) {
        try {
          await this.#patchSeries(sent, sent.count + item.count, item.lastAt);
          return 'done';
        } catch (err) {
          // The Event expired (its TTL) or was deleted: start a new one.
          if (!(err instanceof KubeApiError && err.isNotFound)) throw err;
          this.#cache.delete(item.key);
        }
      }
      await this.#create(api, item);
      return 'done';
    } catch (err) {
      if (err instanceof KubeApiError && err.status < 500 && err.status !== 429) {
        if (this.#api === 'events.k8s.io' && err.isNotFound && isUnknownResource(err)) {
          this.#log.info('events.k8s.io/v1 is not served; recording core/v1 Events');
          this.#api = 'core';
          return this.#send(item);
        }
        this.#stats.failed++;
        this.#log.debug('event not recorded', { err, reason: item.ev.reason });
        return 'done';
      }
      this.#log.debug('event not recorded yet; will retry', { err, reason: item.ev.reason });
      return 'retry';
    }
  }

  async #discover(): Promise<Api> {
    if (this.#api !== undefined) return this.#api;
    try {
      await this.#client.request({ method: 'GET', path: '/apis/events.k8s.io/v1' });
      this.#api = 'events.k8s.io';
    } catch (err) {
      if (!(err instanceof KubeApiError)) throw err;
      // 404: the group is not served. Any other answer: assume it is, and let the create decide.
      this.#api = err.isNotFound ? 'core' : 'events.k8s.io';
    }
    if (this.#api === 'core') this.#log.info('events.k8s.io/v1 is not served; recording core/v1 Events');
    return this.#api;
  }

  #nextName(regardingName: string): string {
    let nanos = BigInt(Math.round(this.#now() * 1e3)) * 1000n;
    if (nanos <= this.#lastNanos) nanos = this.#lastNanos + 1n;
    this.#lastNanos = nanos;
    return eventName(regardingName, nanos);
  }

  async #create(api: Api, item: Queued): Promise<void> {
    const { ev } = item;
    const r = ev.regarding;
    const name = this.#nextName(r.name);
    const regarding = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: r.namespace, name: r.name, ...(r.uid === undefined ? {} : { uid: r.uid }) };
    const now = this.#now();
    if (api === 'events.k8s.io') {
      await this.#client.request({
        method: 'POST',
        path: `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(r.namespace)}/events`,
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { name, namespace: r.namespace },
          eventTime: formatMicroTime(now),
          reportingController: this.#controller,
          reportingInstance: this.#identity,
          action: ev.action,
          reason: ev.reason,
          regarding,
          note: ev.note,
          type: ev.type,
        },
      });
    } else {
      await this.#client.request({
        method: 'POST',
        path: `/api/v1/namespaces/${encodeURIComponent(r.namespace)}/events`,
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace: r.namespace },
          involvedObject: regarding,
          reason: ev.reason,
          message: ev.note,
          type: ev.type,
          action: ev.action,
          source: { component: this.#controller },
          reportingComponent: this.#controller,
          reportingInstance: this.#identity,
          firstTimestamp: formatTime(now),
          lastTimestamp: formatTime(now),
          count: 1,
        },
      });
    }
    this.#stats.created++;
    const sent: Sent = { api, namespace: r.namespace, name, count: 1, lastAt: item.lastAt };
    this.#remember(item.key, sent);
    if (item.count > 1) await this.#patchSeries(sent, item.count, item.lastAt);
  }

  async #patchSeries(sent: Sent, count: number, at: number): Promise<void> {
    const ns = encodeURIComponent(sent.namespace);
    const name = encodeURIComponent(sent.name);
    if (sent.api === 'events.k8s.io') {
      await this.#client.request({
        method: 'PATCH',
        path: `/apis/events.k8s.io/v1/namespaces/${ns}/events/${name}`,
        contentType: 'application/merge-patch+json',
        body: { series: { count, lastObservedTime: formatMicroTime(at) } },
      });
    } else {
      await this.#client.request({
        method: 'PATCH',
        path: `/api/v1/namespaces/${ns}/events/${name}`,
        contentType: 'application/merge-patch+json',
        body: { count, lastTimestamp: formatTime(at) },
      });
    }
    this.#stats.updated++;
    sent.count = count;
    sent.lastAt = at;
  }

  #remember(key: string, sent: Sent): void {
    this.#cache.delete(key);
    this.#cache.set(key, sent);
    while (this.#cache.size > this.#maxCache) {
      const oldest = this.#cache.keys().next();
      if (oldest.done === true) break;
      this.#cache.delete(oldest.value);
    }
  }
}

/** 404 for the resource type itself (not for a missing namespace or object). */
function isUnknownResource(err: KubeApiError): boolean {
  return err.message.includes('the server could not find the requested resource');
}
