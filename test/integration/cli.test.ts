// The command line as a user meets it: help, usage errors, `check` and `routes`.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ingressYaml } from '../support/manifests.ts';
import { MARTELLO_BIN, REPO_ROOT } from '../support/martello-process.ts';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function martello(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(MARTELLO_BIN, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('martello CLI', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'martello-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('--help lists every command, and each command has its own help', async () => {
    const top = await martello('--help');
    assert.equal(top.code, 0);
    for (const cmd of ['serve', 'controller', 'check', 'routes']) {
      assert.match(top.stdout, new RegExp(`^  ${cmd}\\b`, 'm'));
      const sub = await martello(cmd, '--help');
      assert.equal(sub.code, 0, `${cmd} --help`);
      assert.match(sub.stdout, new RegExp(`^Usage: martello ${cmd}`));
    }
  });

  test('usage mistakes exit 2 with a message naming the problem', async () => {
    const unknownFlag = await martello('serve', '--manifests', dir, '--bogus');
    assert.equal(unknownFlag.code, 2);
    assert.match(unknownFlag.stderr, /--bogus/);
    const workers = await martello('serve', '--manifests', dir, '--workers', '0');
    assert.equal(workers.code, 2);
    assert.match(workers.stderr, /--workers: expected a number of processes from 1/);
    const listen = await martello('serve', '--manifests', dir, '--listen-http', 'nonsense');
    assert.equal(listen.code, 2);
    assert.match(listen.stderr, /--listen-http: expected ADDR:PORT/);
    const noDir = await martello('check');
    assert.equal(noDir.code, 2);
    assert.match(noDir.stderr, /--manifests DIR is required/);
    assert.equal((await martello('frobnicate')).code, 2);
  });

  test('serve on a directory that does not exist fails clearly', async () => {
    const res = await martello('serve', '--manifests', join(dir, 'missing'), '--listen-http', '127.0.0.1:0', '--listen-admin', '127.0.0.1:0');
    assert.equal(res.code, 1);
    assert.match(res.stderr, /missing/);
  });

  test('check prints every problem with file, document, object and field, and exits 1 on errors', async () => {
    const sub = join(dir, 'check-bad');
    await rm(sub, { recursive: true, force: true });
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, 'apps.yaml'), [
      ingressYaml('good', [{ host: 'ok.test', paths: [{ path: '/', service: 'svc' }] }]),
      ingressYaml('bad', [{ host: 'bad.test', paths: [{ path: 'nope', service: 'svc' }] }]),
    ].join('---\n'));
    const res = await martello('check', '--manifests', sub);
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stdout, /^error: apps\.yaml#2 Ingress default\/bad spec\.rules\[0\]\.http\.paths\[0\]\.path: .*absolute/m);
    assert.match(res.stdout, /^error: apps\.yaml#1 Ingress default\/good spec\.rules\[0\]\.http\.paths\[0\]\.backend: Service default\/svc not found/m);
    assert.match(res.stdout, /1 Ingresses served, 2 errors/);
  });

  test('check exits 0 on the shipped examples, and routes prints their table', async () => {
    const examples = join(REPO_ROOT, 'examples');
    const check = await martello('check', '--manifests', examples);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /0 errors, 0 warnings/);
    const routes = await martello('routes', '--manifests', examples);
    assert.equal(routes.code, 0);
    assert.match(routes.stdout, /^HOST\s+MATCH\s+INGRESS\s+SERVICE\s+ENDPOINTS$/m);
    assert.match(routes.stdout, /^demo\.example\.com\s+exact \/\s+demo\/simple-fanout-example\s+demo\/home:80\s+127\.0\.0\.1:18084$/m);
    assert.match(routes.stdout, /^foo\.example\.com\s+prefix \/\s+demo\/name-virtual-host-ingress\s+demo\/foo:80\s+127\.0\.0\.1:18081,127\.0\.0\.1:18082$/m);
    const json = await martello('routes', '--manifests', examples, '--output', 'json');
    const lines = JSON.parse(json.stdout) as Array<{ host: string }>;
    assert.equal(lines.length, 5);
  });
});

