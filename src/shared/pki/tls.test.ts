// Real TLS handshakes on 127.0.0.1 with issued certificates: the proof that
// what we build is what Node's TLS stack (OpenSSL) accepts, and rejects for
// the right reasons (name not in the SAN, expired, unknown CA, wrong key).

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { issueCertificate, type KeyType } from './certificate.ts';
import { createTestCa } from '../../../test/support/pki.ts';

async function serve(t: TestContext, cert: string, key: string): Promise<number> {
  const server = createServer({ cert, key }, (socket) => socket.end('hello'));
  // Handshakes we make fail on purpose; the server side of those is not interesting.
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

interface Outcome {
  readonly authorized: boolean;
  readonly authorizationError: string | undefined;
  readonly peerCommonName: string | undefined;
  readonly body: string;
}

/** Completes the handshake whatever the verdict (rejectUnauthorized: false) and reports it. */
async function handshake(port: number, ca: string, servername: string | undefined): Promise<Outcome> {
  const socket = connect({ host: '127.0.0.1', port, ca, rejectUnauthorized: false, ...(servername === undefined ? {} : { servername }) });
  await once(socket, 'secureConnect');
  const commonName: unknown = socket.getPeerCertificate().subject?.CN;
  // Typed as an Error, but Node sets an OpenSSL or Node error code string (or nothing).
  const error: unknown = socket.authorizationError;
  const outcome = {
    authorized: socket.authorized,
    authorizationError: error === undefined || error === null ? undefined : String(error),
    peerCommonName: typeof commonName === 'string' ? commonName : undefined,
  };
  socket.setEncoding('utf8');
  let body = '';
  for await (const chunk of socket) body += String(chunk);
  return { ...outcome, body };
}

for (const keyType of ['ec-p256', 'rsa-2048'] as const satisfies readonly KeyType[]) {
  test(`${keyType}: a CA-issued leaf chain authorizes exact, wildcard and IP names and nothing else`, async (t) => {
    const ca = createTestCa({ keyType });
    const leaf = ca.issue(['www.example.com', '*.apps.example.com', '127.0.0.1'], { keyType });
    const port = await serve(t, leaf.chainPem, leaf.keyPem);

    const exact = await handshake(port, ca.certPem, 'www.example.com');
    assert.deepEqual(exact, { authorized: true, authorizationError: undefined, peerCommonName: 'www.example.com', body: 'hello' });
    assert.equal((await handshake(port, ca.certPem, 'shop.apps.example.com')).authorized, true);
    assert.equal((await handshake(port, ca.certPem, undefined)).authorized, true, 'IP SAN for a client dialling 127.0.0.1');

    for (const name of ['apps.example.com', 'a.b.apps.example.com', 'example.com', 'other.example.org']) {
      const outcome = await handshake(port, ca.certPem, name);
      assert.equal(outcome.authorized, false, name);
      assert.equal(outcome.authorizationError, 'ERR_TLS_CERT_ALTNAME_INVALID', name);
    }

    // With the default rejectUnauthorized the client refuses outright.
    const socket = connect({ host: '127.0.0.1', port, ca: ca.certPem, servername: 'other.example.org' });
    await assert.rejects(once(socket, 'secureConnect'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  test(`${keyType}: expired leaves and unknown CAs are not authorized`, async (t) => {
    const ca = createTestCa({ keyType });
    const expired = ca.issue(['old.example.com'], { keyType, notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') });
    const expiredPort = await serve(t, expired.chainPem, expired.keyPem);
    const outcome = await handshake(expiredPort, ca.certPem, 'old.example.com');
    assert.equal(outcome.authorized, false);
    assert.equal(outcome.authorizationError, 'CERT_HAS_EXPIRED');

    const leaf = ca.issue(['www.example.com'], { keyType });
    const port = await serve(t, leaf.chainPem, leaf.keyPem);
    const stranger = createTestCa({ keyType: 'ec-p256', commonName: 'Some Other CA' });
    const untrusted = await handshake(port, stranger.certPem, 'www.example.com');
    assert.equal(untrusted.authorized, false);
    // The chain ends in our root, which the client does not trust.
    assert.equal(untrusted.authorizationError, 'SELF_SIGNED_CERT_IN_CHAIN');
  });
}

test('a leaf under an intermediate authorizes against the root alone', async (t) => {
  const root = issueCertificate({ commonName: 'Root', isCa: true, keyType: 'rsa-2048' });
  const intermediate = issueCertificate({ commonName: 'Intermediate', isCa: true, issuer: root });
  const leaf = issueCertificate({ commonName: 'deep.example.com', dnsNames: ['deep.example.com'], issuer: intermediate });
  const port = await serve(t, leaf.chainPem, leaf.keyPem);
  assert.equal((await handshake(port, root.certPem, 'deep.example.com')).authorized, true);

  // Without the intermediate in the served chain, the client cannot build a path.
  const leafOnlyPort = await serve(t, leaf.certPem, leaf.keyPem);
  const outcome = await handshake(leafOnlyPort, root.certPem, 'deep.example.com');
  assert.equal(outcome.authorized, false);
  assert.equal(outcome.authorizationError, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
});

test('a self-signed leaf is authorized when trusted directly', async (t) => {
  const leaf = issueCertificate({ commonName: 'solo.test', dnsNames: ['solo.test'] });
  const port = await serve(t, leaf.chainPem, leaf.keyPem);
  assert.equal((await handshake(port, leaf.certPem, 'solo.test')).authorized, true);
});

test('a certificate with a key that is not its own cannot be served', () => {
  const ca = createTestCa();
  const leaf = ca.issue(['www.example.com']);
  const otherKey = ca.issue(['www.example.com']).keyPem;
  assert.throws(() => createServer({ cert: leaf.chainPem, key: otherKey }), { code: 'ERR_OSSL_X509_KEY_VALUES_MISMATCH' });
});
