// Replacing a running instance (issue 6, graceful lifecycle): a second
// `martello serve` binds the same ports beside the first (SO_REUSEPORT), the
// first gets SIGTERM, reports not ready, keeps serving through its grace
// period, drains and exits 0, and a client sending requests all along sees
// not a single failure.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../support/echo-backend.ts';
import { ingressYaml, serviceYaml } from '../support/manifests.ts';
import { startMartello, type MartelloProcess } from '../support/martello-process.ts';

// Linux resets the connections still queued on a SO_REUSEPORT listener when it
// closes, unless net.ipv4.tcp_migrate_req (Linux 5.14+) moves them to another
// listener of the group: then not one connection is lost. The test turns it on
// for its run when it may (root, as in CI) and restores it after.
const MIGRATE_REQ = '/proc/sys/net/ipv4/tcp_migrate_req';

function enableMigration(): { restore: () => void } | string {
  let previous: string;
  try {
    previous = readFileSync(MIGRATE_REQ, 'utf8').trim();
  } catch {
    return `${MIGRATE_REQ} is missing (Linux older than 5.14): queued connections of a closing listener are reset`;
  }
  if (previous === '1') return { restore: () => {} };
  try {
    writeFileSync(MIGRATE_REQ, '1');
  } catch {
    return `net.ipv4.tcp_migrate_req is 0 and cannot be set here (needs root): queued connections of a closing listener would be reset`;
  }
  return { restore: () => writeFileSync(MIGRATE_REQ, previous) };
}

const migration = enableMigration();

/** A loopback port free right now (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('a second instance takes over the ports of a draining one', () => {
  let dir: string;
  let backend: EchoBackend;
  let first: MartelloProcess;
  let second: MartelloProcess | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'martello-takeover-'));
    backend = await startEchoBackend('app');
    await writeFile(join(dir, 'app.yaml'), [serviceYaml({ name: 'app', endpointPorts: [backend.port] }), ingressYaml('app', [{ host: 'app.test', paths: [{ path: '/', service: 'app' }] }])].join('---\n'));
  });

  after(async () => {
    if (typeof migration !== 'string') migration.restore();
    await second?.stop();
    await first?.stop();
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('no request fails while the first instance hands over to the second', { skip: typeof migration === 'string' && migration }, async () => {
    const [http, https] = await Promise.all([freePort(), freePort()]);
    const ports = ['--listen-http', `127.0.0.1:${http}`, '--listen-https', `127.0.0.1:${https}`, '--shutdown-grace-period', '1'];
    first = await startMartello(dir, ports);
    await first.waitFor((c) => c.generation >= 1);

    // One client, a new connection per request (so every request also exercises accept()).
    const failures: string[] = [];
    // Shared with the client loop below (an object, so the loop sees the updates).
    const state = { served: 0, running: true };
    const client = (async () => {
      while (state.running) {
        try {
          const res = await request(`http://127.0.0.1:${http}/x`, { headers: { host: 'app.test' }, reset: true });
          const body = await res.body.text();
          if (res.statusCode === 200 && (JSON.parse(body) as EchoReply).backend === 'app') state.served++;
          else failures.push(`status ${res.statusCode}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    })();
    const servedAtLeast = async (n: number, ms: number) => {
      const target = state.served + n;
      const end = Date.now() + ms;
      for (;;) {
        if (state.served >= target) return;
        if (Date.now() > end) throw new Error(`only ${state.served} requests served, wanted ${target}; failures: ${failures.join('; ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      await servedAtLeast(30, 10_000);
      second = await startMartello(dir, ports);
      await second.waitFor((c) => c.generation >= 1);
      await servedAtLeast(30, 10_000);

      const exited = first.stop();
      // Not ready at once, yet still serving through the grace period.
      const readyz = async () => (await fetch(`http://127.0.0.1:${first.adminPort}/readyz`)).status;
      const end = Date.now() + 5_000;
      let status = await readyz();
      while (status !== 503 && Date.now() < end) status = await readyz();
      assert.equal(status, 503, 'the first instance says it is not ready');
      assert.equal(await exited, 0, 'the first instance drains and exits 0');
      assert.ok(first.logs.some((l) => l['msg'] === 'shutdown grace period: still serving while readiness is false'));
      await servedAtLeast(30, 10_000);
      assert.equal((await fetch(`http://127.0.0.1:${second.adminPort}/readyz`)).status, 200);
    } finally {
      state.running = false;
      await client;
    }
    assert.deepEqual(failures, [], 'not a single request failed');
    assert.ok(state.served >= 90);
  });
});
