// `martello serve --manifests DIR`: standalone mode, and the composition
// root that wires the planes together: manifests source → reconcile loop →
// compile → proxy swap, plus the admin listener. Only this file knows both
// the control plane and the data plane.

import { ReconcileLoop, type ModelUpdate } from '../../controlplane/reconcile-loop.ts';
import { DirectorySource } from '../../controlplane/sources/files/directory-source.ts';
import { compile } from '../../dataplane/compile/route-table.ts';
import { ProxyServer } from '../../dataplane/proxy/proxy-server.ts';
import { AdminServer } from '../../admin/admin-server.ts';
import { buildDebugConfig, buildMetrics } from '../../admin/views.ts';
import { createLogger } from '../../shared/log.ts';
import { HELP_FLAG, LISTEN_FLAGS, CLASS_FLAGS, listenFlagsFrom, logLevelFrom, parseFlags, requireManifests, translateOptionsFrom } from '../options.ts';

export const SERVE_HELP = `Usage: martello serve --manifests DIR [options]

Standalone mode: routes HTTP traffic according to the Kubernetes manifests
(Ingress, IngressClass, Service, EndpointSlice, Secret; YAML or JSON) under DIR.
The directory is watched: additions, edits and deletions apply without a
restart; a file that breaks keeps its last good version. Loopback endpoint
addresses are allowed in this mode.

Options:
  --manifests DIR                  directory of manifests (required)
  --listen-http ADDR:PORT          plain HTTP listener (default 0.0.0.0:8080)
  --listen-https ADDR:PORT         HTTPS listener (default 0.0.0.0:8443; TLS termination is not in this version yet)
  --listen-admin ADDR:PORT         admin listener: /healthz /readyz /metrics /debug/config (default 127.0.0.1:10254)
  --workers N                      worker processes (only 1 in this version)
  --controller-class NAME          IngressClass controller that is ours (default martello.dev/ingress-controller)
  --ingress-class NAME             class name for the legacy annotation (default martello)
  --[no-]watch-ingress-without-class   serve Ingresses without a class (default: yes in this mode)
  --default-ssl-certificate NS/NAME    default certificate (used once TLS termination lands)
  --log-level debug|info|warn|error    (default info)
  -h, --help
`;

export async function runServe(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags(args, { manifests: { type: 'string' }, ...LISTEN_FLAGS, ...CLASS_FLAGS, ...HELP_FLAG });
  if (flags.help === true) {
    out.write(SERVE_HELP);
    return 0;
  }
  const root = requireManifests(flags);
  const listen = listenFlagsFrom(flags);
  const logger = createLogger(process.stderr, logLevelFrom(flags['log-level']));
  const translateOptions = translateOptionsFrom(flags, { standalone: true });

  const proxy = new ProxyServer({ logger: logger.child({ component: 'proxy' }) });
  let serving = false;
  let shuttingDown = false;
  const apply = (update: ModelUpdate): void => {
    proxy.swap(compile(update.model, update.generation));
  };
  const loop = new ReconcileLoop({
    sources: [new DirectorySource({ root, logger: logger.child({ component: 'manifests' }) })],
    translateOptions,
    logger: logger.child({ component: 'reconcile' }),
    apply,
  });
  const admin = new AdminServer({
    ready: () => serving && !shuttingDown,
    metrics: () => buildMetrics(loop.state, proxy.stats()),
    debugConfig: () => buildDebugConfig(loop.state),
  }, logger.child({ component: 'admin' }));

  try {
    const adminAddress = await admin.listen(listen.admin.host, listen.admin.port);
    logger.info('listening', { listener: 'admin', address: adminAddress.address, port: adminAddress.port });
    await loop.start();
    const httpAddress = await proxy.listen(listen.http.host, listen.http.port);
    logger.info('listening', { listener: 'http', address: httpAddress.host, port: httpAddress.port });
  } catch (err) {
    // Nothing may keep the process alive after a failed start: close what did start.
    await Promise.allSettled([loop.stop(), proxy.close(), admin.close()]);
    throw err;
  }
  logger.info('https listener not started: TLS termination is not part of this version', { requested: `${listen.https.host}:${listen.https.port}` });
  serving = true;
  logger.info('ready', { generation: loop.state.generation, manifests: root });

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
  await loop.stop();
  await proxy.close();
  await admin.close();
  logger.info('stopped');
  return 0;
}
