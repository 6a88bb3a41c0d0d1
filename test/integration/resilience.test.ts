// Endpoint health in the real data path (`martello serve`, the default
// HTTP/1.1 engine) against real backends: an endpoint killed mid-traffic
// costs no request (retries go elsewhere); a slow endpoint gets a small
// share under least-request and peak-EWMA; a flapping endpoint is ejected by
// outlier detection, which keeps retries to a bound and shows in the
// metrics; an active health check takes an endpoint out and brings it back;
// slow start gives a new endpoint a reduced share. Bounds are stated with
// each test (docs/load-balancing.md).

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { eventually } from '../support/eventually.ts';
import { serviceYaml } from '../support/manifests.ts';
import { startMartello, type MartelloProcess } from '../support/martello-process.ts';
import { scrapeMetrics, sumSamples } from '../support/metrics.ts';

interface Backend {
  readonly name: string;
  readonly port: number;
  readonly server: Server;
  /** Requests answered with the name (not health checks). */
  served: number;
  /** Closes the listener and destroys every connection: the endpoint is gone. */
  kill(): void;
}

interface BackendBehaviour {
  /** Delay before answering, in ms. */
  delayMs?: number;
  /** Reset the connection instead of answering (read each request). */
  resets?: () => boolean;
  /** Status of GET /healthz. */
  health?: () => number;
}

async function backend(name: string, behaviour: BackendBehaviour = {}): Promise<Backend> {
  const sockets = new Set<Socket>();
  const b: Backend = {
    name,
    port: 0,
    server: createServer((req, res) => {
      req.resume();
      if (req.url === '/healthz') {
        res.writeHead(behaviour.health?.() ?? 200, { 'content-type': 'text/plain' });
        res.end('health');
        return;
      }
      if (behaviour.resets?.() === true) {
        req.socket.resetAndDestroy();
        return;
      }
      const answer = (): void => {
        if (req.socket.destroyed) return; // killed meanwhile
        b.served++;
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(name);
      };
      if (behaviour.delayMs !== undefined && behaviour.delayMs > 0) setTimeout(answer, behaviour.delayMs);
      else answer();
    }),
    served: 0,
    kill(): void {
      b.server.close();
      for (const s of sockets) s.destroy();
    },
  };
  b.server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => b.server.listen(0, '127.0.0.1', resolve));
  (b as { port: number }).port = (b.server.address() as AddressInfo).port;
  return b;
}

function ingress(name: string, host: string, service: string, annotations: Record<string, string>): string {
  const notes = Object.entries(annotations).map(([k, v]) => `    ${k}: "${v}"`).join('\n');
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: default
${notes === '' ? '' : `  annotations:\n${notes}\n`}spec:
  rules:
    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: ${service}, port: { number: 80 } } } }] }
