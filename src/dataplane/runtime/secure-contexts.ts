// TLS contexts for the certificates of the current table, and the SNI
// callback that picks one per handshake. A SecureContext is built once per
// distinct certificate (keyed by fingerprint and key) and shared by every
// table generation that still lists it, so a routing change that leaves a
// certificate alone costs nothing, and a renewed Secret (new fingerprint)
// serves new handshakes as soon as its table is swapped in. Connections
// already established keep the context they negotiated.

import { createHash } from 'node:crypto';
import { createSecureContext, DEFAULT_CIPHERS, type SecureContext } from 'node:tls';
import type { TlsCertificate } from '../../model/model.ts';
import type { Logger } from '../../shared/log.ts';
import type { RouteTable } from '../compile/route-table.ts';

/** TLS 1.2 and 1.3 only (issue 4; ingress-nginx's default ssl-protocols). */
export const MIN_TLS_VERSION = 'TLSv1.2';

/**
 * Node.js's default cipher list with the TLS 1.3 suites in Mozilla's
 * recommended order (AES-128-GCM first). Node.js puts AES-256-GCM first and
 * its server's order wins, so Martello negotiated AES-256 where nginx, with
 * the same clients, negotiates AES-128 (docs/benchmarks.md): like for like
 * now, and what Mozilla's intermediate profile advises. The TLS 1.2 part is
 * Node's own, unchanged.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  ...DEFAULT_CIPHERS.split(':').filter((c) => !c.startsWith('TLS_')),
].join(':');

export interface PemPair {
  readonly certPem: string;
  readonly keyPem: string;
}

export class SecureContexts {
  readonly #logger: Logger;
  readonly #byKey = new Map<string, SecureContext>();
  /** Certificates that failed to load, by cache key: logged once, then served with the default. */
  readonly #failed = new Set<string>();
  #fallback: SecureContext;

  constructor(fallback: PemPair, logger: Logger) {
    this.#logger = logger;
    this.#fallback = build(fallback);
  }

  /** The context served when no configured certificate applies. */
  get fallback(): SecureContext {
    return this.#fallback;
  }

  /** The context for a certificate of the table, or the fallback (null, or a certificate OpenSSL refused). */
  contextFor(cert: TlsCertificate | null): SecureContext {
    if (cert === null) return this.#fallback;
    const key = cacheKey(cert);
    const hit = this.#byKey.get(key);
    if (hit !== undefined) return hit;
    if (this.#failed.has(key)) return this.#fallback;
    try {
      const ctx = build(cert);
      this.#byKey.set(key, ctx);
      return ctx;
    } catch (err) {
      // Translation validated the PEM with the same library, so this is rare
      // (e.g. a key type this OpenSSL build refuses); keep serving.
      this.#failed.add(key);
      this.#logger.error('certificate could not be loaded; serving the default certificate for its hosts', { certificate: cert.id, err });
      return this.#fallback;
    }
  }

  /** After a swap: drop contexts no certificate of `table` uses, and prebuild the new ones off the handshake path. */
  retain(table: RouteTable): void {
    const wanted = new Set<string>();
    for (const cert of table.tls.certificates.values()) {
      wanted.add(cacheKey(cert));
      this.contextFor(cert);
    }
    for (const key of this.#byKey.keys()) if (!wanted.has(key)) this.#byKey.delete(key);
    for (const key of this.#failed) if (!wanted.has(key)) this.#failed.delete(key);
  }

  /** Number of cached contexts (tests, metrics). */
  get size(): number {
    return this.#byKey.size;
  }
}

function build(pem: PemPair): SecureContext {
  return createSecureContext({ cert: pem.certPem, key: pem.keyPem, minVersion: MIN_TLS_VERSION, ciphers: TLS_CIPHERS });
}

const keys = new WeakMap<TlsCertificate, string>();

/** Memoised per (immutable) certificate object: handshakes only do a WeakMap and a Map lookup. */
function cacheKey(cert: TlsCertificate): string {
  let key = keys.get(cert);
  if (key === undefined) {
    // The fingerprint identifies the leaf; key and chain are hashed in as well
    // so a Secret that changes only those still gets a new context.
    key = `${cert.fingerprint}|${createHash('sha256').update(cert.keyPem).update(cert.certPem).digest('base64')}`;
    keys.set(cert, key);
  }
  return key;
}
