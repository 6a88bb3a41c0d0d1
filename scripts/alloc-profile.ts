// Where the data path allocates, per request: a ProxyServer (martello engine)
// in this process, a fixed-answer backend in a child process, and wrk as the
// client. Bytes allocated per request come from V8's own counter
// (total_allocated_bytes); the sites come from the inspector's sampling heap
// profiler with collected objects included, so short-lived garbage counts
// (that is what the scavenger pays for). Unlike requests/s on a shared
// machine, both figures barely move between runs: use them to check that a
// change allocates less. Needs wrk (Debian package).
//
//   node_modules/.bin/node scripts/alloc-profile.ts [--seconds 5] [--conns 50] [--top 30] [--access-log PATH]
//
// --access-log PATH turns the JSON access log on (written to PATH), to see
// what the log adds per request.

import { execFile, spawn } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { DEFAULT_OBSERVABILITY } from '../src/dataplane/proxy/options.ts';
import { startProxy } from '../src/dataplane/proxy/test-support/harness.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, conns: { type: 'string', default: '50' }, top: { type: 'string', default: '30' }, 'access-log': { type: 'string', default: 'off' } } });

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
const proxy = await startProxy({ hosts: [{ host: 'bench.local', routes: [{ path: '/', cluster: 'b' }] }], clusters: { b: [backendPort] } }, { engine: 'martello', observability: { ...DEFAULT_OBSERVABILITY, accessLog: values['access-log'] } });
try {
  await wrk(proxy.port, 2); // warm-up: compiled code, pooled upstream connections
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const before = getHeapStatistics().total_allocated_bytes;
  const out = await wrk(proxy.port, Number(values.seconds));
  const allocated = getHeapStatistics().total_allocated_bytes - before;
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: ProfileNode } };
  session.disconnect();
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 'NaN');
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
