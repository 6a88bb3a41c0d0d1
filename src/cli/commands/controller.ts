// `martello controller`: Kubernetes mode. Reads the same objects as `serve`,
// from the API server; the leader replica publishes Ingress status and
// Events; every replica serves traffic.

import { hostname } from 'node:os';
import { createKubeClient } from '../../controlplane/kube/client.ts';
import { EventRecorder, RebuildEventTracker } from '../../controlplane/kube/event-recorder.ts';
import { loadConnection, resolveControllerNamespace } from '../../controlplane/kube/kubeconfig.ts';
import { LeaderElector } from '../../controlplane/kube/leader-election.ts';
import { parsePublishService, parseStatusAddresses } from '../../controlplane/kube/publish-address.ts';
import { IngressStatusWriter, statusIngresses } from '../../controlplane/kube/status-writer.ts';
import { KubeSource } from '../../controlplane/sources/kube/kube-source.ts';
import type { ReconcileLoop, ReconcileState } from '../../controlplane/reconcile-loop.ts';
import type { Ingress } from '../../k8s/objects.ts';
import { createLogger } from '../../shared/log.ts';
import { UsageError } from '../listen-address.ts';
import { CLASS_FLAGS, HELP_FLAG, LISTEN_FLAGS, TLS_FLAGS, TLS_HELP, proxyOptionsFrom, listenFlagsFrom, logLevelFrom, parseFlags, translateOptionsFrom , endpointSliceManagersFrom } from '../options.ts';
import { AddressPublisher } from '../../controlplane/kube/address-publisher.ts';
import { runServing } from '../serving.ts';
import { OBSERVABILITY_FLAGS, OBSERVABILITY_HELP, observabilityFrom } from '../observability-flags.ts';
import { LIMIT_FLAGS, LIMIT_HELP, limitsFrom } from '../limit-flags.ts';

export const CONTROLLER_HELP = `Usage: martello controller [options]

Kubernetes mode: watches Ingresses, IngressClasses, Services, EndpointSlices
and TLS Secrets through the API server and routes traffic to Pod endpoints.
Every replica serves traffic; the replica holding the Lease publishes the
load-balancer address into each Ingress's status and reports problems as
Kubernetes Events (kubectl describe ingress).

Options:
  --kubeconfig FILE                kubeconfig to use (default: in-cluster config, else $KUBECONFIG or ~/.kube/config)
  --publish-service NS/NAME        copy this Service's load-balancer address into Ingress status
  --publish-status-address ADDRS   publish these IPs/hostnames (comma-separated) instead
  --watch-namespace NS             watch only these namespaces (repeat or comma-separate; default: all)
  --allow-loopback-endpoints       accept endpoints in loopback/link-local ranges (single-machine tests)
  --endpointslice-managers LIST|any   use only EndpointSlices whose endpointslice.kubernetes.io/managed-by is in
                                   LIST (default: endpointslice-controller.k8s.io,endpointslicemirroring-controller.k8s.io,
                                   so tenants cannot write endpoints by hand; 'any': every slice)
  --election-id NAME               Lease name for leader election (default martello-leader)
  --listen-http ADDR:PORT          plain HTTP listener (default 0.0.0.0:8080)
  --listen-https ADDR:PORT         HTTPS and HTTP/2 listener, certificates by SNI (default 0.0.0.0:8443)
  --listen-admin ADDR:PORT         admin listener (default 127.0.0.1:10254; use 0.0.0.0:10254 in a pod for probes)
  --workers N                      data-plane processes sharing the listeners (default: one per CPU;
                                   1 serves in the main process, without forking)
  --worker-user UID[:GID]          run the data-plane workers as this user (numbers; the primary must be root):
                                   they cannot read the primary's files, e.g. the ServiceAccount token
  --shutdown-grace-period SECONDS  after SIGTERM, keep serving (readyz 503) this long before draining, so that
                                   load balancers stop sending new connections first (default 0)
  --controller-class NAME          IngressClass controller that is ours (default martello.dev/ingress-controller)
  --ingress-class NAME             class name for the legacy annotation (default martello)
  --[no-]watch-ingress-without-class   serve Ingresses without a class (default: no in this mode)
  --allow-cross-namespace-hosts    merge rules for one host from every namespace, as ingress-nginx does (default: a host
                                   belongs to the namespace of its oldest Ingress; docs/kubernetes.md)
${TLS_HELP}${LIMIT_HELP}${OBSERVABILITY_HELP}  --log-level debug|info|warn|error    (default info)

The controller's own namespace (for its Lease) comes from POD_NAMESPACE, else
the in-cluster namespace file, else the kubeconfig context.
`;

const CONTROLLER_FLAGS = {
  kubeconfig: { type: 'string' },
  'publish-service': { type: 'string' },
  'publish-status-address': { type: 'string' },
  'watch-namespace': { type: 'string', multiple: true },
  'allow-loopback-endpoints': { type: 'boolean' },
  'endpointslice-managers': { type: 'string' },
  'election-id': { type: 'string', default: 'martello-leader' },
} as const;

