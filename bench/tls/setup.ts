// Certificates and manifests for bench/tls/run.sh, made at bench time so no
// private key is ever committed.
//
//   node_modules/.bin/node bench/tls/setup.ts --out DIR --backend-port PORT
//
// Writes, under DIR:
//   ecdsa.crt / ecdsa.key   self-signed ECDSA P-256 leaf for ecdsa.bench.local
//   rsa.crt / rsa.key       self-signed RSA-2048 leaf for rsa.bench.local
//   manifests/bench.yaml    for `martello serve --manifests DIR/manifests`:
//                           one Ingress with both hosts (path / Prefix to the
//                           Service `backend` port 80) and a `tls` entry per
//                           host naming its kubernetes.io/tls Secret, the two
//                           Secrets (same PEM as the files above), the Service
//                           and its EndpointSlice (127.0.0.1:PORT).
// nginx reads the same PEM files (ssl_certificate / ssl_certificate_key), so
// both proxies present byte-identical certificates.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { issueCertificate, type KeyType } from '../../src/shared/pki/certificate.ts';
import { tlsSecretManifest } from '../../test/support/pki.ts';

interface Case {
  readonly name: string;
  readonly host: string;
  readonly keyType: KeyType;
}

const CASES: readonly Case[] = [
  { name: 'ecdsa', host: 'ecdsa.bench.local', keyType: 'ec-p256' },
  { name: 'rsa', host: 'rsa.bench.local', keyType: 'rsa-2048' },
];
const NAMESPACE = 'default';

/** A fresh object per rule: the YAML writer would otherwise emit an alias. */
function backend(): object {
  return { service: { name: 'backend', port: { number: 80 } } };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      'backend-port': { type: 'string' },
    },
    strict: true,
  });
  const out = values.out;
  const backendPort = Number(values['backend-port']);
  if (out === undefined || !Number.isInteger(backendPort) || backendPort < 1 || backendPort > 65535) {
    console.error('usage: node bench/tls/setup.ts --out DIR --backend-port PORT');
    process.exit(2);
  }
  mkdirSync(join(out, 'manifests'), { recursive: true });
  const docs: string[] = [];
  for (const c of CASES) {
    const issued = issueCertificate({ commonName: c.host, dnsNames: [c.host], keyType: c.keyType });
    writeFileSync(join(out, `${c.name}.crt`), issued.certPem);
    writeFileSync(join(out, `${c.name}.key`), issued.keyPem, { mode: 0o600 });
    docs.push(tlsSecretManifest({ namespace: NAMESPACE, name: `bench-${c.name}`, certPem: issued.certPem, keyPem: issued.keyPem }));
  }
  docs.push(
    stringify({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'bench-tls', namespace: NAMESPACE },
      spec: {
        tls: CASES.map((c) => ({ hosts: [c.host], secretName: `bench-${c.name}` })),
        rules: CASES.map((c) => ({ host: c.host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend() }] } })),
      },
    }),
    stringify({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'backend', namespace: NAMESPACE },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 8081, protocol: 'TCP' }] },
    }),
    stringify({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'backend-bench', namespace: NAMESPACE, labels: { 'kubernetes.io/service-name': 'backend' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
      ports: [{ name: 'http', port: backendPort, protocol: 'TCP' }],
    }),
  );
  writeFileSync(join(out, 'manifests', 'bench.yaml'), docs.join('---\n'), { mode: 0o600 });
}

main();
