// issueCertificate read back through Node's own X.509 parser (OpenSSL's),
// plus exact extension bytes via the DER reader, for both key types.
// Handshakes live in tls.test.ts, the openssl CLI checks in openssl.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import * as der from './der.ts';
import { ipAddressBytes, issueCertificate, type IssuedCertificate, type KeyType } from './certificate.ts';

const KEY_TYPES: readonly KeyType[] = ['ec-p256', 'rsa-2048'];
const CAS: Record<KeyType, IssuedCertificate> = {
  'ec-p256': issueCertificate({ commonName: 'Test CA ec-p256', isCa: true, keyType: 'ec-p256' }),
  'rsa-2048': issueCertificate({ commonName: 'Test CA rsa-2048', isCa: true, keyType: 'rsa-2048' }),
};
const SIGNATURE_ALGORITHM: Record<KeyType, string> = { 'ec-p256': 'ecdsa-with-SHA256', 'rsa-2048': 'sha256WithRSAEncryption' };
const ASYMMETRIC_TYPE: Record<KeyType, string> = { 'ec-p256': 'ec', 'rsa-2048': 'rsa' };

const x509 = (pem: string): X509Certificate => new X509Certificate(pem);
const pemCount = (pem: string): number => pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;

/** An extension's criticality and value bytes (hex), found by OID in the DER of the certificate. */
function extension(pem: string, dottedOid: string): { critical: boolean; value: string } | undefined {
  const [tbs] = der.readChildren(der.readElement(x509(pem).raw).content);
  const wrapper = der.readChildren(tbs?.content ?? Buffer.alloc(0)).find((f) => f.tag === 0xa3);
  if (wrapper === undefined) return undefined;
  const wanted = der.oid(dottedOid);
  for (const ext of der.readChildren(der.readElement(wrapper.content).content)) {
    const parts = der.readChildren(ext.content);
    if (!parts[0]?.encoded.equals(wanted)) continue;
    return { critical: parts.length === 3 && parts[1]?.content[0] === 0xff, value: parts.at(-1)?.content.toString('hex') ?? '' };
  }
  return undefined;
}

