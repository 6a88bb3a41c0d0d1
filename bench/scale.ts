// Scale in Kubernetes mode: start-to-ready time, memory and CPU of the real
// controller with many Ingresses and endpoints, and how fast one endpoint
// change reaches the proxy while EndpointSlices churn.
//
//   node_modules/.bin/node bench/scale.ts [--ingresses 5000] [--services 1000] [--endpoints-per-service 20]
//                                         [--churn-per-second 10] [--churn-seconds 60] [--cpu-prof DIR]
//
// Seeds the in-repo test API server (in this process) with the IngressClass,
// --services Services each with one EndpointSlice of --endpoints-per-service
// endpoints (addresses in 10.0.0.0/8, never dialled), and --ingresses
// Ingresses (host s<i>.scale, to Service svc<i mod services>), plus a probe:
// Ingress probe.scale → Service probe whose slice points at local backend A.
// Then starts `bin/martello controller` (CPU 0; this process on CPU 1) and
// takes the time from spawn to /readyz 200 and to the first 200 for
// probe.scale. Then churns: --churn-per-second EndpointSlice updates per
// second (one endpoint address of a random Service replaced) for
// --churn-seconds, and every 5 s moves the probe's slice between backend A
// and backend B, timing the update call to the first answer from the new
// backend through the proxy. RSS and CPU from /proc/PID/stat.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Pool } from 'undici';
import {
  INGRESS_CLASS, REPO_ROOT, cpuShare, hasTaskset, ingressObj, intArg, ms, parseArgs, readProc, sampleProc,
  serviceObj, sleep, sliceObj, startApi, startBackend, startController, summarize, trimJournal,
} from './kube/harness.ts';

const args = parseArgs(process.argv.slice(2), {
  ingresses: 'value', services: 'value', 'endpoints-per-service': 'value', 'churn-per-second': 'value', 'churn-seconds': 'value',
  'probe-every-ms': 'value', 'cpu-prof': 'value', 'no-pin': 'flag', json: 'value',
});
const INGRESSES = intArg(args, 'ingresses', 5_000);
const SERVICES = intArg(args, 'services', 1_000);
const EPS = intArg(args, 'endpoints-per-service', 20);
const CHURN_RATE = intArg(args, 'churn-per-second', 10);
const CHURN_SECONDS = intArg(args, 'churn-seconds', 60);
const PROBE_EVERY_MS = intArg(args, 'probe-every-ms', 5_000);
const PIN = !args.has('no-pin') && hasTaskset();
if (SERVICES < 1 || INGRESSES < 1 || EPS < 1 || EPS > 1_000 || SERVICES * EPS > 200_000) throw new Error('sizes out of range');
if (CHURN_SECONDS > 600 || CHURN_RATE > 1_000) throw new Error('churn out of range');

if (PIN) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });


/** Endpoint address j of Service s, varied by `gen` so that every churn step changes it. */
const address = (s: number, j: number, gen: number): string => `10.${(s >> 8) & 255}.${s & 255}.${(j + gen * EPS) % 250 + 1}`;

const fixture = await startApi();
const { api } = fixture;
const [a, b] = await Promise.all([startBackend('A'), startBackend('B')]);

const seedStart = performance.now();
api.create(INGRESS_CLASS);
const gens: number[] = Array.from({ length: SERVICES }, () => 0);
for (let s = 0; s < SERVICES; s++) {
  api.create(serviceObj(`svc${s}`));
  api.create(sliceObj(`svc${s}`, Array.from({ length: EPS }, (_, j) => address(s, j, 0)), 8080));
}
for (let i = 0; i < INGRESSES; i++) api.create(ingressObj(`s${i}`, `s${i}.scale`, `svc${i % SERVICES}`));
api.create(serviceObj('probe'));
api.create(sliceObj('probe', ['127.0.0.1'], a.port));
api.create(ingressObj('probe', 'probe.scale', 'probe'));
const seedMs = performance.now() - seedStart;
console.error(`seeded ${INGRESSES} Ingresses, ${SERVICES} Services, ${SERVICES * EPS} endpoints in ${ms(seedMs)} ms`);

const spawnedAt = performance.now();
const controller = await startController({
  kubeconfig: fixture.kubeconfig,
  cpus: PIN ? '0' : undefined,
  cpuProfDir: args.get('cpu-prof'),
});
const proc = sampleProc(controller.pid, 500);
const adminOrigin = `http://127.0.0.1:${controller.adminPort}`;
for (const end = performance.now() + 120_000; ;) {
  if (await fetch(`${adminOrigin}/readyz`).then((r) => r.status === 200, () => false)) break;
  if (performance.now() > end) throw new Error('controller not ready within 120 s');
  await sleep(5);
}
const readyMs = performance.now() - spawnedAt;
const pool = new Pool(`http://127.0.0.1:${controller.httpPort}`, { connections: 1, keepAliveTimeout: 60_000 });

async function probeAnswer(): Promise<string> {
  const res = await pool.request({ path: '/', method: 'GET', headers: { host: 'probe.scale' } });
  const body = await res.body.text();
  return res.statusCode === 200 ? body : String(res.statusCode);
}

/** Polls the probe until it answers `want`; the time, or undefined after `deadlineMs`. */
async function pollFor(want: string, started: number, deadlineMs: number): Promise<number | undefined> {
  for (let tries = 0; tries < 1_000_000; tries++) {
    if ((await probeAnswer()) === want) return performance.now() - started;
    if (performance.now() - started > deadlineMs) return undefined;
  }
  return undefined;
}

