// Leader election on a coordination.k8s.io/v1 Lease, with the semantics of
// client-go's leaderelection package (written from its documented
// behaviour, research/kubernetes-api.md §2.8):
//
//  - Every retryPeriod (jittered while not leading) try to acquire or renew:
//    GET the Lease (POST a new one on 404), and take it when it is free
//    (empty holder), ours, or expired. Expiry is judged by the LOCAL clock
//    since this process last saw the record change, never by comparing the
//    record's renewTime with local time: clock skew between nodes cannot
//    cause two leaders.
//  - Taking a Lease from another holder (or a released one) increments
//    leaseTransitions; renewing keeps acquireTime and transitions.
//  - While leading, renew every retryPeriod (PUT of the last object with a
//    new renewTime, the resourceVersion as precondition); a renewal that has
//    not succeeded for renewDeadline ends leadership. So does seeing another
//    holder in the record (a step beyond client-go, which waits for the
//    deadline).
//  - 409 Conflict (someone else wrote) and every other error mean "not this
//    round"; the record is read again next time.
//  - release() writes an empty holder, leaseDurationSeconds 1 and fresh
//    times, so a successor takes over at its next retry instead of waiting
//    for the lease to expire.
// All times in the Lease are MicroTime with exactly six fractional digits.

import type { Logger } from '../../shared/log.ts';
import { KubeApiError, RESOURCES, resourcePath, type KubeClient } from './api.ts';
import { formatMicroTime } from './microtime.ts';
import type { Clock } from './rate-limit.ts';

export interface LeaseSpec {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

export interface LeaderElectorOptions {
  readonly client: KubeClient;
  /** The controller's own namespace (POD_NAMESPACE). */
  readonly namespace: string;
  /** Lease name, e.g. "martello-leader". */
  readonly name: string;
  /** Unique per replica, e.g. "<pod name>_<random>". */
  readonly identity: string;
  /** How long a Lease stays valid without renewal (default 15 s; whole seconds in the Lease, rounded up). */
  readonly leaseDurationMs?: number;
  /** A leader that could not renew for this long steps down (default 10 s). */
  readonly renewDeadlineMs?: number;
  /** Time between attempts (default 2 s). */
  readonly retryPeriodMs?: number;
  readonly now?: Clock;
  /** Injected for deterministic tests (default Math.random). */
  readonly random?: () => number;
  readonly logger: Logger;
  readonly onStartedLeading?: () => void;
  readonly onStoppedLeading?: () => void;
}

/** What an observed record means for us. */
export type LeaseState = 'ours' | 'free' | 'held';

/**
 * Pure decision: is the Lease ours, free to take (no holder, or expired), or
 * validly held by someone else? `observedAt` is our local time when we first
 * saw this exact record.
 */
export function leaseState(spec: LeaseSpec, observedAt: number, identity: string, now: number): LeaseState {
  const holder = spec.holderIdentity ?? '';
  if (holder === identity && holder !== '') return 'ours';
  if (holder === '') return 'free';
  const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
  return observedAt + durationMs > now ? 'held' : 'free';
}

/** The record we write to acquire or renew. Pure. */
export function acquiredSpec(previous: LeaseSpec | undefined, identity: string, now: number, leaseDurationSeconds: number): LeaseSpec {
  const time = formatMicroTime(now);
  if (previous === undefined) {
    return { holderIdentity: identity, leaseDurationSeconds, acquireTime: time, renewTime: time, leaseTransitions: 0 };
  }
  const renewing = previous.holderIdentity === identity;
  const transitions = previous.leaseTransitions ?? 0;
  return {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: renewing && previous.acquireTime !== undefined ? previous.acquireTime : time,
    renewTime: time,
    leaseTransitions: renewing ? transitions : transitions + 1,
  };
}

/** The record release() writes: no holder, shortest duration, fresh times, transitions kept. Pure. */
export function releasedSpec(previous: LeaseSpec, now: number): LeaseSpec {
  const time = formatMicroTime(now);
  return { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: time, renewTime: time, leaseTransitions: previous.leaseTransitions ?? 0 };
}

type LeaseObject = Record<string, unknown> & { metadata?: Record<string, unknown>; spec?: LeaseSpec };

export class LeaderElector {
  readonly #opts: LeaderElectorOptions;
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #now: Clock;
  readonly #random: () => number;
  readonly #leaseMs: number;
  readonly #leaseSeconds: number;
  readonly #renewDeadlineMs: number;
  readonly #retryMs: number;
  readonly #itemPath: string;
  readonly #collectionPath: string;

  /** The last Lease object read or written (for the renewal fast path and its resourceVersion). */
  #lease: LeaseObject | undefined;
  #observedKey = '';
  #observedAt = 0;
  #leader = false;
  #lastRenewAt = 0;
  #started = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<void> | undefined;
  readonly #abort = new AbortController();

  constructor(opts: LeaderElectorOptions) {
    this.#opts = opts;
    this.#client = opts.client;
    this.#log = opts.logger;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.#leaseMs = opts.leaseDurationMs ?? 15_000;
    this.#leaseSeconds = Math.max(1, Math.ceil(this.#leaseMs / 1000));
    this.#renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.#retryMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.#leaseMs > this.#renewDeadlineMs && this.#renewDeadlineMs > 1.2 * this.#retryMs && this.#retryMs > 0)) {
      throw new RangeError('leader election needs leaseDuration > renewDeadline > 1.2 × retryPeriod > 0');
    }
    if (opts.identity === '') throw new RangeError('leader election needs a non-empty identity');
    this.#itemPath = resourcePath(RESOURCES.leases, opts.namespace, opts.name);
    this.#collectionPath = resourcePath(RESOURCES.leases, opts.namespace);
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** The holder in the last record seen ("" when released), undefined before the first read. */
  get holder(): string | undefined {
    return this.#lease?.spec?.holderIdentity;
  }