for (const caType of KEY_TYPES) {
  const ca = CAS[caType];

  test(`${caType} CA: self-signed, CA:TRUE, keyCertSign + cRLSign, verifies with its own key`, () => {
    const cert = x509(ca.certPem);
    assert.equal(cert.subject, `O=Martello\nCN=Test CA ${caType}`);
    assert.equal(cert.issuer, cert.subject);
    assert.equal(cert.ca, true);
    assert.equal(cert.signatureAlgorithm, SIGNATURE_ALGORITHM[caType]);
    assert.equal(cert.publicKey.asymmetricKeyType, ASYMMETRIC_TYPE[caType]);
    assert.ok(cert.verify(cert.publicKey));
    assert.ok(cert.checkIssued(cert));
    assert.ok(cert.checkPrivateKey(createPrivateKey(ca.keyPem)));
    assert.equal(ca.chainPem, ca.certPem);
    assert.deepEqual(extension(ca.certPem, '2.5.29.19'), { critical: true, value: '30030101ff' });
    assert.deepEqual(extension(ca.certPem, '2.5.29.15'), { critical: true, value: '03020106' });
    assert.equal(extension(ca.certPem, '2.5.29.37'), undefined, 'no extKeyUsage on a CA');
    assert.equal(extension(ca.certPem, '2.5.29.17'), undefined, 'no SAN without names');
    // Self-signed: the authority key id is its own subject key id.
    const ski = extension(ca.certPem, '2.5.29.14')?.value ?? '';
    assert.match(ski, /^0414[0-9a-f]{40}$/);
    assert.equal(extension(ca.certPem, '2.5.29.35')?.value, `30168014${ski.slice(4)}`);
  });

  for (const leafType of KEY_TYPES) {
    test(`${leafType} leaf issued by the ${caType} CA: names, usages, signature, key`, () => {
      const leaf = issueCertificate({
        commonName: 'www.example.com',
        dnsNames: ['www.example.com', '*.example.com'],
        ipAddresses: ['127.0.0.1', '::1', '2001:db8::8a2e:370:7334'],
        keyType: leafType,
        issuer: ca,
      });
      const cert = x509(leaf.certPem);
      const caCert = x509(ca.certPem);
      assert.equal(cert.subject, 'O=Martello\nCN=www.example.com');
      assert.equal(cert.issuer, caCert.subject);
      assert.equal(cert.ca, false);
      assert.equal(
        cert.subjectAltName,
        'DNS:www.example.com, DNS:*.example.com, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:0:8A2E:370:7334',
      );
      assert.equal(cert.checkHost('www.example.com'), 'www.example.com');
      assert.equal(cert.checkHost('api.example.com'), '*.example.com', 'wildcard covers one label (checkHost returns the name that matched)');
      assert.equal(cert.checkHost('example.com'), undefined, 'wildcard does not cover the bare domain');
      assert.equal(cert.checkHost('a.b.example.com'), undefined, 'wildcard covers exactly one label');
      assert.equal(cert.checkHost('www.example.org'), undefined);
      assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
      assert.equal(cert.checkIP('::1'), '::1');
      assert.equal(cert.checkIP('2001:db8::8a2e:370:7334'), '2001:db8::8a2e:370:7334');
      assert.equal(cert.checkIP('127.0.0.2'), undefined);
      assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']); // Node reports extKeyUsage here
      assert.equal(cert.signatureAlgorithm, SIGNATURE_ALGORITHM[caType], 'the issuer key decides the algorithm');
      assert.equal(cert.publicKey.asymmetricKeyType, ASYMMETRIC_TYPE[leafType]);
      assert.ok(cert.verify(caCert.publicKey));
      assert.ok(cert.checkIssued(caCert));
      const otherCa = CAS[caType === 'ec-p256' ? 'rsa-2048' : 'ec-p256'];
      assert.equal(cert.verify(x509(otherCa.certPem).publicKey), false);
      assert.equal(cert.verify(cert.publicKey), false, 'not self-signed');
      assert.ok(cert.checkPrivateKey(createPrivateKey(leaf.keyPem)));
      assert.equal(cert.checkPrivateKey(createPrivateKey(ca.keyPem)), false);
      assert.match(leaf.keyPem, /^-----BEGIN PRIVATE KEY-----\n/); // PKCS#8
      // Chain: leaf then CA.
      assert.equal(pemCount(leaf.chainPem), 2);
      assert.ok(leaf.chainPem.startsWith(leaf.certPem));
      assert.ok(leaf.chainPem.endsWith(ca.certPem));
      // Extensions, byte for byte.
      assert.deepEqual(extension(leaf.certPem, '2.5.29.19'), { critical: true, value: '3000' });
      const keyUsage = leafType === 'rsa-2048' ? '030205a0' : '03020780'; // digitalSignature (+ keyEncipherment)
      assert.deepEqual(extension(leaf.certPem, '2.5.29.15'), { critical: true, value: keyUsage });
      assert.deepEqual(extension(leaf.certPem, '2.5.29.37'), { critical: false, value: '301406082b0601050507030106082b06010505070302' });
      assert.equal(extension(leaf.certPem, '2.5.29.17')?.critical, false);
      const caKeyId = extension(ca.certPem, '2.5.29.14')?.value.slice(4) ?? '';
      assert.equal(extension(leaf.certPem, '2.5.29.35')?.value, `30168014${caKeyId}`, 'AKI names the CA key');
      assert.notEqual(extension(leaf.certPem, '2.5.29.14')?.value.slice(4), caKeyId);
    });
  }
}

