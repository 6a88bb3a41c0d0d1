// X.509 v3 certificates (RFC 5280) built with our own DER writer and signed by
// node:crypto: the controller's self-signed default certificate, and throwaway
// CAs and leaves for tests so no private key is ever committed. Pure: keys and
// randomness come from node:crypto, nothing touches disk or the network.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import * as der from './der.ts';

export type KeyType = 'ec-p256' | 'rsa-2048';

/** A CA to sign with. `chainPem` (as returned for an intermediate) is appended to issued chains instead of `certPem`. */
export interface CertificateIssuer {
  readonly certPem: string;
  readonly keyPem: string;
  readonly chainPem?: string;
}

export interface CertificateOptions {
  /** Subject CN, 1..64 characters (ub-common-name); clients match names against the SAN, not this. */
  readonly commonName: string;
  /** SAN dNSName entries; wildcards such as "*.example.com" are written as given. */
  readonly dnsNames?: readonly string[];
  /** SAN iPAddress entries, IPv4 or IPv6 literals. */
  readonly ipAddresses?: readonly string[];
  /** Ignored when `key` is given (and must then agree with it if set). Default ec-p256. */
  readonly keyType?: KeyType;
  /** Default: an hour ago, so a peer with a slightly slow clock still accepts it. */
  readonly notBefore?: Date;
  /** Default: notBefore + 365 days. */
  readonly notAfter?: Date;
  /** A CA: basicConstraints CA:TRUE, keyUsage keyCertSign + cRLSign, no extKeyUsage. */
  readonly isCa?: boolean;
  /** Default: self-signed. */
  readonly issuer?: CertificateIssuer;
  /** Positive, at most 20 octets (RFC 5280 4.1.2.2). Default: 16 random bytes. */
  readonly serialNumber?: bigint;
  /** Reuse a private key (a renewal with the same key, or a deliberate mismatch); PEM or KeyObject. */
  readonly key?: KeyObject | string;
}

export interface IssuedCertificate {
  readonly certPem: string;
  /** The subject's private key, PKCS#8 PEM. */
  readonly keyPem: string;
  /** The certificate followed by its issuer's chain; equal to certPem when self-signed. */
  readonly chainPem: string;
}

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
} as const;

/** KeyUsage bit numbers (RFC 5280 4.2.1.3). */
const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const ORGANIZATION = 'Martello';

interface Signer {
  readonly key: KeyObject;
  /** The issuer's subject Name, byte for byte: chain building compares names as encoded. */
  readonly name: Buffer;
  readonly keyId: Buffer;
  readonly chainPem: string;
}

export function issueCertificate(options: CertificateOptions): IssuedCertificate {
  const key = subjectKey(options);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const keyId = keyIdentifier(spki);
  const subject = distinguishedName(options.commonName);
  const signer = options.issuer === undefined ? { key, name: subject, keyId, chainPem: '' } : loadIssuer(options.issuer);
  const notBefore = options.notBefore ?? new Date(Date.now() - HOUR_MS);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + 365 * DAY_MS);
  if (!(notAfter.getTime() >= notBefore.getTime())) throw new RangeError('notAfter must not be before notBefore');

  const algorithm = signatureAlgorithm(signer.key);
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)), // v3: extensions need it
    der.integer(serialNumber(options.serialNumber)),
    algorithm,
    signer.name,
    der.sequence(der.time(notBefore), der.time(notAfter)),
    subject,
    spki,
    der.explicit(3, der.sequence(...extensions(options, key, keyId, signer.keyId))),
  );
  // ECDSA signatures come out DER-encoded (Ecdsa-Sig-Value), as X.509 wants them.
  const signature = sign('sha256', tbs, signer.key);
  const certPem = toPem('CERTIFICATE', der.sequence(tbs, algorithm, der.bitString(signature)));
  return {
    certPem,
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    chainPem: certPem + signer.chainPem,
  };
}