export async function runController(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags(args, { ...CONTROLLER_FLAGS, ...LISTEN_FLAGS, ...TLS_FLAGS, ...LIMIT_FLAGS, ...OBSERVABILITY_FLAGS, ...CLASS_FLAGS, ...HELP_FLAG });
  if (flags.help === true) {
    out.write(CONTROLLER_HELP);
    return 0;
  }
  const listen = listenFlagsFrom(flags);
  if (flags['publish-service'] !== undefined && flags['publish-status-address'] !== undefined) {
    throw new UsageError('--publish-service and --publish-status-address are exclusive: choose one source for the status address');
  }
  checkPublishFlags(flags['publish-service'], flags['publish-status-address']);
  const namespaces = parseNamespaces(flags['watch-namespace']);
  const logLevel = logLevelFrom(flags['log-level']);
  const logger = createLogger(process.stderr, logLevel);
  const connection = await loadConnection({ kubeconfigPath: flags.kubeconfig });
  const ownNamespace = await resolveControllerNamespace(connection);
  const identity = `${process.env['POD_NAME'] ?? hostname()}_${process.pid}`;
  const client = createKubeClient(connection);
  logger.info('connecting to Kubernetes', { server: connection.server, namespace: ownNamespace, watch: namespaces, identity });

  const source = new KubeSource({ client, namespaces, logger: logger.child({ component: 'kubernetes' }) });
  const writer = new IngressStatusWriter({ client, logger: logger.child({ component: 'status' }) });
  const recorder = new EventRecorder({ client, identity, logger: logger.child({ component: 'events' }) });
  let tracker = new RebuildEventTracker();
  let serving: ReconcileLoop | undefined;
  /** Turns the latest rebuild into status writes and (on the leader) events. */
  const publishState = (state: ReconcileState, loop: ReconcileLoop): void => {
    const ingresses = loop.objects().filter((o): o is Ingress => o.kind === 'Ingress');
    writer.reconcile(statusIngresses(ingresses, state.statuses));
    const owned = new Map(state.statuses.map((s) => [s.ingress, s.owned]));
    const infos = ingresses.map((i) => ({
      namespace: i.metadata.namespace, name: i.metadata.name, uid: i.metadata.uid, generation: i.metadata.generation,
      owned: owned.get(`${i.metadata.namespace}/${i.metadata.name}`) === true,
    }));
    const events = tracker.next({ modelGeneration: state.generation, ingresses: infos, diagnostics: state.diagnostics });
    // Only the leader reports, so N replicas do not write N copies of every event.
    if (elector.isLeader) for (const ev of events) recorder.record(ev);
  };
  const publisher = new AddressPublisher({
    client, writer, logger: logger.child({ component: 'publish' }),
    publishService: flags['publish-service'], publishStatusAddress: flags['publish-status-address'],
  });
  const elector = new LeaderElector({
    client, namespace: ownNamespace, name: flags['election-id'] ?? 'martello-leader', identity,
    logger: logger.child({ component: 'leader' }),
    onStartedLeading: () => {
      logger.info('became leader: publishing Ingress status and events');
      writer.setLeader(true);
      // A new leader reports the current state once (Sync events and open problems).
      tracker = new RebuildEventTracker();
      if (serving !== undefined) publishState(serving.state, serving);
    },
    onStoppedLeading: () => {
      logger.info('no longer leader');
      writer.setLeader(false);
    },
  });

  try {
    return await runServing({
      logLevel,
      sources: [source],
      translateOptions: {
        ...translateOptionsFrom(flags, { standalone: false }),
        allowLoopbackEndpoints: flags['allow-loopback-endpoints'] === true,
        endpointSliceManagers: endpointSliceManagersFrom(flags['endpointslice-managers']),
      },
      listen,
      proxyOptions: { ...proxyOptionsFrom(flags), ...limitsFrom(flags), observability: observabilityFrom(flags) },
      logger,
      watchHealth: () => source.health().reflectors,
      debugExtras: () => ({
        kubernetes: source.health(),
        leader: { identity, isLeader: elector.isLeader, holder: elector.holder ?? null },
        statusWriter: writer.stats,
        events: recorder.stats,
      }),
      onRebuild: publishState,
      onReady: (loop) => {
        serving = loop;
        publisher.start();
        elector.start();
      },
      onStop: async () => {
        publisher.stop();
        await elector.release();
        await Promise.allSettled([writer.stop(), recorder.stop()]);
      },
    });
  } finally {
    await client.close();
  }
}

function parseNamespaces(values: string[] | undefined): readonly string[] | 'all' {
  const list = (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  for (const ns of list) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns)) throw new UsageError(`--watch-namespace: "${ns}" is not a valid namespace name`);
  }
  return list.length === 0 ? 'all' : [...new Set(list)];
}

function checkPublishFlags(service: string | undefined, addresses: string | undefined): void {
  if (service !== undefined) {
    const parsed = parsePublishService(service);
    if (typeof parsed === 'string') throw new UsageError(parsed);
  }
  if (addresses !== undefined) {
    const parsed = parseStatusAddresses(addresses);
    if (parsed.problems.length > 0 || parsed.entries.length === 0) {
      throw new UsageError(`--publish-status-address: ${parsed.problems.join('; ') || 'no address given'}`);
    }
  }
}
