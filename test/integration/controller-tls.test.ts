// TLS in Kubernetes mode: the real `martello controller` against the in-repo
// API server. Certificates come from kubernetes.io/tls Secrets read through
// the API (watched by field selector), a renewal is an update of the Secret
// as cert-manager writes it, a broken update is a Warning event on the
// Ingress while the last good certificate keeps serving, and
// --default-ssl-certificate names a Secret. Waits on /debug/config and the
// API server's state, never on sleeps.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startTestApiServer, type TestApiServer } from '../kube-apiserver/index.ts';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.ts';
import { eventually } from '../support/eventually.ts';
import { startController, type MartelloProcess } from '../support/martello-process.ts';
import { createTestCa, type TestCa, tlsSecretObject } from '../support/pki.ts';

type Obj = Record<string, unknown>;

/** The certificate a handshake with `servername` gets (no SNI when undefined). */
function servedFingerprint(port: number, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername === undefined ? {} : { servername }) }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.on('error', reject);
  });
}

const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256;


describe('martello controller: TLS from Secrets through the API', () => {
  let api: TestApiServer;
  let dir: string;
  let web: EchoBackend;
  let martello: MartelloProcess;
  let ca: TestCa;
  let current: { certPem: string; keyPem: string };
  let fallback: { certPem: string; keyPem: string };

  before(async () => {
    api = await startTestApiServer({ bookmarkIntervalMs: 500 });
    dir = await mkdtemp(join(tmpdir(), 'martello-controller-tls-'));
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, api.kubeconfig());
    web = await startEchoBackend('web');
    ca = createTestCa();
    current = ca.issue(['shop.test']);
    fallback = ca.issue(['fallback.test']);
    api.create({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'martello' }, spec: { controller: 'martello.dev/ingress-controller' } });
    api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
    api.create({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
      addressType: 'IPv4', endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }], ports: [{ name: '', port: web.port, protocol: 'TCP' }],
    });
    api.create(tlsSecretObject({ namespace: 'default', name: 'shop-tls', ...current }) as unknown as Obj);
    api.create(tlsSecretObject({ namespace: 'default', name: 'fallback-tls', ...fallback }) as unknown as Obj);
    api.create({
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'shop', namespace: 'default' },
      spec: {
        ingressClassName: 'martello',
        tls: [{ hosts: ['shop.test'], secretName: 'shop-tls' }],
        rules: [{ host: 'shop.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }],
      },
    });
    martello = await startController(kubeconfig, ['--default-ssl-certificate', 'default/fallback-tls']);
    await martello.waitFor((c) => c.generation >= 1 && c.routes.length === 1);
  });

  after(async () => {
    await martello?.stop();
    await web?.close();
    await api?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('SNI gets the Secret\'s certificate; unknown names and no SNI get --default-ssl-certificate', async () => {
    assert.equal(await servedFingerprint(martello.httpsPort, 'shop.test'), fingerprintOf(current.certPem));
    assert.equal(await servedFingerprint(martello.httpsPort, 'other.test'), fingerprintOf(fallback.certPem));
    assert.equal(await servedFingerprint(martello.httpsPort), fingerprintOf(fallback.certPem));
  });

  test('a Secret updated through the API (a renewal) serves new handshakes within a second', async () => {
    const renewed = ca.issue(['shop.test']);
    const started = Date.now();
    api.update(tlsSecretObject({ namespace: 'default', name: 'shop-tls', ...renewed }) as unknown as Obj);
    await eventually('renewed certificate served', async () => (await servedFingerprint(martello.httpsPort, 'shop.test')) === fingerprintOf(renewed.certPem) ? true : undefined, 10_000);
    const latency = Date.now() - started;
    // The bar is one second; the margin is for a shared, noisy machine.
    assert.ok(latency < 3_000, `renewal served after ${latency} ms`);
    current = renewed;
  });

  test('a broken Secret update is a Warning event on the Ingress; the last good certificate keeps serving', async () => {
    const wrongKey = ca.issue(['shop.test']).keyPem;
    api.update(tlsSecretObject({ namespace: 'default', name: 'shop-tls', certPem: current.certPem, keyPem: wrongKey }) as unknown as Obj);
    await martello.waitFor((c) => c.diagnostics.some((d) => d.includes('tls-key-mismatch')));
    assert.equal(await servedFingerprint(martello.httpsPort, 'shop.test'), fingerprintOf(current.certPem));
    const warning = await eventually('Warning event about the Secret', () => api.list('events.k8s.io/v1', 'Event', 'default')
      .find((e) => (e['regarding'] as { name?: string } | undefined)?.name === 'shop' && e['type'] === 'Warning' && String(e['note']).includes('shop-tls')));
    assert.match(String(warning['note']), /private key does not belong/);
  });
});