/** PEM armour (RFC 7468): base64 in 64-character lines. */
export function toPem(label: string, body: Uint8Array): string {
  const lines = Buffer.from(body).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function subjectKey(options: CertificateOptions): KeyObject {
  if (options.key === undefined) {
    return options.keyType === 'rsa-2048'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
      : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  }
  const key = typeof options.key === 'string' ? createPrivateKey(options.key) : options.key;
  if (key.type !== 'private') throw new TypeError('options.key must be a private key');
  if (options.keyType !== undefined && keyTypeOf(key) !== options.keyType) throw new TypeError(`options.key is not an ${options.keyType} key`);
  return key;
}

function keyTypeOf(key: KeyObject): KeyType | undefined {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') return 'ec-p256';
  if (key.asymmetricKeyType === 'rsa' && details?.modulusLength === 2048) return 'rsa-2048';
  return undefined;
}

function loadIssuer(issuer: CertificateIssuer): Signer {
  const cert = new X509Certificate(issuer.certPem);
  const key = createPrivateKey(issuer.keyPem);
  // Signing with the wrong key would yield a certificate nothing can verify: refuse early.
  if (!cert.checkPrivateKey(key)) throw new Error('issuer.keyPem is not the private key of issuer.certPem');
  const fields = certificateFields(cert.raw);
  const chain = issuer.chainPem ?? issuer.certPem;
  return {
    key,
    name: fields.subject,
    // Reuse the issuer's own SKI so AKI matches it even if it was made elsewhere with another method.
    keyId: fields.subjectKeyId ?? keyIdentifier(cert.publicKey.export({ type: 'spki', format: 'der' })),
    chainPem: chain.endsWith('\n') ? chain : chain + '\n',
  };
}

/** Subject Name and subjectKeyIdentifier of a DER certificate (RFC 5280 4.1). */
function certificateFields(raw: Buffer): { subject: Buffer; subjectKeyId: Buffer | undefined } {
  const [tbs] = der.readChildren(der.readElement(raw).content);
  if (tbs === undefined) throw new Error('issuer certificate has no TBSCertificate');
  const fields = der.readChildren(tbs.content);
  // [0] version, serial, signature, issuer, validity, subject...; version is absent in v1 certificates.
  const subject = fields[(fields[0]?.tag === 0xa0 ? 1 : 0) + 4];
  if (subject === undefined) throw new Error('issuer certificate has no subject');
  const wrapper = fields.find((f) => f.tag === 0xa3);
  const skiOid = der.oid(OID.subjectKeyIdentifier);
  const extensionList = wrapper === undefined ? [] : der.readChildren(der.readElement(wrapper.content).content);
  for (const ext of extensionList) {
    const parts = der.readChildren(ext.content);
    const value = parts.at(-1);
    if (parts[0]?.encoded.equals(skiOid) && value !== undefined) {
      return { subject: Buffer.from(subject.encoded), subjectKeyId: Buffer.from(der.readElement(value.content).content) };
    }
  }
  return { subject: Buffer.from(subject.encoded), subjectKeyId: undefined };
}

/** Key identifier method 1 of RFC 5280 4.2.1.2: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: Buffer): Buffer {
  const bits = der.readChildren(der.readElement(spki).content)[1];
  if (bits === undefined) throw new Error('SubjectPublicKeyInfo without a key');
  return createHash('sha1').update(bits.content.subarray(1)).digest();
}

function signatureAlgorithm(key: KeyObject): Buffer {
  // RSA's AlgorithmIdentifier carries explicit NULL parameters; ECDSA's has none (RFC 5758 3.2).
  if (key.asymmetricKeyType === 'ec') return der.sequence(der.oid(OID.ecdsaWithSha256));
  if (key.asymmetricKeyType === 'rsa') return der.sequence(der.oid(OID.sha256WithRsa), der.nullValue());
  throw new TypeError(`cannot sign with a ${key.asymmetricKeyType ?? 'unknown'} key: only EC and RSA are supported`);
}

function distinguishedName(commonName: string): Buffer {
  const length = [...commonName].length;
  if (length < 1 || length > 64) throw new RangeError(`commonName must have 1..64 characters, got ${length}`);
  return der.sequence(relativeName(OID.organization, ORGANIZATION), relativeName(OID.commonName, commonName));
}

/** One attribute per RDN, as UTF8String: RFC 5280 4.1.2.4 asks that of new certificates. */
function relativeName(type: string, value: string): Buffer {
  return der.set(der.sequence(der.oid(type), der.utf8String(value)));
}

function serialNumber(given: bigint | undefined): bigint {
  if (given === undefined) {
    const bytes = randomBytes(16);
    bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive
    bytes[15] = (bytes[15] ?? 0) | 0x01; // never zero
    return BigInt('0x' + bytes.toString('hex'));
  }
  if (given <= 0n || given >= 1n << 159n) throw new RangeError('serialNumber must be positive and fit 20 octets');
  return given;
}

function extensions(options: CertificateOptions, key: KeyObject, keyId: Buffer, issuerKeyId: Buffer): Buffer[] {
  const isCa = options.isCa === true;
  const dnsNames = options.dnsNames ?? [];
  const ipAddresses = options.ipAddresses ?? [];
  const usage: number[] = isCa
    ? [KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]
    : // keyEncipherment only means something for RSA key transport (TLS 1.2 RSA key exchange).
      [KEY_USAGE.digitalSignature, ...(key.asymmetricKeyType === 'rsa' ? [KEY_USAGE.keyEncipherment] : [])];
  const out = [
    // cA FALSE is the DEFAULT, which DER omits: a leaf's basicConstraints is an empty SEQUENCE.
    extension(OID.basicConstraints, true, isCa ? der.sequence(der.boolean(true)) : der.sequence()),
    extension(OID.keyUsage, true, der.namedBitString(usage)),
  ];
  if (!isCa) out.push(extension(OID.extKeyUsage, false, der.sequence(der.oid(OID.serverAuth), der.oid(OID.clientAuth))));
  if (dnsNames.length + ipAddresses.length > 0) {
    const names = [
      ...dnsNames.map((n) => der.implicit(2, der.ia5String(checkedDnsName(n)))), // dNSName [2] IA5String
      ...ipAddresses.map((ip) => der.implicit(7, der.octetString(ipAddressBytes(ip)))), // iPAddress [7] OCTET STRING
    ];
    out.push(extension(OID.subjectAltName, false, der.sequence(...names)));
  }
  out.push(extension(OID.subjectKeyIdentifier, false, der.octetString(keyId)));
  out.push(extension(OID.authorityKeyIdentifier, false, der.sequence(der.implicit(0, der.octetString(issuerKeyId)))));
  return out;
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return der.sequence(der.oid(id), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
}

function checkedDnsName(name: string): string {
  // Visible ASCII only; anything stranger (spaces, Unicode) is a mistake, IDNs go in as punycode.
  if (!/^[\x21-\x7e]{1,253}$/.test(name)) throw new RangeError(`invalid dNSName ${JSON.stringify(name)}`);
  return name;
}

/** Network-order bytes of an IPv4 (4) or IPv6 (16) literal; no zone ids, no leading-zero octets. */
export function ipAddressBytes(text: string): Buffer {
  const bytes = ipv4Bytes(text) ?? ipv6Bytes(text);
  if (bytes === undefined) throw new RangeError(`not an IPv4 or IPv6 address: ${JSON.stringify(text)}`);
  return bytes;
}

function ipv4Bytes(text: string): Buffer | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return Buffer.from(parts.map(Number));
}

function ipv6Bytes(text: string): Buffer | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')));
  const last = groups.at(-1) ?? [];
  // A trailing dotted IPv4 ("::ffff:10.0.0.1") stands for the last two groups.
  const tail: string[] = [];
  if (last.at(-1)?.includes('.')) {
    const v4 = ipv4Bytes(last.pop() ?? '');
    if (v4 === undefined) return undefined;
    tail.push(v4.subarray(0, 2).toString('hex'), v4.subarray(2).toString('hex'));
  }
  groups[groups.length - 1] = [...last, ...tail];
  if (!groups.flat().every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const [head = [], rest = []] = groups;
  const count = head.length + rest.length;
  // "::" stands for at least one zero group.
  if (halves.length === 2 ? count > 7 : count !== 8) return undefined;
  const words = [...head, ...Array<string>(8 - count).fill('0'), ...rest];
  return Buffer.from(words.map((w) => w.padStart(4, '0')).join(''), 'hex');
}
