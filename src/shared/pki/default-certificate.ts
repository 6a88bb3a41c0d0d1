// The certificate the HTTPS listener presents when no Secret matches the SNI
// name and no --default-ssl-certificate is configured (ingress-nginx's
// "Kubernetes Ingress Controller Fake Certificate" plays the same role).
// Generated at start-up, never stored: each process gets its own key.

import { issueCertificate, type IssuedCertificate } from './certificate.ts';

export const DEFAULT_CERTIFICATE_COMMON_NAME = 'Martello Default Certificate';
/** `.invalid` is reserved (RFC 6761 6.4): the name can never belong to a real host, so no client ever trusts it by accident. */
export const DEFAULT_CERTIFICATE_DNS_NAME = 'martello.invalid';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Self-signed, valid from an hour before `now` (tolerating clock skew) until
 * a year after it. ECDSA P-256 because a key takes well under a millisecond to generate
 * (RSA-2048 takes tens to hundreds, on every start-up) and P-256 signatures
 * make handshakes cheaper than RSA for the server, which matters when this
 * certificate answers scanners and misdirected traffic.
 */
export function generateDefaultCertificate(now: Date = new Date()): IssuedCertificate {
  return issueCertificate({
    commonName: DEFAULT_CERTIFICATE_COMMON_NAME,
    dnsNames: [DEFAULT_CERTIFICATE_DNS_NAME],
    keyType: 'ec-p256',
    notBefore: new Date(now.getTime() - HOUR_MS),
    notAfter: new Date(now.getTime() + 365 * DAY_MS),
  });
}
