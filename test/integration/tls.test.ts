// TLS termination in the real `martello serve` process, driven by real
// clients: curl (--resolve for SNI, --cacert, --http2), openssl s_client for
// handshake details, and node:https for load with a new TLS connection per
// request. Certificates come from a throwaway CA made per run; Secrets are
// files in the manifests directory, replaced the way cert-manager replaces
// them. Waits on /debug/config generations, never on sleeps.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../support/echo-backend.ts';
import { serviceYaml } from '../support/manifests.ts';
import { startMartello, type MartelloProcess } from '../support/martello-process.ts';
import { createTestCa, type TestCa, tlsSecretManifest } from '../support/pki.ts';

const run = promisify(execFile);
const CURL = existsSync('/usr/bin/curl') ? '/usr/bin/curl' : undefined;
const OPENSSL = existsSync('/usr/bin/openssl') ? '/usr/bin/openssl' : undefined;

const INGRESS = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: shop, namespace: default }
spec:
  tls:
    - { hosts: [a.test], secretName: a-cert }
    - { hosts: ["*.wild.test"], secretName: wild-cert }
  rules:
    - host: a.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: svc-a, port: { number: 80 } } } }] }
    - host: "*.wild.test"
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: svc-a, port: { number: 80 } } } }] }
    - host: b.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: svc-b, port: { number: 80 } } } }] }
