// Throwaway PKI for tests: a CA made per test run and the leaves it issues,
// plus the kubernetes.io/tls Secret that carries a leaf into Martello, so no
// private key is ever committed to the repository.

import { isIP } from 'node:net';
import { stringify } from 'yaml';
import { issueCertificate, type CertificateOptions, type IssuedCertificate, type KeyType } from '../../src/shared/pki/certificate.ts';

export type LeafOptions = Omit<CertificateOptions, 'commonName' | 'dnsNames' | 'ipAddresses' | 'issuer'> & {
  /** Default: the first name, or "Martello test leaf" if it has no room in a CN. */
  readonly commonName?: string;
};

export interface TestCa {
  readonly certPem: string;
  readonly keyPem: string;
  /** A leaf for `names`: IP literals become iPAddress SAN entries, everything else dNSName (wildcards included). */
  issue(names: readonly string[], opts?: LeafOptions): IssuedCertificate;
}

export interface TestCaOptions {
  readonly commonName?: string;
  readonly keyType?: KeyType;
}

export function createTestCa(options: TestCaOptions = {}): TestCa {
  const ca = issueCertificate({ commonName: options.commonName ?? 'Martello Test CA', keyType: options.keyType ?? 'ec-p256', isCa: true });
  return {
    certPem: ca.certPem,
    keyPem: ca.keyPem,
    issue(names, opts = {}) {
      const first = names[0];
      const fallback = first !== undefined && first.length <= 64 ? first : 'Martello test leaf';
      return issueCertificate({
        ...opts,
        commonName: opts.commonName ?? fallback,
        dnsNames: names.filter((n) => isIP(n) === 0),
        ipAddresses: names.filter((n) => isIP(n) !== 0),
        // chainPem is then the leaf followed by this CA, the root a client trusts via `ca`.
        issuer: { certPem: ca.certPem, keyPem: ca.keyPem },
      });
    },
  };
}

export interface TlsSecretSpec {
  readonly namespace: string;
  readonly name: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface TlsSecretObject {
  readonly apiVersion: 'v1';
  readonly kind: 'Secret';
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly type: 'kubernetes.io/tls';
  readonly data: { readonly 'tls.crt': string; readonly 'tls.key': string };
}

/** The Secret as a plain object, as an API server (or the in-repo stand-in) stores it. */
export function tlsSecretObject(spec: TlsSecretSpec): TlsSecretObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: spec.name, namespace: spec.namespace },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(spec.certPem, 'utf8').toString('base64'),
      'tls.key': Buffer.from(spec.keyPem, 'utf8').toString('base64'),
    },
  };
}

/** The same Secret as a YAML manifest for a manifests directory. */
export function tlsSecretManifest(spec: TlsSecretSpec): string {
  // lineWidth 0: keep each base64 value on one line, as kubectl writes it.
  return stringify(tlsSecretObject(spec), { lineWidth: 0 });
}
