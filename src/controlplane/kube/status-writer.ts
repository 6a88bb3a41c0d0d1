// Writes Martello's address into status.loadBalancer.ingress of the
// Ingresses it owns (external-dns reads .ip and .hostname from there), and
// clears it from Ingresses that stop being ours. Level-triggered: reconcile()
// is given the whole current picture after every rebuild and only the
// differences are written.
//
// Rules, per Ingress:
//  - owned: status must equal the published addresses;
//  - not owned, and its status equals an address set this process published
//    (now or earlier): we wrote it, so we clear it;
//  - not owned otherwise: another controller's object, never touched.
// Nothing is written before the addresses are known (setAddresses), nor
// while this replica is not the leader.
//
// Each write re-reads the Ingress first (a GET: the cache may lag behind our
// own last write, and deciding on fresh data means a change is written
// exactly once), then sends a merge patch to the status subresource carrying
// the read resourceVersion as a precondition. A 409 means someone wrote in
// between: read again and retry, a few times. A 404 means it is gone: drop
// it. Other errors are logged and retried later with exponential backoff;
// nothing is ever thrown into the caller. Writes are paced by a token bucket.

import { decodeLoadBalancerStatus } from '../../k8s/decode-ingress.ts';
import type { Ingress, LoadBalancerIngress } from '../../k8s/objects.ts';
import type { Logger } from '../../shared/log.ts';
import type { IngressStatus } from '../../translate/status.ts';
import { KubeApiError, RESOURCES, resourcePath, type KubeClient } from './api.ts';
import { entriesKey, normalizeEntries, sameEntries } from './publish-address.ts';
import { retryDelayMs, TokenBucket, type Clock } from './rate-limit.ts';

export interface StatusIngress {
  readonly namespace: string;
  readonly name: string;
  /** True when this controller serves the Ingress (translation's IngressStatus.owned). */
  readonly owned: boolean;
  /** status.loadBalancer.ingress as last seen (from the informer cache). */
  readonly current: readonly LoadBalancerIngress[];
}

export interface IngressStatusWriterOptions {
  readonly client: KubeClient;
  readonly logger: Logger;
  readonly now?: Clock;
  /** Average spacing of writes: the token bucket refills one token per interval (default 100 ms, i.e. 10 writes/s). */
  readonly minIntervalMs?: number;
  /** Writes allowed at once after a quiet period (default 20). */
  readonly burst?: number;
  /** Wait this long after reconcile() before writing, so bursts of rebuilds coalesce (default 20 ms). */
  readonly batchDelayMs?: number;
  /** Re-read-and-retry rounds after 409 Conflict before backing off (default 5). */
  readonly maxConflictRetries?: number;
  /** First retry delay after an error (default 500 ms), doubling up to maxRetryDelayMs (default 60 s). */
  readonly retryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
}

export interface StatusWriterStats {
  /** Successful PATCHes of /status. */
  readonly writes: number;
  readonly conflicts: number;
  /** Failed attempts (other than conflicts), each retried later. */
  readonly errors: number;
}

/**
 * The writer's input from what the controller has after a rebuild: every
 * Ingress in its cache, owned when translation says so (ReconcileState's
 * statuses; an Ingress translation did not mention is not owned). Pure.
 */
export function statusIngresses(ingresses: Iterable<Ingress>, statuses: readonly IngressStatus[]): StatusIngress[] {
  const owned = new Set(statuses.filter((s) => s.owned).map((s) => s.ingress));
  const out: StatusIngress[] = [];
  for (const ing of ingresses) {
    const { namespace, name } = ing.metadata;
    out.push({ namespace, name, owned: owned.has(`${namespace}/${name}`), current: ing.status.loadBalancer.ingress });
  }
  return out;
}

/** Leave the Ingress alone. */
export const UNTOUCHED = undefined;

/**
 * What status.loadBalancer.ingress should be (rules in the header), or
 * undefined when the Ingress is not ours to change. `published` are the
 * addresses we publish now, `wasOurs` tells whether an address set is one
 * this process published. Pure.
 */
export function desiredStatus(
  ing: { readonly owned: boolean; readonly current: readonly LoadBalancerIngress[] },
  published: readonly LoadBalancerIngress[],
  wasOurs: (entries: readonly LoadBalancerIngress[]) => boolean,
): LoadBalancerIngress[] | undefined {
  if (ing.owned) return normalizeEntries(published);
  if (ing.current.length > 0 && wasOurs(ing.current)) return [];
  return UNTOUCHED;
}

