// Privilege split (docs/security.md): the real `martello controller
// --workers 2`, started with a kubeconfig path on its command line and
// Kubernetes, cloud and other credentials in its environment. The worker
// processes, which parse internet traffic, must carry none of it: their
// /proc/<pid>/environ and /proc/<pid>/cmdline are read and checked, while
// plain and TLS traffic still routes through them. With --worker-user (root
// only), the workers run as another user that cannot read the primary's
// root-only files (the ServiceAccount token in a pod) or its environment.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startTestApiServer, type TestApiServer } from '../kube-apiserver/index.ts';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../support/echo-backend.ts';
import { startController, startMartello, type MartelloProcess, type WorkerInfo } from '../support/martello-process.ts';
import { ingressYaml, serviceYaml } from '../support/manifests.ts';
import { createTestCa, tlsSecretObject, type TestCa } from '../support/pki.ts';

/** Credentials a pod typically has in its environment (values are unique markers to search for). */
const SECRET_ENV: Record<string, string> = {
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
  KUBERNETES_SERVICE_PORT: '443',
  KUBERNETES_PORT_443_TCP: 'tcp://10.96.0.1:443',
  KUBECONFIG: '/etc/martello-test/kubeconfig-from-env',
  AWS_ACCESS_KEY_ID: 'AKIAMARTELLOTEST',
  AWS_SECRET_ACCESS_KEY: 'aws-secret-marker-7f3a',
  AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
  GOOGLE_APPLICATION_CREDENTIALS: '/var/secrets/google/key.json',
  AZURE_CLIENT_SECRET: 'azure-secret-marker-91c2',
  GITHUB_TOKEN: 'ghp_tokenmarker5d1e',
  MARTELLO_DB_PASSWORD: 'password-marker-c0de',
};

/** What a worker may have in its environment (worker-env.ts). */
const ALLOWED = /^(PATH|TMPDIR|TZ|LANG|LANGUAGE|LC_[A-Z_]+|NODE_[A-Z0-9_]+|UV_[A-Z_]+|SSL_CERT_FILE|SSL_CERT_DIR|OPENSSL_CONF|MALLOC_ARENA_MAX|GLIBC_TUNABLES|MARTELLO_WORKER_SLOT)$/;

async function procEnviron(pid: number): Promise<Map<string, string>> {
  const raw = await readFile(`/proc/${pid}/environ`, 'utf8');
  const out = new Map<string, string>();
  for (const entry of raw.split('\0')) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    out.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return out;
}

async function procCmdline(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((a) => a !== '');
}

async function procStatus(pid: number): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of (await readFile(`/proc/${pid}/status`, 'utf8')).split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) out[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return out;
}

async function parentOf(pid: number): Promise<number> {
  return Number((await procStatus(pid))['PPid']);
}

/** Both workers listening and on the current generation; their pids. */
async function readyWorkers(m: MartelloProcess, count: number): Promise<number[]> {
  const config = await m.waitFor((c) => c.generation >= 1 && c.workers.length === count && c.workers.every((w: WorkerInfo) => w.ready && w.pid !== null), 30_000);
  return config.workers.map((w) => w.pid!);
}

async function plainGet(port: number, host: string): Promise<{ status: number; body: string }> {
  const res = await request(`http://127.0.0.1:${port}/hello`, { headers: { host } });
  return { status: res.statusCode, body: await res.body.text() };
}

