// A second opinion from the openssl command-line tool: strict RFC 5280 path
// validation (-x509_strict, TLS server purpose, host name) and the extensions
// as openssl itself prints them. Skipped, saying so, where openssl is absent.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCertificate, type KeyType } from './certificate.ts';

const probe = spawnSync('openssl', ['version'], { encoding: 'utf8' });
const skip = probe.error === undefined && probe.status === 0 ? false : 'the openssl binary is not on PATH: skipping the openssl cross-checks';

const dir = skip === false ? mkdtempSync(join(tmpdir(), 'martello-pki-')) : '';
after(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function openssl(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: run.status, output: run.stdout + run.stderr };
}

for (const keyType of ['ec-p256', 'rsa-2048'] as const satisfies readonly KeyType[]) {
  test(`${keyType}: openssl verifies the chain strictly and prints the extensions`, { skip }, () => {
    const ca = issueCertificate({ commonName: `Root ${keyType}`, isCa: true, keyType });
    const leaf = issueCertificate({ commonName: 'www.example.com', dnsNames: ['www.example.com', '*.example.com'], ipAddresses: ['127.0.0.1', '::1'], keyType, issuer: ca });
    const caFile = file(`ca-${keyType}.pem`, ca.certPem);
    const leafFile = file(`leaf-${keyType}.pem`, leaf.certPem);

    const verified = openssl('verify', '-x509_strict', '-purpose', 'sslserver', '-verify_hostname', 'api.example.com', '-CAfile', caFile, leafFile);
    assert.equal(verified.status, 0, verified.output);
    assert.equal(verified.output.trim(), `${leafFile}: OK`);
    const selfVerified = openssl('verify', '-x509_strict', '-CAfile', caFile, caFile);
    assert.equal(selfVerified.status, 0, selfVerified.output);

    const wrongHost = openssl('verify', '-verify_hostname', 'example.com', '-CAfile', caFile, leafFile);
    assert.notEqual(wrongHost.status, 0);
    assert.match(wrongHost.output, /hostname mismatch/);

    const text = openssl('x509', '-noout', '-text', '-in', leafFile);
    assert.equal(text.status, 0, text.output);
    const signature = keyType === 'ec-p256' ? 'ecdsa-with-SHA256' : 'sha256WithRSAEncryption';
    const keyUsage = keyType === 'ec-p256' ? 'Digital Signature\n' : 'Digital Signature, Key Encipherment\n';
    for (const expected of [
      'Version: 3 (0x2)',
      `Signature Algorithm: ${signature}`,
      `Issuer: O = Martello, CN = Root ${keyType}`,
      'Subject: O = Martello, CN = www.example.com',
      'X509v3 Basic Constraints: critical\n                CA:FALSE',
      `X509v3 Key Usage: critical\n                ${keyUsage}`,
      'TLS Web Server Authentication, TLS Web Client Authentication',
      'DNS:www.example.com, DNS:*.example.com, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
      'X509v3 Subject Key Identifier',
      'X509v3 Authority Key Identifier',
    ]) {
      assert.ok(text.output.includes(expected), `missing ${JSON.stringify(expected)} in:\n${text.output}`);
    }
    const caText = openssl('x509', '-noout', '-text', '-in', caFile).output;
    assert.ok(caText.includes('X509v3 Basic Constraints: critical\n                CA:TRUE'), caText);
    assert.ok(caText.includes('X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign'), caText);
  });
}

test('openssl: intermediates, expiry, GeneralizedTime and the wrong CA', { skip }, () => {
  const root = issueCertificate({ commonName: 'Root', isCa: true });
  const other = issueCertificate({ commonName: 'Root', isCa: true }); // same name, different key
  const intermediate = issueCertificate({ commonName: 'Intermediate', isCa: true, issuer: root, keyType: 'rsa-2048' });
  const leaf = issueCertificate({ commonName: 'far.example.com', dnsNames: ['far.example.com'], issuer: intermediate, notAfter: new Date('2051-01-01T00:00:00Z') });
  const expired = issueCertificate({ commonName: 'old', dnsNames: ['old.example.com'], issuer: root, notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') });
  const rootFile = file('root.pem', root.certPem);
  const leafFile = file('far.pem', leaf.certPem);

  const chained = openssl('verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', rootFile, '-untrusted', file('intermediate.pem', intermediate.certPem), leafFile);
  assert.equal(chained.status, 0, chained.output);
  assert.equal(openssl('verify', '-CAfile', rootFile, leafFile).status === 0, false, 'no path without the intermediate');
  assert.match(openssl('x509', '-noout', '-enddate', '-in', leafFile).output, /notAfter=Jan {2}1 00:00:00 2051 GMT/);

  const stale = openssl('verify', '-CAfile', rootFile, file('expired.pem', expired.certPem));
  assert.notEqual(stale.status, 0);
  assert.match(stale.output, /certificate has expired/);

  const impostor = openssl('verify', '-CAfile', file('other.pem', other.certPem), file('direct.pem', issueCertificate({ commonName: 'd', issuer: root }).certPem));
  assert.notEqual(impostor.status, 0, impostor.output);
});
