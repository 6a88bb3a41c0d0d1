// Regressions found by translate.fuzz.test.ts in certificate validation.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Secret } from '../../k8s/objects.ts';
import { issueCertificate } from '../../shared/pki/certificate.ts';
import { pemCertificateBlocks, validateTlsSecret } from './certificate.ts';

const BEGIN = '-----BEGIN CERTIFICATE-----';
const END = '-----END CERTIFICATE-----';

function secret(crt: string, key: string): Secret {
  const enc = new TextEncoder();
  return {
    kind: 'Secret', apiVersion: 'v1', type: 'kubernetes.io/tls',
    metadata: { name: 'bomb', namespace: 'default', uid: undefined, resourceVersion: undefined, generation: undefined, creationTimestamp: undefined, labels: {}, annotations: {} },
    data: { 'tls.crt': enc.encode(crt), 'tls.key': enc.encode(key) },
  };
}

/** What certificate.ts used before: right, but quadratic on BEGIN markers without an END. */
function former(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

test('PEM blocks: the same blocks the former lazy regular expression found', () => {
  for (const text of [
    '', 'garbage', `${BEGIN}\nAAAA\n${END}\n`, `${BEGIN}${END}`, `${BEGIN}x${END}`, `${BEGIN}\n${END}${BEGIN}\nB\n${END}`,
    `${BEGIN}\nA\n${BEGIN}\nB\n${END}\n`, `${BEGIN}\nA\n${END}\n${BEGIN}\nno end`, `junk${BEGIN}\nA\n${END}junk${BEGIN}\nB\n${END}junk`,
    `${BEGIN}-----END CERTIFICATE----`, `${END}${BEGIN}\nA\n${END}`,
  ]) {
    assert.deepEqual(pemCertificateBlocks(text), former(text), JSON.stringify(text));
  }
});

test('a 1 MiB tls.crt of BEGIN lines without END is refused without stalling the event loop for seconds', () => {
  // The API server's limit for a whole Secret; the former regular expression took about 17 s on this.
  const bomb = `${BEGIN}\n`.repeat(Math.floor((1024 * 1024) / (BEGIN.length + 1)));
  const { keyPem } = issueCertificate({ commonName: 'bomb.test' });
  const start = performance.now();
  const verdict = validateTlsSecret(secret(bomb, keyPem), undefined);
  const ms = performance.now() - start;
  assert.equal(verdict.ok, false);
  assert.equal(verdict.ok === false && verdict.code, 'tls-certificate-invalid');
  // A stall guard with a wide margin, not a speed measurement: linear is a few ms, quadratic was 17 s.
  assert.ok(ms < 3000, `took ${ms.toFixed(0)} ms`);
});
