// The fallback certificate: what it says about itself, and that a client
// which trusts it explicitly can complete a handshake with it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { connect, createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { DEFAULT_CERTIFICATE_DNS_NAME, generateDefaultCertificate } from './default-certificate.ts';

test('self-signed ECDSA P-256, fixed names, valid for a year around the given time', () => {
  const now = new Date('2026-05-01T12:00:00Z');
  const issued = generateDefaultCertificate(now);
  const cert = new X509Certificate(issued.certPem);
  assert.equal(cert.subject, 'O=Martello\nCN=Martello Default Certificate');
  assert.equal(cert.issuer, cert.subject);
  assert.equal(cert.subjectAltName, 'DNS:martello.invalid');
  assert.equal(cert.ca, false);
  assert.ok(cert.verify(cert.publicKey));
  assert.equal(cert.publicKey.asymmetricKeyType, 'ec');
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(cert.signatureAlgorithm, 'ecdsa-with-SHA256');
  assert.equal(cert.validFromDate.toISOString(), '2026-05-01T11:00:00.000Z');
  assert.equal(cert.validToDate.toISOString(), '2027-05-01T12:00:00.000Z');
  assert.ok(cert.checkPrivateKey(createPrivateKey(issued.keyPem)));
  assert.equal(issued.chainPem, issued.certPem);
  assert.equal(cert.checkHost('example.com'), undefined, 'matches no real host');
});

test('each call makes a new key, and the default time is now', () => {
  const a = generateDefaultCertificate();
  const b = generateDefaultCertificate();
  assert.notEqual(a.keyPem, b.keyPem);
  const cert = new X509Certificate(a.certPem);
  assert.ok(cert.validFromDate.getTime() < Date.now() && cert.validToDate.getTime() > Date.now() + 364 * 86_400_000);
});

test('serves a TLS handshake to a client that trusts it', async (t) => {
  const issued = generateDefaultCertificate();
  const server = createServer({ cert: issued.chainPem, key: issued.keyPem }, (socket) => socket.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca: issued.certPem, servername: DEFAULT_CERTIFICATE_DNS_NAME });
  await once(socket, 'secureConnect');
  assert.equal(socket.authorized, true);
  assert.equal(socket.getPeerCertificate().subject?.CN, 'Martello Default Certificate');
  socket.resume();
  await once(socket, 'end');
});
