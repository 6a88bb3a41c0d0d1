// Route propagation in Kubernetes mode: how long from creating an Ingress
// in the API server until the proxy answers 200 for its host, as the number
// of Ingresses grows to --routes (default 5,000).
//
//   node_modules/.bin/node bench/propagation.ts [--routes 5000] [--fill] [--cpu-prof DIR]
//
// Starts the in-repo test API server and one backend in this process, seeds
// the IngressClass `martello`, a Service `echo` and its EndpointSlice, starts
// the real `bin/martello controller` (pinned to CPU 0 with taskset; this
// process moves to CPU 1), then creates Ingresses r1..rN (host r<i>.bench,
// path /, to `echo`) one after another. For each it takes the time from the
// create call to the first 200 through the proxy, polling the host in a
// tight loop on a keep-alive undici client, at most --poll-deadline-ms per
// route. A second client meanwhile requests random hosts among those
// already routed and counts every answer other than 200 (must be none).
// The controller's RSS and CPU come from /proc/PID/stat.
//
// --fill measures every route only inside the reported windows (1-100,
// around the 1,000th, the last 100) and creates the routes between them in
// batches of 100 (each batch waited on until its last host answers), which
// takes minutes less; without it every route is measured.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Pool } from 'undici';
import {
  INGRESS_CLASS, REPO_ROOT, cpuShare, hasTaskset, ingressObj, intArg, ms, parseArgs, readProc, sampleProc,
  serviceObj, sliceObj, sleep, startApi, startBackend, startController, summarize, trimJournal, type Summary,
} from './kube/harness.ts';

const args = parseArgs(process.argv.slice(2), {
  routes: 'value', fill: 'flag', 'poll-deadline-ms': 'value', 'sample-interval-ms': 'value', 'cpu-prof': 'value', 'no-pin': 'flag', json: 'value',
});
const ROUTES = intArg(args, 'routes', 5_000);
const FILL = args.has('fill');
const POLL_DEADLINE_MS = intArg(args, 'poll-deadline-ms', 5_000);
const SAMPLE_INTERVAL_MS = intArg(args, 'sample-interval-ms', 5);
const PIN = !args.has('no-pin') && hasTaskset();
if (ROUTES < 1 || ROUTES > 20_000) throw new Error('--routes: 1..20000');

interface Window {
  readonly label: string;
  readonly from: number;
  readonly to: number;
}

/** The reported windows: 1st, 1-100, ~1,000th (951-1,050), the last 100. */
function windowsFor(n: number): Window[] {
  const w: Window[] = [{ label: '1st route', from: 1, to: 1 }, { label: `routes 1–${Math.min(100, n)}`, from: 1, to: Math.min(100, n) }];
  if (n >= 1_100) w.push({ label: 'routes 951–1,050 (~1,000th)', from: 951, to: 1_050 });
  if (n > 1_100) w.push({ label: `routes ${(n - 99).toLocaleString('en')}–${n.toLocaleString('en')} (last 100)`, from: n - 99, to: n });
  return w;
}

const windows = windowsFor(ROUTES);
const measured = (i: number): boolean => !FILL || windows.some((w) => i >= w.from && i <= w.to);

if (PIN) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

const fixture = await startApi();
const { api } = fixture;
const backend = await startBackend();
api.create(INGRESS_CLASS);
api.create(serviceObj('echo'));
api.create(sliceObj('echo', ['127.0.0.1'], backend.port));

const spawnedAt = performance.now();
const controller = await startController({
  kubeconfig: fixture.kubeconfig,
  cpus: PIN ? '0' : undefined,
  cpuProfDir: args.get('cpu-prof'),
});
const origin = `http://127.0.0.1:${controller.httpPort}`;
const adminOrigin = `http://127.0.0.1:${controller.adminPort}`;

// Ready: /readyz 200 (at most 60 s).
for (const end = performance.now() + 60_000; ;) {
  const ok = await fetch(`${adminOrigin}/readyz`).then((r) => r.status === 200, () => false);
  if (ok) break;
  if (performance.now() > end) throw new Error('controller not ready within 60 s');
  await sleep(10);
}
const readyMs = performance.now() - spawnedAt;
const proc = sampleProc(controller.pid, 1_000);

