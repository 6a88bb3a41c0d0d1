// Runs the test API server by hand, for demos and manual controller runs:
//   node_modules/.bin/node test/kube-apiserver/cli.ts [--port N] [--https] [--token T]
// Prints the URL and the path of a kubeconfig written to a temp directory,
// then serves until Ctrl-C. Test-only: in-memory, no authorization.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startTestApiServer } from './index.ts';

export async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string', default: '0' },
      https: { type: 'boolean', default: false },
      token: { type: 'string' },
      'bookmark-interval-ms': { type: 'string', default: '60000' },
    },
  });
  const server = await startTestApiServer({
    https: values.https,
    bookmarkIntervalMs: Number(values['bookmark-interval-ms']),
    ...(values.token === undefined ? {} : { token: values.token }),
    ...(values.port === '0' ? {} : { port: Number(values.port) }),
  });
  const dir = mkdtempSync(join(tmpdir(), 'martello-test-apiserver-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, server.kubeconfig(), { mode: 0o600 });
  console.log(`test API server listening on ${server.url}`);
  console.log(`kubeconfig: ${kubeconfigPath}`);
  console.log(`try: KUBECONFIG=${kubeconfigPath} kubectl get ingress -A`);
  const stop = (): void => {
    void server.close().finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.main) await main(process.argv.slice(2));
