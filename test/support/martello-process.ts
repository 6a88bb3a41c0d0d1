// Runs the real `bin/martello serve` as a child process for behaviour tests:
// listeners on 127.0.0.1 port 0 (the bound ports are read from its log),
// and helpers that wait on its configuration generation, never on sleeps.
// One data-plane process (`--workers 1`) unless the test passes --workers:
// the CLI default is one worker per CPU, which would make every test depend
// on the machine.

import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

export const REPO_ROOT = join(dirname(new URL(import.meta.url).pathname), '..', '..');
export const MARTELLO_BIN = join(REPO_ROOT, 'bin', 'martello');

export interface DebugConfig {
  readonly generation: number;
  readonly rebuilds: number;
  readonly routes: ReadonlyArray<{ host: string; match: string; cluster: string; endpoints: string[] }>;
  readonly diagnostics: readonly string[];
  /** Kubernetes mode only. */
  readonly kubernetes?: { readonly connected: boolean; readonly stale: boolean };
  readonly leader?: { readonly identity: string; readonly isLeader: boolean; readonly holder: string | null };
  /** The data-plane processes (one entry, this process, with --workers 1). */
  readonly workers: readonly WorkerInfo[];
}

export interface WorkerInfo {
  readonly worker: number;
  readonly pid: number | null;
  readonly state: 'starting' | 'listening' | 'draining' | 'down';
  readonly generation: number;
  readonly ready: boolean;
  readonly restarts: number;
  readonly requests: number;
  readonly activeConnections: number;
}

export interface MartelloProcess {
  readonly httpPort: number;
  /** The TLS listener (HTTPS and HTTP/2). */
  readonly httpsPort: number;
  readonly adminPort: number;
  readonly child: ChildProcess;
  /** Every log line so far (parsed JSON). */
  readonly logs: Array<Record<string, unknown>>;
  /** Every access log line so far (stdout, raw). */
  readonly accessLog: string[];
  debugConfig(): Promise<DebugConfig>;
  /** Resolves once the debug view satisfies `until`; rejects after `deadlineMs` with the last view. */
  waitFor(until: (c: DebugConfig) => boolean, deadlineMs?: number): Promise<DebugConfig>;
  stop(): Promise<number | null>;
}

/** `martello serve --manifests DIR` on ephemeral loopback ports. */
export function startMartello(manifestsDir: string, extraArgs: readonly string[] = []): Promise<MartelloProcess> {
  return startMartelloCommand(['serve', '--manifests', manifestsDir, ...extraArgs]);
}

/** `martello controller --kubeconfig FILE` on ephemeral loopback ports, its namespace from POD_NAMESPACE. */
export function startController(kubeconfig: string, extraArgs: readonly string[] = [], env: Record<string, string> = {}): Promise<MartelloProcess> {
  return startMartelloCommand(['controller', '--kubeconfig', kubeconfig, '--allow-loopback-endpoints', ...extraArgs], { POD_NAMESPACE: 'default', ...env });
}

async function startMartelloCommand(args: readonly string[], env: Record<string, string> = {}): Promise<MartelloProcess> {
  const workers = args.some((a) => a === '--workers' || a.startsWith('--workers=')) ? [] : ['--workers', '1'];
  // Ephemeral loopback ports for every listener the caller did not choose.
  const listeners = ['--listen-http', '--listen-https', '--listen-admin'].filter((flag) => !args.includes(flag)).flatMap((flag) => [flag, '127.0.0.1:0']);
  const child = spawn(MARTELLO_BIN, [...args, ...workers, ...listeners], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const logs: Array<Record<string, unknown>> = [];
  const ports = new Map<string, number>();
  let notify: (() => void) | undefined;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry['msg'] === 'listening' && typeof entry['listener'] === 'string') ports.set(entry['listener'], Number(entry['port']));
    } catch {
      logs.push({ raw: line });
    }
    notify?.();
  });
  // stdout carries the access log (one line per request, JSON by default).
  const accessLog: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    accessLog.push(line);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`martello did not report its listeners within 20 s; log:\n${JSON.stringify(logs)}`)), 20_000);
    const check = (): void => {
      if (ports.has('http') && ports.has('https') && ports.has('admin')) {
        clearTimeout(timer);
        resolve();
      }
    };
    notify = check;
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`martello exited with ${code} before listening; log:\n${JSON.stringify(logs)}`));
    });
  });
  const adminPort = ports.get('admin')!;
  const debugConfig = async (): Promise<DebugConfig> => (await fetch(`http://127.0.0.1:${adminPort}/debug/config`)).json() as Promise<DebugConfig>;
  return {
    accessLog,
    httpPort: ports.get('http')!,
    httpsPort: ports.get('https')!,
    adminPort,
    child,
    logs,
    debugConfig,
    async waitFor(until, deadlineMs = 10_000) {
      const end = Date.now() + deadlineMs;
      let last: DebugConfig | undefined;
      while (Date.now() < end) {
        last = await debugConfig();
        if (until(last)) return last;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`condition not met within ${deadlineMs} ms; last /debug/config: ${JSON.stringify(last)}`);
    },
    stop() {
      if (child.exitCode !== null) return Promise.resolve(child.exitCode);
      return new Promise((resolve) => {
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      });
    },
  };
}
