// The composition root shared by `serve` (manifests) and `controller`
// (Kubernetes): sources → reconcile loop → data plane (compile → proxy swap,
// in this process or in worker processes, see workers/), plus the admin
// listener and signal handling. Only this layer knows both planes.

import { AdminServer } from '../admin/admin-server.ts';
import { buildDebugConfig } from '../admin/views.ts';
import { F, PROPAGATION_BUCKETS } from '../observability/metrics/catalog.ts';
import { configFamilies, watchFamilies, workerFamilies, type WatchState } from '../observability/metrics/control-plane.ts';
import { renderExposition } from '../observability/metrics/exposition.ts';
import { Histogram } from '../observability/metrics/histogram.ts';
import { mergeSnapshots, samplesOf } from '../observability/metrics/snapshot.ts';
import { VERSION } from '../shared/version.ts';
import { ProcessMetrics } from '../observability/process-metrics.ts';
import { ReconcileLoop, type ReconcileState } from '../controlplane/reconcile-loop.ts';
import type { Source } from '../controlplane/sources/source.ts';
import type { ProxyOptions } from '../dataplane/proxy/options.ts';
import { answerExplainQuery } from '../explain/http-query.ts';
import type { Ingress } from '../k8s/objects.ts';
import { EMPTY_MODEL } from '../model/model.ts';
import type { Logger, LogLevel } from '../shared/log.ts';
import { generateDefaultCertificate } from '../shared/pki/default-certificate.ts';
import type { TranslateOptions } from '../translate/options.ts';
import type { ListenFlags } from './options.ts';
import { createDataPlane, forksWorkers } from './workers/data-plane.ts';

export interface ServingOptions {
  readonly sources: readonly Source[];
  readonly translateOptions: TranslateOptions;
  readonly listen: ListenFlags;
  readonly proxyOptions?: Partial<ProxyOptions>;
  readonly logger: Logger;
  /** The level of `logger`, for worker processes (default info). */
  readonly logLevel?: LogLevel;
  /** Watch health per reflector, for the martello_kube_watch_* metrics (controller mode). */
  readonly watchHealth?: () => readonly WatchState[];
  /** Extra fields for /debug/config (e.g. Kubernetes connection health). */
  readonly debugExtras?: () => Record<string, unknown>;
  /** Called after every rebuild (status writing, events). */
  readonly onRebuild?: (state: ReconcileState, loop: ReconcileLoop) => void;
  /** Called once everything serves (e.g. start leader election). */
  readonly onReady?: (loop: ReconcileLoop) => void | Promise<void>;
  /** Called on shutdown before the listeners close (e.g. release a Lease). */
  readonly onStop?: () => Promise<void>;
}