const poller = new Pool(origin, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });
const sampler = new Pool(origin, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });

/** Polls `host` until 200 or the deadline; returns the 200's time or undefined. */
async function pollUntil200(host: string, deadline: number): Promise<number | undefined> {
  for (let tries = 0; tries < 1_000_000; tries++) {
    const res = await poller.request({ path: '/', method: 'GET', headers: { host } });
    await res.body.dump();
    const now = performance.now();
    if (res.statusCode === 200) return now;
    if (now > deadline) return undefined;
  }
  return undefined;
}

// The second client: random already-routed hosts, one request every SAMPLE_INTERVAL_MS.
const routed: number[] = [];
const sample = { requests: 0, non200: 0, errors: 0, firstFailures: [] as string[] };
const control = { sampling: true };
const samplerEnd = performance.now() + 3_600_000; // bounded: one hour at most
const samplerDone = (async () => {
  for (let n = 0; n < 10_000_000 && control.sampling && performance.now() < samplerEnd; n++) {
    if (routed.length > 0) {
      const i = routed[Math.floor(Math.random() * routed.length)]!;
      try {
        const res = await sampler.request({ path: '/', method: 'GET', headers: { host: `r${i}.bench` } });
        await res.body.dump();
        sample.requests++;
        if (res.statusCode !== 200) {
          sample.non200++;
          if (sample.firstFailures.length < 10) sample.firstFailures.push(`r${i}.bench: ${res.statusCode}`);
        }
      } catch (err) {
        sample.errors++;
        if (sample.firstFailures.length < 10) sample.firstFailures.push(`r${i}.bench: ${(err as Error).message}`);
      }
    }
    await sleep(SAMPLE_INTERVAL_MS);
  }
})();

const latency = new Map<number, number>();
const timeouts: number[] = [];
const windowProc = new Map<string, { rssMb: number; cpu: number }>();
const t0 = performance.now();
let windowStart = proc.now();
const BATCH = 100;

console.error(`controller pid ${controller.pid} ready after ${ms(readyMs)} ms; creating ${ROUTES} Ingresses${FILL ? ' (--fill)' : ''}`);
for (let i = 1; i <= ROUTES;) {
  if (measured(i)) {
    if (windows.some((w) => w.from === i && w.to > 1)) windowStart = proc.now();
    const started = performance.now();
    api.create(ingressObj(`r${i}`, `r${i}.bench`, 'echo'));
    const ok = await pollUntil200(`r${i}.bench`, started + POLL_DEADLINE_MS);
    if (ok === undefined) timeouts.push(i);
    else latency.set(i, ok - started);
    routed.push(i);
    for (const w of windows) {
      if (w.to === i && w.to > 1) {
        const end = proc.now();
        if (windowStart !== undefined && end !== undefined) windowProc.set(w.label, { rssMb: end.rssMb, cpu: cpuShare(windowStart, end) });
      }
    }
    i++;
  } else {
    // Fill: a batch up to the next measured route, waited on through its last host.
    let last = i;
    while (last < ROUTES && last - i + 1 < BATCH && !measured(last + 1)) last++;
    for (let j = i; j <= last; j++) api.create(ingressObj(`r${j}`, `r${j}.bench`, 'echo'));
    const ok = await pollUntil200(`r${last}.bench`, performance.now() + 30_000);
    if (ok === undefined) throw new Error(`fill batch r${i}..r${last} not routed within 30 s`);
    for (let j = i; j <= last; j++) routed.push(j);
    i = last + 1;
  }
  if (i % 500 === 0) {
    trimJournal(api);
    const p = readProc(controller.pid);
    console.error(`  ${i} routes, ${((performance.now() - t0) / 1000).toFixed(0)} s, controller RSS ${p?.rssMb.toFixed(0)} MB`);
  }
}
const totalMs = performance.now() - t0;
// Let the sampler run on the full set for one more second.
await sleep(1_000);
control.sampling = false;
await samplerDone;
const samples = proc.stop();
const debug = await fetch(`${adminOrigin}/debug/config`).then((r) => r.json() as Promise<{ generation: number; rebuilds: number }>);