`;

interface Fetched {
  readonly status: number;
  readonly fingerprint: string;
  readonly body: string;
}

/** One HTTPS request on a new TLS connection, reporting the certificate it was served with. */
function fetchOnNewConnection(port: number, ca: string, servername: string, path = '/'): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, servername, ca, headers: { host: servername }, agent: false }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, fingerprint, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.end();
  });
}

/** `openssl s_client` against the TLS listener; its whole output (it exits non-zero on a refused handshake). */
async function openssl(port: number, args: string[]): Promise<string> {
  const { stdout } = await run('/bin/sh', ['-c', `${OPENSSL} s_client -connect 127.0.0.1:${port} ${args.join(' ')} </dev/null 2>&1 || true`]);
  return stdout;
}

function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

describe('martello serve: TLS', () => {
  let dir: string;
  let ca: TestCa;
  let caFile: string;
  let a: EchoBackend;
  let b: EchoBackend;
  let martello: MartelloProcess;
  let aCert: { certPem: string; keyPem: string };

  const writeSecret = async (name: string, pem: { certPem: string; keyPem: string }): Promise<void> => {
    // Write-then-rename: the file changes atomically, as a Kubernetes
    // Secret volume or an API update does.
    const tmp = join(dir, `.${name}.tmp`);
    await writeFile(tmp, tlsSecretManifest({ namespace: 'default', name, ...pem }));
    await rename(tmp, join(dir, `secret-${name}.yaml`));
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'martello-tls-'));
    ca = createTestCa();
    caFile = join(dir, '..', `${dir.split('/').pop()}-ca.pem`);
    await writeFile(caFile, ca.certPem);
    [a, b] = await Promise.all([startEchoBackend('a'), startEchoBackend('b')]);
    aCert = ca.issue(['a.test']);
    await writeFile(join(dir, 'services.yaml'), [
      serviceYaml({ name: 'svc-a', endpointPorts: [a.port] }),
      serviceYaml({ name: 'svc-b', endpointPorts: [b.port] }),
    ].join('---\n'));
    await writeSecret('a-cert', aCert);
    await writeSecret('wild-cert', ca.issue(['*.wild.test'], { keyType: 'rsa-2048' }));
    await writeFile(join(dir, 'ingress.yaml'), INGRESS);
    martello = await startMartello(dir);
    await martello.waitFor((c) => c.generation >= 1 && c.routes.length === 3);
  });

  after(async () => {
    const code = await martello?.stop();
    await Promise.all([a, b].map((x) => x?.close()));
    await rm(dir, { recursive: true, force: true });
    await rm(caFile, { force: true });
    assert.equal(code, 0, 'martello exits 0 on SIGTERM');
  });

  const curl = async (args: string[]): Promise<string> => (await run(CURL!, ['-sS', '--max-time', '10', ...args])).stdout;
  const resolveTo = (host: string): string[] => ['--resolve', `${host}:${martello.httpsPort}:127.0.0.1`, '--cacert', caFile];

  test('curl over HTTPS: HTTP/1.1 and HTTP/2 (ALPN) route by host with the certificate for the SNI name', { skip: CURL === undefined && 'curl not installed (CI installs it)' }, async () => {
    const h1 = await curl([...resolveTo('a.test'), '--http1.1', '-w', '\n%{http_code} %{http_version}', `https://a.test:${martello.httpsPort}/one?x=1`]);
    const [body1, status1] = h1.split('\n');
    assert.equal(status1, '200 1.1');
    assert.equal((JSON.parse(body1!) as EchoReply).backend, 'a');
    const h2 = await curl([...resolveTo('x.wild.test'), '--http2', '-w', '\n%{http_code} %{http_version}', `https://x.wild.test:${martello.httpsPort}/two`]);
    const [body2, status2] = h2.split('\n');
    assert.equal(status2, '200 2');
    const reply = JSON.parse(body2!) as EchoReply;
    assert.equal(reply.backend, 'a');
    assert.equal(reply.headers['x-forwarded-proto'], 'https');
    // --cacert succeeded, so the chain verified for the name: now check HSTS.
    const head = await curl([...resolveTo('a.test'), '-o', '/dev/null', '-D', '-', `https://a.test:${martello.httpsPort}/`]);
    assert.match(head, /strict-transport-security: max-age=31536000; includeSubDomains/i);
  });

  test('openssl s_client: SNI selects the certificate; no SNI gets the generated default; TLS 1.1 is refused', { skip: OPENSSL === undefined && 'openssl not installed' }, async () => {
    assert.match(await openssl(martello.httpsPort, ['-servername', 'a.test']), /subject=O ?= ?Martello, CN ?= ?a\.test/);
    assert.match(await openssl(martello.httpsPort, ['-servername', 'x.wild.test']), /subject=O ?= ?Martello, CN ?= ?\*\.wild\.test/);
    assert.match(await openssl(martello.httpsPort, ['-noservername']), /subject=O ?= ?Martello, CN ?= ?Martello Default Certificate/);
    const old = await openssl(martello.httpsPort, ['-servername', 'a.test', '-tls1_1']);
    assert.doesNotMatch(old, /subject=/, 'no certificate is sent over TLS 1.1');
  });

  test('plain HTTP to a TLS host gets a 308 to https; ACME HTTP-01 paths and hosts without TLS are served', { skip: CURL === undefined && 'curl not installed (CI installs it)' }, async () => {
    const redirect = await curl(['-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', '-H', 'Host: a.test', `http://127.0.0.1:${martello.httpPort}/cart?id=7`]);
    assert.equal(redirect, '308 https://a.test/cart?id=7');
    const acme = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: a.test', `http://127.0.0.1:${martello.httpPort}/.well-known/acme-challenge/abc`]);
    assert.equal(acme, '200');
    const plain = await curl(['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: b.test', `http://127.0.0.1:${martello.httpPort}/`]);
    assert.equal(plain, '200');
  });

  test('421 when the Host header names another virtual host than the SNI (curl --resolve)', { skip: CURL === undefined && 'curl not installed (CI installs it)' }, async () => {
    const status = await curl([...resolveTo('a.test'), '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: b.test', `https://a.test:${martello.httpsPort}/`]);
    assert.equal(status, '421');
    const h2 = await curl([...resolveTo('a.test'), '--http2', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: b.test', `https://a.test:${martello.httpsPort}/`]);
    assert.equal(h2, '421');
  });

  test('a renewed Secret serves new handshakes within a second, under load, with zero failed requests', async () => {
    const oldPrint = fingerprintOf(aCert.certPem);
    const renewed = ca.issue(['a.test']);
    const newPrint = fingerprintOf(renewed.certPem);
    const failures: string[] = [];
    const seen = { old: 0, renewed: 0 };
    const control = { stop: false };
    const started = Date.now();
    const loop = async (): Promise<void> => {
      while (!control.stop && Date.now() - started < 30_000) {
        try {
          const r = await fetchOnNewConnection(martello.httpsPort, ca.certPem, 'a.test', '/load');
          if (r.status !== 200) failures.push(`status ${r.status}`);
          else if (r.fingerprint === oldPrint) seen.old++;
          else if (r.fingerprint === newPrint) seen.renewed++;
          else failures.push(`unexpected certificate ${r.fingerprint}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const loops = [loop(), loop(), loop(), loop()];
    try {
      while (seen.old < 20 && Date.now() - started < 10_000) await new Promise((r) => setImmediate(r));
      const generation = (await martello.debugConfig()).generation;
      const written = Date.now();
      await writeSecret('a-cert', renewed);
      await martello.waitFor((c) => c.generation > generation);
      // First handshake that sees the renewal, measured from the file write.
      let latency = -1;
      while (Date.now() - written < 10_000) {
        const r = await fetchOnNewConnection(martello.httpsPort, ca.certPem, 'a.test');
        if (r.fingerprint === newPrint) {
          latency = Date.now() - written;
          break;
        }
      }
      assert.ok(latency >= 0, 'the renewed certificate is served');
      // The bar is one second; the file watcher's debounce is part of it. Wide margin for a noisy machine.
      assert.ok(latency < 3_000, `renewal served after ${latency} ms`);
      const atSwitch = seen.renewed;
      while (seen.renewed < atSwitch + 20 && Date.now() - started < 25_000) await new Promise((r) => setImmediate(r));
    } finally {
      control.stop = true;
      await Promise.all(loops);
    }
    assert.deepEqual(failures, [], 'no request failed across the renewal');
    assert.ok(seen.old >= 20 && seen.renewed >= 20, `served both certificates under load (${seen.old} old, ${seen.renewed} renewed)`);
    aCert = renewed;
  });

  test('a broken Secret is reported and the previous good certificate stays in use', async () => {
    const goodPrint = fingerprintOf(aCert.certPem);
    const other = ca.issue(['a.test']);
    await writeSecret('a-cert', { certPem: aCert.certPem, keyPem: other.keyPem });
    const config = await martello.waitFor((c) => c.diagnostics.some((d) => d.includes('tls-key-mismatch')));
    assert.ok(config.diagnostics.some((d) => d.includes('Secret default/a-cert') && d.includes('stays in use')), config.diagnostics.join('\n'));
    const r = await fetchOnNewConnection(martello.httpsPort, ca.certPem, 'a.test');
    assert.equal(r.status, 200);
    assert.equal(r.fingerprint, goodPrint, 'still the last good certificate');
    // The other hosts were never affected.
    assert.equal((await fetchOnNewConnection(martello.httpsPort, ca.certPem, 'x.wild.test')).status, 200);
    await writeSecret('a-cert', aCert);
    await martello.waitFor((c) => !c.diagnostics.some((d) => d.includes('tls-key-mismatch')));
  });
});
