// The reconcile loop: sources feed the store, the loop debounces, takes a
// snapshot, translates it and hands a new model to whoever applies it (the
// data plane, wired in by the composition root). Level-triggered: every
// rebuild starts from the whole store, so a missed or repeated event cannot
// leave the routing table wrong.

import type { KubeObject } from '../k8s/objects.ts';
import type { RoutingModel } from '../model/model.ts';
import { diffModels } from '../model/summary.ts';
import type { Diagnostic } from '../shared/diagnostic.ts';
import { formatDiagnostic } from '../shared/diagnostic.ts';
import type { Logger } from '../shared/log.ts';
import type { TranslateOptions } from '../translate/options.ts';
import { sameModel } from '../translate/model-equal.ts';
import { buildSnapshot } from '../translate/snapshot.ts';
import type { IngressStatus } from '../translate/status.ts';
import { translate, type References } from '../translate/translate.ts';
import { isRelevant } from './relevance.ts';
import type { Source, SourceSink } from './sources/source.ts';
import { ObjectStore } from './store.ts';

export interface ModelUpdate {
  /** Increases by one each time a different model is applied. */
  readonly generation: number;
  readonly model: RoutingModel;
  /** performance.now() when the first change that led to this model arrived (metrics: propagation time). */
  readonly changedAt: number;
}

export interface ReconcileState {
  /** Generation of the model currently applied (0 before the first). */
  readonly generation: number;
  /** Number of completed rebuilds, whether or not the model changed: tests wait on it after edits that change nothing. */
  readonly rebuilds: number;
  readonly appliedAt: string | undefined;
  readonly model: RoutingModel | undefined;
  readonly statuses: readonly IngressStatus[];
  /** Source problems and translation problems, with file locations where known. */
  readonly diagnostics: readonly Diagnostic[];
}

export interface ReconcileOptions {
  readonly sources: readonly Source[];
  readonly translateOptions: TranslateOptions;
  readonly logger: Logger;
  /** Applies a new model; called synchronously from the loop, never concurrently. */
  readonly apply: (update: ModelUpdate) => void;
  /** Wait this long after the last change before rebuilding (default 20 ms; see DEFAULT_TIMING). */
  readonly holdoffMs?: number;
  /** But never longer than this after the first pending change (default 500 ms). */
  readonly maxDelayMs?: number;
  /** And not sooner than this many times the last rebuild's duration after it ended (default 1), unless maxDelay says so. */
  readonly restFactor?: number;
  /** Called after every rebuild with the new state (statuses and diagnostics for status writers and event recorders). */
  readonly onRebuild?: (state: ReconcileState) => void;
}

export interface DebounceTiming {
  readonly holdoffMs: number;
  readonly maxDelayMs: number;
  readonly restFactor: number;
}

/**
 * Why these numbers (docs/benchmarks.md, "Route propagation and scale"):
 * - holdoff 20 ms: the Kubernetes source already merges events that arrive
 *   within 5 ms into one batch, so the holdoff only has to catch the next
 *   few writes of one client (kubectl apply sends its objects one request
 *   after another, a few ms apart). Contour's 100 ms is sized for pushing
 *   xDS to a fleet of Envoys; here a rebuild is one in-process function call
 *   (about 30 ms at 5,000 Ingresses), and 100 ms alone missed the 100 ms
 *   propagation bar.
 * - max delay 500 ms: a steady stream of changes closer together than the
 *   holdoff still gets applied at least twice a second.
 * - rest factor 0.5: a short holdoff must not let churn rebuild back to
 *   back; resting at least half as long as the last rebuild took (its
 *   bookkeeping included) caps rebuilding at two thirds of the thread that
 *   also proxies, whatever the rate of changes, while a lone change after a
 *   rebuild waits little longer than the holdoff.
 */
export const DEFAULT_TIMING: DebounceTiming = { holdoffMs: 20, maxDelayMs: 500, restFactor: 0.5 };

/**
 * How long to wait before rebuilding, `now` being the latest change: the
 * holdoff after it, or the rest after the last rebuild if that ends later,
 * but never past maxDelay after the first change still pending. Pure.
 */
