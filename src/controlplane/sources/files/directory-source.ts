// Standalone mode's configuration source: a directory of Kubernetes
// manifests, loaded once and then watched. Changes are debounced, only the
// changed files are re-read, and the sink receives one batch per burst with
// just what changed. A file that breaks keeps its last good version, so a
// half-saved edit never takes routes away.

import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../../../shared/log.ts';
import type { Source, SourceSink } from '../source.ts';
import { Debouncer } from './debouncer.ts';
import { checkRoot, listManifests, pathKind, readManifest } from './manifest-fs.ts';
import { classifyPath, isManifestFile } from './manifest-paths.ts';
import { ManifestState } from './manifest-state.ts';

export interface DirectorySourceOptions {
  readonly root: string;
  readonly logger: Logger;
  /** Quiet time after the last file event before changes are applied (default 100 ms). */
  readonly debounceMs?: number;
}

/** A burst of writes is applied at the latest this many debounce periods after it began. */
const MAX_DELAY_FACTOR = 5;
/** Pause before re-creating a failed watcher or retrying a failed rescan. */
const RETRY_MS = 1000;

export class DirectorySource implements Source {
  readonly name = 'manifests';
  readonly #root: string;
  readonly #logger: Logger;
  readonly #debouncer: Debouncer;
  readonly #state = new ManifestState();
  #realRoot = '';
  #sink: SourceSink | undefined;
  #watcher: FSWatcher | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #pending = new Set<string>();
  #rescanAll = false;
  #chain: Promise<void> = Promise.resolve();
  #lastProblems = '';
  #stopped = false;

  constructor(options: DirectorySourceOptions) {
    this.#root = options.root;
    this.#logger = options.logger.child({ component: 'manifests', root: options.root });
    const debounceMs = options.debounceMs ?? 100;
    this.#debouncer = new Debouncer(debounceMs, MAX_DELAY_FACTOR * debounceMs, () => void this.flush());
  }

