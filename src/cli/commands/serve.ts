// `martello serve --manifests DIR`: standalone mode. The manifests
// directory is the only source; cli/serving.ts wires the planes together.

import { DirectorySource } from '../../controlplane/sources/files/directory-source.ts';
import { createLogger } from '../../shared/log.ts';
import { runServing } from '../serving.ts';
import { HELP_FLAG, LISTEN_FLAGS, TLS_FLAGS, TLS_HELP, proxyOptionsFrom, CLASS_FLAGS, listenFlagsFrom, logLevelFrom, parseFlags, requireManifests, translateOptionsFrom } from '../options.ts';
import { OBSERVABILITY_FLAGS, OBSERVABILITY_HELP, observabilityFrom } from '../observability-flags.ts';
import { LIMIT_FLAGS, LIMIT_HELP, limitsFrom } from '../limit-flags.ts';

export const SERVE_HELP = `Usage: martello serve --manifests DIR [options]

Standalone mode: routes HTTP traffic according to the Kubernetes manifests
(Ingress, IngressClass, Service, EndpointSlice, Secret; YAML or JSON) under DIR.
The directory is watched: additions, edits and deletions apply without a
restart; a file that breaks keeps its last good version. Loopback endpoint
addresses are allowed in this mode.

Options:
  --manifests DIR                  directory of manifests (required)
  --listen-http ADDR:PORT          plain HTTP listener (default 0.0.0.0:8080)
  --listen-https ADDR:PORT         HTTPS and HTTP/2 listener, certificates by SNI (default 0.0.0.0:8443)
  --listen-admin ADDR:PORT         admin listener: /healthz /readyz /metrics /debug/config (default 127.0.0.1:10254)
  --workers N                      data-plane processes sharing the listeners (default: one per CPU;
                                   1 serves in the main process, without forking)
  --worker-user UID[:GID]          run the data-plane workers as this user (numbers; the primary must be root):
                                   they cannot read the primary's files, e.g. the ServiceAccount token
  --shutdown-grace-period SECONDS  after SIGTERM, keep serving (readyz 503) this long before draining, so that
                                   load balancers stop sending new connections first (default 0)
  --controller-class NAME          IngressClass controller that is ours (default martello.dev/ingress-controller)
  --ingress-class NAME             class name for the legacy annotation (default martello)
  --[no-]watch-ingress-without-class   serve Ingresses without a class (default: yes in this mode)
  --allow-cross-namespace-hosts    merge rules for one host from every namespace, as ingress-nginx does (default: a host
                                   belongs to the namespace of its oldest Ingress; docs/kubernetes.md)
${TLS_HELP}${LIMIT_HELP}${OBSERVABILITY_HELP}  --log-level debug|info|warn|error    (default info)
  -h, --help
`;

export async function runServe(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags(args, { manifests: { type: 'string' }, ...LISTEN_FLAGS, ...TLS_FLAGS, ...LIMIT_FLAGS, ...OBSERVABILITY_FLAGS, ...CLASS_FLAGS, ...HELP_FLAG });
  if (flags.help === true) {
    out.write(SERVE_HELP);
    return 0;
  }
  const root = requireManifests(flags);
  const listen = listenFlagsFrom(flags);
  const logLevel = logLevelFrom(flags['log-level']);
  const logger = createLogger(process.stderr, logLevel);
  return runServing({
    logLevel,
    sources: [new DirectorySource({ root, logger: logger.child({ component: 'manifests' }) })],
    translateOptions: translateOptionsFrom(flags, { standalone: true }),
    listen,
    proxyOptions: { ...proxyOptionsFrom(flags), ...limitsFrom(flags), observability: observabilityFrom(flags) },
    logger,
  });
}
