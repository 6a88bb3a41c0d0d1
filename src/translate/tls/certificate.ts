// Validation of the PEM material in a kubernetes.io/tls Secret: the chain
// parses, the key parses and belongs to the leaf, and the leaf is within its
// validity period. Parsing is the expensive part, so it is memoised per
// Secret object (the store hands out the same frozen object until the Secret
// changes); the time-dependent verdict is recomputed on every translation.
// node:crypto here is computation only: nothing is read or sent.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { Secret } from '../../k8s/objects.ts';

export interface ParsedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  readonly fingerprint: string;
  /** DNS names from subjectAltName (lowercase), or the CN when there is no DNS SAN. */
  readonly names: readonly string[];
  readonly notBefore: number;
  readonly notAfter: number;
  readonly leaf: X509Certificate;
}

export type CertificateVerdict =
  | { readonly ok: true; readonly certificate: ParsedCertificate }
  | { readonly ok: false; readonly code: string; readonly field: string; readonly reason: string };

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';
const PEM_END = '-----END CERTIFICATE-----';
const utf8 = new TextDecoder('utf-8', { fatal: false });

const parsed = new WeakMap<Secret, CertificateVerdict>();

/** Parses (memoised) and checks validity at `now` (ms since epoch; undefined: validity dates not checked). */
export function validateTlsSecret(secret: Secret, now: number | undefined): CertificateVerdict {
  let verdict = parsed.get(secret);
  if (verdict === undefined) {
    verdict = parseTlsSecret(secret);
    parsed.set(secret, verdict);
  }
  if (!verdict.ok || now === undefined) return verdict;
  const c = verdict.certificate;
  if (now > c.notAfter) {
    return { ok: false, code: 'tls-certificate-expired', field: 'data[tls.crt]', reason: `the certificate expired on ${new Date(c.notAfter).toISOString()}` };
  }
  if (now < c.notBefore) {
    return { ok: false, code: 'tls-certificate-not-yet-valid', field: 'data[tls.crt]', reason: `the certificate is not valid before ${new Date(c.notBefore).toISOString()}` };
  }
  return verdict;
}

function parseTlsSecret(secret: Secret): CertificateVerdict {
  const crt = secret.data['tls.crt'];
  const key = secret.data['tls.key'];
  if (crt === undefined || key === undefined) {
    const missing = crt === undefined ? 'tls.crt' : 'tls.key';
    return { ok: false, code: 'tls-secret-incomplete', field: `data[${missing}]`, reason: `the Secret has no "${missing}"` };
  }
  const certPem = utf8.decode(crt);
  const keyPem = utf8.decode(key);
  const blocks = pemCertificateBlocks(certPem);
  if (blocks.length === 0) {
    return { ok: false, code: 'tls-certificate-invalid', field: 'data[tls.crt]', reason: 'no PEM "CERTIFICATE" block found' };
  }
  let leaf: X509Certificate;
  try {
    // Every certificate of the chain must parse, not only the leaf.
    const chain = blocks.map((b) => new X509Certificate(b));
    leaf = chain[0]!;
  } catch (err) {
    return { ok: false, code: 'tls-certificate-invalid', field: 'data[tls.crt]', reason: `the certificate does not parse (${errorText(err)})` };
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch (err) {
    return { ok: false, code: 'tls-key-invalid', field: 'data[tls.key]', reason: `the private key does not parse (${errorText(err)}); encrypted keys are not supported` };
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    return { ok: false, code: 'tls-key-mismatch', field: 'data[tls.key]', reason: 'the private key does not belong to the first certificate in tls.crt' };
  }
  return {
    ok: true,
    certificate: {
      certPem: blocks.join('\n') + '\n',
      keyPem,
      fingerprint: leaf.fingerprint256,
      names: namesOf(leaf),
      notBefore: Date.parse(leaf.validFrom),
      notAfter: Date.parse(leaf.validTo),
      leaf,
    },
  };
}

/**
 * Every "BEGIN CERTIFICATE" ... "END CERTIFICATE" block, in order, each from a
 * BEGIN to the first END after it. Linear in the input: the lazy regular
 * expression this replaces rescanned the rest of the text from every BEGIN
 * without an END, so a 1 MiB Secret of BEGIN lines stalled translation for
 * seconds (found by translate.fuzz.test.ts).
 */
export function pemCertificateBlocks(text: string): string[] {
  const blocks: string[] = [];
  let from = 0;
  for (;;) {
    const begin = text.indexOf(PEM_BEGIN, from);
    if (begin === -1) break;
    // At least one character between the markers, as before.
    const end = text.indexOf(PEM_END, begin + PEM_BEGIN.length + 1);
    if (end === -1) break; // no END after this BEGIN, so none after any later BEGIN either
    from = end + PEM_END.length;
    blocks.push(text.slice(begin, from));
  }
  return blocks;
}

function namesOf(leaf: X509Certificate): string[] {
  const san = leaf.subjectAltName;
  const names: string[] = [];
  if (san !== undefined) {
    for (const part of san.split(', ')) {
      if (part.startsWith('DNS:')) names.push(part.slice(4).toLowerCase());
    }
  }
  if (names.length === 0) {
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(leaf.subject);
    if (cn !== null) names.push(cn[1]!.toLowerCase());
  }
  return names;
}

/**
 * Whether the certificate serves `host` ("a.example.com" or "*.example.com"):
 * an exact host must pass the certificate's own name check (which honours
 * wildcard SANs); a wildcard host needs the same wildcard among the names.
 */
export function certificateCovers(c: ParsedCertificate, host: string): boolean {
  if (host.startsWith('*.')) return c.names.includes(host);
  return c.leaf.checkHost(host, { subject: 'default', wildcards: true, partialWildcards: false }) !== undefined;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