export function rebuildDelay(
  now: number,
  firstPendingAt: number,
  last: { readonly endedAt: number; readonly durationMs: number } | undefined,
  timing: DebounceTiming,
): number {
  const settled = now + timing.holdoffMs;
  const rested = last === undefined ? settled : last.endedAt + timing.restFactor * last.durationMs;
  const deadline = firstPendingAt + timing.maxDelayMs;
  return Math.max(0, Math.min(Math.max(settled, rested), deadline) - now);
}

export class ReconcileLoop {
  readonly #opts: ReconcileOptions;
  readonly #store = new ObjectStore();
  readonly #unsynced = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  #firstPendingAt = 0;
  #stopped = false;
  #lastRebuild: { endedAt: number; durationMs: number } | undefined;
  #references: References | undefined;
  #lastDiagnosticLines = new Set<string>();
  #state: ReconcileState = { generation: 0, rebuilds: 0, appliedAt: undefined, model: undefined, statuses: [], diagnostics: [] };
  #waiters: Array<{ until: (s: ReconcileState) => boolean; resolve: () => void }> = [];

  constructor(opts: ReconcileOptions) {
    this.#opts = opts;
  }

  get state(): ReconcileState {
    return this.#state;
  }

  /** Every object currently in the store (for status writing and events). */
  objects(): KubeObject[] {
    return this.#store.objects();
  }

