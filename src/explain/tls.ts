// The TLS side of a request: which certificate the SNI name gets (or, on
// plain HTTP, the one HTTPS would serve for the host), whether Host and SNI
// select the same virtual host (421), the HTTP → HTTPS redirect with its
// ACME exception, and HSTS. Lookups go through the compiled TLS table, the
// one the HTTPS listener uses.

import { normaliseHost, parentDomain, wildcardSuffix } from '../dataplane/compile/host.ts';
import type { RouteTable } from '../dataplane/compile/route-table.ts';
import type { ForwardMatch } from '../dataplane/compile/route-match.ts';
import { isAcmeChallenge } from '../dataplane/proxy/redirect.ts';
import type { Ingress } from '../k8s/objects.ts';
import type { TlsCertificate, TlsHost } from '../model/model.ts';
import { formatDiagnostic, type Diagnostic } from '../shared/diagnostic.ts';
import type { ParsedRequest } from './request.ts';
import type { ExplainedCertificate, ExplainedTls } from './result.ts';

export interface TlsInput {
  readonly table: RouteTable;
  readonly request: ParsedRequest;
  /** What the route table matched (undefined: nothing, 404). */
  readonly match: ForwardMatch | undefined;
  /** HSTS the decision carries, and the configured value (null: --no-hsts). */
  readonly hsts: string | null;
  readonly hstsSetting: string | null;
  readonly ingresses: ReadonlyMap<string, Ingress>;
  readonly diagnostics: readonly Diagnostic[];
}

export function explainTls(input: TlsInput): ExplainedTls {
  const { table, request } = input;
  const host = normaliseHost(request.authority);
  const https = request.scheme === 'https';
  const lookup = https ? request.sni : host;
  const tlsHost = lookup === null ? undefined : findTlsHost(table.model.tlsHosts, lookup);
  const cert = lookup === null ? table.tls.defaultCertificate : table.tls.certificateFor(lookup);
  const certificate = describeCertificate(cert, tlsHost !== undefined && tlsHost.certificate !== null);
  const problems = tlsHost === undefined || tlsHost.certificate !== null ? [] : secretProblems(tlsHost, input.ingresses, input.diagnostics);
  const hostHasTls = table.tls.hasTls(request.authority);

  let certificateReason: string;
  if (lookup === null) certificateReason = 'no SNI: the default certificate is served';
  else if (tlsHost === undefined) certificateReason = `"${normaliseHost(lookup)}" is not a TLS host: the default certificate is served`;
  else if (tlsHost.certificate === null) certificateReason = `TLS host ${tlsHost.host} (Ingress ${tlsHost.ingress}) has no usable certificate: the default certificate is served`;
  else certificateReason = `TLS host ${tlsHost.host} (Ingress ${tlsHost.ingress}) uses Secret ${tlsHost.certificate}`;
  if (!https && lookup !== null) certificateReason = `over HTTPS: ${certificateReason}`;

  let sniCheck: ExplainedTls['sniCheck'] = null;
  if (https && request.sni !== null) {
    const sniVh = table.virtualHostFor(request.sni);
    const hostVh = table.virtualHostFor(request.authority);
    sniCheck = { sniVirtualHost: sniVh?.host ?? null, hostVirtualHost: hostVh?.host ?? null, misdirected: sniVh !== hostVh };
  }

  let redirect: ExplainedTls['redirect'] = null;
  if (!https && input.match !== undefined) {
    const target = input.match.target;
    const acme = isAcmeChallenge(request.path);
    const on = target.httpsRedirect === true;
    let reason: string;
    if (on) {
      reason = hostHasTls
        ? `the host has TLS and ssl-redirect is on for Ingress ${target.ingress}`
        : `force-ssl-redirect is set on Ingress ${target.ingress}`;
      if (acme) reason += '; but ACME HTTP-01 challenges (/.well-known/acme-challenge/) are always served over plain HTTP';
    } else if (hostHasTls) {
      reason = input.match.kind === 'default'
        ? 'the catch-all default backend only redirects when force-ssl-redirect is set'
        : `the host has TLS, but ssl-redirect is off for Ingress ${target.ingress}`;
    } else {
      reason = 'the host has no TLS (no tls section lists it) and no force-ssl-redirect';
    }
    redirect = { applies: on && !acme, reason, acmeException: on && acme };
  }

  let hstsReason: string;
  if (input.hsts !== null) hstsReason = 'HTTPS response for a TLS host';
  else if (!https) hstsReason = 'never on plain HTTP';
  else if (!hostHasTls) hstsReason = 'the host has no TLS section';
  else if (input.hstsSetting === null) hstsReason = 'HSTS is turned off (--no-hsts)';
  else hstsReason = 'this answer is not sent with HSTS (only responses routed to a backend, and 503s, carry it)';

  return {
    hostHasTls,
    tlsHost: tlsHost === undefined ? null : { host: tlsHost.host, ingress: tlsHost.ingress },
    certificateFor: lookup === null ? null : normaliseHost(lookup),
    certificate,
    certificateReason,
    problems,
    sniCheck,
    redirect,
    hstsReason,
  };
}

/** The TLS host entry an SNI name selects: exact, then the one-label wildcard (as TlsTable does). */
function findTlsHost(hosts: readonly TlsHost[], name: string): TlsHost | undefined {
  const n = normaliseHost(name);
  const exact = hosts.find((h) => normaliseHost(h.host) === n);
  if (exact !== undefined) return exact;
  const parent = parentDomain(n);
  return parent === undefined ? undefined : hosts.find((h) => wildcardSuffix(normaliseHost(h.host)) === parent);
}

function describeCertificate(cert: TlsCertificate | null, fromTlsHost: boolean): ExplainedCertificate {
  if (cert === null) return { source: 'generated' };
  return { source: fromTlsHost ? 'tls-host' : 'default', id: cert.id, fingerprint: cert.fingerprint, names: cert.names, notAfter: cert.notAfter };
}

/** Diagnostics on the tls entries of the Ingress that list this host (or list no hosts, which covers its rule hosts). */
function secretProblems(tlsHost: TlsHost, ingresses: ReadonlyMap<string, Ingress>, diagnostics: readonly Diagnostic[]): string[] {
  const ing = ingresses.get(tlsHost.ingress);
  if (ing === undefined) return [];
  const fields = ing.spec.tls.flatMap((t, i) => (t.hosts.length === 0 || t.hosts.includes(tlsHost.host) ? [`spec.tls[${i}]`] : []));
  return diagnostics
    .filter((d) => d.object === `Ingress ${tlsHost.ingress}` && d.field !== undefined && fields.some((f) => d.field === f || d.field!.startsWith(`${f}.`)))
    .filter((d) => d.code !== 'tls-host-not-covered' || d.message.includes(`"${tlsHost.host}"`))
    .map(formatDiagnostic);
}
