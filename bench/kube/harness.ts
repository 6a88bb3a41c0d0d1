// Shared harness of the Kubernetes-mode benchmarks (bench/propagation.ts,
// bench/scale.ts): the in-repo test API server in this process, echo
// backends, the real `bin/martello controller` as a child process (pinned
// with taskset when asked), /proc sampling of its RSS and CPU, and
// percentiles. Everything listens on 127.0.0.1; every wait is bounded.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { startTestApiServer, type TestApiServer } from '../../test/kube-apiserver/index.ts';

export const REPO_ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..');
export const MARTELLO_BIN = join(REPO_ROOT, 'bin', 'martello');

type Obj = Record<string, unknown>;

// ---------------------------------------------------------------- objects

export const INGRESS_CLASS: Obj = {
  apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'martello' },
  spec: { controller: 'martello.dev/ingress-controller' },
};

export function serviceObj(name: string, namespace = 'default'): Obj {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } };
}

/** An EndpointSlice of `svc` with one ready endpoint per address, all on `port`. */
export function sliceObj(svc: string, addresses: readonly string[], port: number, namespace = 'default', suffix = 'abc'): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `${svc}-${suffix}`, namespace, labels: { 'kubernetes.io/service-name': svc, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
    addressType: 'IPv4',
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
    ports: [{ name: 'http', port, protocol: 'TCP' }],
  };
}

export function ingressObj(name: string, host: string, service: string, namespace = 'default'): Obj {
  return {
    apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace },
    spec: {
      ingressClassName: 'martello',
      rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: 80 } } } }] } }],
    },
  };
}

// ---------------------------------------------------------------- backends

export interface Backend {
  readonly port: number;
  close(): Promise<void>;
}

/** A minimal keep-alive backend: 200 with a short body (by default "ok\n"; a name makes backends tell themselves apart). */
export async function startBackend(body = 'ok\n'): Promise<Backend> {
  const length = Buffer.byteLength(body);
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': length });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

// ---------------------------------------------------------------- API server

export interface ApiFixture {
  readonly api: TestApiServer;
  readonly kubeconfig: string;
  close(): Promise<void>;
}

export async function startApi(): Promise<ApiFixture> {
  // A large history so that the controller's watches never need a relist
  // while thousands of objects are written in a burst.
  const api = await startTestApiServer({ bookmarkIntervalMs: 5_000, historySize: 100_000 });
  const dir = await mkdtemp(join(tmpdir(), 'martello-kbench-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, api.kubeconfig(), { mode: 0o600 });
  return {
    api, kubeconfig,
    async close() {
      await api.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The journal of every API request grows without bound; a long benchmark trims it. */
export function trimJournal(api: TestApiServer): void {
  if (api.journal.length > 10_000) api.journal.splice(0, api.journal.length - 1_000);
}

// ---------------------------------------------------------------- controller

export interface Controller {
  readonly pid: number;
  readonly httpPort: number;
  readonly adminPort: number;
  readonly child: ChildProcess;
  readonly command: string;
  /** Milliseconds from spawn until the listeners were reported. */
  readonly listeningAfterMs: number;
  readonly logs: Array<Record<string, unknown>>;
  /** translateMs of every "configuration applied" line (translate + compare + apply + compile, as the loop logs it). */
  readonly applyMs: number[];
  stop(): Promise<void>;
}

export interface ControllerOptions {
  readonly kubeconfig: string;
  /** CPU list for taskset (e.g. "0"); none: not pinned. */
  readonly cpus?: string | undefined;
  /** Write a V8 CPU profile of the controller into this directory (created if missing). */
  readonly cpuProfDir?: string | undefined;
  readonly extraArgs?: readonly string[];
}

export function hasTaskset(): boolean {
  return spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Spawns `bin/martello controller` on ephemeral loopback ports and waits until it reports its listeners (at most `deadlineMs`). */
export async function startController(opts: ControllerOptions, deadlineMs = 120_000): Promise<Controller> {
  const args = [
    'controller', '--kubeconfig', opts.kubeconfig, '--allow-loopback-endpoints',
    '--listen-http', '127.0.0.1:0', '--listen-https', '127.0.0.1:0', '--listen-admin', '127.0.0.1:0',
    ...(opts.extraArgs ?? []),
  ];
  const pinned = opts.cpus !== undefined && hasTaskset();
  const file = pinned ? 'taskset' : MARTELLO_BIN;
  const argv = pinned ? ['-c', opts.cpus!, MARTELLO_BIN, ...args] : args;
  const env: NodeJS.ProcessEnv = { ...process.env, POD_NAMESPACE: 'default' };
  if (opts.cpuProfDir !== undefined) {
    mkdirSync(opts.cpuProfDir, { recursive: true });
    env['NODE_OPTIONS'] = `--cpu-prof --cpu-prof-dir=${opts.cpuProfDir}`;
  }
  const started = performance.now();
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const logs: Array<Record<string, unknown>> = [];
  const applyMs: number[] = [];
  const ports = new Map<string, number>();
  let notify: (() => void) | undefined;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      entry = { raw: line };
    }
    if (entry['msg'] === 'configuration applied' && typeof entry['translateMs'] === 'number') applyMs.push(entry['translateMs']);
    else if (logs.length < 5_000) logs.push(entry);
    if (entry['msg'] === 'listening' && typeof entry['listener'] === 'string') ports.set(entry['listener'], Number(entry['port']));
    notify?.();
  });
  child.stdout!.resume();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`controller did not report its listeners within ${deadlineMs} ms; log: ${JSON.stringify(logs.slice(-20))}`)), deadlineMs);
    notify = () => {
      if (ports.has('http') && ports.has('admin')) {
        clearTimeout(timer);
        notify = undefined;
        resolve();
      }
    };
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`controller exited with ${code}; log: ${JSON.stringify(logs.slice(-20))}`));
    });
  });
  const listeningAfterMs = performance.now() - started;
  return {
    // With taskset, the pid is the same process: taskset execs the command.
    pid: child.pid!,
    httpPort: ports.get('http')!,
    adminPort: ports.get('admin')!,
    child,
    command: [file, ...argv].join(' '),
    listeningAfterMs,
    logs,
    applyMs,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    }),
  };
}

