import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConnection, resolveControllerNamespace } from './kubeconfig.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'martello-kubeconfig-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function kubeconfig(server: string, user: Record<string, unknown>, extra: { namespace?: string; cluster?: Record<string, unknown> } = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server, ...extra.cluster } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', ...(extra.namespace === undefined ? {} : { namespace: extra.namespace }) } }],
    'current-context': 'ctx',
  });
}

describe('loadConnection', () => {
  it('reads server, token and context namespace from an explicit kubeconfig', async () => {
    const path = join(dir, 'explicit.yaml');
    await writeFile(path, kubeconfig('http://127.0.0.1:6443/', { token: 'abc' }, { namespace: 'team-a', cluster: { 'insecure-skip-tls-verify': true } }));
    const conn = await loadConnection({ kubeconfigPath: path, env: {} });
    assert.equal(conn.server, 'http://127.0.0.1:6443');
    assert.equal(conn.namespace, 'team-a');
    assert.equal(conn.inCluster, false);
    assert.equal(conn.tls.skipTLSVerify, true);
    assert.deepEqual(await conn.authHeaders(), { Authorization: 'Bearer abc' });
  });

  it('refuses plain http without insecure-skip-tls-verify, as client-node does', async () => {
    const path = join(dir, 'http.yaml');
    await writeFile(path, kubeconfig('http://127.0.0.1:6443', { token: 'abc' }));
    await assert.rejects(loadConnection({ kubeconfigPath: path }), /HTTP protocol is not allowed/);
  });

  it('caches auth headers and re-reads a rotated token file on refresh', async () => {
    const tokenFile = join(dir, 'token-rotating');
    await writeFile(tokenFile, 'one\n');
    const path = join(dir, 'tokenfile.yaml');
    await writeFile(path, kubeconfig('https://127.0.0.1:6443', { 'token-file': tokenFile }, { cluster: { 'insecure-skip-tls-verify': true } }));
    const conn = await loadConnection({ kubeconfigPath: path });
    assert.deepEqual(await conn.authHeaders(), { Authorization: 'Bearer one' });
    await writeFile(tokenFile, 'two');
    assert.deepEqual(await conn.authHeaders(), { Authorization: 'Bearer one' }, 'cached');
    assert.deepEqual(await conn.authHeaders({ refresh: true }), { Authorization: 'Bearer two' });
  });

  it('runs exec credential plugins', async () => {
    const path = join(dir, 'exec.yaml');
    const script = `process.stdout.write(JSON.stringify({apiVersion:'client.authentication.k8s.io/v1',kind:'ExecCredential',status:{token:'from-exec'}}))`;
    await writeFile(
      path,
      kubeconfig(
        'https://127.0.0.1:6443',
        { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: ['-e', script], interactiveMode: 'Never' } },
        { cluster: { 'insecure-skip-tls-verify': true } },
      ),
    );
    const conn = await loadConnection({ kubeconfigPath: path });
    assert.deepEqual(await conn.authHeaders(), { Authorization: 'Bearer from-exec' });
  });

  it('uses the in-cluster service account when the pod environment is present', async () => {
    const sa = join(dir, 'sa');
    await import('node:fs/promises').then((fs) => fs.mkdir(sa, { recursive: true }));
    await writeFile(join(sa, 'token'), 'sa-token');
    await writeFile(join(sa, 'namespace'), 'ingress-system\n');
    await writeFile(join(sa, 'ca.crt'), '');
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const conn = await loadConnection({ env, serviceAccountDir: sa });
    assert.equal(conn.inCluster, true);
    assert.equal(conn.server, 'https://10.96.0.1:443');
    assert.equal(conn.namespace, 'ingress-system');
    assert.deepEqual(await conn.authHeaders(), { Authorization: 'Bearer sa-token' });
    // An explicit kubeconfig wins over the pod environment.
    const path = join(dir, 'explicit.yaml');
    const explicit = await loadConnection({ kubeconfigPath: path, env, serviceAccountDir: sa });
    assert.equal(explicit.inCluster, false);
    // Without the environment, in-cluster cannot be forced.
    await assert.rejects(loadConnection({ inCluster: true, env: {}, serviceAccountDir: sa }), /in-cluster configuration requested/);
  });

  it('falls back to $KUBECONFIG', async () => {
    const path = join(dir, 'env.yaml');
    await writeFile(path, kubeconfig('https://127.0.0.1:7443', { token: 't' }, { cluster: { 'insecure-skip-tls-verify': true } }));
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = path;
    try {
      const conn = await loadConnection({ env: { KUBECONFIG: path }, inCluster: false });
      assert.equal(conn.server, 'https://127.0.0.1:7443');
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });
});

describe('resolveControllerNamespace', () => {
  it('prefers POD_NAMESPACE, then the service-account file, then the context, then default', async () => {
    const sa = join(dir, 'sa-ns');
    await import('node:fs/promises').then((fs) => fs.mkdir(sa, { recursive: true }));
    const conn = { namespace: 'from-context' } as Parameters<typeof resolveControllerNamespace>[0];
    const none = join(dir, 'missing');
    assert.equal(await resolveControllerNamespace(conn, { env: { POD_NAMESPACE: 'from-env' }, serviceAccountDir: sa }), 'from-env');
    await writeFile(join(sa, 'namespace'), 'from-file');
    assert.equal(await resolveControllerNamespace(conn, { env: {}, serviceAccountDir: sa }), 'from-file');
    assert.equal(await resolveControllerNamespace(conn, { env: {}, serviceAccountDir: none }), 'from-context');
    assert.equal(await resolveControllerNamespace(undefined, { env: {}, serviceAccountDir: none }), 'default');
  });
});