function tlsGet(port: number, host: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/hello', servername: host, headers: { host }, ca, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('worker processes hold no Kubernetes credentials', () => {
  let api: TestApiServer;
  let dir: string;
  let kubeconfig: string;
  let web: EchoBackend;
  let ca: TestCa;
  let martello: MartelloProcess;

  before(async () => {
    api = await startTestApiServer();
    dir = await mkdtemp(join(tmpdir(), 'martello-privsplit-'));
    kubeconfig = join(dir, 'kubeconfig-on-argv');
    await writeFile(kubeconfig, api.kubeconfig());
    web = await startEchoBackend('web');
    ca = createTestCa();
    const leaf = ca.issue(['secure.test']);
    api.create({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'martello' }, spec: { controller: 'martello.dev/ingress-controller' } });
    api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { ports: [{ port: 80, targetPort: 8080 }] } });
    api.create({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'web-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
      addressType: 'IPv4', endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }], ports: [{ name: '', port: web.port, protocol: 'TCP' }],
    });
    api.create(tlsSecretObject({ namespace: 'default', name: 'secure-cert', certPem: leaf.chainPem, keyPem: leaf.keyPem }) as unknown as Record<string, unknown>);
    api.create({
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: 'default' },
      spec: {
        ingressClassName: 'martello',
        tls: [{ hosts: ['secure.test'], secretName: 'secure-cert' }],
        rules: ['web.test', 'secure.test'].map((host) => ({ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } })),
      },
    });
    martello = await startController(kubeconfig, ['--workers', '2', '--no-ssl-redirect'], SECRET_ENV);
  });

  after(async () => {
    await martello?.stop();
    await web?.close();
    await api?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the primary has the credentials (the test really set them)', async () => {
    const env = await procEnviron(martello.child.pid!);
    for (const [name, value] of Object.entries(SECRET_ENV)) assert.equal(env.get(name), value, name);
    assert.ok((await procCmdline(martello.child.pid!)).includes(kubeconfig), 'the kubeconfig path is on the primary\'s command line');
  });

  test('each worker\'s environment is the allow-list: no credential names or values', async () => {
    const pids = await readyWorkers(martello, 2);
    for (const pid of pids) {
      assert.equal(await parentOf(pid), martello.child.pid, `worker ${pid} is a child of the primary`);
      const env = await procEnviron(pid);
      const raw = [...env].map(([k, v]) => `${k}=${v}`).join('\n');
      for (const [name, value] of Object.entries(SECRET_ENV)) {
        assert.ok(!env.has(name), `worker ${pid} has no ${name}`);
        assert.ok(!raw.includes(value), `worker ${pid}: no variable carries the value of ${name}`);
      }
      for (const name of env.keys()) assert.match(name, ALLOWED, `worker ${pid}: ${name} is not on the allow-list`);
      assert.ok(env.has('MARTELLO_WORKER_SLOT'), 'the worker\'s own variable is there');
      assert.ok(env.has('PATH'), 'PATH is passed');
    }
  });

  test('each worker\'s command line has none of the primary\'s arguments', async () => {
    const pids = await readyWorkers(martello, 2);
    const cmdlines = await Promise.all(pids.map(procCmdline));
    for (const [i, argv] of cmdlines.entries()) {
      const joined = argv.join(' ');
      assert.ok(!joined.includes(kubeconfig) && !joined.includes(dir), `worker ${pids[i]}: no kubeconfig path in ${joined}`);
      for (const flag of ['--kubeconfig', 'controller', '--env-file', '--inspect']) assert.ok(!argv.some((a) => a.startsWith(flag)), `worker ${pids[i]}: no ${flag} in ${joined}`);
      assert.ok(argv.at(-1)!.endsWith('worker-main.ts'), `worker ${pids[i]} runs the worker entry: ${joined}`);
    }
    assert.deepEqual(cmdlines[0], cmdlines[1], 'identical command lines (shared TLS session-id context)');
  });

  test('traffic still routes through the workers, plain and TLS', async () => {
    await readyWorkers(martello, 2);
    for (let i = 0; i < 6; i++) {
      const plain = await plainGet(martello.httpPort, 'web.test');
      assert.equal(plain.status, 200);
      assert.equal((JSON.parse(plain.body) as EchoReply).backend, 'web');
      const secure = await tlsGet(martello.httpsPort, 'secure.test', ca.certPem);
      assert.equal(secure.status, 200);
      assert.equal((JSON.parse(secure.body) as EchoReply).url, '/hello');
    }
  });
});

/** Forking as 65534 works here: root, and the user exists in this user namespace. */
const CAN_SWITCH_USER = process.getuid?.() === 0 && spawnSync(process.execPath, ['-e', ''], { uid: 65534, gid: 65534, cwd: '/' }).status === 0;

describe('--worker-user: workers run as another user', { skip: CAN_SWITCH_USER ? false : 'needs root (fork with uid/gid)' }, () => {
  const NOBODY = 65534;
  let dir: string;
  let token: string;
  let web: EchoBackend;
  let martello: MartelloProcess;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'martello-worker-user-'));
    // Stands in for /var/run/secrets/kubernetes.io/serviceaccount/token: owned by the primary's user, 0600.
    token = join(dir, 'token');
    await writeFile(token, 'service-account-token-marker');
    await chmod(token, 0o600);
    await chmod(dir, 0o755);
    web = await startEchoBackend('web');
    const manifests = join(dir, 'manifests');
    await mkdir(manifests);
    await writeFile(join(manifests, 'web.yaml'), `${serviceYaml({ name: 'web', endpointPorts: [web.port] })}---\n${ingressYaml('web', [{ host: 'web.test', paths: [{ path: '/', service: 'web' }] }])}`);
    // --workers 1 still forks: a separate user needs a separate process.
    martello = await startMartello(manifests, ['--workers', '1', '--worker-user', `${NOBODY}:${NOBODY}`]);
  });

  after(async () => {
    await martello?.stop();
    await web?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the worker runs as the given uid and gid, without supplementary groups, and serves', async () => {
    const [pid] = await readyWorkers(martello, 1);
    assert.notEqual(pid, martello.child.pid, 'the data plane is a separate process');
    const status = await procStatus(pid!);
    assert.deepEqual(status['Uid']!.split(/\s+/).map(Number), [NOBODY, NOBODY, NOBODY, NOBODY]);
    assert.deepEqual(status['Gid']!.split(/\s+/).map(Number), [NOBODY, NOBODY, NOBODY, NOBODY]);
    assert.equal(status['Groups'], '', 'no supplementary groups (an fsGroup would be one)');
    const res = await plainGet(martello.httpPort, 'web.test');
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body) as EchoReply).backend, 'web');
  });

  test('with the worker\'s credentials, the token file and the primary\'s environment are unreadable', async () => {
    const [pid] = await readyWorkers(martello, 1);
    const status = await procStatus(pid!);
    const uid = Number(status['Uid']!.split(/\s+/)[0]);
    const gid = Number(status['Gid']!.split(/\s+/)[0]);
    // A process with exactly the worker's credentials tries what code running in the worker would.
    const probe = (file: string): string => {
      const r = spawnSync(process.execPath, ['-e', `try { require('fs').readFileSync(${JSON.stringify(file)}); console.log('read') } catch (e) { console.log(e.code) }`],
        { uid, gid, encoding: 'utf8', env: {}, cwd: '/' });
      return r.stdout.trim();
    };
    assert.equal(probe(token), 'EACCES', 'the root-only token file');
    assert.equal(probe(`/proc/${martello.child.pid}/environ`), 'EACCES', 'the primary\'s environment');
    assert.equal(probe(join(dir, 'manifests', 'web.yaml')), 'read', 'sanity: the probe can read what is world-readable');
  });
});