// ---------------------------------------------------------------- /proc

export interface ProcSample {
  /** Milliseconds since the sampler started. */
  readonly t: number;
  readonly rssMb: number;
  /** user + system CPU time of the process so far, in ms. */
  readonly cpuMs: number;
}

const CLK_TCK = 100; // getconf CLK_TCK on Linux x86-64
const PAGE_KB = 4;

export function readProc(pid: number): { rssMb: number; cpuMs: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which is in parentheses and may hold spaces).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    const rssPages = Number(rest[21]);
    return { rssMb: (rssPages * PAGE_KB) / 1024, cpuMs: ((utime + stime) * 1000) / CLK_TCK };
  } catch {
    return undefined;
  }
}

/** Samples a process every `intervalMs`; stop() returns the samples. */
export function sampleProc(pid: number, intervalMs = 1_000): { samples: ProcSample[]; now(): ProcSample | undefined; stop(): ProcSample[] } {
  const t0 = performance.now();
  const samples: ProcSample[] = [];
  const now = (): ProcSample | undefined => {
    const p = readProc(pid);
    if (p === undefined) return undefined;
    const s = { t: performance.now() - t0, ...p };
    samples.push(s);
    return s;
  };
  now();
  const timer = setInterval(now, intervalMs);
  timer.unref();
  return {
    samples, now,
    stop() {
      clearInterval(timer);
      now();
      return samples;
    },
  };
}

/** CPU use (share of one core) between two samples. */
export function cpuShare(a: ProcSample, b: ProcSample): number {
  return b.t > a.t ? (b.cpuMs - a.cpuMs) / (b.t - a.t) : 0;
}

// ---------------------------------------------------------------- statistics

/** Nearest-rank percentile of an ascending-sorted list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN };
}

export const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '–');

export function sleep(msDelay: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, msDelay));
}

/** Parses `--name value` / `--flag` arguments into a map (numbers checked by the caller). */
export function parseArgs(argv: readonly string[], known: Record<string, 'value' | 'flag'>): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.replace(/^--/, '').split('=')[0]!;
    const kind = known[name];
    if (!a.startsWith('--') || kind === undefined) throw new Error(`unknown argument ${a}; known: ${Object.keys(known).map((k) => `--${k}`).join(' ')}`);
    if (kind === 'flag') out.set(name, 'true');
    else if (a.includes('=')) out.set(name, a.slice(a.indexOf('=') + 1));
    else {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      out.set(name, v);
    }
  }
  return out;
}

export function intArg(args: Map<string, string>, name: string, dflt: number): number {
  const v = args.get(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: expected a non-negative integer, got ${v}`);
  return n;
}
