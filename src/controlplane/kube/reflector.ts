// A reflector keeps a local copy of one resource collection (one kind, in
// one namespace or all) equal to the API server's, the way client-go's does:
// a paginated LIST, then a WATCH from the list's resourceVersion with
// bookmarks and a server-side timeout, a rewatch from the last version seen
// when the stream ends, a full relist (and a diff against the copy) when the
// version has expired, and backoff, forever, on every other failure. An
// inactivity watchdog catches a watch that went silent without closing.
// resourceVersions are opaque: only ever compared for equality.

import { decodeObject } from '../../k8s/decode.ts';
import { formatKey, keyOf } from '../../k8s/keys.ts';
import type { KubeObject } from '../../k8s/objects.ts';
import { compareDiagnostics, type Diagnostic } from '../../shared/diagnostic.ts';
import type { Logger } from '../../shared/log.ts';
import type { ResourceEvent } from '../sources/source.ts';
import { KubeApiError, resourcePath, type KubeClient, type ResourceType, type WatchEvent } from './api.ts';
import { Backoff, sleep, type BackoffOptions } from './backoff.ts';

export interface ReflectorListener {
  /** Changes to the copy, in order: one batch per list and per watch event. */
  events(batch: readonly ResourceEvent[]): void;
  /** This reflector's current decode problems (replaces the previous list). */
  problems(list: readonly Diagnostic[]): void;
  /** The first complete list has been delivered (called once). */
  synced(): void;
}

export interface ReflectorOptions {
  readonly client: KubeClient;
  readonly resource: ResourceType;
  /** One namespace; undefined: all namespaces (and always for cluster-scoped kinds). */
  readonly namespace?: string;
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
  readonly listener: ReflectorListener;
  readonly logger: Logger;
  /** LIST page size (default 500). */
  readonly pageSize?: number;
  /** Server-side watch timeout; each watch asks for a random value in [T, 2T) (default 300 s). */
  readonly watchTimeoutSeconds?: number;
  /** A watch that delivers nothing, not even a bookmark, for this long is abandoned and reopened (default 120 s: twice the API server's bookmark period). */
  readonly watchdogMs?: number;
  readonly backoff?: BackoffOptions;
}

export interface ReflectorStatus {
  /** Plural resource name, e.g. "ingresses". */
  readonly resource: string;
  /** undefined: all namespaces or cluster-scoped. */
  readonly namespace: string | undefined;
  readonly synced: boolean;
  /** The last list or watch succeeded (false from a failure until the next success). */
  readonly connected: boolean;
  /** The version the next watch starts from ("" before the first list). */
  readonly resourceVersion: string;
  /** ISO time of the last response or watch event. */
  readonly lastContact: string | undefined;
  /** The same as Unix ms (metrics). */
  readonly lastContactMs: number | undefined;
  /** Watch events received, by type (ADDED, MODIFIED, DELETED, BOOKMARK). */
  readonly events: Readonly<Record<string, number>>;
  readonly lastError: string | undefined;
  /** Full lists after the first (410 Expired, too-new versions). */
  readonly relists: number;
  /** Watches reopened after a failure (network error, error status, watchdog). */
  readonly restarts: number;
  /** Watches reopened after a clean server-side close. */
  readonly rewatches: number;
  readonly objects: number;
}

/** Stop paging and start over at most this many times in a row when continue tokens keep expiring. */
const MAX_LIST_RESTARTS = 3;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

interface Entry {
  /** Version last seen, valid or not. */
  readonly rv: string | undefined;
  /** Last valid version (what the sink was told), if any. */
  readonly object: KubeObject | undefined;
  readonly problems: readonly Diagnostic[];
}

/** A watch that went silent; handled like a network failure. */
class WatchStalledError extends Error {
  override readonly name = 'WatchStalledError';
}

export class Reflector {
  readonly #client: KubeClient;
  readonly #resource: ResourceType;
  readonly #namespace: string | undefined;
  readonly #path: string;
  readonly #selectors: Record<string, string>;
  readonly #listener: ReflectorListener;
  readonly #logger: Logger;
  readonly #pageSize: number;
  readonly #watchTimeout: number;
  readonly #watchdogMs: number;
  readonly #backoff: Backoff;
  readonly #abort = new AbortController();
  readonly #store = new Map<string, Entry>();
  readonly #synced: Promise<void>;
  #resolveSynced: () => void = () => {};
  #run: Promise<void> | undefined;
  #isSynced = false;
  #listed = false;
  #rv = '';
  #connected = false;
  #lastContact: number | undefined;
  readonly #events: Record<string, number> = { ADDED: 0, MODIFIED: 0, DELETED: 0, BOOKMARK: 0 };
  #lastError: string | undefined;
  #relists = 0;
  #restarts = 0;
  #rewatches = 0;
  #expiredInARow = 0;
  #problemsDirty = false;

