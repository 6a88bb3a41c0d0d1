// Proof that the test API server speaks the real protocol: the real kubectl
// (apply, get, get -w, describe, delete) against it. Skipped when kubectl is
// not on PATH (CI installs Debian's kubernetes-client when it can).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startTestApiServer, type TestApiServer } from './index.ts';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const skip = hasKubectl ? false : 'kubectl is not on PATH: install kubectl (Debian: kubernetes-client) to run the kubectl proof';
/** `patch --subresource` arrived in kubectl 1.24; Debian 12's kubernetes-client is 1.20. */
const clientMinor = (() => {
  const out = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  const minor = /"minor":\s*"(\d+)/.exec(out.stdout ?? '')?.[1];
  return minor === undefined ? 0 : Number(minor);
})();
const skipSubresource = clientMinor >= 24 ? false : `kubectl 1.${clientMinor} has no patch --subresource (needs 1.24+)`;

const MANIFEST = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  labels:
    app: web
spec:
  rules:
  - host: web.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              name: http
`;

describe('kubectl against the test API server', { skip }, () => {
  let server: TestApiServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  const kubectl = (args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile('kubectl', [...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
      });
    });

  before(async () => {
    server = await startTestApiServer();
    dir = mkdtempSync(join(tmpdir(), 'martello-kubectl-'));
    writeFileSync(join(dir, 'kubeconfig'), server.kubeconfig());
    writeFileSync(join(dir, 'manifest.yaml'), MANIFEST);
    // A temp HOME keeps kubectl's discovery cache out of the user's ~/.kube.
    env = { PATH: process.env['PATH'], HOME: dir, KUBECONFIG: join(dir, 'kubeconfig') };
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('apply -f creates a Service and an Ingress (client-side apply)', async () => {
    const res = await kubectl(['apply', '--validate=false', '-f', join(dir, 'manifest.yaml')]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /service\/web created/);
    assert.match(res.stdout, /ingress.networking.k8s.io\/web created/);
    const stored = server.get('networking.k8s.io/v1', 'Ingress', 'default', 'web')!;
    const annotations = (stored['metadata'] as { annotations: Record<string, string> }).annotations;
    assert.ok(annotations['kubectl.kubernetes.io/last-applied-configuration']);
    const again = await kubectl(['apply', '--validate=false', '-f', join(dir, 'manifest.yaml')]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /ingress.networking.k8s.io\/web unchanged/);
  });

  it('get ingress -A lists it', async () => {
    const res = await kubectl(['get', 'ingress', '-A']);
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trim().split('\n');
    assert.match(lines[0]!, /^NAMESPACE\s+NAME/);
    assert.match(lines[1]!, /^default\s+web\s/);
  });

  it('get ingress NAME -o json equals what the server stores', async () => {
    const res = await kubectl(['get', 'ingress', 'web', '-o', 'json']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout), server.get('networking.k8s.io/v1', 'Ingress', 'default', 'web'));
  });

  it('get ingress -w sees a later change', async () => {
    const child = spawn('kubectl', ['get', 'ingress', '-w'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const nextLine = async (): Promise<string> => String((await lines.next()).value);
      assert.match(await nextLine(), /^NAME\s+CLASS\s+HOSTS|^NAME\s+AGE/);
      assert.match(await nextLine(), /^web\s/);
      server.create({
        apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'late', namespace: 'default' },
        spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
      });
      assert.match(await nextLine(), /^late\s/);
      server.patchStatus('networking.k8s.io/v1', 'Ingress', 'default', 'web', { status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } });
      assert.match(await nextLine(), /^web\s/);
    } finally {
      child.kill();
    }
  });

  it('describe ingress shows rules, the address and events written through events.k8s.io/v1', async () => {
    const uid = (server.get('networking.k8s.io/v1', 'Ingress', 'default', 'web')!['metadata'] as { uid: string }).uid;
    server.create({
      apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'web.1', namespace: 'default' },
      eventTime: '2026-01-02T03:04:05.123456Z', reportingController: 'martello.dev/ingress-controller', reportingInstance: 'm-0',
      action: 'Sync', reason: 'Sync', type: 'Normal', note: 'Scheduled for sync',
      regarding: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'default', name: 'web', uid },
    });
    const res = await kubectl(['describe', 'ingress', 'web']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Name:\s+web/);
    assert.match(res.stdout, /Address:\s+192\.0\.2\.10/);
    assert.match(res.stdout, /web\.example\.com/);
    assert.match(res.stdout, /Scheduled for sync/);
  });

  it('patch --subresource=status and a stale replace behave as on a real cluster', { skip: skipSubresource }, async () => {
    const patched = await kubectl(['patch', 'ingress', 'web', '--subresource=status', '--type=merge', '-p', '{"status":{"loadBalancer":{"ingress":[{"hostname":"lb.example.com"}]}}}']);
    assert.equal(patched.code, 0, patched.stderr);
    const ing = server.get('networking.k8s.io/v1', 'Ingress', 'default', 'web') as { status: unknown; metadata: Record<string, unknown> };
    assert.deepEqual(ing.status, { loadBalancer: { ingress: [{ hostname: 'lb.example.com' }] } });
    const stale = structuredClone(ing);
    stale.metadata['resourceVersion'] = '1';
    writeFileSync(join(dir, 'stale.json'), JSON.stringify(stale));
    const replaced = await kubectl(['replace', '--validate=false', '-f', join(dir, 'stale.json')]);
    assert.notEqual(replaced.code, 0);
    assert.match(replaced.stderr, /the object has been modified; please apply your changes to the latest version and try again/);
  });

  it('delete removes it', async () => {
    const res = await kubectl(['delete', 'ingress', 'web', 'late']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /ingress.networking.k8s.io "web" deleted/);
    assert.equal(server.get('networking.k8s.io/v1', 'Ingress', 'default', 'web'), undefined);
    const list = await kubectl(['get', 'ingress']);
    assert.match(list.stderr + list.stdout, /No resources found/);
  });
});
