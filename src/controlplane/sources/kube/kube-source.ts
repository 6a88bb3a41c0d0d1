// Kubernetes mode's configuration source: one reflector per kind (and per
// watched namespace) over the API server, feeding the same sink the
// manifests directory feeds. Events that arrive together are coalesced into
// one batch; `synced` comes once every reflector has listed once. While the
// API server is unreachable the store keeps the last state it was told, and
// health() says how stale that is.

import type { Diagnostic } from '../../../shared/diagnostic.ts';
import { compareDiagnostics } from '../../../shared/diagnostic.ts';
import type { Logger } from '../../../shared/log.ts';
import { RESOURCES, type KubeClient, type ResourceType } from '../../kube/api.ts';
import type { BackoffOptions } from '../../kube/backoff.ts';
import { Reflector } from '../../kube/reflector.ts';
import type { ResourceEvent, Source, SourceSink } from '../source.ts';

export interface KubeSourceOptions {
  readonly client: KubeClient;
  /** Namespaces to watch (--watch-namespace), or every namespace. IngressClasses are always read cluster-wide. */
  readonly namespaces: readonly string[] | 'all';
  readonly logger: Logger;
  /** Server-side watch timeout base (default 300 s; each watch uses a random value in [T, 2T)). */
  readonly watchTimeoutSeconds?: number;
  /** Reopen a watch that delivered nothing for this long (default 120 s). */
  readonly watchdogMs?: number;
  /** Events arriving within this window go to the sink as one batch (default 5 ms). */
  readonly coalesceMs?: number;
  /** LIST page size (default 500). */
  readonly pageSize?: number;
  readonly backoff?: BackoffOptions;
}

export interface ReflectorHealth {
  readonly resource: string;
  /** undefined: all namespaces, or cluster-scoped. */
  readonly namespace: string | undefined;
  readonly synced: boolean;
  readonly connected: boolean;
  readonly resourceVersion: string;
  readonly relists: number;
  readonly restarts: number;
  /** Unix ms of the last response or watch event, if any. */
  readonly lastContactMs: number | undefined;
  readonly events: Readonly<Record<string, number>>;
}

export interface KubeSourceHealth {
  /** Every reflector's last list or watch succeeded. */
  readonly connected: boolean;
  /** Most recent successful contact with the API server (ISO time). */
  readonly lastContact: string | undefined;
  /** Most recent error of a reflector that is currently disconnected. */
  readonly lastError: string | undefined;
  /** The configuration may lag the cluster: not yet synced, or some reflector disconnected. */
  readonly stale: boolean;
  readonly reflectors: ReflectorHealth[];
}

/** Only TLS Secrets are ever read: the API server filters the rest out, so other Secrets never reach memory. */
export const TLS_SECRET_SELECTOR = 'type=kubernetes.io/tls';

interface Watched {
  readonly resource: ResourceType;
  readonly namespace: string | undefined;
  readonly fieldSelector?: string;
}

export class KubeSource implements Source {
  readonly name = 'kubernetes';
  readonly #opts: KubeSourceOptions;
  readonly #logger: Logger;
  readonly #reflectors: Reflector[] = [];
  readonly #problems = new Map<Reflector, readonly Diagnostic[]>();
  #sink: SourceSink | undefined;
  #pending: ResourceEvent[] = [];
  #problemsDirty = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unsynced = 0;
  #synced = false;
  #stopped = false;
  #resolveStart: (() => void) | undefined;

  constructor(options: KubeSourceOptions) {
    this.#opts = options;
    this.#logger = options.logger.child({ component: 'kubernetes' });
  }