await poller.close();
await sampler.close();
await controller.stop();
await backend.close();
await fixture.close();

// ---------------------------------------------------------------- report
const rows: Array<{ label: string; s: Summary; rssMb?: number; cpu?: number }> = windows.map((w) => {
  const v: number[] = [];
  for (let i = w.from; i <= w.to; i++) {
    const l = latency.get(i);
    if (l !== undefined) v.push(l);
  }
  const p = windowProc.get(w.label);
  return { label: w.label, s: summarize(v), ...(p === undefined ? {} : { rssMb: p.rssMb, cpu: p.cpu }) };
});
const all = summarize([...latency.values()]);
const peakRss = Math.max(...samples.map((s) => s.rssMb));
const cpuTotal = samples.length > 1 ? cpuShare(samples[0]!, samples.at(-1)!) : Number.NaN;
const applySummary = summarize(controller.applyMs);

console.log(`\nRoute propagation, ${ROUTES} Ingresses${FILL ? ' (--fill: measured inside the windows only)' : ''}; controller ${PIN ? 'on CPU 0, this process on CPU 1' : 'not pinned'}`);
console.log(`controller ready ${ms(readyMs)} ms after spawn; total ${(totalMs / 1000).toFixed(1)} s; generation ${debug.generation}, rebuilds ${debug.rebuilds}`);
console.log('| routes | n | p50 ms | p90 ms | p99 ms | max ms | controller RSS MB | controller CPU |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of [...rows, { label: 'all measured', s: all, rssMb: peakRss, cpu: cpuTotal }]) {
  console.log(`| ${r.label} | ${r.s.n} | ${ms(r.s.p50)} | ${ms(r.s.p90)} | ${ms(r.s.p99)} | ${ms(r.s.max)} | ${r.rssMb?.toFixed(0) ?? '–'} | ${r.cpu === undefined ? '–' : `${(r.cpu * 100).toFixed(0)}%`} |`);
}
console.log(`rebuild+apply time as logged (translateMs): p50 ${ms(applySummary.p50)} ms, p99 ${ms(applySummary.p99)} ms, max ${ms(applySummary.max)} ms over ${applySummary.n} applies`);
console.log(`second client: ${sample.requests} requests to routed hosts, ${sample.non200} non-200, ${sample.errors} errors${sample.firstFailures.length > 0 ? `: ${sample.firstFailures.join('; ')}` : ''}`);
console.log(`timeouts (no 200 within ${POLL_DEADLINE_MS} ms): ${timeouts.length}${timeouts.length > 0 ? ` (${timeouts.slice(0, 10).join(', ')})` : ''}`);
const last = rows.at(-1)!;
const pass = last.s.p50 < 100 && last.s.p99 < 500 && sample.non200 === 0 && sample.errors === 0 && timeouts.length === 0;
console.log(`bar (at ${ROUTES}: p50 < 100 ms, p99 < 500 ms, zero non-200): ${pass ? 'MET' : 'MISSED'} (p50 ${ms(last.s.p50)}, p99 ${ms(last.s.p99)}, non-200 ${sample.non200 + sample.errors})`);

const result = {
  kind: 'propagation', at: new Date().toISOString(), routes: ROUTES, fill: FILL, pinned: PIN, readyMs, totalMs,
  windows: rows, all, peakRssMb: peakRss, cpuShare: cpuTotal, applyMs: applySummary, sample, timeouts,
  generation: debug.generation, rebuilds: debug.rebuilds, command: controller.command,
  rssTimeline: samples.filter((_, k) => k % 10 === 0).map((s) => ({ t: Math.round(s.t), rssMb: Math.round(s.rssMb) })),
};
const out = args.get('json') ?? join(REPO_ROOT, 'bench', 'results', `propagation-${result.at.replace(/[:.]/g, '-')}.json`);
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, `${JSON.stringify(result)}\n`);
console.log(`raw result: ${out}`);
process.exit(pass ? 0 : 1);
