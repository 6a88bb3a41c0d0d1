// Worker processes in the real `martello serve --workers 2`: both workers
// share the plain and TLS listeners (SO_REUSEPORT), serve HTTP/1.1 and
// HTTP/2 with the same certificates, acknowledge every configuration
// generation (and /readyz waits for both), resume TLS sessions issued by the
// other worker, survive the loss of a sibling without dropping a keep-alive
// connection, and drain on SIGTERM. Which worker served what is read from
// the per-worker counters of /debug/config; nothing is timed with sleeps.

import { parseExposition, sumSamples } from '../support/metrics.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect, type SecureVersion } from 'node:tls';
import { promisify } from 'node:util';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../support/echo-backend.ts';
import { serviceYaml } from '../support/manifests.ts';
import { startMartello, type DebugConfig, type MartelloProcess, type WorkerInfo } from '../support/martello-process.ts';
import { createTestCa, type TestCa, tlsSecretManifest } from '../support/pki.ts';

const run = promisify(execFile);
const CURL = existsSync('/usr/bin/curl') ? '/usr/bin/curl' : undefined;

function ingress(extraPath = ''): string {
  const extra = extraPath === '' ? '' : `\n          - { path: ${extraPath}, pathType: Prefix, backend: { service: { name: svc-a, port: { number: 80 } } } }`;
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: shop, namespace: default }
spec:
  tls:
    - { hosts: [a.test], secretName: a-cert }
  rules:
    - host: a.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: svc-a, port: { number: 80 } } } }] }
    - host: b.test
      http:
        paths:
          - { path: /slow, pathType: Prefix, backend: { service: { name: svc-slow, port: { number: 80 } } } }
          - { path: /, pathType: Prefix, backend: { service: { name: svc-a, port: { number: 80 } } } }${extra}
