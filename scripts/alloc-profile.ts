// Where the data path allocates, per request: a ProxyServer (martello engine)
// in this process, a fixed-answer backend in a child process, and wrk as the
// client (h2load with --h2). Bytes allocated per request come from V8's own counter
// (total_allocated_bytes); the sites come from the inspector's sampling heap
// profiler with collected objects included, so short-lived garbage counts
// (that is what the scavenger pays for). Unlike requests/s on a shared
// machine, both figures barely move between runs: use them to check that a
// change allocates less. Needs wrk (Debian package).
//
//   node_modules/.bin/node scripts/alloc-profile.ts [--seconds 5] [--conns 50] [--top 30] [--access-log PATH] [--h2 [--streams 10]]
//
// --access-log PATH turns the JSON access log on (written to PATH), to see
// what the log adds per request.
//
// --h2 measures HTTP/2 over TLS instead (the engine's core-stream path,
// forwarded to the same HTTP/1.1 backend): a self-signed ECDSA certificate
// made at start, and h2load (Debian: nghttp2-client) as the client with
// --conns connections and --streams concurrent streams on each (default 10).

import { execFile, spawn } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { DEFAULT_OBSERVABILITY } from '../src/dataplane/proxy/options.ts';
import { startProxy, type ModelSpec, type StartOptions } from '../src/dataplane/proxy/test-support/harness.ts';
import { issueCertificate } from '../src/shared/pki/certificate.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    conns: { type: 'string', default: '50' },
    top: { type: 'string', default: '30' },
    'access-log': { type: 'string', default: 'off' },
    h2: { type: 'boolean', default: false },
    streams: { type: 'string', default: '10' },
  },
});
const h2 = values.h2;

// The backend answers every request with the same ~100-byte response, without parsing beyond the blank line.
const BACKEND = `
const net = require('node:net');
const body = 'x'.repeat(100);
const answer = Buffer.from('HTTP/1.1 200 OK\\r\\ncontent-type: text/plain\\r\\ncontent-length: ' + body.length + '\\r\\n\\r\\n' + body);
const server = net.createServer((s) => {
  let pending = '';
  s.on('error', () => {});
  s.on('data', (d) => {
    pending += d.toString('latin1');
    let i;
    while ((i = pending.indexOf('\\r\\n\\r\\n')) !== -1) { pending = pending.slice(i + 4); s.write(answer); }
  });
});
server.listen(0, '127.0.0.1', () => process.send(server.address().port));
`;

interface ProfileNode {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly selfSize: number;
  readonly children: readonly ProfileNode[];
}

function wrk(port: number, seconds: number): Promise<string> {
  const args = ['-t1', `-c${values.conns}`, `-d${seconds}s`, '-H', 'Host: bench.local', `http://127.0.0.1:${port}/`];
  return new Promise((resolve, reject) => execFile('wrk', args, (err, stdout) => (err === null ? resolve(stdout) : reject(err))));
}

/** h2load over TLS to the proxy's TLS listener, SNI and :authority bench.local; resolves with the requests done. */
function h2load(port: number, seconds: number): Promise<number> {
  const args = ['-t', '1', '-c', values.conns, '-m', values.streams, '-D', String(seconds), '--connect-to', `127.0.0.1:${port}`, 'https://bench.local/'];
  return new Promise((resolve, reject) =>
    execFile('h2load', args, (err, stdout) => {
      const done = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded/.exec(stdout);
      if (err !== null || done === null || done[1] !== done[2]) reject(err ?? new Error(`h2load: ${stdout}`));
      else resolve(Number(done[1]));
    }),
  );
}

/** Runs the chosen client against the proxy; resolves with the requests done. */
async function load(ports: { port: number; tlsPort: number }, seconds: number): Promise<number> {
  if (h2) return h2load(ports.tlsPort, seconds);
  const out = await wrk(ports.port, seconds);
  return Number(/(\d+) requests in/.exec(out)?.[1] ?? 'NaN');
}

function frameName(n: ProfileNode): string {
  const cf = n.callFrame;
  return `${cf.functionName === '' ? '(anonymous)' : cf.functionName} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
}

/** Bytes by allocation site (the function and its two callers). */
function sites(head: ProfileNode): Map<string, number> {
  const bySite = new Map<string, number>();
  const stack: string[] = [];
  const walk = (n: ProfileNode): void => {
    const here = frameName(n);
    if (n.selfSize > 0) {
      const key = [here, ...stack.slice(-2).toReversed()].join(' < ');
      bySite.set(key, (bySite.get(key) ?? 0) + n.selfSize);
    }
    stack.push(here);
    for (const c of n.children) walk(c);
    stack.pop();
  };
  walk(head);
  return bySite;
}

const backend = spawn(process.execPath, ['-e', BACKEND], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const backendPort = await new Promise<number>((resolve) => backend.once('message', (m) => resolve(Number(m))));
let spec: ModelSpec = { hosts: [{ host: 'bench.local', routes: [{ path: '/', cluster: 'b' }] }], clusters: { b: [backendPort] } };
let start: StartOptions = {};
if (h2) {
  const { certPem, keyPem } = issueCertificate({ commonName: 'bench.local', dnsNames: ['bench.local'], keyType: 'ec-p256' });
  spec = { ...spec, tls: { hosts: { 'bench.local': 'bench' }, certificates: { bench: { certPem, keyPem } } } };
  start = { fallbackCertificate: { certPem, keyPem } };
}
const proxy = await startProxy(spec, { engine: 'martello', observability: { ...DEFAULT_OBSERVABILITY, accessLog: values['access-log'] } }, start);
try {
  await load(proxy, 2); // warm-up: compiled code, pooled upstream connections
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const before = getHeapStatistics().total_allocated_bytes;
  const requests = await load(proxy, Number(values.seconds));
  const allocated = getHeapStatistics().total_allocated_bytes - before;
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: ProfileNode } };
  session.disconnect();
  console.log(`${requests} requests, ${(allocated / requests).toFixed(0)} bytes allocated per request (V8 total_allocated_bytes)`);
  const bySite = sites(profile.head);
  const sampled = [...bySite.values()].reduce((a, b) => a + b, 0);
  for (const [site, bytes] of [...bySite].toSorted((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
    console.log(`${((bytes / sampled) * 100).toFixed(1).padStart(5)}%  ${(bytes / requests).toFixed(0).padStart(4)} B/req  ${site}`);
  }
} finally {
  await proxy.close();
  backend.kill();
}