test('an intermediate CA chains: root -> intermediate -> leaf, chainPem carries all three', () => {
  const root = CAS['rsa-2048'];
  const intermediate = issueCertificate({ commonName: 'Intermediate', isCa: true, issuer: root });
  assert.equal(pemCount(intermediate.chainPem), 2);
  const leaf = issueCertificate({ commonName: 'deep.example.com', dnsNames: ['deep.example.com'], issuer: intermediate });
  assert.equal(pemCount(leaf.chainPem), 3);
  assert.equal(leaf.chainPem, leaf.certPem + intermediate.certPem + root.certPem);
  assert.equal(x509(leaf.certPem).issuer, 'O=Martello\nCN=Intermediate');
  assert.ok(x509(leaf.certPem).verify(x509(intermediate.certPem).publicKey));
  assert.ok(x509(intermediate.certPem).verify(x509(root.certPem).publicKey));
  assert.equal(x509(intermediate.certPem).ca, true);
});

test('a self-signed leaf verifies with its own key and has no issuer chain', () => {
  const leaf = issueCertificate({ commonName: 'solo.test', dnsNames: ['solo.test'] });
  const cert = x509(leaf.certPem);
  assert.equal(cert.subject, cert.issuer);
  assert.ok(cert.verify(cert.publicKey));
  assert.equal(cert.ca, false);
  assert.equal(leaf.chainPem, leaf.certPem);
  assert.equal(cert.publicKey.asymmetricKeyType, 'ec', 'ECDSA by default');
});

