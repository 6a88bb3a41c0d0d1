// Sticky sessions while a Service scales up and down under load, through the
// real `martello serve` process (docs/load-balancing.md, "Session affinity"):
// 24 sessions per affinity mode send requests back to back, each with its
// cookie, while the Service goes from 3 endpoints to 5 and then loses one.
//
// - persistent: scaling up moves no session; removing an endpoint moves only
//   its sessions, each to one new endpoint, with a new cookie.
// - balanced: scaling up moves some sessions, only to the new endpoints, and
//   keeps every cookie; removing an endpoint moves only its sessions.
// - no request fails at any moment.
//
// Requests that start while a change is being applied count for "no
// failure" only: the phase a request belongs to is known only once the
// process reports the new generation.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { serviceYaml } from '../support/manifests.ts';
import { startMartello, type MartelloProcess } from '../support/martello-process.ts';

interface NamedBackend {
  readonly name: string;
  readonly port: number;
  readonly server: Server;
}

async function namedBackend(name: string): Promise<NamedBackend> {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { name, port: (server.address() as AddressInfo).port, server };
}

function stickyIngress(name: string, host: string, mode: 'persistent' | 'balanced', cookie: string): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: default
  annotations:
    nginx.ingress.kubernetes.io/affinity: "cookie"
    nginx.ingress.kubernetes.io/affinity-mode: "${mode}"
    nginx.ingress.kubernetes.io/session-cookie-name: "${cookie}"
spec:
  rules:
    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
