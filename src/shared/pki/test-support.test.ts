// test/support/pki.ts: the CA helper sorts names into the right SAN types,
// and its Secret manifest is one Martello's own decoder accepts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { decodeObject } from '../../k8s/decode.ts';
import { createTestCa, tlsSecretManifest, tlsSecretObject } from '../../../test/support/pki.ts';

test('createTestCa issues leaves for DNS names, wildcards and IP literals', () => {
  const ca = createTestCa();
  const caCert = new X509Certificate(ca.certPem);
  assert.equal(caCert.ca, true);
  assert.equal(caCert.subject, 'O=Martello\nCN=Martello Test CA');
  const leaf = ca.issue(['a.example.com', '*.b.example.com', '10.0.0.1', 'fd00::1']);
  const cert = new X509Certificate(leaf.certPem);
  assert.equal(cert.subject, 'O=Martello\nCN=a.example.com');
  assert.equal(cert.subjectAltName, 'DNS:a.example.com, DNS:*.b.example.com, IP Address:10.0.0.1, IP Address:FD00:0:0:0:0:0:0:1');
  assert.ok(cert.verify(caCert.publicKey));
  assert.ok(leaf.chainPem.endsWith(ca.certPem));

  const rsa = createTestCa({ keyType: 'rsa-2048', commonName: 'RSA CA' });
  const long = rsa.issue(['x'.repeat(63) + '.example.com'], { commonName: undefined, notAfter: new Date('2060-01-01T00:00:00Z') });
  const longCert = new X509Certificate(long.certPem);
  assert.equal(longCert.subject, 'O=Martello\nCN=Martello test leaf', 'names too long for a CN fall back');
  assert.equal(longCert.issuer, 'O=Martello\nCN=RSA CA');
  assert.equal(longCert.validToDate.getUTCFullYear(), 2060);
});

test('tlsSecretObject and tlsSecretManifest describe the same kubernetes.io/tls Secret', () => {
  const leaf = createTestCa().issue(['shop.example.com']);
  const spec = { namespace: 'shop', name: 'shop-tls', certPem: leaf.chainPem, keyPem: leaf.keyPem };
  const object = tlsSecretObject(spec);
  assert.deepEqual(object, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'shop-tls', namespace: 'shop' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(leaf.chainPem).toString('base64'), 'tls.key': Buffer.from(leaf.keyPem).toString('base64') },
  });
  const manifest = tlsSecretManifest(spec);
  assert.deepEqual(parse(manifest), object);
  assert.match(manifest, /^apiVersion: v1\nkind: Secret\n/);

  const decoded = decodeObject(parse(manifest));
  assert.equal(decoded.ok, true, JSON.stringify(decoded));
  if (decoded.ok !== true || decoded.object.kind !== 'Secret') return;
  assert.equal(decoded.object.type, 'kubernetes.io/tls');
  assert.equal(Buffer.from(decoded.object.data['tls.crt'] ?? []).toString(), leaf.chainPem);
  assert.equal(Buffer.from(decoded.object.data['tls.key'] ?? []).toString(), leaf.keyPem);
});
