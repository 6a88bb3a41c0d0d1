// Per-cluster timeouts and retries on real sockets (docs/load-balancing.md,
// "Timeouts" and "Retries"): an Ingress's proxy-connect-timeout and
// proxy-read-timeout apply to its cluster instead of the proxy's global
// ones; proxy-next-upstream "error http_502" holds a 502 back and retries it
// on another endpoint; POST is not retried on a status; -tries bounds the
// attempts; the process's retry budget bounds retries in flight. HTTP/1.1
// clients (and HTTP/2 clients where said) of the martello engine; the node
// engine for what it honours (the response-head timeout).

import assert from 'node:assert/strict';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import type { Cluster, RetryPolicy, UpstreamTimeouts } from '../../model/model.ts';
import { silentLogger } from '../../shared/log.ts';
import { compile } from '../compile/route-table.ts';
import type { ProxyOptions } from '../proxy/options.ts';
import { ProxyServer } from '../proxy/proxy-server.ts';
import { startBackend, type TestBackend } from '../proxy/test-support/backends.ts';
import { h2Connect as connectHttp2, h2Fetch } from '../proxy/test-support/h2-front.ts';
import { buildModel, type ModelSpec } from '../proxy/test-support/harness.ts';

interface Running {
  readonly proxy: ProxyServer;
  readonly port: number;
  close(): Promise<void>;
}

/** A proxy whose clusters get `extra` (timeouts, retry) on top of the harness's model. */
async function startWith(spec: ModelSpec, extra: Readonly<Record<string, Partial<Pick<Cluster, 'timeouts' | 'retry'>>>>, options: Partial<ProxyOptions>): Promise<Running> {
  const model = buildModel(spec);
  const clusters = model.clusters.map((c) => (extra[c.id] === undefined ? c : { ...c, ...extra[c.id] }));
  const table = compile({ ...model, clusters }, 1, { seed: 0 });
  const proxy = new ProxyServer({ logger: silentLogger, table, options });
  const { port } = await proxy.listen('127.0.0.1', 0);
  return { proxy, port, close: () => proxy.close() };
}

