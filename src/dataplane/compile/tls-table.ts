// Server-name lookups for TLS, compiled from the model's TLS hosts: which
// certificate a ClientHello's SNI gets, and whether a request's host has TLS
// (for HSTS). Names are normalised here, once, in one way (lowercase, one
// trailing dot dropped): Node's own SNI matching was case-sensitive once
// (security.md, CVE-2026-48928), so Martello never relies on it.

import type { RoutingModel, TlsCertificate } from '../../model/model.ts';
import { normaliseHost, parentDomain, wildcardSuffix } from './host.ts';

export class TlsTable {
  /** The model's certificates by id. */
  readonly certificates: ReadonlyMap<string, TlsCertificate>;
  /** The configured default certificate, or null when Martello's generated one serves. */
  readonly defaultCertificate: TlsCertificate | null;
  /** Exact TLS host → its certificate (null: the default certificate). */
  readonly #exact = new Map<string, TlsCertificate | null>();
  /** Wildcard TLS host suffix ("example.com" for "*.example.com") → its certificate. */
  readonly #wildcard = new Map<string, TlsCertificate | null>();

  constructor(model: RoutingModel) {
    const certs = new Map<string, TlsCertificate>();
    for (const c of model.certificates) certs.set(c.id, c);
    this.certificates = certs;
    this.defaultCertificate = model.defaultCertificate === undefined ? null : (certs.get(model.defaultCertificate) ?? null);
    for (const h of model.tlsHosts) {
      const host = normaliseHost(h.host);
      const cert = h.certificate === null ? null : (certs.get(h.certificate) ?? null);
      const suffix = wildcardSuffix(host);
      if (suffix !== undefined) {
        if (!this.#wildcard.has(suffix)) this.#wildcard.set(suffix, cert);
      } else if (!this.#exact.has(host)) {
        this.#exact.set(host, cert);
      }
    }
  }

  /** True when any TLS host is configured. */
  get hasTlsHosts(): boolean {
    return this.#exact.size > 0 || this.#wildcard.size > 0;
  }

  /**
   * The certificate for a ClientHello's server name: exact host, then the
   * one-label wildcard, then the default; null means the generated default.
   */
  certificateFor(serverName: string): TlsCertificate | null {
    const name = normaliseHost(serverName);
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact ?? this.defaultCertificate;
    const parent = parentDomain(name);
    if (parent !== undefined) {
      const wild = this.#wildcard.get(parent);
      if (wild !== undefined) return wild ?? this.defaultCertificate;
    }
    return this.defaultCertificate;
  }

  /** Whether a request host (raw Host/:authority value) is a TLS host: HTTPS responses for it carry HSTS. */
  hasTls(hostHeader: string): boolean {
    const host = normaliseHost(hostHeader);
    if (this.#exact.has(host)) return true;
    const parent = parentDomain(host);
    return parent !== undefined && this.#wildcard.has(parent);
  }
}