`;
}

describe('endpoint health in the data path', () => {
  let dir: string;
  let martello: MartelloProcess;
  const all: Backend[] = [];
  const agent = new Agent({ connections: 16 });
  let flapping = false;
  let checkedHealth = 200;
  let services: Record<string, number[]>;

  const writeServices = async (): Promise<void> => {
    await writeFile(join(dir, 'services.yaml'), Object.entries(services).map(([name, ports]) => serviceYaml({ name, endpointPorts: ports })).join('---\n'));
  };

  const make = async (name: string, behaviour?: BackendBehaviour): Promise<Backend> => {
    const b = await backend(name, behaviour);
    all.push(b);
    return b;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'martello-resilience-'));
    const k = await Promise.all(['k1', 'k2', 'k3'].map((n) => make(n, { delayMs: 5 })));
    const slow = await make('slow', { delayMs: 200 });
    const fast = await Promise.all(['f1', 'f2'].map((n) => make(n)));
    // Resets while `flapping` (the flapping test toggles it every 250 ms), else serves.
    const flapper = await make('flapper', { resets: () => flapping });
    const steady = await Promise.all(['s1', 's2'].map((n) => make(n)));
    const checked = await Promise.all(['h1', 'h2'].map((n) => make(n)));
    const sick = await make('sick', { health: () => checkedHealth });
    const ramp = await Promise.all(['r1', 'r2'].map((n) => make(n)));
    services = {
      kill: k.map((b) => b.port),
      slow: [slow.port, ...fast.map((b) => b.port)],
      flap: [flapper.port, ...steady.map((b) => b.port)],
      checked: [...checked.map((b) => b.port), sick.port],
      ramp: ramp.map((b) => b.port),
    };
    await writeServices();
    await writeFile(join(dir, 'ingresses.yaml'), [
      ingress('kill', 'kill.test', 'kill', {}),
      ingress('least', 'least.test', 'slow', { 'nginx.ingress.kubernetes.io/load-balance': 'least_request' }),
      ingress('ewma', 'ewma.test', 'slow', { 'nginx.ingress.kubernetes.io/load-balance': 'ewma' }),
      ingress('flap', 'flap.test', 'flap', {}),
      ingress('flap-unguarded', 'unguarded.test', 'flap', { 'martello.dev/outlier-consecutive-errors': 'off' }),
      ingress('checked', 'checked.test', 'checked', {
        'martello.dev/health-check-path': '/healthz',
        'martello.dev/health-check-interval': '200ms',
        'martello.dev/health-check-timeout': '150ms',
        'martello.dev/health-check-unhealthy-threshold': '2',
        'martello.dev/health-check-healthy-threshold': '2',
      }),
      ingress('ramp', 'ramp.test', 'ramp', { 'martello.dev/slow-start-window': '20s' }),
      ingress('noramp', 'noramp.test', 'ramp', {}),
    ].join('---\n'));
    martello = await startMartello(dir, ['--access-log', 'off']);
    await martello.waitFor((c) => c.generation >= 1 && c.routes.length === 8);
  });

  after(async () => {
    await martello?.stop();
    await agent.close();
    await Promise.all(all.map((b) => new Promise((resolve) => b.server.close(resolve))));
    await rm(dir, { recursive: true, force: true });
  });

  const get = async (host: string): Promise<{ status: number; body: string }> => {
    try {
      const res = await request(`http://127.0.0.1:${martello.httpPort}/`, { headers: { host }, dispatcher: agent });
      return { status: res.statusCode, body: await res.body.text() };
    } catch (err) {
      return { status: 0, body: String(err) };
    }
  };

  /** `clients` closed loops of GETs until `stop()` says so; answers by body ("" for failures, with their status). */
  const loop = async (host: string, clients: number, stop: (n: number) => boolean): Promise<{ counts: Map<string, number>; failures: number[]; total: number }> => {
    const counts = new Map<string, number>();
    const failures: number[] = [];
    let total = 0;
    await Promise.all(Array.from({ length: clients }, async () => {
      while (!stop(total)) {
        const r = await get(host);
        total++;
        if (r.status !== 200) failures.push(r.status);
        else counts.set(r.body, (counts.get(r.body) ?? 0) + 1);
      }
    }));
    return { counts, failures, total };
  };

  const retries = async (): Promise<number> => sumSamples(await scrapeMetrics(martello.adminPort), 'martello_upstream_retries_total');

  test('an endpoint killed mid-traffic costs no request: retries go to the others', async (t) => {
    const k2 = all.find((b) => b.name === 'k2')!;
    const started = Date.now();
    let killedAt = 0;
    // Three clients (the retry budget allows three retries in flight whatever the load).
    const run = loop('kill.test', 3, () => Date.now() - started > 2_500);
    const killer = (async () => {
      await eventually('k2 serves some traffic first', () => (k2.served >= 20 ? true : undefined), 10_000);
      k2.kill();
      killedAt = k2.served;
    })();
    const [result] = await Promise.all([run, killer]);
    t.diagnostic(`${result.total} requests, ${result.failures.length} failed, by endpoint ${JSON.stringify([...result.counts])}`);
    assert.deepEqual(result.failures, [], `no failed request of ${result.total}`);
    assert.equal(k2.served, killedAt, 'nothing reaches the killed endpoint');
    assert.ok((result.counts.get('k1') ?? 0) > 20 && (result.counts.get('k3') ?? 0) > 20, JSON.stringify([...result.counts]));
  });

  for (const [policy, host] of [['least-request', 'least.test'], ['peak-EWMA', 'ewma.test']] as const) {
    test(`${policy} routes around a slow endpoint: it gets under 15 % of the requests`, async (t) => {
      const result = await loop(host, 8, (n) => n >= 400);
      assert.deepEqual(result.failures, []);
      const slowShare = (result.counts.get('slow') ?? 0) / result.total;
      t.diagnostic(`slow endpoint: ${(slowShare * 100).toFixed(1)} % of ${result.total}`);
      assert.ok(slowShare < 0.15, `slow endpoint's share ${(slowShare * 100).toFixed(1)} % of ${result.total} (${JSON.stringify([...result.counts])})`);
    });
  }

  // Each run lasts 1.5 s: three reset phases and three serving ones, starting with resets.
  const flapFor = async (host: string): Promise<Awaited<ReturnType<typeof loop>>> => {
    flapping = true;
    const flipper = setInterval(() => (flapping = !flapping), 250);
    const started = Date.now();
    try {
      return await loop(host, 4, () => Date.now() - started >= 1_500);
    } finally {
      clearInterval(flipper);
      flapping = false;
    }
  };

  const excluded = async (service: string, cause: string): Promise<number> =>
    sumSamples(await scrapeMetrics(martello.adminPort), 'martello_upstream_endpoints_excluded', { service, cause });

  test('a flapping endpoint is ejected: retried requests stay under 2 %, against over 5 % without outlier detection', async (t) => {
    const start = await scrapeMetrics(martello.adminPort);
    {
      const r0 = await retries();
      const guarded = await flapFor('flap.test');
      const r1 = await retries();
      const unguarded = await flapFor('unguarded.test');
      const r2 = await retries();
      assert.deepEqual(guarded.failures, [], 'idempotent requests never fail: the reset attempts are retried');
      const guardedShare = (r1 - r0) / guarded.total;
      const unguardedShare = (r2 - r1) / unguarded.total;
      t.diagnostic(`retried: ${r1 - r0} of ${guarded.total} with outlier detection, ${r2 - r1} of ${unguarded.total} without; failed: ${guarded.failures.length} and ${unguarded.failures.length}`);
      assert.ok(guardedShare < 0.02, `with outlier detection ${(guardedShare * 100).toFixed(2)} % retried (${r1 - r0} of ${guarded.total})`);
      assert.ok(unguardedShare > 0.05, `without it ${(unguardedShare * 100).toFixed(2)} % retried (${r2 - r1} of ${unguarded.total})`);
      const end = await scrapeMetrics(martello.adminPort);
      const ejections = sumSamples(end, 'martello_upstream_ejections_total', { service: 'flap' }) - sumSamples(start, 'martello_upstream_ejections_total', { service: 'flap' });
      assert.ok(ejections >= 1, `the ejection is counted: ${ejections}`);
      assert.equal(sumSamples(end, 'martello_upstream_endpoints_excluded', { service: 'flap', cause: 'ejected' }), 1, 'one endpoint is out (30 s base ejection)');
    }
  });

  test('active health checks: an endpoint whose health path answers 503 gets no traffic, and comes back when it recovers', async () => {
    await eventually('every endpoint passed its first check', async () => ((await excluded('checked', 'health-check')) === 0 ? true : undefined), 10_000);
    const healthy = await loop('checked.test', 2, (n) => n >= 60);
    assert.ok((healthy.counts.get('sick') ?? 0) >= 10, `all three serve while healthy: ${JSON.stringify([...healthy.counts])}`);
    checkedHealth = 503;
    await eventually('the failing endpoint is taken out', async () => ((await excluded('checked', 'health-check')) === 1 ? true : undefined), 10_000);
    const out = await loop('checked.test', 2, (n) => n >= 60);
    assert.deepEqual(out.failures, []);
    assert.equal(out.counts.get('sick') ?? 0, 0, `no traffic to the unhealthy endpoint: ${JSON.stringify([...out.counts])}`);
    checkedHealth = 200;
    await eventually('the endpoint is back after 2 passing checks', async () => ((await excluded('checked', 'health-check')) === 0 ? true : undefined), 10_000);
    const back = await loop('checked.test', 2, (n) => n >= 60);
    assert.ok((back.counts.get('sick') ?? 0) >= 10, `it serves again: ${JSON.stringify([...back.counts])}`);
  });

  test('slow start: a new endpoint gets under 15 % of the requests in its first seconds (a third without slow start)', async (t) => {
    const generation = (await martello.debugConfig()).generation;
    const r3 = await backend('r3');
    all.push(r3);
    services['ramp'] = [...services['ramp']!, r3.port];
    await writeServices();
    await martello.waitFor((c) => c.generation > generation);
    const ramped = await loop('ramp.test', 2, (n) => n >= 300);
    const plain = await loop('noramp.test', 2, (n) => n >= 300);
    assert.deepEqual([...ramped.failures, ...plain.failures], []);
    const rampShare = (ramped.counts.get('r3') ?? 0) / ramped.total;
    const plainShare = (plain.counts.get('r3') ?? 0) / plain.total;
    t.diagnostic(`new endpoint: ${(rampShare * 100).toFixed(1)} % with slow start, ${(plainShare * 100).toFixed(1)} % without`);
    assert.ok(rampShare < 0.15, `ramping endpoint's share ${(rampShare * 100).toFixed(1)} % (${JSON.stringify([...ramped.counts])})`);
    assert.ok(plainShare > 0.25, `without slow start ${(plainShare * 100).toFixed(1)} % (${JSON.stringify([...plain.counts])})`);
  });
});