/** True when a write is needed to bring `current` to the desired state. Pure. */
export function needsWrite(
  ing: { readonly owned: boolean; readonly current: readonly LoadBalancerIngress[] },
  published: readonly LoadBalancerIngress[],
  wasOurs: (entries: readonly LoadBalancerIngress[]) => boolean,
): boolean {
  const desired = desiredStatus(ing, published, wasOurs);
  return desired !== undefined && !sameEntries(desired, ing.current);
}

/** How many earlier address sets are remembered as "ours" for clearing. */
const HISTORY_LIMIT = 32;

interface Pending {
  due: number;
  failures: number;
}

export class IngressStatusWriter {
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #now: Clock;
  readonly #bucket: TokenBucket;
  readonly #batchDelay: number;
  readonly #maxConflictRetries: number;
  readonly #retryInitial: number;
  readonly #retryMax: number;

  #addresses: LoadBalancerIngress[] | undefined;
  /** entriesKey of every address set published by this process, oldest first. */
  readonly #history: string[] = [];
  readonly #ingresses = new Map<string, StatusIngress>();
  readonly #pending = new Map<string, Pending>();
  #leader = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #timerDue = Infinity;
  #pump: Promise<void> | undefined;
  #idleWaiters: Array<() => void> = [];
  #stats = { writes: 0, conflicts: 0, errors: 0 };

