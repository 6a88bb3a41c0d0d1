// Privilege split (docs/security.md): the model a worker receives carries
// the private keys of the certificates its hosts serve, and no other. The
// primary reads every Secret it watches; a Secret no served host uses (not
// referenced, referenced by another controller's Ingress, not covering the
// host that names it, only a CA bundle) must not travel to the workers.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { parseManifestFile } from '../../controlplane/sources/files/manifest-file.ts';
import type { RoutingModel } from '../../model/model.ts';
import { issueCertificate } from '../../shared/pki/certificate.ts';
import { DEFAULT_TRANSLATE_OPTIONS } from '../../translate/options.ts';
import { buildSnapshot } from '../../translate/snapshot.ts';
import { translate } from '../../translate/translate.ts';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

function tlsSecret(namespace: string, name: string, names: string[], type = 'kubernetes.io/tls'): { object: object; keyPem: string } {
  const leaf = issueCertificate({ commonName: names[0]!, dnsNames: names });
  return {
    keyPem: leaf.keyPem,
    object: { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type, data: { 'tls.crt': b64(leaf.certPem), 'tls.key': b64(leaf.keyPem), 'ca.crt': b64(leaf.certPem) } },
  };
}

function ingress(namespace: string, name: string, className: string, host: string, secretName: string, annotations: Record<string, string> = {}): object {
  return {
    apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace, annotations, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      ingressClassName: className,
      tls: [{ hosts: [host], secretName }],
      rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }],
    },
  };
}

test('a worker receives the keys of the certificates its hosts serve, and no other', () => {
  const served = tlsSecret('shop', 'a-cert', ['a.test']);
  const unreferenced = tlsSecret('shop', 'spare-cert', ['a.test']);
  const otherClass = tlsSecret('other', 'theirs-cert', ['theirs.test']);
  const notCovering = tlsSecret('shop', 'wrong-cert', ['x.test']);
  const opaque = tlsSecret('shop', 'opaque-cert', ['o.test'], 'Opaque');
  const caOnly = tlsSecret('shop', 'upstream-ca', ['backend.internal'], 'Opaque');
  const objects = [
    { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'martello' }, spec: { controller: 'martello.dev/ingress-controller' } },
    { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } },
    served.object, unreferenced.object, otherClass.object, notCovering.object, opaque.object, caOnly.object,
    ingress('shop', 'a', 'martello', 'a.test', 'a-cert', { 'nginx.ingress.kubernetes.io/proxy-ssl-secret': 'shop/upstream-ca' }),
    ingress('other', 'theirs', 'nginx', 'theirs.test', 'theirs-cert'),
    ingress('shop', 'c', 'martello', 'c.test', 'wrong-cert'),
    ingress('shop', 'o', 'martello', 'o.test', 'opaque-cert'),
    // Another namespace naming the same Secret name gets its own namespace's (missing) Secret.
    ingress('evil', 'steal', 'martello', 'steal.test', 'a-cert'),
  ];
  const parsed = parseManifestFile('objects.yaml', objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n'));
  assert.equal(parsed.objects.length, objects.length, 'every manifest decodes');
  const model = translate(buildSnapshot(parsed.objects.map((o) => o.object)), DEFAULT_TRANSLATE_OPTIONS, { now: Date.now() }).model;

  assert.deepEqual(model.certificates.map((c) => c.id), ['shop/a-cert']);
  assert.deepEqual(model.tlsHosts.map((h) => [h.host, h.certificate]), [
    ['a.test', 'shop/a-cert'], ['c.test', null], ['o.test', null], ['steal.test', null],
  ]);
  // Exactly what goes over IPC (worker-pool.ts sends {type, generation, model} as JSON).
  const wire = JSON.stringify({ type: 'model', generation: 1, model });
  const received = JSON.parse(wire) as { model: RoutingModel };
  assert.equal(received.model.certificates[0]?.keyPem, served.keyPem);
  assert.ok(wire.includes(keyBody(served.keyPem)), 'the probe finds a key that is sent');
  for (const [what, secret] of Object.entries({ unreferenced, otherClass, notCovering, opaque, caOnly })) {
    assert.ok(!wire.includes(keyBody(secret.keyPem)), `the private key of ${what} is not sent to workers`);
  }
});

/** The key-specific end of a PEM key's base64 body (the start is the same ASN.1 header in every P-256 key). */
function keyBody(pem: string): string {
  return pem.split('\n').filter((l) => l !== '' && !l.startsWith('-----')).join('').slice(-40);
}
