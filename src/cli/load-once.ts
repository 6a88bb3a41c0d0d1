// Reads a manifests directory once, through the same DirectorySource that
// `serve` watches with, so `check` and `routes` see exactly what `serve` would.

import type { KubeObject } from '../k8s/objects.ts';
import { DirectorySource } from '../controlplane/sources/files/directory-source.ts';
import type { Origin } from '../controlplane/sources/source.ts';
import type { Diagnostic } from '../shared/diagnostic.ts';
import { silentLogger } from '../shared/log.ts';

export interface LoadedDirectory {
  readonly objects: KubeObject[];
  readonly origins: Map<string, Origin>;
  readonly problems: readonly Diagnostic[];
}

export async function loadDirectoryOnce(root: string): Promise<LoadedDirectory> {
  const source = new DirectorySource({ root, logger: silentLogger });
  const objects: KubeObject[] = [];
  const origins = new Map<string, Origin>();
  let problems: readonly Diagnostic[] = [];
  await new Promise<void>((resolve, reject) => {
    source
      .start({
        events: (batch) => {
          for (const e of batch) {
            if (e.type !== 'upsert') continue;
            objects.push(e.object);
            const m = e.object.metadata;
            if (e.origin !== undefined) origins.set(`${e.object.kind} ${m.namespace === '' ? '' : m.namespace + '/'}${m.name}`, e.origin);
          }
        },
        problems: (list) => {
          problems = list;
        },
        synced: resolve,
      })
      .catch(reject);
  });
  await source.stop();
  return { objects, origins, problems };
}