  /** True while a rebuild is scheduled but has not run yet. */
  get rebuildPending(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts every source; resolves once all have delivered their initial state and the first rebuild ran. */
  async start(): Promise<void> {
    for (const s of this.#opts.sources) this.#unsynced.add(s.name);
    await Promise.all(this.#opts.sources.map((s) => s.start(this.#sinkFor(s.name))));
    await this.waitFor((s) => s.rebuilds > 0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#expiryTimer);
    await Promise.all(this.#opts.sources.map((s) => s.stop()));
  }

  /** Resolves when the state satisfies `until` (checked after every rebuild). */
  waitFor(until: (s: ReconcileState) => boolean): Promise<void> {
    if (until(this.#state)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ until, resolve }));
  }

  #sinkFor(name: string): SourceSink {
    return {
      events: (batch) => {
        const changes = this.#store.apply(batch);
        const refs = this.#references;
        // Before the first build nothing is known to be irrelevant.
        if (changes.length > 0 && (refs === undefined || changes.some((c) => isRelevant(c, refs)))) this.#schedule();
      },
      problems: (list) => {
        if (this.#store.setProblems(name, list)) this.#schedule();
      },
      synced: () => {
        this.#unsynced.delete(name);
        this.#schedule();
      },
    };
  }

  /** Debounce: holdoff after the latest change, bounded by maxDelay after the first. */
  /**
   * Certificate validity changes with time alone: rebuild when the first
   * certificate in use expires, so an expired one is reported and no longer
   * treated as good. Checked at least daily, so long timers stay in range.
   */
  #scheduleExpiryCheck(model: RoutingModel, now: number): void {
    clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    let first = Infinity;
    for (const c of model.certificates) first = Math.min(first, Date.parse(c.notAfter));
    if (first === Infinity) return;
    const delay = Math.min(Math.max(first - now + 1000, 1000), 86_400_000);
    this.#expiryTimer = setTimeout(() => this.#schedule(), delay);
    this.#expiryTimer.unref();
  }

  #schedule(): void {
    if (this.#stopped || this.#unsynced.size > 0) return;
    const o = this.#opts;
    const timing: DebounceTiming = {
      holdoffMs: o.holdoffMs ?? DEFAULT_TIMING.holdoffMs,
      maxDelayMs: o.maxDelayMs ?? DEFAULT_TIMING.maxDelayMs,
      restFactor: o.restFactor ?? DEFAULT_TIMING.restFactor,
    };
    const now = performance.now();
    if (this.#timer === undefined) this.#firstPendingAt = now;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#rebuildSafely(), rebuildDelay(now, this.#firstPendingAt, this.#lastRebuild, timing));
  }

  /** A bug in translation must not take the process down: keep serving the last good model and say so. */
  #rebuildSafely(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const started = performance.now();
    let report: (() => void) | undefined;
    try {
      report = this.#rebuild();
    } catch (err) {
      this.#opts.logger.error('rebuild failed; the last good configuration stays in use', { err });
    }
    const swappedAfter = performance.now() - started;
    this.#lastRebuild = { endedAt: performance.now(), durationMs: swappedAfter };
    if (report === undefined) return;
    // The new table is in place: let requests that arrived meanwhile be served
    // with it first (they are read before setImmediate callbacks run), then
    // do the bookkeeping (change log, status and events, waiters).
    setImmediate(() => {
      if (this.#stopped) return;
      const reportStarted = performance.now();
      try {
        report();
      } catch (err) {
        this.#opts.logger.error('reporting a rebuild failed', { err });
      }
      const endedAt = performance.now();
      this.#lastRebuild = { endedAt, durationMs: swappedAfter + (endedAt - reportStarted) };
    });
  }

  /** Translates and applies; returns what remains to be done once the new model serves. */
  #rebuild(): () => void {
    const started = performance.now();
    const now = Date.now();
    const result = translate(buildSnapshot(this.#store.objects()), this.#opts.translateOptions, { now, previous: this.#state.model });
    this.#scheduleExpiryCheck(result.model, now);
    this.#references = result.references;
    const diagnostics = [...this.#store.problems(), ...result.diagnostics.map((d) => this.#withOrigin(d))];
    let { generation, appliedAt, model } = this.#state;
    let logChange: (() => void) | undefined;
    if (model === undefined || !sameModel(model, result.model)) {
      const previous = model;
      generation += 1;
      this.#opts.apply({ generation, model: result.model, changedAt: this.#firstPendingAt });
      model = result.model;
      appliedAt = new Date().toISOString();
      const ms = performance.now() - started;
      const applied = result.model;
      logChange = () => this.#logChange(generation, previous, applied, ms);
    }
    const state: ReconcileState = { generation, rebuilds: this.#state.rebuilds + 1, appliedAt, model, statuses: result.statuses, diagnostics };
    this.#state = state;
    return () => {
      logChange?.();
      this.#logDiagnostics(diagnostics);
      this.#opts.onRebuild?.(state);
      const waiting = this.#waiters;
      this.#waiters = [];
      for (const w of waiting) {
        if (w.until(this.#state)) w.resolve();
        else this.#waiters.push(w);
      }
    };
  }

  /** Adds the manifest file and document to a translation diagnostic when the store knows them. */
  #withOrigin(d: Diagnostic): Diagnostic {
    if (d.object === undefined || d.file !== undefined) return d;
    const origin = this.#store.originOf(d.object);
    return origin === undefined ? d : { ...d, file: origin.file, document: origin.document };
  }

  #logChange(generation: number, before: RoutingModel | undefined, after: RoutingModel, ms: number): void {
    const fields: Record<string, unknown> = {
      generation,
      virtualHosts: after.virtualHosts.length,
      routes: after.virtualHosts.reduce((n, vh) => n + vh.routes.length, 0),
      clusters: after.clusters.length,
      translateMs: Math.round(ms * 10) / 10,
    };
    if (before !== undefined) {
      const change = diffModels(before, after);
      Object.assign(fields, limitLists(change));
    }
    this.#opts.logger.info('configuration applied', fields);
  }

  /** Logs each problem once when it appears and once when it is resolved, not at every rebuild. */
  #logDiagnostics(list: readonly Diagnostic[]): void {
    const lines = new Set(list.map(formatDiagnostic));
    for (const line of lines) if (!this.#lastDiagnosticLines.has(line)) this.#opts.logger.warn('configuration problem', { problem: line });
    for (const line of this.#lastDiagnosticLines) if (!lines.has(line)) this.#opts.logger.info('configuration problem resolved', { problem: line });
    this.#lastDiagnosticLines = lines;
  }
}

/** Keeps change logs short on large updates: at most 20 entries per list plus a count. */
function limitLists(change: { readonly [k: string]: readonly string[] } | object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(change) as Array<[string, string[]]>) {
    if (v.length === 0) continue;
    out[k] = v.length > 20 ? [...v.slice(0, 20), `… and ${v.length - 20} more`] : v;
  }
  return out;
}
