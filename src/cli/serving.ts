// The composition root shared by `serve` (manifests) and `controller`
// (Kubernetes): sources → reconcile loop → compile → proxy swap, plus the
// admin listener and signal handling. Only this layer knows both planes.

import { AdminServer } from '../admin/admin-server.ts';
import { buildDebugConfig, buildMetrics } from '../admin/views.ts';
import { ReconcileLoop, type ModelUpdate, type ReconcileState } from '../controlplane/reconcile-loop.ts';
import type { Source } from '../controlplane/sources/source.ts';
import { compile } from '../dataplane/compile/route-table.ts';
import type { ProxyOptions } from '../dataplane/proxy/options.ts';
import { ProxyServer } from '../dataplane/proxy/proxy-server.ts';
import type { Logger } from '../shared/log.ts';
import { generateDefaultCertificate } from '../shared/pki/default-certificate.ts';
import type { TranslateOptions } from '../translate/options.ts';
import type { ListenFlags } from './options.ts';

export interface ServingOptions {
  readonly sources: readonly Source[];
  readonly translateOptions: TranslateOptions;
  readonly listen: ListenFlags;
  readonly proxyOptions?: Partial<ProxyOptions>;
  readonly logger: Logger;
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
  // Served when no configured certificate applies; a fresh key per process,
  // never written anywhere.
  const fallbackCertificate = generateDefaultCertificate();
  const proxy = new ProxyServer({ logger: logger.child({ component: 'proxy' }), options: opts.proxyOptions, fallbackCertificate });
  let serving = false;
  let shuttingDown = false;
  const apply = (update: ModelUpdate): void => {
    proxy.swap(compile(update.model, update.generation));
  };
  const loop: ReconcileLoop = new ReconcileLoop({
    sources: opts.sources,
    translateOptions: opts.translateOptions,
    logger: logger.child({ component: 'reconcile' }),
    apply,
    onRebuild: opts.onRebuild === undefined ? undefined : (state) => opts.onRebuild?.(state, loop),
  });
  const admin = new AdminServer({
    ready: () => serving && !shuttingDown,
    metrics: () => buildMetrics(loop.state, proxy.stats()),
    debugConfig: () => ({ ...(buildDebugConfig(loop.state) as object), ...opts.debugExtras?.() }),
  }, logger.child({ component: 'admin' }));

  try {
    const adminAddress = await admin.listen(listen.admin.host, listen.admin.port);
    logger.info('listening', { listener: 'admin', address: adminAddress.address, port: adminAddress.port });
    await loop.start();
    const httpAddress = await proxy.listen(listen.http.host, listen.http.port);
    logger.info('listening', { listener: 'http', address: httpAddress.host, port: httpAddress.port });
    const httpsAddress = await proxy.listenTls(listen.https.host, listen.https.port);
    logger.info('listening', { listener: 'https', address: httpsAddress.host, port: httpsAddress.port, alpn: ['h2', 'http/1.1'] });
    if (opts.translateOptions.defaultCertificate === undefined) {
      logger.info('no --default-ssl-certificate: unmatched TLS names get a self-signed certificate generated at start-up', { subject: 'CN=Martello Default Certificate' });
    }
  } catch (err) {
    // Nothing may keep the process alive after a failed start: close what did start.
    await Promise.allSettled([loop.stop(), proxy.close(), admin.close()]);
    throw err;
  }
  serving = true;
  logger.info('ready', { generation: loop.state.generation });
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
  await opts.onStop?.();
  await loop.stop();
  await proxy.close();
  await admin.close();
  logger.info('stopped');
  return 0;
}