  constructor(opts: IngressStatusWriterOptions) {
    this.#client = opts.client;
    this.#log = opts.logger;
    this.#now = opts.now ?? Date.now;
    const interval = opts.minIntervalMs ?? 100;
    this.#bucket = new TokenBucket({ perSecond: 1000 / Math.max(1, interval), burst: opts.burst ?? 20, now: this.#now });
    this.#batchDelay = opts.batchDelayMs ?? 20;
    this.#maxConflictRetries = opts.maxConflictRetries ?? 5;
    this.#retryInitial = opts.retryDelayMs ?? 500;
    this.#retryMax = opts.maxRetryDelayMs ?? 60_000;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  get stats(): StatusWriterStats {
    return { ...this.#stats };
  }

  /** The addresses to publish (from --publish-status-address or the published Service); re-evaluates every Ingress when they change. */
  setAddresses(entries: readonly LoadBalancerIngress[]): void {
    const next = normalizeEntries(entries);
    if (this.#addresses !== undefined && sameEntries(this.#addresses, next)) return;
    this.#addresses = next;
    const key = entriesKey(next);
    const at = this.#history.indexOf(key);
    if (at !== -1) this.#history.splice(at, 1);
    this.#history.push(key);
    if (this.#history.length > HISTORY_LIMIT) this.#history.shift();
    this.#log.info('publishing ingress status addresses', { addresses: next.map((e) => e.ip ?? e.hostname) });
    this.#requeueAll();
  }

  /** The whole current picture: every Ingress in the cache (ours or not). Ingresses missing from the list are forgotten. */
  reconcile(ingresses: readonly StatusIngress[]): void {
    const seen = new Set<string>();
    for (const ing of ingresses) {
      const key = `${ing.namespace}/${ing.name}`;
      seen.add(key);
      this.#ingresses.set(key, ing);
      this.#evaluate(key, ing);
    }
    for (const key of this.#ingresses.keys()) {
      if (!seen.has(key)) {
        this.#ingresses.delete(key);
        this.#pending.delete(key);
      }
    }
    this.#kick(this.#batchDelay);
  }

  /** Only the leader writes; on becoming leader every Ingress is looked at once. */
  setLeader(isLeader: boolean): void {
    if (isLeader === this.#leader) return;
    this.#leader = isLeader;
    if (isLeader) {
      this.#log.info('leading: ingress status writes enabled');
      this.#requeueAll();
    } else {
      this.#log.info('not leading: ingress status writes stopped');
      this.#pending.clear();
      this.#notifyIdle();
    }
  }

  /** Resolves once nothing is queued and no write is in flight (retries waiting for their backoff count as queued). */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops writing; resolves once the write in flight, if any, has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
    await this.#pump;
    this.#notifyIdle();
  }

  #wasOurs = (entries: readonly LoadBalancerIngress[]): boolean => this.#history.includes(entriesKey(entries));

  #requeueAll(): void {
    for (const [key, ing] of this.#ingresses) this.#evaluate(key, ing);
    this.#kick(0);
  }

  #evaluate(key: string, ing: StatusIngress): void {
    if (this.#addresses === undefined || !this.#leader || this.#stopped) return;
    if (needsWrite(ing, this.#addresses, this.#wasOurs)) {
      if (!this.#pending.has(key)) this.#pending.set(key, { due: this.#now(), failures: 0 });
    } else if (this.#pending.get(key)?.failures === 0) {
      this.#pending.delete(key);
    }
  }

  #isIdle(): boolean {
    return this.#pending.size === 0 && this.#pump === undefined;
  }

  #notifyIdle(): void {
    if (!this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Runs the pump after `delayMs`, unless it is already due sooner. */
  #kick(delayMs: number): void {
    if (this.#stopped || this.#pending.size === 0) {
      this.#notifyIdle();
      return;
    }
    if (this.#pump !== undefined) return; // the running pump picks the work up
    const due = this.#now() + delayMs;
    if (this.#timer !== undefined && this.#timerDue <= due) return;
    clearTimeout(this.#timer);
    this.#timerDue = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerDue = Infinity;
      this.#pump ??= this.#run().finally(() => {
        this.#pump = undefined;
        this.#afterRun();
      });
    }, Math.max(0, delayMs));
  }

  #afterRun(): void {
    if (this.#stopped) return this.#notifyIdle();
    const next = this.#nextDue();
    if (next === undefined) return this.#notifyIdle();
    this.#kick(Math.max(0, next - this.#now(), this.#bucket.waitMs()));
  }

  #nextDue(): number | undefined {
    let min: number | undefined;
    for (const p of this.#pending.values()) if (min === undefined || p.due < min) min = p.due;
    return min;
  }

  async #run(): Promise<void> {
    while (this.#leader && !this.#stopped) {
      const now = this.#now();
      let key: string | undefined;
      let pending: Pending | undefined;
      for (const [k, p] of this.#pending) {
        if (p.due <= now) {
          key = k;
          pending = p;
          break;
        }
      }
      if (key === undefined || pending === undefined) return;
      if (!this.#bucket.tryTake()) return; // #afterRun waits for the next token
      this.#pending.delete(key);
      await this.#sync(key, pending.failures);
    }
  }

  /** Brings one Ingress to its desired status. Never throws. */
  async #sync(key: string, failures: number): Promise<void> {
    const first = this.#ingresses.get(key);
    if (first === undefined) return;
    const path = resourcePath(RESOURCES.ingresses, first.namespace, first.name);
    for (let round = 0; round <= this.#maxConflictRetries; round++) {
      const ing = this.#ingresses.get(key);
      const addresses = this.#addresses;
      if (ing === undefined || addresses === undefined || !this.#leader || this.#stopped) return;
      let raw: Record<string, unknown>;
      try {
        raw = await this.#client.request({ method: 'GET', path });
      } catch (err) {
        return this.#failed(key, failures, err, 'read');
      }
      const current = decodeLoadBalancerStatus(raw).loadBalancer.ingress;
      const desired = desiredStatus({ owned: ing.owned, current }, addresses, this.#wasOurs);
      if (desired === undefined || sameEntries(desired, current)) {
        this.#ingresses.set(key, { ...ing, current });
        return;
      }
      const meta = raw['metadata'] as { resourceVersion?: unknown } | undefined;
      const rv = typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : undefined;
      const body: Record<string, unknown> = { status: { loadBalancer: { ingress: desired } } };
      if (rv !== undefined) body['metadata'] = { resourceVersion: rv };
      try {
        await this.#client.request({ method: 'PATCH', path: `${path}/status`, contentType: 'application/merge-patch+json', body });
        this.#stats.writes++;
        this.#ingresses.set(key, { ...ing, current: desired });
        this.#log.info(desired.length > 0 ? 'ingress status updated' : 'ingress status cleared', {
          ingress: key,
          addresses: desired.map((e) => e.ip ?? e.hostname),
        });
        return;
      } catch (err) {
        if (err instanceof KubeApiError && err.isConflict) {
          this.#stats.conflicts++;
          this.#log.debug('ingress status conflict; reading again', { ingress: key, round });
          continue;
        }
        return this.#failed(key, failures, err, 'write');
      }
    }
    this.#failed(key, failures, new Error(`still conflicting after ${this.#maxConflictRetries + 1} attempts`), 'write');
  }

  #failed(key: string, failures: number, err: unknown, what: 'read' | 'write'): void {
    if (err instanceof KubeApiError && err.isNotFound) {
      this.#log.debug('ingress gone before its status was written', { ingress: key });
      return;
    }
    this.#stats.errors++;
    const n = failures + 1;
    let delay = retryDelayMs(n, { initialMs: this.#retryInitial, maxMs: this.#retryMax });
    if (err instanceof KubeApiError && err.retryAfterSeconds !== undefined) delay = Math.max(delay, err.retryAfterSeconds * 1000);
    this.#log.warn(`ingress status ${what} failed; will retry`, { ingress: key, err, retryInMs: delay, failures: n });
    if (this.#leader && !this.#stopped && this.#ingresses.has(key)) this.#pending.set(key, { due: this.#now() + delay, failures: n });
  }
}