/** A TCP server that accepts and reads but never answers (nor does a TLS handshake). */
async function startSilent(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    s.resume();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

async function get(port: number, host: string, method = 'GET', body?: string): Promise<{ status: number; text: string; ms: number }> {
  const t0 = performance.now();
  const res = await request(`http://127.0.0.1:${port}/`, { method, headers: { host }, ...(body === undefined ? {} : { body }) });
  const text = await res.body.text();
  return { status: res.statusCode, text, ms: performance.now() - t0 };
}

const READ_TIMEOUT: UpstreamTimeouts = { responseHeaderMs: 1_000 };
const CONNECT_TIMEOUT: UpstreamTimeouts = { connectMs: 1_000 };
const ON_502: RetryPolicy = { on: ['connect-failure', 'reset', 'timeout', 'http-502'], tries: 3, nonIdempotent: false };

for (const engine of ['martello', 'node'] as const) {
  describe(`[${engine}] per-Ingress proxy-read-timeout`, { timeout: 60_000 }, () => {
    let silent: Awaited<ReturnType<typeof startSilent>>;
    let p: Running;

    before(async () => {
      silent = await startSilent();
      p = await startWith(
        { hosts: [{ host: 'short.test', routes: [{ path: '/', cluster: 'short' }] }, { host: 'global.test', routes: [{ path: '/', cluster: 'global' }] }], clusters: { short: [silent.port], global: [silent.port] } },
        { short: { timeouts: READ_TIMEOUT } },
        { engine, responseHeaderTimeoutMs: 6_000 },
      );
    });

    after(async () => {
      await p.close();
      await silent.close();
    });

    test('504 at the Ingress\'s 1 s, not the global 6 s; a cluster without its own value keeps the global one', async () => {
      const [short, global] = await Promise.all([get(p.port, 'short.test'), get(p.port, 'global.test')]);
      assert.equal(short.status, 504);
      assert.ok(short.ms >= 900 && short.ms < 4_500, `the Ingress's timeout took ${short.ms.toFixed(0)} ms`);
      assert.equal(global.status, 504);
      assert.ok(global.ms >= 5_900, `the global timeout took ${global.ms.toFixed(0)} ms`);
    });
  });
}

describe('[martello] per-Ingress proxy-connect-timeout', { timeout: 60_000 }, () => {
  let silent: Awaited<ReturnType<typeof startSilent>>;
  let p: Running;

  before(async () => {
    silent = await startSilent();
    // An https endpoint that accepts TCP and never answers the TLS handshake: connecting never completes.
    p = await startWith(
      { hosts: [{ host: '*', routes: [{ path: '/', cluster: 'tls' }] }], clusters: { tls: [silent.port] }, protocols: { tls: 'https' } },
      { tls: { timeouts: CONNECT_TIMEOUT } },
      { engine: 'martello', h2c: true, connectTimeoutMs: 30_000 },
    );
  });

  after(async () => {
    await p.close();
    await silent.close();
  });

  test('504 after the Ingress\'s 1 s, not the global 30 s (HTTP/1.1 and HTTP/2 clients)', async () => {
    const r = await get(p.port, 'a.test');
    assert.equal(r.status, 504);
    assert.ok(r.ms >= 900 && r.ms < 10_000, `took ${r.ms.toFixed(0)} ms`);
    const session = connectHttp2(`http://127.0.0.1:${p.port}`);
    try {
      const t0 = performance.now();
      const h2 = await h2Fetch(session, { ':method': 'GET', ':path': '/', ':authority': 'a.test' });
      const ms = performance.now() - t0;
      assert.equal(h2.status, 504);
      assert.ok(ms >= 900 && ms < 10_000, `took ${ms.toFixed(0)} ms`);
    } finally {
      session.close();
    }
  });
});

describe('[martello] retries on upstream statuses', { timeout: 60_000 }, () => {
  const bad: TestBackend[] = [];
  let good: TestBackend;
  let p: Running;
  let tries2: Running;
  let unlimited: Running;
  let defaults: Running;
  const hits = (): number => bad.reduce((n, b) => n + b.requests, 0);

  before(async () => {
    for (let i = 0; i < 3; i++) bad.push(await startBackend(`bad${i}`, (req, res) => {
      req.resume();
      // A body follows the held-back head: the connection must be dropped, not reused mid-response.
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`bad gateway from bad${i}`);
    }));
    good = await startBackend('good', (req, res) => {
      req.resume();
      req.on('end', () => res.end('good'));
    });
    p = await startWith(
      { hosts: [{ host: '*', routes: [{ path: '/', cluster: 'mixed' }] }], clusters: { mixed: [bad[0]!.port, good.port] } },
      { mixed: { retry: ON_502 } },
      { engine: 'martello', h2c: true },
    );
    const allBad = { hosts: [{ host: '*', routes: [{ path: '/', cluster: 'bad' }] }], clusters: { bad: bad.map((b) => b.port) } };
    tries2 = await startWith(allBad, { bad: { retry: { ...ON_502, tries: 2 } } }, { engine: 'martello' });
    unlimited = await startWith(allBad, { bad: { retry: { ...ON_502, tries: 0 } } }, { engine: 'martello' });
    defaults = await startWith(allBad, {}, { engine: 'martello' });
  });

  after(async () => {
    await Promise.all([p.close(), tries2.close(), unlimited.close(), defaults.close()]);
    for (const b of [...bad, good]) await b.close();
  });

  test('"error http_502": a 502 is held back and the request retried on the other endpoint; the client gets its 200', async () => {
    const badBefore = bad[0]!.requests;
    const retriesBefore = p.proxy.observer.metrics.upstreamRetries;
    for (let i = 0; i < 6; i++) {
      const r = await get(p.port, 'a.test');
      assert.deepEqual([r.status, r.text], [200, 'good']);
    }
    const badHits = bad[0]!.requests - badBefore;
    assert.ok(badHits >= 2, `the 502 endpoint was tried ${badHits} times`);
    assert.equal(p.proxy.observer.metrics.upstreamRetries - retriesBefore, badHits, 'martello_upstream_retries_total counts status retries');
  });

  test('HTTP/2 clients: the same retry on a 502', async () => {
    const badBefore = bad[0]!.requests;
    const session = connectHttp2(`http://127.0.0.1:${p.port}`);
    try {
      for (let i = 0; i < 4; i++) {
        const r = await h2Fetch(session, { ':method': 'GET', ':path': '/', ':authority': 'a.test' });
        assert.deepEqual([r.status, r.body.toString()], [200, 'good']);
      }
    } finally {
      session.close();
    }
    assert.ok(bad[0]!.requests - badBefore >= 1);
  });

  test('a POST is not retried on a 502: the client gets the 502 (with its body)', async () => {
    const badBefore = bad[0]!.requests;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await get(p.port, 'a.test', 'POST', 'payload');
      statuses.push(r.status);
      if (r.status === 502) assert.equal(r.text, 'bad gateway from bad0');
    }
    const badHits = bad[0]!.requests - badBefore;
    assert.ok(badHits >= 2);
    assert.equal(statuses.filter((s) => s === 502).length, badHits, String(statuses));
  });

  test('tries bounds the attempts: 2 → two endpoints tried; 0 → every endpoint once; the default policy does not retry statuses', async () => {
    for (const [proxy, perRequest] of [[tries2, 2], [unlimited, 3], [defaults, 1]] as const) {
      const hitsBefore = hits();
      for (let i = 0; i < 3; i++) {
        const r = await get(proxy.port, 'a.test');
        assert.equal(r.status, 502);
      }
      assert.equal(hits() - hitsBefore, 3 * perRequest, `${perRequest} attempts per request`);
    }
  });
});