`;
}

/** A request as one session saw it. */
interface Seen {
  /** The phase (0: 3 endpoints, 1: 5, 2: one removed) the request started in; -1: during a change. */
  readonly phase: number;
  readonly status: number;
  readonly endpoint: string;
  /** The session's cookie after this response. */
  readonly cookie: string;
}

interface Session {
  readonly host: string;
  cookie: string;
  readonly seen: Seen[];
}

const SESSIONS = 24;

describe('sticky sessions while the Service scales, under load', { timeout: 120_000 }, () => {
  let dir: string;
  let backends: NamedBackend[];
  let martello: MartelloProcess;
  const agent = new Agent({ connections: 64 });
  let phase = 0;
  const control = { running: true };
  const sessions: Session[] = [];
  let loops: Promise<void>[] = [];

  const writeService = (ports: readonly number[]): Promise<void> => writeFile(join(dir, 'services.yaml'), serviceYaml({ name: 'web', endpointPorts: ports }));

  const send = async (session: Session): Promise<void> => {
    const startedIn = phase;
    let status = 0;
    let endpoint = '';
    try {
      const res = await request(`http://127.0.0.1:${martello.httpPort}/`, {
        headers: { host: session.host, ...(session.cookie === '' ? {} : { cookie: session.cookie }) },
        dispatcher: agent,
      });
      status = res.statusCode;
      endpoint = await res.body.text();
      const set = res.headers['set-cookie'];
      if (set !== undefined) session.cookie = String(set).split(';')[0]!;
    } catch (err) {
      endpoint = `error: ${(err as Error).message}`;
    }
    session.seen.push({ phase: startedIn === phase ? startedIn : -1, status, endpoint, cookie: session.cookie });
  };

  /** The endpoints and cookies a session saw in `p`. */
  const during = (s: Session, p: number): Seen[] => s.seen.filter((x) => x.phase === p);
  const endpointsIn = (s: Session, p: number): Set<string> => new Set(during(s, p).map((x) => x.endpoint));
  const only = (s: Session, p: number): string => {
    const set = endpointsIn(s, p);
    assert.equal(set.size, 1, `${s.host} session saw ${[...set].join(', ')} in phase ${p}`);
    return [...set][0]!;
  };
  const cookieIn = (s: Session, p: number): string => {
    const cookies = new Set(during(s, p).map((x) => x.cookie));
    assert.equal(cookies.size, 1, `one cookie per phase: ${[...cookies].join(', ')}`);
    return [...cookies][0]!;
  };
  /** Resolves once every session has sent `n` more requests in the current phase. */
  const settle = async (n: number): Promise<void> => {
    const p = phase;
    const deadline = Date.now() + 30_000;
    while (sessions.some((s) => during(s, p).length < n)) {
      if (Date.now() > deadline) throw new Error(`sessions did not send ${n} requests in phase ${p}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const change = async (ports: readonly number[]): Promise<void> => {
    const next = phase + 1;
    phase = -1;
    await writeService(ports);
    const wanted = ports.map((port) => `127.0.0.1:${port}`).sort().join(',');
    await martello.waitFor((c) => c.routes.length === 2 && c.routes.every((r) => [...r.endpoints].sort().join(',') === wanted));
    phase = next;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'martello-sticky-scaling-'));
    backends = await Promise.all(['b0', 'b1', 'b2', 'b3', 'b4'].map((n) => namedBackend(n)));
    await writeService(backends.slice(0, 3).map((b) => b.port));
    await writeFile(join(dir, 'ingresses.yaml'), [
      stickyIngress('persistent', 'persistent.test', 'persistent', 'sp'),
      stickyIngress('balanced', 'balanced.test', 'balanced', 'sb'),
    ].join('---\n'));
    martello = await startMartello(dir, ['--access-log', 'off']);
    await martello.waitFor((c) => c.generation >= 1 && c.routes.length === 2 && c.routes.every((r) => r.endpoints.length === 3));
  });

  after(async () => {
    control.running = false;
    await Promise.allSettled(loops);
    await martello?.stop();
    await agent.close();
    await Promise.all(backends.map((b) => new Promise((resolve) => b.server.close(resolve))));
    await rm(dir, { recursive: true, force: true });
  });

  test('persistent keeps every session through a scale-up and moves only the removed endpoint\'s; balanced rebalances onto new endpoints only', async () => {
    for (let i = 0; i < SESSIONS; i++) {
      sessions.push({ host: 'persistent.test', cookie: '', seen: [] });
      sessions.push({ host: 'balanced.test', cookie: '', seen: [] });
    }
    // Each session's first request opens it (and sets its cookie); then back to back.
    loops = sessions.map(async (s) => {
      while (control.running) await send(s);
    });
    await settle(8);

    const persistent = sessions.filter((s) => s.host === 'persistent.test');
    const balanced = sessions.filter((s) => s.host === 'balanced.test');
    const at0 = new Map(sessions.map((s) => [s, only(s, 0)]));
    const cookies0 = new Map(sessions.map((s) => [s, cookieIn(s, 0)]));
    for (const s of sessions) assert.match(cookies0.get(s)!, s.host === 'persistent.test' ? /^sp=/ : /^sb=/);
    assert.equal(new Set(at0.values()).size, 3, 'new sessions are spread over the 3 endpoints');

    // Scale up: 3 → 5 endpoints.
    const [b0, b1, b2, b3, b4] = backends;
    await change([b0!, b1!, b2!, b3!, b4!].map((b) => b.port));
    await settle(8);
    for (const s of persistent) {
      assert.equal(only(s, 1), at0.get(s), 'persistent: scaling up moves no session');
      assert.equal(cookieIn(s, 1), cookies0.get(s));
    }
    let moved = 0;
    for (const s of balanced) {
      const now = only(s, 1);
      if (now !== at0.get(s)) {
        moved++;
        assert.ok(now === 'b3' || now === 'b4', `balanced: a session moved from ${at0.get(s)} to ${now}, an old endpoint`);
      }
      assert.equal(cookieIn(s, 1), cookies0.get(s), 'balanced: the cookie stays as it is');
    }
    // 3 → 5 endpoints moves about 2/5 of the sessions: 24 sessions, none moving is (3/5)^24 ≈ 5e-6.
    assert.ok(moved >= 1, 'balanced: some sessions move to the new endpoints');
    assert.ok(moved < SESSIONS, 'balanced: not every session moves');

    // Scale down: b0 leaves.
    const at1 = new Map(sessions.map((s) => [s, only(s, 1)]));
    const cookies1 = new Map(sessions.map((s) => [s, cookieIn(s, 1)]));
    await change([b1!, b2!, b3!, b4!].map((b) => b.port));
    await settle(8);
    for (const group of [persistent, balanced]) {
      const onB0 = group.filter((s) => at1.get(s) === 'b0');
      assert.ok(onB0.length >= 1, `some ${group[0]!.host} sessions were on b0`);
      for (const s of group) {
        const now = only(s, 2);
        if (at1.get(s) === 'b0') {
          assert.notEqual(now, 'b0', 'the removed endpoint\'s sessions move');
          // persistent: a new cookie names the new endpoint; balanced: the key stays and hashes elsewhere.
          if (s.host === 'persistent.test') assert.notEqual(cookieIn(s, 2), cookies1.get(s));
          else assert.equal(cookieIn(s, 2), cookies1.get(s));
        } else {
          assert.equal(now, at1.get(s), `${s.host}: a session whose endpoint stays does not move`);
          assert.equal(cookieIn(s, 2), cookies1.get(s));
        }
      }
    }

    control.running = false;
    await Promise.all(loops);
    const all = sessions.flatMap((s) => s.seen);
    const failed = all.filter((x) => x.status !== 200);
    assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${all.length} requests failed`);
  });
});