const firstProbe = await pollFor('A', spawnedAt, 30_000);
await sleep(2_000); // let start-up work (status, events) settle before the idle sample
const idleStart = proc.now()!;
await sleep(5_000);
const idleEnd = proc.now()!;
const rssAfterReady = idleEnd.rssMb;

// Churn, with the probe moved between A and B every PROBE_EVERY_MS.
let probeOn = 'A';
const probeMs: number[] = [];
let probeTimeouts = 0;
let churnUpdates = 0;
let churnLate = 0;
const churnStart = proc.now()!;
const t0 = performance.now();
const churnDone = (async () => {
  const interval = 1_000 / Math.max(1, CHURN_RATE);
  for (let k = 0; k < CHURN_RATE * CHURN_SECONDS; k++) {
    const due = t0 + k * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -interval) churnLate++;
    if (CHURN_RATE === 0) break;
    const s = Math.floor(Math.random() * SERVICES);
    gens[s]! += 1;
    const current = api.get('discovery.k8s.io/v1', 'EndpointSlice', 'default', `svc${s}-abc`) as Record<string, unknown>;
    api.update({ ...current, endpoints: Array.from({ length: EPS }, (_, j) => ({ addresses: [address(s, j, gens[s]!)], conditions: { ready: true } })) });
    churnUpdates++;
    if (k % 100 === 0) trimJournal(api);
  }
})();
for (let next = t0 + 1_000; next + 1_000 < t0 + CHURN_SECONDS * 1_000; next += PROBE_EVERY_MS) {
  await sleep(Math.max(0, next - performance.now()));
  const want = probeOn === 'A' ? 'B' : 'A';
  const current = api.get('discovery.k8s.io/v1', 'EndpointSlice', 'default', 'probe-abc') as Record<string, unknown>;
  const started = performance.now();
  api.update({ ...current, ports: [{ name: 'http', port: want === 'A' ? a.port : b.port, protocol: 'TCP' }] });
  const took = await pollFor(want, started, 10_000);
  if (took === undefined) probeTimeouts++;
  else probeMs.push(took);
  probeOn = want;
}
await churnDone;
const churnEnd = proc.now()!;
const samples = proc.stop();
const churnSamples = samples.filter((s) => s.t >= churnStart.t && s.t <= churnEnd.t);
const peakRss = Math.max(...samples.map((s) => s.rssMb));
const churnPeakRss = Math.max(...churnSamples.map((s) => s.rssMb));
const debug = await fetch(`${adminOrigin}/debug/config`).then((r) => r.json() as Promise<{ generation: number; rebuilds: number; routes: unknown[] }>);

await pool.close();
await controller.stop();
await Promise.all([a.close(), b.close()]);
await fixture.close();

const probe = summarize(probeMs);
const applies = summarize(controller.applyMs.slice(1));
console.log(`\nScale: ${INGRESSES} Ingresses, ${SERVICES} Services x ${EPS} endpoints = ${SERVICES * EPS} endpoints; controller ${PIN ? 'on CPU 0, this process on CPU 1' : 'not pinned'}`);
console.log('| measure | value |');
console.log('|---|---|');
console.log(`| start to /readyz 200 | ${ms(readyMs)} ms |`);
console.log(`| start to first 200 through the proxy | ${firstProbe === undefined ? 'timeout' : `${ms(firstProbe)} ms`} |`);
console.log(`| RSS after ready (idle) | ${rssAfterReady.toFixed(0)} MB |`);
console.log(`| CPU idle after ready | ${(cpuShare(idleStart, idleEnd) * 100).toFixed(1)}% of a core |`);
console.log(`| churn | ${churnUpdates} EndpointSlice updates in ${((churnEnd.t - churnStart.t) / 1000).toFixed(1)} s${churnLate > 0 ? ` (${churnLate} late)` : ''} |`);
console.log(`| CPU during churn | ${(cpuShare(churnStart, churnEnd) * 100).toFixed(0)}% of a core |`);
console.log(`| RSS peak during churn / overall | ${churnPeakRss.toFixed(0)} / ${peakRss.toFixed(0)} MB |`);
console.log(`| endpoint change to proxy, under churn | p50 ${ms(probe.p50)} ms, p90 ${ms(probe.p90)} ms, max ${ms(probe.max)} ms (n=${probe.n}, ${probeTimeouts} timeouts) |`);
console.log(`| rebuild+apply as logged (translateMs) | p50 ${ms(applies.p50)} ms, p99 ${ms(applies.p99)} ms, max ${ms(applies.max)} ms over ${applies.n} applies |`);
console.log(`| generation / rebuilds at the end | ${debug.generation} / ${debug.rebuilds} (${debug.routes.length} routes) |`);

const result = {
  kind: 'scale', at: new Date().toISOString(), ingresses: INGRESSES, services: SERVICES, endpointsPerService: EPS,
  churnPerSecond: CHURN_RATE, churnSeconds: CHURN_SECONDS, pinned: PIN, seedMs, readyMs, firstProbeMs: firstProbe,
  rssAfterReadyMb: rssAfterReady, idleCpu: cpuShare(idleStart, idleEnd), churnCpu: cpuShare(churnStart, churnEnd),
  churnPeakRssMb: churnPeakRss, peakRssMb: peakRss, churnUpdates, churnLate, probe, probeMs, probeTimeouts, applyMs: applies,
  generation: debug.generation, rebuilds: debug.rebuilds, command: controller.command,
  lastRss: readProc(controller.pid),
};
const out = args.get('json') ?? join(REPO_ROOT, 'bench', 'results', `scale-${result.at.replace(/[:.]/g, '-')}.json`);
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, `${JSON.stringify(result)}\n`);
console.log(`raw result: ${out}`);
