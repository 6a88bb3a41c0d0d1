// A large transfer through the martello engine must not pile up dead read
// buffers: the engine asks for a scavenge every RECLAIM_BYTES read, so the
// ArrayBuffer memory of this process stays far below V8's own ~64 MB
// external-memory limit while 128 MB go through (without the scavenges it
// climbs to that limit: checked by hand with RECLAIM_BYTES set to 1e15).
// The client is curl in its own process, so its reads are not counted here.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import { startProxy } from '../proxy/test-support/harness.ts';
import { RECLAIM_BYTES, readGarbageStats } from './read-garbage.ts';

const CHUNK = Buffer.alloc(1024 * 1024, 0x61);
const CHUNKS = 128;
const TOTAL = CHUNK.length * CHUNKS;

/** Answers every connection with one response of TOTAL bytes, written from one reused buffer. */
async function startBigBackend(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => {
      s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${TOTAL}\r\nconnection: close\r\n\r\n`);
      let sent = 0;
      const pump = (): void => {
        while (sent < CHUNKS) {
          sent++;
          if (!s.write(CHUNK)) {
            s.once('drain', pump);
            return;
          }
        }
        s.end();
      };
      pump();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

function curlAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const c = spawn('curl', ['--version'], { stdio: 'ignore' });
    c.on('error', () => resolve(false));
    c.on('exit', (code) => resolve(code === 0));
  });
}

test('a 128 MB download through the engine: scavenges requested per RECLAIM_BYTES read, dead read buffers stay far below 64 MB', async (t) => {
  if (!(await curlAvailable())) {
    t.skip('curl is not installed (CI installs it: .ci/run)');
    return;
  }
  assert.equal(readGarbageStats().available, true, 'this runtime lets the engine request scavenges');
  const backend = await startBigBackend();
  const proxy = await startProxy({ hosts: [{ host: '*', routes: [{ path: '/', cluster: 'b' }] }], clusters: { b: [backend.port] } }, { engine: 'martello' });
  try {
    const before = readGarbageStats().scavenges;
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    }, 10);
    const result = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const c = spawn('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', '-H', 'Host: big.test', `http://127.0.0.1:${proxy.port}/`]);
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.on('error', reject);
      c.on('exit', (code) => resolve({ code, out }));
    });
    clearInterval(sampler);
    assert.equal(result.code, 0);
    assert.equal(result.out, `200 ${TOTAL}`, 'the whole body arrived');
    const scavenges = readGarbageStats().scavenges - before;
    assert.ok(scavenges >= Math.floor(TOTAL / RECLAIM_BYTES) - 1, `${scavenges} scavenges requested for ${TOTAL} bytes read`);
    assert.ok(peak < 40 * 1024 * 1024, `ArrayBuffer memory peaked at ${(peak / 1048576).toFixed(1)} MiB`);
  } finally {
    await proxy.close();
    await new Promise((resolve) => backend.server.close(resolve));
  }
});
