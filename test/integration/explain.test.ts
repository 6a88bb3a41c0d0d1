// The real `bin/martello explain`, `routes` and `backends` processes against
// a manifests directory, against the in-repo Kubernetes API server
// (--kubeconfig), against an admin listener (--admin, a stand-in that
// answers with the same explain function a running instance wires), and as
// the `kubectl martello` plugin through the real kubectl.

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { answerExplainQuery, EXPLAIN_PATH } from '../../src/explain/http-query.ts';
import type { ExplainResult } from '../../src/explain/result.ts';
import { EMPTY_MODEL } from '../../src/model/model.ts';
import { startTestApiServer, type TestApiServer } from '../kube-apiserver/index.ts';
import { ingressYaml } from '../support/manifests.ts';
import { MARTELLO_BIN, type MartelloProcess, REPO_ROOT, startMartello } from '../support/martello-process.ts';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000, env }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const martello = (...args: string[]): Promise<Run> => run(MARTELLO_BIN, args);

const SERVICE = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec: { ports: [{ port: 80, targetPort: 8080 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: default, labels: { kubernetes.io/service-name: web, endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io } }
addressType: IPv4
endpoints:
  - { addresses: ["127.0.0.1"], conditions: { ready: true } }
  - { addresses: ["127.0.0.2"], conditions: { ready: false } }
ports: [{ name: "", port: 9000, protocol: TCP }]
`;

describe('martello explain, routes and backends on a manifests directory', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'martello-explain-'));
    await writeFile(join(dir, 'web.yaml'), `${ingressYaml('web', [{ host: 'web.example.com', paths: [{ path: '/api', service: 'web' }] }])}---\n${SERVICE}`);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a forwarded request exits 0 and names the route, the backend and its endpoints', async () => {
    const r = await martello('explain', 'http://web.example.com/api/users', '--manifests', dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^=> forwarded to default\/web:80 over http1/m);
    assert.match(r.stdout, /^Route: prefix \/api from Ingress default\/web spec\.rules\[0\]\.http\.paths\[0\] \(Prefix \/api\)$/m);
    assert.match(r.stdout, /endpoints \(1, round-robin\): 127\.0\.0\.1:9000/);
  });

  test('a request Martello answers itself exits 1; --json gives the admin view', async () => {
    const r = await martello('explain', 'http://web.example.com/other', '--manifests', dir, '--json');
    assert.equal(r.code, 1, r.stderr);
    const result = JSON.parse(r.stdout) as ExplainResult;
    assert.equal(result.decision.status, 404);
    assert.equal(result.routes[0]?.verdict, 'no-match');
    assert.match(result.routes[0]?.reason ?? '', /does not start with \/api/);
  });

  test('usage mistakes exit 2', async () => {
    for (const args of [
      ['explain', '--manifests', dir],
      ['explain', 'http://x/', 'http://y/', '--manifests', dir],
      ['explain', 'http://x/'],
      ['explain', 'http://x/', '--manifests', dir, '--kubeconfig', '/nonexistent'],
      ['explain', 'http://x/', '--manifests', dir, '--sni', 'y'],
      ['explain', 'http://x/', '--manifests', dir, '-H', 'nocolon'],
      ['backends', '--manifests', dir, '--watch-namespace', 'x'],
    ]) {
      const r = await martello(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /Run 'martello (explain|backends) --help'/);
    }
  });

  test('backends lists the cluster with its endpoint conditions and the routes that use it', async () => {
    const r = await martello('backends', '--manifests', dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^CLUSTER\s+PROTOCOL\s+BALANCING\s+ENDPOINTS\s+READY\/TERM\/NOT\s+USED BY$/m);
    assert.match(r.stdout, /^default\/web:80\s+http1\s+round-robin\s+127\.0\.0\.1:9000\s+1\/0\/1\s+web\.example\.com prefix \/api$/m);
    const json = JSON.parse((await martello('backends', '--manifests', dir, '--output', 'json')).stdout) as Array<{ slices: unknown }>;
    assert.deepEqual(json[0]?.slices, { ready: 1, terminating: 0, notReady: 1 });
  });

  test('every command has help and is listed', async () => {
    const top = await martello('--help');
    for (const cmd of ['explain', 'backends', 'routes']) {
      assert.match(top.stdout, new RegExp(`^  ${cmd}\\b`, 'm'));
      const sub = await martello(cmd, '--help');
      assert.equal(sub.code, 0);
      assert.match(sub.stdout, new RegExp(`^Usage: martello ${cmd}`));
    }
  });
});

describe('against the test API server (--kubeconfig)', () => {
  let api: TestApiServer;
  let dir: string;
  let kubeconfig: string;
  before(async () => {
    api = await startTestApiServer();
    dir = await mkdtemp(join(tmpdir(), 'martello-explain-kube-'));
    kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, api.kubeconfig());
    api.create({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'martello' }, spec: { controller: 'martello.dev/ingress-controller' } });
    api.create({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } });
    api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { ports: [{ port: 80, targetPort: 8080 }] } });
    api.create({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
      addressType: 'IPv4', endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }], ports: [{ name: '', port: 9000, protocol: 'TCP' }],
    });
    for (const [name, cls, host] of [['web', 'martello', 'web.test'], ['theirs', 'nginx', 'theirs.test']] as const) {
      api.create({
        apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: 'default' },
        spec: { ingressClassName: cls, rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
      });
    }
  });
  after(async () => {
    await api?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('explain lists the cluster once and answers from it', async () => {
    const r = await martello('explain', 'http://web.test/x', '--kubeconfig', kubeconfig, '--allow-loopback-endpoints');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^=> forwarded to default\/web:80 over http1 \(its only endpoint\)$/m);
    const lists = api.journal.filter((e) => e.method === 'GET' && e.query['watch'] === undefined);
    assert.ok(lists.some((e) => e.path.endsWith('/ingresses')), 'Ingresses listed through the API');
  });

  test('an Ingress of another class is named as such', async () => {
    const r = await martello('explain', 'http://theirs.test/', '--kubeconfig', kubeconfig, '--allow-loopback-endpoints');
    assert.equal(r.code, 1);
    assert.match(r.stdout, /Ingress default\/theirs .*: not served by this controller: IngressClass "nginx" belongs to controller "k8s.io\/ingress-nginx" \[not-ours\]/);
  });

  test('loopback endpoints are refused as the controller refuses them, unless allowed', async () => {
    const r = await martello('explain', 'http://web.test/x', '--kubeconfig', kubeconfig);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^=> 503 Service Unavailable/m);
  });

  test('routes and backends read the cluster too', async () => {
    const routes = await martello('routes', '--kubeconfig', kubeconfig, '--allow-loopback-endpoints');
    assert.equal(routes.code, 0, routes.stderr);
    assert.match(routes.stdout, /^web\.test\s+prefix \/\s+default\/web\s+default\/web:80\s+127\.0\.0\.1:9000$/m);
    const backends = await martello('backends', '--kubeconfig', kubeconfig, '--allow-loopback-endpoints');
    assert.match(backends.stdout, /^default\/web:80\s+http1\s+round-robin\s+127\.0\.0\.1:9000\s+1\/0\/0\s+web\.test prefix \/$/m);
  });

  test('an unreachable API server is an error after --timeout, not a hang', async () => {
    const bad = join(dir, 'unreachable');
    await writeFile(bad, api.kubeconfig().replace(/server: \S+/, 'server: http://127.0.0.1:9'));
    const r = await martello('routes', '--kubeconfig', bad, '--timeout', '1');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /could not read the cluster at http:\/\/127\.0\.0\.1:9 within 1 s/);
  });

  const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
  test('kubectl martello: the plugin found on PATH reads kubectl\'s configuration', {
    skip: hasKubectl ? false : 'kubectl is not on PATH: install kubectl (Debian: kubernetes-client) to run the plugin test',
  }, async () => {
    const env = { ...process.env, PATH: `${join(REPO_ROOT, 'bin')}:${process.env['PATH'] ?? ''}`, KUBECONFIG: kubeconfig };
    const list = await run('kubectl', ['plugin', 'list'], env);
    assert.match(list.stdout, /kubectl-martello/, list.stdout + list.stderr);
    const r = await run('kubectl', ['martello', 'explain', 'http://web.test/x', '--allow-loopback-endpoints'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^=> forwarded to default\/web:80/m);
    const backends = await run('kubectl', ['martello', 'backends', '--allow-loopback-endpoints'], env);
    assert.match(backends.stdout, /^default\/web:80\s+http1/m, backends.stderr);
  });
});

describe('explain --admin against an admin listener', () => {
  let server: Server;
  let url: string;
  const seen: string[] = [];
  before(async () => {
    // Stands in for a running instance: the admin wiring is one call to answerExplainQuery with its state.
    server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://admin');
      seen.push(u.search);
      if (u.pathname !== EXPLAIN_PATH) {
        res.writeHead(404).end('not found\n');
        return;
      }
      const answer = answerExplainQuery(u.searchParams, { model: EMPTY_MODEL, generation: 3 });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('sends the request as query parameters and prints the answer', async () => {
    const r = await martello('explain', 'https://a.example.com/x?y=1', '--admin', url, '-H', 'Host: b.example.com', '--sni', 'c.example.com', '-X', 'POST');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^configuration generation 3$/m);
    assert.match(r.stdout, /^=> 404 Not Found/m);
    const q = new URLSearchParams(seen.at(-1));
    assert.deepEqual([q.get('url'), q.getAll('header'), q.get('sni'), q.get('method')], ['https://a.example.com/x?y=1', ['Host: b.example.com'], 'c.example.com', 'POST']);
  });

  test('an admin listener without the endpoint is a clear error', async () => {
    const r = await martello('explain', 'http://a/', '--admin', `${url}/elsewhere/`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has no \/debug\/explain/);
  });
});

describe('explain --admin against a running martello serve', () => {
  let dir: string;
  let running: MartelloProcess;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'martello-explain-admin-'));
    await writeFile(join(dir, 'web.yaml'), `${ingressYaml('web', [{ host: 'web.example.com', paths: [{ path: '/api', service: 'web' }] }])}---\n${SERVICE}`);
    running = await startMartello(dir);
    await running.waitFor((c) => c.generation >= 1);
  });
  after(async () => {
    await running?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('the admin listener answers /debug/explain from the applied configuration', async () => {
    const r = await martello('explain', 'http://web.example.com/api/x', '--admin', `http://127.0.0.1:${running.adminPort}`, '--json');
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as ExplainResult;
    assert.equal(result.generation, (await running.debugConfig()).generation);
    const miss = await martello('explain', 'http://web.example.com/other', '--admin', `http://127.0.0.1:${running.adminPort}`);
    assert.equal(miss.code, 1);
    assert.match(miss.stdout, /404/);
    const bad = await fetch(`http://127.0.0.1:${running.adminPort}/debug/explain`);
    assert.equal(bad.status, 400);
  });
});