describe('[martello] the retry budget bounds retries in flight', { timeout: 60_000 }, () => {
  const N = 12;
  let held: Array<() => void> = [];
  let arrived = 0;
  let allArrived = Promise.withResolvers<void>();
  let bad: TestBackend;
  let slow: TestBackend;
  let p: Running;
  // Both backends hold their answers until every first attempt has arrived,
  // so the first picks alternate exactly; then the 502s come back at once.
  const arrive = (): void => {
    if (++arrived === N) allArrived.resolve();
  };

  before(async () => {
    bad = await startBackend('bad', (req, res) => {
      req.resume();
      arrive();
      void allArrived.promise.then(() => {
        res.writeHead(502);
        res.end('bad');
      });
    });
    slow = await startBackend('slow', (req, res) => {
      req.resume();
      arrive();
      held.push(() => res.end('slow'));
    });
    p = await startWith(
      { hosts: [{ host: '*', routes: [{ path: '/', cluster: 'c' }] }], clusters: { c: [bad.port, slow.port] } },
      { c: { retry: ON_502 } },
      { engine: 'martello' },
    );
  });

  after(async () => {
    for (const release of held) release();
    await p.close();
    await bad.close();
    await slow.close();
  });

  test(`${N} concurrent requests, half of them answered 502: at most 3 retried at once, the others get their 502`, async () => {
    const budget = p.proxy.http1Engine!.retryBudget;
    const overflowBefore = budget.overflowTotal;
    const results = Array.from({ length: N }, () => get(p.port, 'a.test'));
    await allArrived.promise;
    assert.equal(bad.requests, N / 2);
    // The retries that fit the budget reach the slow endpoint too.
    const deadline = Date.now() + 10_000;
    while (slow.requests < N / 2 + 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(budget.active, 3, 'max(3, 20 % of the requests in flight)');
    for (const release of held) release();
    held = [];
    const statuses = (await Promise.all(results)).map((r) => r.status).sort();
    assert.deepEqual(statuses, [...Array<number>(N - 3).fill(200), 502, 502, 502]);
    assert.equal(slow.requests, N / 2 + 3);
    assert.equal(budget.overflowTotal - overflowBefore, 3);
    assert.equal(budget.active, 0, 'released when the retried exchanges ended');
    // Reset for nothing else: this suite runs once.
    arrived = 0;
    allArrived = Promise.withResolvers<void>();
  });
});
