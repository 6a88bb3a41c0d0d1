// Starts the in-repo test API server and a real KubeClient for it, wired the
// way production wires them: a kubeconfig file loaded by loadConnection.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApiServer, type TestApiServer, type TestApiServerOptions } from '../../../../test/kube-apiserver/index.ts';
import type { KubeClient } from '../api.ts';
import { createKubeClient, type KubeClientOptions } from '../client.ts';
import { loadConnection, type ClusterConnection } from '../kubeconfig.ts';

export interface Harness {
  readonly server: TestApiServer;
  readonly conn: ClusterConnection;
  readonly client: KubeClient;
  readonly dir: string;
  readonly kubeconfigPath: string;
  close(): Promise<void>;
}

export async function startHarness(options: TestApiServerOptions = {}, clientOptions: KubeClientOptions = {}): Promise<Harness> {
  const server = await startTestApiServer(options);
  const dir = await mkdtemp(join(tmpdir(), 'martello-kube-'));
  const kubeconfigPath = join(dir, 'kubeconfig.yaml');
  await writeFile(kubeconfigPath, server.kubeconfig());
  const conn = await loadConnection({ kubeconfigPath });
  const client = createKubeClient(conn, clientOptions);
  return {
    server,
    conn,
    client,
    dir,
    kubeconfigPath,
    close: async () => {
      await client.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Journal entries for collection requests on `path`: lists and watches. */
export function requestsTo(server: TestApiServer, path: string): { lists: TestApiServer['journal']; watches: TestApiServer['journal'] } {
  const on = server.journal.filter((e) => e.method === 'GET' && e.path === path);
  return { lists: on.filter((e) => e.query.watch === undefined), watches: on.filter((e) => e.query.watch !== undefined) };
}