  constructor(options: ReflectorOptions) {
    this.#client = options.client;
    this.#resource = options.resource;
    this.#namespace = options.resource.namespaced ? options.namespace : undefined;
    this.#path = resourcePath(options.resource, this.#namespace);
    this.#selectors = {};
    if (options.fieldSelector !== undefined) this.#selectors.fieldSelector = options.fieldSelector;
    if (options.labelSelector !== undefined) this.#selectors.labelSelector = options.labelSelector;
    this.#listener = options.listener;
    this.#logger = options.logger.child({ resource: options.resource.plural, namespace: this.#namespace ?? '*' });
    this.#pageSize = options.pageSize ?? 500;
    this.#watchTimeout = options.watchTimeoutSeconds ?? 300;
    this.#watchdogMs = options.watchdogMs ?? 120_000;
    this.#backoff = new Backoff(options.backoff);
    this.#synced = new Promise((resolve) => {
      this.#resolveSynced = resolve;
    });
  }

  /** Starts listing and watching in the background; never rejects, never gives up. */
  start(): void {
    this.#run ??= this.#loop();
  }

  /** Aborts the current request and the retry wait; resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.#abort.abort();
    this.#resolveSynced();
    await this.#run;
  }

  /** Resolves after the first complete list (or on stop). */
  whenSynced(): Promise<void> {
    return this.#synced;
  }

  /** The valid objects currently held (the last valid version of invalid ones). */
  objects(): KubeObject[] {
    const out: KubeObject[] = [];
    for (const entry of this.#store.values()) if (entry.object !== undefined) out.push(entry.object);
    return out;
  }

  /** resourceVersion of every object seen, valid or not, by "namespace/name". */
  versions(): Map<string, string | undefined> {
    return new Map([...this.#store].map(([id, e]) => [id, e.rv]));
  }

  status(): ReflectorStatus {
    return {
      resource: this.#resource.plural,
      namespace: this.#namespace,
      synced: this.#isSynced,
      connected: this.#connected,
      resourceVersion: this.#rv,
      lastContact: this.#lastContact === undefined ? undefined : new Date(this.#lastContact).toISOString(),
      lastContactMs: this.#lastContact,
      events: { ...this.#events },
      lastError: this.#lastError,
      relists: this.#relists,
      restarts: this.#restarts,
      rewatches: this.#rewatches,
      objects: this.#store.size,
    };
  }

  async #loop(): Promise<void> {
    const signal = this.#abort.signal;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.#list(signal);
          needList = false;
        }
        await this.#watch(signal);
        if (signal.aborted) break;
        this.#rewatches += 1;
        this.#logger.debug('watch closed by the server; rewatching', { resourceVersion: this.#rv });
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof KubeApiError && error.isExpired) {
          needList = true;
          this.#expiredInARow += 1;
          this.#logger.info('resourceVersion expired; relisting', { resourceVersion: this.#rv, message: error.message });
          // A server that keeps expiring fresh versions must not be relisted in a tight loop.
          if (this.#expiredInARow > 1) await sleep(this.#backoff.next(error.retryAfterSeconds), signal);
          continue;
        }
        // A version newer than the server knows (504 ResourceVersionTooLarge, e.g. after an etcd restore): start over.
        if (error instanceof KubeApiError && error.status === 504 && /too large resource ?version/i.test(error.message)) needList = true;
        this.#failed(error);
        const delay = this.#backoff.next(error instanceof KubeApiError ? error.retryAfterSeconds : undefined);
        this.#logger.warn(needList && !this.#listed ? 'listing failed; retrying' : 'watch failed; retrying', {
          error: this.#lastError,
          retryInMs: delay,
          attempt: this.#backoff.attempts,
        });
        await sleep(delay, signal);
      }
    }
    this.#connected = false;
  }

  /** Lists every page, then replaces the copy with the result, emitting the differences. */
  async #list(signal: AbortSignal): Promise<void> {
    let items: unknown[] = [];
    let cont: string | undefined;
    let listRV = '';
    let restarts = 0;
    for (;;) {
      const query: Record<string, string> = { ...this.#selectors, limit: String(this.#pageSize) };
      if (cont !== undefined) query.continue = cont;
      let page: { metadata?: { resourceVersion?: unknown; continue?: unknown }; items?: unknown };
      try {
        page = await this.#client.request({ method: 'GET', path: this.#path, query, signal });
      } catch (error) {
        // The continue token expired between pages: only a fresh snapshot is consistent.
        if (cont !== undefined && error instanceof KubeApiError && error.isExpired && restarts < MAX_LIST_RESTARTS) {
          restarts += 1;
          this.#logger.info('list continuation expired; listing again from the start', { pagesLost: items.length });
          items = [];
          cont = undefined;
          continue;
        }
        throw error;
      }
      this.#contact();
      if (Array.isArray(page.items)) items.push(...(page.items as unknown[]));
      const rv = page.metadata?.resourceVersion;
      if (typeof rv === 'string' && rv !== '') listRV = rv;
      const next = page.metadata?.continue;
      if (typeof next !== 'string' || next === '') break;
      cont = next;
    }
    if (signal.aborted) return;
    this.#replace(items);
    this.#rv = listRV;
    if (this.#listed) this.#relists += 1;
    this.#listed = true;
    this.#logger.debug('listed', { objects: items.length, resourceVersion: listRV });
    if (!this.#isSynced) {
      this.#isSynced = true;
      this.#listener.synced();
      this.#resolveSynced();
    }
  }

  /** One watch from the current version until the server ends it; throws on failure. */
  async #watch(signal: AbortSignal): Promise<void> {
    const ctrl = new AbortController();
    const onStop = (): void => ctrl.abort();
    signal.addEventListener('abort', onStop, { once: true });
    let stalled = false;
    const watchdog = setTimeout(() => {
      stalled = true;
      ctrl.abort();
    }, this.#watchdogMs);
    const timeoutSeconds = this.#watchTimeout + Math.floor(Math.random() * this.#watchTimeout);
    const query: Record<string, string> = {
      ...this.#selectors,
      resourceVersion: this.#rv,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(timeoutSeconds),
    };
    try {
      const hooks = { onOpen: () => this.#contact() };
      for await (const event of this.#client.watch(this.#path, query, ctrl.signal, hooks)) {
        watchdog.refresh();
        this.#contact();
        this.#onEvent(event);
      }
    } finally {
      clearTimeout(watchdog);
      signal.removeEventListener('abort', onStop);
    }
    if (stalled && !signal.aborted) throw new WatchStalledError(`watch stalled: nothing received for ${this.#watchdogMs} ms`);
  }

  #onEvent(event: WatchEvent): void {
    if (event.type === 'ERROR') throw statusError(event.object);
    if (this.#events[event.type] !== undefined) this.#events[event.type]!++;
    const rv = metaString(event.object, 'resourceVersion');
    if (event.type === 'BOOKMARK') {
      if (rv !== undefined) this.#rv = rv;
      this.#expiredInARow = 0;
      return;
    }
    const change = event.type === 'DELETED' ? this.#delete(event.object) : this.#upsert(event.object);
    if (rv !== undefined) this.#rv = rv;
    this.#expiredInARow = 0;
    if (change !== undefined) this.#listener.events([change]);
    this.#flushProblems();
  }

  #replace(items: readonly unknown[]): void {
    const seen = new Set<string>();
    const batch: ResourceEvent[] = [];
    for (const item of items) {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
      const id = this.#idOf(item as Record<string, unknown>);
      if (id !== undefined) seen.add(id);
      const change = this.#upsert(item as Record<string, unknown>);
      if (change !== undefined) batch.push(change);
    }
    for (const [id, entry] of this.#store) {
      if (seen.has(id)) continue;
      this.#store.delete(id);
      if (entry.problems.length > 0) this.#problemsDirty = true;
      if (entry.object !== undefined) batch.push({ type: 'delete', key: keyOf(entry.object) });
    }
    if (batch.length > 0) this.#listener.events(batch);
    this.#flushProblems();
  }

  #upsert(raw: Record<string, unknown>): ResourceEvent | undefined {
    const obj = this.#prepare(raw);
    const id = this.#idOf(obj);
    if (id === undefined) {
      this.#logger.warn('object without a name ignored', { kind: this.#resource.kind });
      return undefined;
    }
    const rv = metaString(obj, 'resourceVersion');
    const previous = this.#store.get(id);
    if (previous !== undefined && rv !== undefined && previous.rv === rv) return undefined;
    const result = decodeObject(obj);
    if (result.ok === true) {
      if (previous !== undefined && previous.problems.length > 0) this.#problemsDirty = true;
      this.#store.set(id, { rv, object: result.object, problems: [] });
      return { type: 'upsert', object: result.object };
    }
    const name = `${this.#resource.kind} ${id.startsWith('/') ? id.slice(1) : id}`;
    const problems: Diagnostic[] =
      result.ok === false
        ? result.problems.map((pr) => withField({ severity: 'error', code: pr.code, message: pr.message, object: name }, pr.field))
        : [{ severity: 'error', code: 'object-not-decodable', message: result.reason, object: name }];
    if (previous?.object !== undefined) {
      problems.push({
        severity: 'error',
        code: 'object-kept-last-valid',
        message: `${formatKey(keyOf(previous.object))} is invalid; keeping the last valid version`,
        object: name,
      });
    }
    this.#store.set(id, { rv, object: previous?.object, problems });
    this.#problemsDirty = true;
    return undefined;
  }

  #delete(raw: Record<string, unknown>): ResourceEvent | undefined {
    const id = this.#idOf(raw);
    if (id === undefined) return undefined;
    const previous = this.#store.get(id);
    if (previous === undefined) return undefined;
    this.#store.delete(id);
    if (previous.problems.length > 0) this.#problemsDirty = true;
    return previous.object === undefined ? undefined : { type: 'delete', key: keyOf(previous.object) };
  }

  /** Adds the type tags list items lack, and drops what is never read (managedFields, the last-applied copy). */
  #prepare(raw: Record<string, unknown>): Record<string, unknown> {
    const { group, version, kind } = this.#resource;
    const out: Record<string, unknown> = { apiVersion: group === '' ? version : `${group}/${version}`, kind, ...raw };
    const meta = raw.metadata;
    if (typeof meta === 'object' && meta !== null && !Array.isArray(meta)) {
      const { managedFields: _managedFields, ...rest } = meta as Record<string, unknown>;
      const annotations = rest.annotations;
      if (typeof annotations === 'object' && annotations !== null && LAST_APPLIED in annotations) {
        const { [LAST_APPLIED]: _lastApplied, ...kept } = annotations as Record<string, unknown>;
        rest.annotations = kept;
      }
      out.metadata = rest;
    }
    return out;
  }

  /** "namespace/name" ("/name" for cluster-scoped objects). */
  #idOf(raw: Record<string, unknown>): string | undefined {
    const name = metaString(raw, 'name');
    if (name === undefined) return undefined;
    const ns = this.#resource.namespaced ? (metaString(raw, 'namespace') ?? this.#namespace ?? 'default') : '';
    return `${ns}/${name}`;
  }

  #flushProblems(): void {
    if (!this.#problemsDirty) return;
    this.#problemsDirty = false;
    const list = [...this.#store.values()].flatMap((e) => e.problems).sort(compareDiagnostics);
    this.#listener.problems(list);
  }

  #contact(): void {
    this.#lastContact = Date.now();
    if (!this.#connected) {
      if (this.#lastError !== undefined) this.#logger.info('connection to the API server restored', { resourceVersion: this.#rv });
      this.#connected = true;
    }
  }

  #failed(error: unknown): void {
    this.#connected = false;
    this.#restarts += this.#listed ? 1 : 0;
    this.#lastError = describeError(error);
  }
}

/** The error an ERROR watch event stands for (its object is a Status). */
function statusError(status: Record<string, unknown>): KubeApiError {
  const code = typeof status.code === 'number' ? status.code : 500;
  const reason = typeof status.reason === 'string' ? status.reason : '';
  const message = typeof status.message === 'string' ? status.message : 'watch ERROR event';
  const details = status.details;
  const retry = typeof details === 'object' && details !== null ? (details as { retryAfterSeconds?: unknown }).retryAfterSeconds : undefined;
  return new KubeApiError(code, reason, message, typeof retry === 'number' && retry > 0 ? retry : undefined);
}

function metaString(raw: Record<string, unknown>, field: string): string | undefined {
  const meta = raw.metadata;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const value = (meta as Record<string, unknown>)[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function withField(d: Diagnostic, field: string): Diagnostic {
  return field === '' ? d : { ...d, field };
}

function describeError(error: unknown): string {
  if (error instanceof KubeApiError) return `${error.status}${error.reason === '' ? '' : ` ${error.reason}`}: ${error.message}`;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return typeof code === 'string' ? `${code}: ${error.message}${cause}` : `${error.message}${cause}`;
  }
  return String(error);
}
