// Test harness: the in-repo test API server plus the real client connected
// to it through a kubeconfig file, as the controller would be. Test-only.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApiServer, type TestApiServer, type TestApiServerOptions } from '../../../../test/kube-apiserver/index.ts';
import type { KubeClient } from '../api.ts';
import { createKubeClient } from '../client.ts';
import { loadConnection } from '../kubeconfig.ts';

export interface LiveApi {
  readonly server: TestApiServer;
  /** A new client (its own connection pool), closed by close(). */
  client(): Promise<KubeClient>;
  close(): Promise<void>;
}

export async function startLiveApi(options?: TestApiServerOptions): Promise<LiveApi> {
  const server = await startTestApiServer(options);
  const dir = await mkdtemp(join(tmpdir(), 'martello-kube-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(kubeconfigPath, server.kubeconfig());
  const clients: KubeClient[] = [];
  return {
    server,
    client: async () => {
      const c = createKubeClient(await loadConnection({ kubeconfigPath }));
      clients.push(c);
      return c;
    },
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns true; fails after `timeoutMs` (a deadline, not an expected duration). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