test('validity: explicit dates to the second, expired certificates, GeneralizedTime from 2050', () => {
  const expired = issueCertificate({ commonName: 'old', notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00.999Z') });
  const cert = x509(expired.certPem);
  assert.equal(cert.validFrom, 'Jan  1 00:00:00 2020 GMT');
  assert.equal(cert.validTo, 'Jan  1 00:00:00 2021 GMT');
  assert.ok(cert.validToDate.getTime() < Date.now(), 'expired');

  const far = issueCertificate({ commonName: 'far', notBefore: new Date('2049-12-31T23:59:59Z'), notAfter: new Date('2051-06-15T12:34:56Z'), issuer: CAS['ec-p256'] });
  const farCert = x509(far.certPem);
  assert.equal(farCert.validFromDate.toISOString(), '2049-12-31T23:59:59.000Z');
  assert.equal(farCert.validToDate.toISOString(), '2051-06-15T12:34:56.000Z');
  const raw = farCert.raw.toString('latin1');
  assert.ok(raw.includes('\x17\x0d491231235959Z'), 'notBefore in 2049 is a UTCTime');
  assert.ok(raw.includes('\x18\x0f20510615123456Z'), 'notAfter in 2051 is a GeneralizedTime');
  assert.ok(farCert.verify(x509(CAS['ec-p256'].certPem).publicKey));

  const before1950 = x509(issueCertificate({ commonName: 'ancient', notBefore: new Date('1949-06-01T00:00:00Z'), notAfter: new Date('1960-01-01T00:00:00Z') }).certPem);
  assert.equal(before1950.validFromDate.toISOString(), '1949-06-01T00:00:00.000Z');
  assert.equal(before1950.validToDate.toISOString(), '1960-01-01T00:00:00.000Z');

  assert.throws(() => issueCertificate({ commonName: 'x', notBefore: new Date('2030-01-01'), notAfter: new Date('2029-01-01') }), RangeError);
});

test('validity defaults: from an hour ago, for 365 days', () => {
  const started = Date.now();
  const cert = x509(issueCertificate({ commonName: 'defaults' }).certPem);
  const from = cert.validFromDate.getTime();
  assert.ok(from <= started - 3_600_000 + 1000 && from >= started - 3_600_000 - 5000, `validFrom ${cert.validFrom}`);
  assert.equal(cert.validToDate.getTime() - from, 365 * 86_400_000);
});

test('serial numbers: given ones are kept (positive, 0x00 before a set top bit), default ones are random and positive', () => {
  assert.equal(x509(issueCertificate({ commonName: 's', serialNumber: 0x1234n }).certPem).serialNumber, '1234');
  const topBit = x509(issueCertificate({ commonName: 's', serialNumber: 0xff01n }).certPem);
  assert.match(topBit.serialNumber, /^(00)?FF01$/);
  assert.ok(topBit.raw.includes(Buffer.from('020300ff01', 'hex')));
  const a = x509(issueCertificate({ commonName: 'r' }).certPem).serialNumber;
  const b = x509(issueCertificate({ commonName: 'r' }).certPem).serialNumber;
  assert.notEqual(a, b);
  assert.ok(a.length >= 28 && a.length <= 32, a);
  assert.ok(Number.parseInt(a.slice(0, 2), 16) < 0x80, 'positive without padding');
  for (const bad of [0n, -1n, 1n << 159n]) assert.throws(() => issueCertificate({ commonName: 's', serialNumber: bad }), RangeError);
  assert.doesNotThrow(() => issueCertificate({ commonName: 's', serialNumber: (1n << 159n) - 1n }));
});

test('key reuse: a renewal keeps the key; another key makes a deliberate mismatch', () => {
  const first = issueCertificate({ commonName: 'renew.test', keyType: 'rsa-2048' });
  const renewed = issueCertificate({ commonName: 'renew.test', key: first.keyPem });
  assert.equal(renewed.keyPem, first.keyPem);
  assert.notEqual(renewed.certPem, first.certPem);
  assert.ok(x509(renewed.certPem).checkPrivateKey(createPrivateKey(first.keyPem)));
  assert.equal(x509(renewed.certPem).publicKey.asymmetricKeyType, 'rsa');

  const asObject = issueCertificate({ commonName: 'k', key: createPrivateKey(first.keyPem), keyType: 'rsa-2048' });
  assert.equal(asObject.keyPem, first.keyPem);

  const other = issueCertificate({ commonName: 'other.test' });
  assert.equal(x509(first.certPem).checkPrivateKey(createPrivateKey(other.keyPem)), false, 'mismatched pair');

  assert.throws(() => issueCertificate({ commonName: 'k', key: first.keyPem, keyType: 'ec-p256' }), /not an ec-p256 key/);
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  assert.throws(() => issueCertificate({ commonName: 'k', key: publicKey }), /private key/);
  const ed = generateKeyPairSync('ed25519').privateKey;
  assert.throws(() => issueCertificate({ commonName: 'k', key: ed }), /only EC and RSA/);
});

test('an issuer whose key does not match its certificate is refused', () => {
  const ca = CAS['ec-p256'];
  const wrong = issueCertificate({ commonName: 'x' });
  assert.throws(() => issueCertificate({ commonName: 'leaf', issuer: { certPem: ca.certPem, keyPem: wrong.keyPem } }), /not the private key/);
});

test('invalid names are refused instead of producing a broken certificate', () => {
  assert.throws(() => issueCertificate({ commonName: '' }), RangeError);
  assert.throws(() => issueCertificate({ commonName: 'x'.repeat(65) }), RangeError);
  assert.doesNotThrow(() => issueCertificate({ commonName: 'é'.repeat(64) }));
  for (const dns of ['', 'a b.example', 'bücher.example']) assert.throws(() => issueCertificate({ commonName: 'x', dnsNames: [dns] }), RangeError, dns);
  for (const ip of ['1.2.3', '01.2.3.4', '256.0.0.1', 'fe80::1%eth0', 'example.com', '1::2::3']) {
    assert.throws(() => issueCertificate({ commonName: 'x', ipAddresses: [ip] }), RangeError, ip);
  }
});

test('IP literals to SAN bytes', () => {
  const cases: Array<[string, string]> = [
    ['0.0.0.0', '00000000'],
    ['192.0.2.1', 'c0000201'],
    ['::', '0'.repeat(32)],
    ['::1', '0'.repeat(31) + '1'],
    ['1::', '0001' + '0'.repeat(28)],
    ['2001:DB8::8a2e:370:7334', '20010db80000000000008a2e03707334'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
  ];
  for (const [text, expected] of cases) assert.equal(ipAddressBytes(text).toString('hex'), expected, text);
  for (const bad of ['', ':', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', '12345::', '1.2.3.4::', '::1.2.3', ':1::', '1::2:']) {
    assert.throws(() => ipAddressBytes(bad), RangeError, bad);
  }
});
