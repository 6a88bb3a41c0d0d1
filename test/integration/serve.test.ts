// Behaviour of the real `martello serve` process: real backends on port 0,
// real clients (undici and curl), real file edits. Waits on the
// configuration generation reported by /debug/config, never on sleeps.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../support/echo-backend.ts';
import { ingressYaml, serviceYaml } from '../support/manifests.ts';
import { startMartello, type MartelloProcess } from '../support/martello-process.ts';
import { startTraffic } from '../support/traffic.ts';

const run = promisify(execFile);

describe('martello serve', () => {
  let dir: string;
  let a1: EchoBackend;
  let a2: EchoBackend;
  let b: EchoBackend;
  let martello: MartelloProcess;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'martello-serve-'));
    [a1, a2, b] = await Promise.all([startEchoBackend('a1'), startEchoBackend('a2'), startEchoBackend('b')]);
    await writeFile(join(dir, 'services.yaml'), [
      serviceYaml({ name: 'svc-a', endpointPorts: [a1.port, a2.port] }),
      serviceYaml({ name: 'svc-b', endpointPorts: [b.port] }),
    ].join('---\n'));
    await writeFile(join(dir, 'ingress.yaml'), ingressYaml('web', [
      { host: 'a.test', paths: [{ path: '/', service: 'svc-a' }] },
      { host: 'fan.test', paths: [{ path: '/a', service: 'svc-a' }, { path: '/b', service: 'svc-b' }] },
      { host: 'switch.test', paths: [{ path: '/', service: 'svc-a' }] },
    ]));
    martello = await startMartello(dir);
    await martello.waitFor((c) => c.generation >= 1);
  });

  after(async () => {
    const code = await martello?.stop();
    await Promise.all([a1, a2, b].map((x) => x?.close()));
    await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'martello exits 0 on SIGTERM');
  });

  const get = async (host: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> => {
    const res = await request(`http://127.0.0.1:${martello.httpPort}${path}`, { headers: { host } });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  };

  test('routes by host and path to the Pod endpoints, round-robin across endpoints', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await get('a.test', `/x${i}?q=1`);
      assert.equal(res.status, 200);
      const reply = JSON.parse(res.body) as EchoReply;
      assert.equal(reply.url, `/x${i}?q=1`);
      assert.equal(reply.headers['host'], 'a.test');
      assert.equal(reply.headers['x-forwarded-host'], 'a.test');
      assert.equal(reply.headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(reply.headers['x-forwarded-proto'], 'http');
      assert.equal(reply.headers['x-forwarded-port'], String(martello.httpPort));
      assert.match(String(reply.headers['x-request-id']), /^[\w-]{8,}$/);
      seen.push(reply.backend);
    }
    assert.deepEqual(new Set(seen), new Set(['a1', 'a2']), 'both endpoints of svc-a serve');
    assert.equal((JSON.parse((await get('fan.test', '/b/deep')).body) as EchoReply).backend, 'b');
    assert.equal((JSON.parse((await get('FAN.test:8080', '/a')).body) as EchoReply).url, '/a');
  });

  test('no matching host or path: the built-in default backend answers 404', async () => {
    for (const [host, path] of [['nobody.test', '/'], ['fan.test', '/c'], ['fan.test', '/ab']] as const) {
      const res = await get(host, path);
      assert.equal(res.status, 404, `${host}${path}`);
      assert.equal(res.headers['server'], 'martello');
      assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body));
      assert.match(res.body, /404/);
    }
  });

  test('curl, a real independent client, gets routed', async (t) => {
    try {
      await run('curl', ['--version']);
    } catch {
      t.skip('curl is not installed (CI installs it): apt-get install curl');
      return;
    }
    const { stdout } = await run('curl', ['-sS', '-H', 'Host: fan.test', '-w', '\n%{http_code}', `http://127.0.0.1:${martello.httpPort}/b/curl`]);
    const [body, code] = stdout.split('\n');
    assert.equal(code, '200');
    assert.equal((JSON.parse(body!) as EchoReply).backend, 'b');
    const notFound = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: nope.test', `http://127.0.0.1:${martello.httpPort}/`]);
    assert.equal(notFound.stdout, '404');
  });

  test('an edit applied while traffic flows loses no request and takes effect', async () => {
    const startGeneration = (await martello.debugConfig()).generation;
    const traffic = startTraffic(martello.httpPort, 'switch.test', '/edit');
    await traffic.waitForRequests(200);
    await writeFile(join(dir, 'ingress.yaml'), ingressYaml('web', [
      { host: 'a.test', paths: [{ path: '/', service: 'svc-a' }] },
      { host: 'fan.test', paths: [{ path: '/a', service: 'svc-a' }, { path: '/b', service: 'svc-b' }] },
      { host: 'switch.test', paths: [{ path: '/', service: 'svc-b' }] },
    ]));
    await martello.waitFor((c) => c.generation > startGeneration);
    await traffic.waitForRequests(200);
    const result = await traffic.stop();
    assert.deepEqual(result.failures, [], 'no request failed across the change');
    assert.ok(result.backends.includes('b'), 'traffic moved to svc-b');
    assert.equal(result.backends.at(-1), 'b', 'the last requests use the new table');
  });

  test('an endpoint removed mid-traffic drops no request, and gets no new ones', async () => {
    const startGeneration = (await martello.debugConfig()).generation;
    const traffic = startTraffic(martello.httpPort, 'a.test', '/endpoint');
    await traffic.waitForRequests(200);
    await writeFile(join(dir, 'services.yaml'), [
      serviceYaml({ name: 'svc-a', endpointPorts: [a1.port] }),
      serviceYaml({ name: 'svc-b', endpointPorts: [b.port] }),
    ].join('---\n'));
    await martello.waitFor((c) => c.generation > startGeneration);
    await traffic.waitForRequests(20); // requests already on their way to a2 at the swap finish first
    const a2Count = a2.count();
    await traffic.waitForRequests(200);
    const result = await traffic.stop();
    assert.deepEqual(result.failures, []);
    assert.equal(a2.count(), a2Count, 'the removed endpoint got no request after the change applied');
  });

  test('a broken file keeps its last good version, says so, and recovers', async () => {
    const good = await martello.debugConfig();
    await writeFile(join(dir, 'ingress.yaml'), 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web\n  broken');
    const broken = await martello.waitFor((c) => c.rebuilds > good.rebuilds && c.diagnostics.some((d) => d.includes('ingress.yaml')));
    assert.equal(broken.generation, good.generation, 'the routing did not change');
    assert.ok(broken.diagnostics.some((d) => d.startsWith('error: ingress.yaml')), broken.diagnostics.join('\n'));
    assert.equal((await get('fan.test', '/b')).status, 200, 'routes of the broken file still serve');
    await writeFile(join(dir, 'ingress.yaml'), ingressYaml('web', [{ host: 'fixed.test', paths: [{ path: '/', service: 'svc-b' }] }]));
    const fixed = await martello.waitFor((c) => c.generation > good.generation);
    assert.deepEqual(fixed.diagnostics, []);
    assert.equal((await get('fixed.test', '/')).status, 200);
    assert.equal((await get('fan.test', '/b')).status, 404, 'the fixed file replaced the old routes');
  });

  test('admin listener: health, readiness, metrics and the debug view', async () => {
    const admin = `http://127.0.0.1:${martello.adminPort}`;
    assert.equal((await request(`${admin}/healthz`)).statusCode, 200);
    assert.equal((await request(`${admin}/readyz`)).statusCode, 200);
    const metrics = await (await request(`${admin}/metrics`)).body.text();
    const generation = (await martello.debugConfig()).generation;
    assert.match(metrics, new RegExp(`^martello_config_generation ${generation}$`, 'm'));
    assert.match(metrics, /^martello_http_requests_total\{namespace="default",ingress="web",service="svc-b",method="GET",status="2xx"\} \d+$/m);
    const config = await martello.debugConfig();
    assert.ok(config.routes.some((r) => r.host === 'fixed.test' && r.match === 'prefix /' && r.cluster === 'default/svc-b:80'));
    assert.equal((await request(`${admin}/nope`)).statusCode, 404);
  });

  test('the log says when a change is applied and what changed', () => {
    const applied = martello.logs.filter((l) => l['msg'] === 'configuration applied');
    assert.ok(applied.length >= 3, 'one line per applied generation');
    assert.ok(applied.some((l) => Array.isArray(l['routesAdded'])), 'route changes are listed');
    assert.ok(applied.some((l) => Array.isArray(l['endpointsChanged'])), 'endpoint changes are listed');
  });
});