`;
}

interface SlowBackend {
  readonly port: number;
  /** Resolves when a request has arrived and is being held. */
  arrived(): Promise<void>;
  /** Answers every held request. */
  release(): void;
  close(): Promise<void>;
}

/** A backend that holds each request until released: an in-flight request to drain. */
async function startSlowBackend(): Promise<SlowBackend> {
  const held: ServerResponse[] = [];
  let onArrive: (() => void) | undefined;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    held.push(res);
    onArrive?.();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    arrived: () => new Promise<void>((resolve) => {
      if (held.length > 0) return resolve();
      onArrive = resolve;
    }),
    release() {
      for (const res of held.splice(0)) res.end('slow done');
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

interface Reply {
  readonly status: number;
  readonly body: string;
  readonly socket: Socket;
}

/** One plain HTTP request; `agent: false` opens a new connection for it. */
function get(port: number, host: string, path: string, agent: Agent | false = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host }, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), socket: res.socket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.end();
  });
}

interface Handshake {
  readonly reused: boolean;
  readonly session: Buffer | undefined;
  readonly status: string;
}

/** A TLS connection (optionally resuming `session`) that sends one request and reads the answer. */
function tlsRequest(port: number, ca: string, maxVersion: SecureVersion, session?: Buffer): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'a.test', ca, ALPNProtocols: ['http/1.1'], maxVersion, ...(session === undefined ? {} : { session }) });
    let ticket: Buffer | undefined;
    let data = '';
    socket.on('session', (s: Buffer) => {
      ticket = s;
    });
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => {
      data += c;
    });
    socket.once('secureConnect', () => {
      const reused = socket.isSessionReused();
      // TLS 1.3 tickets arrive after the handshake: read the whole answer.
      socket.write('GET /resume HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
      socket.once('end', () => resolve({ reused, session: ticket, status: data.split('\r\n')[0] ?? '' }));
    });
    socket.once('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS request timed out')));
  });
}

async function curl(args: string[]): Promise<string> {
  return (await run(CURL!, ['-sS', '--max-time', '10', ...args])).stdout;
}

const requestsByWorker = (c: DebugConfig): number[] => c.workers.map((w) => w.requests);

describe('martello serve --workers 2', () => {
  let dir: string;
  let ca: TestCa;
  let caFile: string;
  let echo: EchoBackend;
  let slow: SlowBackend;
  let martello: MartelloProcess;
  let exitCode: number | null | undefined;
  /** Every worker pid seen, killed at the end if still alive. */
  const workerPids = new Set<number>();

  const workers = async (): Promise<readonly WorkerInfo[]> => {
    const list = (await martello.debugConfig()).workers;
    for (const w of list) if (w.pid !== null) workerPids.add(w.pid);
    return list;
  };
  const readyz = async (): Promise<number> => (await fetch(`http://127.0.0.1:${martello.adminPort}/readyz`)).status;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'martello-workers-'));
    ca = createTestCa();
    caFile = `${dir}-ca.pem`;
    await writeFile(caFile, ca.certPem);
    [echo, slow] = await Promise.all([startEchoBackend('a'), startSlowBackend()]);
    await writeFile(join(dir, 'services.yaml'), [
      serviceYaml({ name: 'svc-a', endpointPorts: [echo.port] }),
      serviceYaml({ name: 'svc-slow', endpointPorts: [slow.port] }),
    ].join('---\n'));
    await writeFile(join(dir, 'secret.yaml'), tlsSecretManifest({ namespace: 'default', name: 'a-cert', ...ca.issue(['a.test']) }));
    await writeFile(join(dir, 'ingress.yaml'), ingress());
    martello = await startMartello(dir, ['--workers', '2']);
    await martello.waitFor((c) => c.generation >= 1 && c.workers.length === 2 && c.workers.every((w) => w.ready));
    await workers();
  });

  after(async () => {
    exitCode ??= await martello?.stop();
    for (const pid of workerPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone, as it should be.
      }
    }
    await Promise.all([echo?.close(), slow?.close()]);
    await rm(dir, { recursive: true, force: true });
    await rm(caFile, { force: true });
  });

  test('two worker processes, besides the primary, acknowledge the first configuration; each listener is logged once with its real port', async () => {
    const list = await workers();
    assert.equal(list.length, 2);
    const pids = list.map((w) => w.pid);
    assert.equal(new Set(pids).size, 2);
    assert.ok(!pids.includes(martello.child.pid!), 'the workers are separate processes');
    const generation = (await martello.debugConfig()).generation;
    for (const w of list) {
      assert.equal(w.state, 'listening');
      assert.equal(w.generation, generation);
      assert.equal(w.restarts, 0);
    }
    assert.equal(await readyz(), 200);
    for (const listener of ['http', 'https', 'admin']) {
      const lines = martello.logs.filter((l) => l['msg'] === 'listening' && l['listener'] === listener);
      assert.equal(lines.length, 1, `one "listening" line for ${listener}`);
    }
    assert.equal(martello.logs.filter((l) => l['msg'] === 'listening' && l['listener'] === 'http')[0]!['port'], martello.httpPort);
    // Worker log lines share stderr and say which worker wrote them.
    const workerLines = martello.logs.filter((l) => l['msg'] === 'worker listening');
    assert.deepEqual(workerLines.map((l) => l['worker']).sort(), [1, 2]);
    assert.ok(workerLines.every((l) => l['http'] === martello.httpPort && l['https'] === martello.httpsPort));
  });

  test('the primary and every worker run without V8 helper threads or memory reducer, with 2 MB semi-spaces and a 2x heap growth (bin/martello\'s flags, inherited)', async () => {
    // Why these flags: docs/workers.md, "V8's helper threads, memory reducer and heap growth". Read from the kernel, so a worker
    // forked without them (e.g. a flag dropped from its execArgv) fails here.
    const pids = [martello.child.pid!, ...(await workers()).map((w) => w.pid!)];
    assert.equal(pids.length, 3);
    for (const pid of pids) {
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      const runtimeFlags = argv.slice(1, argv.findIndex((a) => a.endsWith('.ts')));
      for (const flag of ['--single-threaded', '--no-memory-reducer', '--heap-growing-percent=100', '--max-semi-space-size=2']) {
        assert.ok(runtimeFlags.includes(flag), `pid ${pid} lacks ${flag}: ${runtimeFlags.join(' ')}`);
      }
    }
  });

  test('new connections land on both workers', async () => {
    const start = requestsByWorker(await martello.debugConfig());
    // Each request on its own connection; the kernel picks a worker per connection.
    for (let i = 0; i < 40; i++) {
      const r = await get(martello.httpPort, 'b.test', '/spread');
      assert.equal(r.status, 200);
    }
    const end = requestsByWorker(await martello.debugConfig());
    const served = end.map((n, i) => n - (start[i] ?? 0));
    assert.equal(served.reduce((a, b) => a + b, 0), 40);
    assert.ok(served.every((n) => n > 0), `both workers served requests: ${served.join(', ')}`);
    const metrics = await (await fetch(`http://127.0.0.1:${martello.adminPort}/metrics`)).text();
    const total = sumSamples(parseExposition(metrics), 'martello_http_requests_total');
    assert.equal(total, end.reduce((a, b) => a + b, 0), '/metrics sums the workers');
    assert.match(metrics, /^martello_worker_config_generation\{worker="2"\} \d+$/m);
    // Per-route counters are summed too, and every process reports its own gauges.
    const samples = parseExposition(metrics);
    assert.equal(sumSamples(samples, 'martello_http_requests_total', { service: 'svc-a', status: '2xx' }) >= 40, true);
    const processes = new Set(samples.filter((x) => x.name === 'martello_process_resident_memory_bytes').map((x) => x.labels['process']));
    assert.deepEqual([...processes].sort(), ['main', 'worker-1', 'worker-2']);
  });

  test('curl: plain HTTP/1.1, HTTPS with HTTP/1.1 and HTTP/2, through the workers', { skip: CURL === undefined && 'curl not installed (CI installs it)' }, async () => {
    const tls = ['--resolve', `a.test:${martello.httpsPort}:127.0.0.1`, '--cacert', caFile];
    for (let i = 0; i < 4; i++) {
      const plain = await curl(['-w', '\n%{http_code} %{http_version}', '-H', 'Host: b.test', `http://127.0.0.1:${martello.httpPort}/plain`]);
      assert.equal(plain.split('\n')[1], '200 1.1');
      const h1 = await curl([...tls, '--http1.1', '-w', '\n%{http_code} %{http_version}', `https://a.test:${martello.httpsPort}/h1`]);
      assert.equal(h1.split('\n')[1], '200 1.1');
      assert.equal((JSON.parse(h1.split('\n')[0]!) as EchoReply).headers['x-forwarded-proto'], 'https');
      const h2 = await curl([...tls, '--http2', '-w', '\n%{http_code} %{http_version}', `https://a.test:${martello.httpsPort}/h2`]);
      assert.equal(h2.split('\n')[1], '200 2');
    }
  });

  test('TLS sessions issued by one worker resume on the other (TLS 1.3 and 1.2)', async () => {
    for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
      const first = await tlsRequest(martello.httpsPort, ca.certPem, version);
      assert.equal(first.status, 'HTTP/1.1 200 OK');
      assert.ok(first.session !== undefined, `${version}: a session to resume`);
      const start = requestsByWorker(await martello.debugConfig());
      // New connections spread over both workers; every one must resume.
      for (let i = 0; i < 24; i++) {
        const again = await tlsRequest(martello.httpsPort, ca.certPem, version, first.session);
        assert.equal(again.status, 'HTTP/1.1 200 OK');
        assert.equal(again.reused, true, `${version}: connection ${i} resumed the session`);
      }
      const served = requestsByWorker(await martello.debugConfig()).map((n, i) => n - (start[i] ?? 0));
      assert.ok(served.every((n) => n > 0), `${version}: resumed on both workers: ${served.join(', ')}`);
    }
  });

  test('a configuration change reaches both workers, and /readyz is 200 only once both acknowledged it', async () => {
    const start = await martello.debugConfig();
    const w2 = start.workers[1]?.pid;
    assert.ok(typeof w2 === 'number');
    // A stopped worker cannot acknowledge: readiness must wait for it.
    process.kill(w2, 'SIGSTOP');
    try {
      const tmp = join(dir, '.ingress.tmp');
      await writeFile(tmp, ingress('/v2'));
      await rename(tmp, join(dir, 'ingress.yaml'));
      const changed = await martello.waitFor((c) => c.generation > start.generation && c.workers[0]!.generation === c.generation);
      assert.equal(changed.workers[1]!.generation, start.generation, 'the stopped worker is still on the old generation');
      assert.equal(changed.workers[1]!.ready, false);
      assert.equal(await readyz(), 503, 'not ready while a live worker has not acknowledged');
    } finally {
      process.kill(w2, 'SIGCONT');
    }
    const done = await martello.waitFor((c) => c.workers.every((w) => w.ready));
    assert.ok(done.workers.every((w) => w.generation === done.generation));
    assert.equal(await readyz(), 200);
    const metrics = await (await fetch(`http://127.0.0.1:${martello.adminPort}/metrics`)).text();
    assert.match(metrics, new RegExp(`^martello_worker_config_generation\\{worker="1"\\} ${done.generation}$`, 'm'));
    assert.match(metrics, new RegExp(`^martello_worker_config_generation\\{worker="2"\\} ${done.generation}$`, 'm'));
  });

  test('killing one worker does not disturb a keep-alive connection to the other; it is replaced and its restarts counted', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(martello.httpPort, 'b.test', '/keep', agent);
      assert.equal(first.status, 200);
      const socket = first.socket;
      // Which worker holds the connection: the one with an open connection (no other traffic now).
      const holding = await martello.waitFor((c) => c.workers.filter((w) => w.activeConnections > 0).length === 1);
      const keeper = holding.workers.find((w) => w.activeConnections > 0)!;
      const victim = holding.workers.find((w) => w.activeConnections === 0)!;
      assert.ok(victim.pid !== null);
      workerPids.add(victim.pid);

      const failures: string[] = [];
      const sockets = new Set<Socket>([socket]);
      let sent = 0;
      const control = { stop: false };
      const traffic = (async () => {
        while (!control.stop) {
          try {
            const r = await get(martello.httpPort, 'b.test', '/keep', agent);
            sent++;
            sockets.add(r.socket);
            if (r.status !== 200) failures.push(`status ${r.status}`);
          } catch (err) {
            failures.push((err as Error).message);
          }
          // Pacing, not synchronisation: stay well below the 1000 requests a
          // connection may carry (max-requests-per-socket) while the replacement starts.
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      process.kill(victim.pid, 'SIGKILL');
      const sentAtKill = sent;
      const replaced = await martello.waitFor((c) => {
        const w = c.workers.find((x) => x.worker === victim.worker)!;
        return w.restarts === 1 && w.state === 'listening' && w.pid !== victim.pid && w.ready;
      }, 20_000);
      control.stop = true;
      await traffic;
      for (const w of replaced.workers) if (w.pid !== null) workerPids.add(w.pid);
      assert.deepEqual(failures, []);
      assert.ok(sent > sentAtKill, 'requests ran on the keep-alive connection while the worker was replaced');
      assert.equal(sockets.size, 1, 'every request used the same connection');
      const keeperNow = replaced.workers.find((w) => w.worker === keeper.worker)!;
      assert.equal(keeperNow.pid, keeper.pid, 'the other worker kept running');
      assert.equal(keeperNow.restarts, 0);
      assert.ok(martello.logs.some((l) => l['msg'] === 'worker exited unexpectedly; replacing it' && l['worker'] === victim.worker && l['signal'] === 'SIGKILL'));
      assert.equal(await readyz(), 200);
      // The replacement serves: new connections reach it too.
      const beforeSpread = requestsByWorker(replaced);
      for (let i = 0; i < 30; i++) assert.equal((await get(martello.httpPort, 'b.test', '/after')).status, 200);
      const served = requestsByWorker(await martello.debugConfig()).map((n, i) => n - (beforeSpread[i] ?? 0));
      assert.ok(served.every((n) => n > 0), `both workers serve after the replacement: ${served.join(', ')}`);
    } finally {
      agent.destroy();
    }
  });

  test('SIGTERM: /readyz turns 503, in-flight requests finish, the workers exit and the process exits 0', async () => {
    const pids = (await workers()).map((w) => w.pid!);
    const inFlight = get(martello.httpPort, 'b.test', '/slow');
    await slow.arrived();
    const exited = new Promise<number | null>((resolve) => martello.child.once('exit', (code) => resolve(code)));
    martello.child.kill('SIGTERM');
    // The admin listener stays up while the workers drain.
    let status = 200;
    while (status === 200) status = await readyz();
    assert.equal(status, 503);
    slow.release();
    const reply = await inFlight;
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'slow done');
    exitCode = await exited;
    assert.equal(exitCode, 0);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} has exited`);
  });
});
