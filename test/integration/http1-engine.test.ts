// The real `martello serve --http1-engine martello` process with curl as the
// client: routing, forwarding headers, an upload with Expect: 100-continue,
// keep-alive over several URLs on one connection, a refused smuggling
// attempt, and a clean exit on SIGTERM.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../support/echo-backend.ts';
import { ingressYaml, serviceYaml } from '../support/manifests.ts';
import { startMartello, type MartelloProcess } from '../support/martello-process.ts';

const run = promisify(execFile);

describe('martello serve --http1-engine martello', () => {
  let dir: string;
  let backend: EchoBackend;
  let martello: MartelloProcess;
  let haveCurl = true;

  before(async () => {
    try {
      await run('curl', ['--version']);
    } catch {
      haveCurl = false;
    }
    dir = await mkdtemp(join(tmpdir(), 'martello-engine-'));
    backend = await startEchoBackend('e1');
    await writeFile(join(dir, 'services.yaml'), serviceYaml({ name: 'svc', endpointPorts: [backend.port] }));
    await writeFile(join(dir, 'ingress.yaml'), ingressYaml('web', [{ host: 'e.test', paths: [{ path: '/', service: 'svc' }] }]));
    martello = await startMartello(dir, ['--http1-engine', 'martello']);
    await martello.waitFor((c) => c.generation >= 1);
  });

  after(async () => {
    const code = await martello?.stop();
    await backend?.close();
    await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'martello exits 0 on SIGTERM');
  });

  test('curl: routed, forwarding headers set, keep-alive across URLs, upload with 100-continue', async (t) => {
    if (!haveCurl) {
      t.skip('curl is not installed (CI installs it): apt-get install curl');
      return;
    }
    const base = `http://127.0.0.1:${martello.httpPort}`;
    const { stdout } = await run('curl', ['-sS', '-H', 'Host: e.test', '-w', '\n%{http_code} %{num_connects}\n', `${base}/one`, `${base}/two?x=1`]);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 4, stdout);
    const first = JSON.parse(lines[0]!) as EchoReply;
    assert.equal(first.url, '/one');
    assert.equal(first.headers['x-forwarded-host'], 'e.test');
    assert.equal(first.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(lines[1], '200 1');
    assert.equal((JSON.parse(lines[2]!) as EchoReply).url, '/two?x=1');
    assert.equal(lines[3], '200 0', 'the second URL reused the connection');

    const body = join(dir, 'upload.bin');
    await writeFile(body, Buffer.alloc(2 * 1024 * 1024, 9));
    const up = await run('curl', ['-sS', '-H', 'Host: e.test', '-H', 'Expect: 100-continue', '--data-binary', `@${body}`, `${base}/upload`]);
    assert.equal((JSON.parse(up.stdout) as EchoReply).bodyBytes, 2 * 1024 * 1024);
  });

  test('a CL.TE smuggling attempt is answered 400 and the connection closed', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const s = connect(martello.httpPort, '127.0.0.1');
      let got = '';
      s.setTimeout(10_000, () => s.destroy(new Error('no close within 10 s')));
      s.on('data', (d: Buffer) => (got += d.toString('latin1')));
      s.on('error', reject);
      s.on('close', () => resolve(got));
      s.write('POST / HTTP/1.1\r\nHost: e.test\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG');
    });
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.match(text, /\r\nconnection: close\r\n/i);
  });
});