  /** Starts every reflector; resolves once all have listed once and the initial state went to the sink (or on stop). */
  async start(sink: SourceSink): Promise<void> {
    if (this.#sink !== undefined) throw new Error('KubeSource already started');
    this.#sink = sink;
    const started = new Promise<void>((resolve) => {
      this.#resolveStart = resolve;
    });
    for (const w of watchedCollections(this.#opts.namespaces)) this.#reflectors.push(this.#reflector(w));
    this.#unsynced = this.#reflectors.length;
    this.#logger.info('watching the API server', {
      namespaces: this.#opts.namespaces === 'all' ? 'all' : this.#opts.namespaces,
      reflectors: this.#reflectors.length,
    });
    for (const r of this.#reflectors) r.start();
    await started;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.all(this.#reflectors.map((r) => r.stop()));
    this.#resolveStart?.();
  }

  health(): KubeSourceHealth {
    const statuses = this.#reflectors.map((r) => r.status());
    const connected = statuses.length > 0 && statuses.every((s) => s.connected);
    let lastContact: string | undefined;
    for (const s of statuses) if (s.lastContact !== undefined && (lastContact === undefined || s.lastContact > lastContact)) lastContact = s.lastContact;
    const failing = statuses.filter((s) => !s.connected && s.lastError !== undefined);
    return {
      connected,
      lastContact,
      lastError: failing[0]?.lastError,
      stale: !connected || !this.#synced,
      reflectors: statuses.map((s) => ({
        resource: s.resource,
        namespace: s.namespace,
        synced: s.synced,
        connected: s.connected,
        resourceVersion: s.resourceVersion,
        relists: s.relists,
        restarts: s.restarts,
        lastContactMs: s.lastContactMs,
        events: s.events,
      })),
    };
  }

  #reflector(w: Watched): Reflector {
    const o = this.#opts;
    const reflector: Reflector = new Reflector({
      client: o.client,
      resource: w.resource,
      ...(w.namespace === undefined ? {} : { namespace: w.namespace }),
      ...(w.fieldSelector === undefined ? {} : { fieldSelector: w.fieldSelector }),
      ...(o.pageSize === undefined ? {} : { pageSize: o.pageSize }),
      ...(o.watchTimeoutSeconds === undefined ? {} : { watchTimeoutSeconds: o.watchTimeoutSeconds }),
      ...(o.watchdogMs === undefined ? {} : { watchdogMs: o.watchdogMs }),
      ...(o.backoff === undefined ? {} : { backoff: o.backoff }),
      logger: this.#logger,
      listener: {
        events: (batch) => this.#onEvents(batch),
        problems: (list) => {
          this.#problems.set(reflector, list);
          this.#problemsDirty = true;
          this.#schedule();
        },
        synced: () => this.#onSynced(),
      },
    });
    return reflector;
  }

  #onEvents(batch: readonly ResourceEvent[]): void {
    if (this.#stopped) return;
    for (const e of batch) this.#pending.push(e);
    this.#schedule();
  }

  #onSynced(): void {
    this.#unsynced -= 1;
    if (this.#unsynced > 0 || this.#synced || this.#stopped) return;
    this.#synced = true;
    // The initial state goes out as one batch, before `synced`.
    this.#flush();
    this.#logger.info('initial state received from the API server', { reflectors: this.#reflectors.length });
    this.#sink?.synced();
    this.#resolveStart?.();
  }

  /** Before the first sync everything waits for it, so the sink gets the initial state in one batch. */
  #schedule(): void {
    if (this.#stopped || !this.#synced || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, this.#opts.coalesceMs ?? 5);
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#stopped || this.#sink === undefined) return;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length > 0) this.#sink.events(batch);
    if (this.#problemsDirty) {
      this.#problemsDirty = false;
      this.#sink.problems([...this.#problems.values()].flat().sort(compareDiagnostics));
    }
  }
}

/** What Martello reads: per watched namespace, or cluster-wide; IngressClasses always cluster-wide. */
export function watchedCollections(namespaces: readonly string[] | 'all'): Watched[] {
  const scopes: Array<string | undefined> = namespaces === 'all' ? [undefined] : [...new Set(namespaces)];
  const out: Watched[] = [{ resource: RESOURCES.ingressClasses, namespace: undefined }];
  for (const ns of scopes) {
    out.push(
      { resource: RESOURCES.ingresses, namespace: ns },
      { resource: RESOURCES.services, namespace: ns },
      { resource: RESOURCES.endpointSlices, namespace: ns },
      { resource: RESOURCES.secrets, namespace: ns, fieldSelector: TLS_SECRET_SELECTOR },
    );
  }
  return out;
}
