// The balancers in the real data path (`martello serve`, both HTTP/1.1
// engines' decision point): cookie affinity sets and honours its cookie,
// consistent hashing keeps a key on one endpoint, and least-request hears
// about in-flight requests (onStart/onEnd), so a slow endpoint gets fewer.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { connect as h2connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { serviceYaml } from '../support/manifests.ts';
import { startMartello, type MartelloProcess } from '../support/martello-process.ts';
import { scrapeMetrics, sumSamples } from '../support/metrics.ts';

interface NamedBackend {
  readonly name: string;
  readonly port: number;
  readonly server: Server;
}

/** Answers its name after `delayMs`. */
async function namedBackend(name: string, delayMs = 0): Promise<NamedBackend> {
  const server = createServer((req, res) => {
    req.resume();
    const answer = (): void => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(name);
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { name, port: (server.address() as AddressInfo).port, server };
}

/** Reads the request head, then resets the connection: a failure after the request was sent. */
async function resettingBackend(): Promise<NamedBackend> {
  const server = createServer((req) => {
    req.socket.resetAndDestroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { name: 'resetter', port: (server.address() as AddressInfo).port, server };
}

/** A port nothing listens on (bound once, then closed): connecting to it is refused. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function ingress(name: string, host: string, service: string, annotations: Record<string, string>): string {
  const notes = Object.entries(annotations).map(([k, v]) => `    ${k}: "${v}"`).join('\n');
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: default
  annotations:
${notes}
spec:
  rules:
    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: ${service}, port: { number: 80 } } } }] }
`;
}

describe('balancing in the data path', () => {
  let dir: string;
  let backends: NamedBackend[];
  let martello: MartelloProcess;
  let resetter: NamedBackend;
  const agent = new Agent({ connections: 16 });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'martello-balancing-'));
    backends = await Promise.all([namedBackend('s1'), namedBackend('s2'), namedBackend('s3'), namedBackend('slow', 250), namedBackend('fast'), namedBackend('live')]);
    const [s1, s2, s3, slow, fast, live] = backends;
    resetter = await resettingBackend();
    const dead = await deadPort();
    await writeFile(join(dir, 'services.yaml'), [
      serviceYaml({ name: 'trio', endpointPorts: [s1!.port, s2!.port, s3!.port] }),
      serviceYaml({ name: 'mixed', endpointPorts: [slow!.port, fast!.port] }),
      serviceYaml({ name: 'flaky', endpointPorts: [dead, live!.port] }),
      serviceYaml({ name: 'resets', endpointPorts: [resetter.port, live!.port] }),
    ].join('---\n'));
    await writeFile(join(dir, 'ingresses.yaml'), [
      ingress('sticky', 'sticky.test', 'trio', { 'nginx.ingress.kubernetes.io/affinity': 'cookie', 'nginx.ingress.kubernetes.io/session-cookie-name': 'route' }),
      ingress('hashed', 'hashed.test', 'trio', { 'nginx.ingress.kubernetes.io/upstream-hash-by': '$http_x_user' }),
      ingress('least', 'least.test', 'mixed', { 'nginx.ingress.kubernetes.io/load-balance': 'least_request' }),
      ingress('plain', 'plain.test', 'mixed', {}),
      ingress('flaky', 'flaky.test', 'flaky', {}),
      // Outlier detection off: the POSTs below must still meet the resetting endpoint after the GETs' resets.
      ingress('resets', 'resets.test', 'resets', { 'martello.dev/outlier-consecutive-errors': 'off' }),
      ingress('noretry', 'noretry.test', 'flaky', { 'nginx.ingress.kubernetes.io/proxy-next-upstream': 'off' }),
    ].join('---\n'));
    martello = await startMartello(dir, ['--access-log', 'off', '--h2c']);
    await martello.waitFor((c) => c.generation >= 1 && c.routes.length === 7);
  });

  after(async () => {
    await martello?.stop();
    await agent.close();
    await Promise.all([...backends, resetter].map((b) => new Promise((resolve) => b.server.close(resolve))));
    await rm(dir, { recursive: true, force: true });
  });

  const get = async (host: string, headers: Record<string, string> = {}, method: 'GET' | 'POST' = 'GET', body?: string) => {
    const res = await request(`http://127.0.0.1:${martello.httpPort}/`, { method, headers: { host, ...headers }, body, dispatcher: agent });
    return { status: res.statusCode, setCookie: res.headers['set-cookie'], body: await res.body.text() };
  };

  // Four clients, each sending its next request as soon as the previous one is answered: a
  // request on the slow endpoint stays in flight 250 ms, one on the fast endpoint about 1 ms.
  const closedLoop = async (host: string): Promise<Map<string, number>> => {
    const counts = new Map<string, number>();
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 10; i++) {
        const body = (await get(host)).body;
        counts.set(body, (counts.get(body) ?? 0) + 1);
      }
    }));
    return counts;
  };

  test('cookie affinity: the first answer sets the cookie, and every request carrying it lands on the same endpoint', async () => {
    const first = await get('sticky.test');
    assert.equal(first.status, 200);
    const cookie = String(first.setCookie);
    assert.match(cookie, /^route=[^;]+; Path=\//, `Set-Cookie: ${cookie}`);
    const pair = cookie.split(';')[0]!;
    for (let i = 0; i < 12; i++) {
      const r = await get('sticky.test', { cookie: `other=1; ${pair}` });
      assert.equal(r.body, first.body, 'the sticky endpoint serves');
      assert.equal(r.setCookie, undefined, 'a valid cookie is not set again');
    }
    // Without the cookie, new sessions are spread over the endpoints.
    const fresh = new Set<string>();
    for (let i = 0; i < 12; i++) fresh.add((await get('sticky.test')).body);
    assert.ok(fresh.size >= 2, `new sessions spread: ${[...fresh].join(', ')}`);
  });

  test('HTTP/2 clients get the same affinity: the cookie is set, then honoured', async () => {
    const session = h2connect(`http://127.0.0.1:${martello.httpPort}`);
    const ask = (cookie?: string) => new Promise<{ body: string; setCookie: unknown }>((resolve, reject) => {
      const stream = session.request({ ':path': '/', ':authority': 'sticky.test', ...(cookie === undefined ? {} : { cookie }) });
      let body = '';
      let setCookie: unknown;
      stream.setEncoding('utf8');
      stream.on('response', (h) => (setCookie = h['set-cookie']));
      stream.on('data', (c: string) => (body += c));
      stream.on('end', () => resolve({ body, setCookie }));
      stream.on('error', reject);
      stream.end();
    });
    try {
      const first = await ask();
      const cookie = String(first.setCookie);
      assert.match(cookie, /^route=/);
      for (let i = 0; i < 6; i++) assert.equal((await ask(cookie.split(';')[0]!)).body, first.body);
    } finally {
      session.close();
    }
  });

  test('consistent hashing on a header: one key, one endpoint; several keys spread', async () => {
    const byKey = new Map<string, Set<string>>();
    for (let u = 0; u < 30; u++) {
      for (let i = 0; i < 3; i++) {
        const r = await get('hashed.test', { 'x-user': `user-${u}` });
        const seen = byKey.get(`user-${u}`) ?? new Set<string>();
        seen.add(r.body);
        byKey.set(`user-${u}`, seen);
      }
    }
    for (const [key, seen] of byKey) assert.equal(seen.size, 1, `${key} always on one endpoint`);
    const used = new Set([...byKey.values()].map((s) => [...s][0]));
    assert.ok(used.size >= 2, `30 keys use several endpoints: ${[...used].join(', ')}`);
  });

  test('least-request hears about in-flight requests: the slow endpoint gets fewer; round-robin splits evenly', async () => {
    const plain = await closedLoop('plain.test');
    const least = await closedLoop('least.test');
    const plainSlow = plain.get('slow') ?? 0;
    assert.ok(plainSlow >= 19 && plainSlow <= 21, `round-robin: about half of 40 on each (${JSON.stringify([...plain])})`);
    assert.ok((least.get('slow') ?? 0) <= 10, `least-request sends few to the busy endpoint (${JSON.stringify([...least])})`);
  });

  test('retries: a connect failure or a reset goes to another endpoint; bodies, non-idempotent resets and "off" do not', async () => {
    const start = await scrapeMetrics(martello.adminPort);
    // Half the first attempts hit a closed port: every GET still succeeds.
    for (let i = 0; i < 10; i++) {
      const r = await get('flaky.test');
      assert.equal(r.status, 200);
      assert.equal(r.body, 'live');
    }
    // An endpoint that resets the connection after reading the request: GET is retried.
    for (let i = 0; i < 6; i++) assert.equal((await get('resets.test')).body, 'live');
    const retried = sumSamples(await scrapeMetrics(martello.adminPort), 'martello_upstream_retries_total') - sumSamples(start, 'martello_upstream_retries_total');
    assert.ok(retried >= 5 && retried <= 16, `retries counted: ${retried}`);
    // A POST with a body is never replayed, and a reset POST is not retried (not idempotent).
    const posts = await Promise.all(Array.from({ length: 6 }, () => get('resets.test', {}, 'POST', 'payload')));
    assert.ok(posts.some((r) => r.status === 502), `some POSTs hit the resetting endpoint: ${posts.map((r) => r.status).join(',')}`);
    assert.ok(posts.every((r) => r.status === 502 || r.body === 'live'));
    // proxy-next-upstream: off → the closed port answers 502 for its share.
    const off = [];
    for (let i = 0; i < 6; i++) off.push((await get('noretry.test')).status);
    assert.ok(off.includes(502) && off.includes(200), `without retries the dead endpoint shows: ${off.join(',')}`);
  });
});