  /** Starts campaigning; leadership is reported through the callbacks and isLeader. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#log.info('leader election started', { lease: `${this.#opts.namespace}/${this.#opts.name}`, identity: this.#opts.identity });
    this.#schedule(0);
  }

  /** Stops without releasing the Lease (as a crash would): a successor waits for it to expire. */
  async stop(): Promise<void> {
    this.#halt();
    this.#abort.abort();
    await this.#inflight;
    this.#stepDown('stopped');
  }

  /** Stops and, when leading, hands the Lease back so a successor takes over at once. Never throws. */
  async release(): Promise<void> {
    this.#halt();
    await this.#inflight;
    if (!this.#leader) return;
    for (let round = 0; round < 3; round++) {
      const lease = this.#lease;
      if (lease?.spec?.holderIdentity !== this.#opts.identity) break;
      try {
        const body = { ...lease, spec: { ...lease.spec, ...releasedSpec(lease.spec, this.#now()) } };
        this.#lease = await this.#client.request<LeaseObject>({ method: 'PUT', path: this.#itemPath, body, signal: this.#timeout() });
        this.#log.info('leader lease released', { identity: this.#opts.identity });
        break;
      } catch (err) {
        if (!(err instanceof KubeApiError && err.isConflict)) {
          this.#log.warn('could not release the leader lease; it will expire', { err });
          break;
        }
        try {
          this.#lease = await this.#client.request<LeaseObject>({ method: 'GET', path: this.#itemPath, signal: this.#timeout() });
        } catch {
          break;
        }
      }
    }
    this.#stepDown('released');
  }

  #halt(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #timeout(): AbortSignal {
    return AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#renewDeadlineMs)]);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#inflight = this.#tick().finally(() => {
        this.#inflight = undefined;
      });
    }, delayMs);
  }

  async #tick(): Promise<void> {
    let ok = false;
    try {
      ok = await this.#tryAcquireOrRenew();
    } catch (err) {
      this.#log.debug('leader election attempt failed', { err });
    }
    if (this.#stopped) return;
    const now = this.#now();
    if (ok) {
      this.#lastRenewAt = now;
      if (!this.#leader) {
        this.#leader = true;
        this.#log.info('became leader', { identity: this.#opts.identity, transitions: this.#lease?.spec?.leaseTransitions });
        this.#call(this.#opts.onStartedLeading);
      }
    } else if (this.#leader) {
      const holder = this.#lease?.spec?.holderIdentity ?? '';
      if (holder !== '' && holder !== this.#opts.identity) this.#stepDown(`lease taken by ${holder}`);
      else if (now - this.#lastRenewAt > this.#renewDeadlineMs) this.#stepDown('renewal deadline passed');
    }
    // client-go jitters the acquire loop by up to 1.2 × retryPeriod; renewals run at retryPeriod.
    this.#schedule(this.#leader ? this.#retryMs : this.#retryMs * (1 + 1.2 * this.#random()));
  }

  #stepDown(why: string): void {
    if (!this.#leader) return;
    this.#leader = false;
    this.#log.warn('stopped leading', { identity: this.#opts.identity, why });
    this.#call(this.#opts.onStoppedLeading);
  }

  #call(fn: (() => void) | undefined): void {
    try {
      fn?.();
    } catch (err) {
      this.#log.error('leader election callback failed', { err });
    }
  }

  #observe(lease: LeaseObject): void {
    this.#lease = lease;
    const key = JSON.stringify(lease.spec ?? {});
    if (key !== this.#observedKey) {
      this.#observedKey = key;
      this.#observedAt = this.#now();
    }
  }

  /** One attempt; true when we hold the Lease afterwards. Throws on API errors (the caller treats them as "not this round"). */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const now = this.#now();
    // Fast path: leading and our record is still valid by our own observation: renew without reading.
    const cached = this.#lease;
    const valid = this.#observedAt + (cached?.spec?.leaseDurationSeconds ?? 0) * 1000 > now;
    if (this.#leader && valid && cached?.spec !== undefined && leaseState(cached.spec, this.#observedAt, this.#opts.identity, now) === 'ours') {
      try {
        await this.#write(cached, now);
        return true;
      } catch (err) {
        this.#log.debug('lease renewal failed; reading the lease again', { err });
      }
    }
    let lease: LeaseObject;
    try {
      lease = await this.#client.request<LeaseObject>({ method: 'GET', path: this.#itemPath, signal: this.#timeout() });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.isNotFound)) throw err;
      const created = await this.#client.request<LeaseObject>({
        method: 'POST',
        path: this.#collectionPath,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.#opts.name, namespace: this.#opts.namespace },
          spec: acquiredSpec(undefined, this.#opts.identity, now, this.#leaseSeconds),
        },
        signal: this.#timeout(),
      });
      this.#observe(created);
      return true;
    }
    this.#observe(lease);
    const spec = lease.spec ?? {};
    if (leaseState(spec, this.#observedAt, this.#opts.identity, this.#now()) === 'held') return false;
    await this.#write(lease, this.#now());
    return true;
  }

  /** PUT of `base` with our record; the resourceVersion it carries is the precondition. */
  async #write(base: LeaseObject, now: number): Promise<void> {
    const spec = { ...base.spec, ...acquiredSpec(base.spec ?? {}, this.#opts.identity, now, this.#leaseSeconds) };
    const written = await this.#client.request<LeaseObject>({ method: 'PUT', path: this.#itemPath, body: { ...base, spec }, signal: this.#timeout() });
    this.#observe(written);
  }
}