/** Runs until SIGTERM/SIGINT; resolves with the exit code. */
export async function runServing(opts: ServingOptions): Promise<number> {
  const { logger, listen } = opts;
  // Served when no configured certificate applies; a fresh key per start,
  // never written anywhere (worker processes get it over IPC and share it).
  const fallbackCertificate = generateDefaultCertificate();
  // --workers 1: the proxy runs here; N > 1: N worker processes share the listeners.
  const dataPlane = createDataPlane({ listen, proxyOptions: opts.proxyOptions ?? {}, fallbackCertificate, logger, logLevel: opts.logLevel ?? 'info' });
  let serving = false;
  let shuttingDown = false;
  // Propagation: from the first change of a rebuild to its model serving in every process.
  const propagation = new Histogram(PROPAGATION_BUCKETS);
  const changedAt = new Map<number, number>();
  dataPlane.onServing((generation) => {
    const now = performance.now();
    for (const [g, at] of changedAt) {
      if (g > generation) continue;
      propagation.observe((now - at) / 1000);
      changedAt.delete(g);
    }
  });
  const processMetrics = new ProcessMetrics('main');
  const buildInfo = { [F.build.name]: samplesOf(F.build, [{ labels: [VERSION, process.version], value: 1 }]) };
  const loop: ReconcileLoop = new ReconcileLoop({
    sources: opts.sources,
    translateOptions: opts.translateOptions,
    logger: logger.child({ component: 'reconcile' }),
    apply: (update) => {
      changedAt.set(update.generation, update.changedAt);
      dataPlane.apply(update);
    },
    onRebuild: opts.onRebuild === undefined ? undefined : (state) => opts.onRebuild?.(state, loop),
  });
  const admin = new AdminServer({
    // With workers: every live worker must have acknowledged the current generation.
    ready: () => serving && !shuttingDown && dataPlane.ready(loop.state.generation),
    metrics: async () => {
      const snap = await dataPlane.snapshot(() => loop.state.generation);
      return renderExposition(mergeSnapshots([
        snap.totals.metrics,
        configFamilies(loop.state, propagation),
        opts.watchHealth === undefined ? {} : watchFamilies(opts.watchHealth()),
        forksWorkers(listen) ? workerFamilies(snap.workers) : {},
        processMetrics.snapshot(),
        buildInfo,
      ]));
    },
    debugConfig: async () => {
      const snap = await dataPlane.snapshot(() => loop.state.generation);
      return { ...(buildDebugConfig(loop.state) as object), workers: snap.workers, ...opts.debugExtras?.() };
    },
    explain: (query) => answerExplainQuery(query, {
      model: loop.state.model ?? EMPTY_MODEL,
      generation: loop.state.generation,
      statuses: loop.state.statuses,
      diagnostics: loop.state.diagnostics,
      ingresses: loop.objects().filter((o): o is Ingress => o.kind === 'Ingress'),
      ...(opts.proxyOptions === undefined ? {} : { settings: opts.proxyOptions }),
    }),
  }, logger.child({ component: 'admin' }));

  try {
    const adminAddress = await admin.listen(listen.admin.host, listen.admin.port);
    logger.info('listening', { listener: 'admin', address: adminAddress.address, port: adminAddress.port });
    await loop.start();
    if (forksWorkers(listen)) logger.info('starting worker processes', { workers: listen.workers, ...(listen.workerUser === undefined ? {} : { user: listen.workerUser }) });
    const bound = await dataPlane.start();
    logger.info('listening', { listener: 'http', address: bound.http.host, port: bound.http.port });
    logger.info('listening', { listener: 'https', address: bound.https.host, port: bound.https.port, alpn: ['h2', 'http/1.1'] });
    if (opts.translateOptions.defaultCertificate === undefined) {
      logger.info('no --default-ssl-certificate: unmatched TLS names get a self-signed certificate generated at start-up', { subject: 'CN=Martello Default Certificate' });
    }
  } catch (err) {
    // Nothing may keep the process alive after a failed start: close what did start.
    await Promise.allSettled([loop.stop(), dataPlane.close(), admin.close()]);
    throw err;
  }
  serving = true;
  logger.info('ready', { generation: loop.state.generation, workers: listen.workers });
  await opts.onReady?.(loop);

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      if (shuttingDown) return;
      shuttingDown = true;
      logger.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  if (listen.shutdownGraceMs > 0) {
    // Readiness is false from the signal on; until endpoints and load balancers have noticed,
    // new connections still arrive and are served as usual (a second signal cuts this short).
    logger.info('shutdown grace period: still serving while readiness is false', { graceMs: listen.shutdownGraceMs });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, listen.shutdownGraceMs);
      const skip = (): void => {
        clearTimeout(timer);
        resolve();
      };
      process.once('SIGTERM', skip);
      process.once('SIGINT', skip);
    });
  }
  await opts.onStop?.();
  await loop.stop();
  // Workers (or the in-process proxy) finish their in-flight requests first.
  await dataPlane.close();
  await admin.close();
  processMetrics.stop();
  logger.info('stopped');
  return 0;
}
