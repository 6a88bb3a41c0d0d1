// Where the read-only commands (explain, routes, backends) get their
// objects: a manifests directory read once (as `serve` reads it), or one
// list of every kind from a cluster's API server through the same
// KubeSource `controller` watches with (stopped right after its initial
// sync, so the watches it opens are closed at once).

import { createKubeClient } from '../controlplane/kube/client.ts';
import { loadConnection } from '../controlplane/kube/kubeconfig.ts';
import { KubeSource } from '../controlplane/sources/kube/kube-source.ts';
import type { KubeObject } from '../k8s/objects.ts';
import type { Diagnostic } from '../shared/diagnostic.ts';
import { silentLogger } from '../shared/log.ts';
import type { TranslateOptions } from '../translate/options.ts';
import { UsageError } from './listen-address.ts';
import { loadDirectoryOnce } from './load-once.ts';
import { endpointSliceManagersFrom, translateOptionsFrom } from './options.ts';

export const SOURCE_FLAGS = {
  manifests: { type: 'string' },
  kubeconfig: { type: 'string' },
  'watch-namespace': { type: 'string', multiple: true },
  'allow-loopback-endpoints': { type: 'boolean' },
  'endpointslice-managers': { type: 'string' },
  timeout: { type: 'string', default: '30' },
} as const;

export const SOURCE_HELP = `  --manifests DIR                  read a directory of Kubernetes manifests (as 'serve' does)
  --kubeconfig FILE                read the cluster's objects through its API server (as 'controller' does);
                                   an empty FILE (--kubeconfig=) means kubectl's: $KUBECONFIG or ~/.kube/config
  --watch-namespace NS             with --kubeconfig: only these namespaces (repeat or comma-separate)
  --allow-loopback-endpoints       with --kubeconfig: accept loopback/link-local endpoints, as 'controller' does with it
  --endpointslice-managers LIST|any   with --kubeconfig: as 'controller' (default: the cluster's own controllers)
  --timeout SECONDS                with --kubeconfig: give up reading the API server after this long (default 30)
`;

export interface SourceFlagValues {
  manifests?: string;
  kubeconfig?: string;
  'watch-namespace'?: string[];
  'allow-loopback-endpoints'?: boolean;
  'endpointslice-managers'?: string;
  timeout?: string;
}

export interface LoadedObjects {
  readonly objects: KubeObject[];
  /** Problems reading the objects (manifest files that do not parse, objects the API server sent that do not decode). */
  readonly problems: readonly Diagnostic[];
  /** True for a manifests directory (standalone mode's defaults apply). */
  readonly standalone: boolean;
  /** "manifests DIR" or "cluster https://...": for messages. */
  readonly origin: string;
}

/** Which source the flags name; a usage error when none or both. */
export function sourceKind(flags: SourceFlagValues, also: { admin?: string } = {}): 'manifests' | 'kubeconfig' | 'admin' {
  const given: Array<'manifests' | 'kubeconfig' | 'admin'> = [];
  if (flags.manifests !== undefined) given.push('manifests');
  if (flags.kubeconfig !== undefined) given.push('kubeconfig');
  if (also.admin !== undefined) given.push('admin');
  if (given.length === 0) throw new UsageError(`one of --manifests DIR, --kubeconfig FILE${'admin' in also ? ' or --admin URL' : ''} is required`);
  if (given.length > 1) throw new UsageError(`--${given.join(' and --')} are exclusive: choose one source`);
  const kind = given[0]!;
  if (kind !== 'kubeconfig') {
    for (const f of ['watch-namespace', 'allow-loopback-endpoints'] as const) {
      if (flags[f] !== undefined) throw new UsageError(`--${f} only applies with --kubeconfig`);
    }
  }
  return kind;
}

export async function loadObjects(flags: SourceFlagValues): Promise<LoadedObjects> {
  if (flags.manifests !== undefined) {
    if (flags.manifests === '') throw new UsageError('--manifests: expected a directory');
    const loaded = await loadDirectoryOnce(flags.manifests);
    return { objects: loaded.objects, problems: loaded.problems, standalone: true, origin: `manifests ${flags.manifests}` };
  }
  return loadFromCluster(flags);
}

/** Translate options for the loaded source: standalone defaults for manifests, controller defaults for a cluster. */
export function sourceTranslateOptions(flags: SourceFlagValues & Parameters<typeof translateOptionsFrom>[0], loaded: LoadedObjects): TranslateOptions {
  const base = translateOptionsFrom(flags, { standalone: loaded.standalone });
  if (loaded.standalone) return base;
  return { ...base, allowLoopbackEndpoints: flags['allow-loopback-endpoints'] === true, endpointSliceManagers: endpointSliceManagersFrom(flags['endpointslice-managers']) };
}

async function loadFromCluster(flags: SourceFlagValues): Promise<LoadedObjects> {
  const timeoutSeconds = Number(flags.timeout ?? '30');
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new UsageError(`--timeout: expected a number of seconds, got "${flags.timeout}"`);
  const namespaces = parseNamespaces(flags['watch-namespace']);
  const connection = await loadConnection({ kubeconfigPath: flags.kubeconfig === '' ? undefined : flags.kubeconfig });
  const client = createKubeClient(connection);
  const source = new KubeSource({ client, namespaces, logger: silentLogger });
  const objects = new Map<string, KubeObject>();
  let problems: readonly Diagnostic[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    const synced = source.start({
      events: (batch) => {
        for (const e of batch) {
          if (e.type === 'upsert') objects.set(`${e.object.kind}/${e.object.metadata.namespace}/${e.object.metadata.name}`, e.object);
        }
      },
      problems: (list) => {
        problems = list;
      },
      synced: () => {},
    });
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutSeconds * 1000);
    });
    if ((await Promise.race([synced, timedOut])) === 'timeout') {
      const health = source.health();
      throw new Error(`could not read the cluster at ${connection.server} within ${timeoutSeconds} s${health.lastError === undefined ? '' : `: ${health.lastError}`}`);
    }
  } finally {
    clearTimeout(timer);
    await source.stop();
    await client.close();
  }
  return { objects: [...objects.values()], problems, standalone: false, origin: `cluster ${connection.server}` };
}

function parseNamespaces(values: string[] | undefined): readonly string[] | 'all' {
  const list = (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  for (const ns of list) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns)) throw new UsageError(`--watch-namespace: "${ns}" is not a valid namespace name`);
  }
  return list.length === 0 ? 'all' : [...new Set(list)];
}