  async start(sink: SourceSink): Promise<void> {
    this.#realRoot = await checkRoot(this.#root);
    this.#sink = sink;
    // Watch before the first scan, so a change made during the scan is not lost.
    this.#watch();
    // Unlike later changes, a failed initial load fails `start`: there is no last good state to keep.
    const initial = this.#chain.then(() => this.#loadAll());
    this.#chain = initial.catch(() => {});
    try {
      await initial;
    } catch (error) {
      await this.stop();
      throw new Error(`manifests directory "${this.#root}" cannot be loaded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (this.#stopped) return;
    sink.synced();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#debouncer.cancel();
    clearTimeout(this.#retryTimer);
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#chain;
  }

  /** Applies the changes seen so far now instead of after the debounce; resolves once applied (also a test hook). */
  flush(): Promise<void> {
    this.#debouncer.cancel();
    const paths = [...this.#pending].sort();
    const all = this.#rescanAll;
    this.#pending = new Set();
    this.#rescanAll = false;
    if (paths.length === 0 && !all) return this.#chain;
    return this.#enqueue(() => (all ? this.#rescan() : this.#applyPaths(paths)));
  }

  /** Runs `step` after the previous one; a failure is logged and never breaks the chain. */
  #enqueue(step: () => Promise<void>): Promise<void> {
    this.#chain = this.#chain.then(async () => {
      if (this.#stopped) return;
      try {
        await step();
      } catch (error) {
        this.#logger.error('reading manifests failed; keeping the current state and retrying', { error });
        this.#retryLater();
      }
    });
    return this.#chain;
  }

  async #loadAll(): Promise<void> {
    const files = await listManifests(this.#realRoot);
    for (const file of files) await this.#reload(file);
    const { events } = this.#state.takeBatch();
    const problems = this.#state.problems();
    this.#lastProblems = JSON.stringify(problems);
    if (this.#stopped || this.#sink === undefined) return;
    this.#sink.events(events);
    this.#sink.problems(problems);
    this.#logger.info('manifests loaded', { files: files.length, objects: events.length, problems: problems.length });
  }

  /** Re-reads everything (watcher restarted, ConfigMap volume swapped): the diff still emits only changes. */
  async #rescan(): Promise<void> {
    const files = await listManifests(this.#realRoot);
    const present = new Set(files);
    const gone = this.#state.files().filter((f) => !present.has(f));
    for (const file of gone) this.#state.remove(file);
    for (const file of files) await this.#reload(file);
    this.#publish(files.length + gone.length);
  }

  async #applyPaths(paths: readonly string[]): Promise<void> {
    const touched = new Set<string>();
    for (const path of paths) {
      for (const file of await this.#applyPath(path)) touched.add(file);
    }
    this.#publish(touched.size);
  }

  /** Brings one changed path up to date; returns the manifest files it touched. */
  async #applyPath(path: string): Promise<string[]> {
    const kind = await pathKind(this.#realRoot, path);
    const under = (f: string): boolean => f === path || f.startsWith(`${path}/`);
    const known = this.#state.files().filter(under);
    if (kind === 'missing') {
      for (const file of known) this.#state.remove(file);
      return known;
    }
    if (kind === 'directory') {
      const files = await listManifests(this.#realRoot, path);
      const present = new Set(files);
      for (const file of known.filter((f) => !present.has(f))) this.#state.remove(file);
      for (const file of files) await this.#reload(file);
      return [...new Set([...known, ...files])];
    }
    // A file where a directory was: whatever was known under it is gone.
    const replaced = known.filter((f) => f !== path);
    for (const file of replaced) this.#state.remove(file);
    if (!isManifestFile(path)) return replaced;
    await this.#reload(path);
    return [...replaced, path];
  }

  async #reload(file: string): Promise<void> {
    const parsed = await readManifest(this.#realRoot, file);
    if (parsed === 'missing') this.#state.remove(file);
    else this.#state.update(file, parsed);
  }

  #publish(filesChanged: number): void {
    const { events, upserted, deleted } = this.#state.takeBatch();
    const problems = this.#state.problems();
    const serialised = JSON.stringify(problems);
    const problemsChanged = serialised !== this.#lastProblems;
    this.#lastProblems = serialised;
    if (this.#stopped || this.#sink === undefined) return;
    if (events.length > 0) this.#sink.events(events);
    if (problemsChanged) this.#sink.problems(problems);
    if (events.length > 0 || problemsChanged) {
      this.#logger.info('manifest changes applied', { files: filesChanged, upserted, deleted, problems: problems.length });
    } else {
      this.#logger.debug('manifest files changed without effect', { files: filesChanged });
    }
  }

  #watch(): void {
    try {
      const watcher = watch(this.#realRoot, { recursive: true }, (_event, filename) => this.#onEvent(filename));
      watcher.on('error', (error) => this.#onWatchError(error));
      this.#watcher = watcher;
    } catch (error) {
      this.#onWatchError(error);
    }
  }

  #onEvent(filename: string | null): void {
    if (this.#stopped) return;
    // No file name: the platform could not say what changed, so look at everything.
    const rel = filename === null ? undefined : filename.split(/[\\/]/).join('/');
    const pathClass = rel === undefined ? 'rescan' : classifyPath(rel);
    if (pathClass === 'ignored') return;
    if (pathClass === 'rescan' || rel === undefined) this.#rescanAll = true;
    else this.#pending.add(rel);
    this.#debouncer.poke();
  }

  /** Events may have been lost: re-create the watcher and rescan everything. */
  #onWatchError(error: unknown): void {
    this.#logger.error('watching the manifests directory failed; re-creating the watcher', { error });
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#retryLater();
  }

  #retryLater(): void {
    if (this.#stopped || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#stopped) return;
      if (this.#watcher === undefined) this.#watch();
      this.#rescanAll = true;
      this.#debouncer.poke();
    }, RETRY_MS);
  }
}
