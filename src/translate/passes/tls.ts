// Pass 2a: the tls sections of the Ingresses we own become TLS hosts (SNI
// names) and validated certificates. Rules, in the order an ingress-nginx
// user expects them:
// - A Secret is only ever read from the Ingress's own namespace.
// - An entry without hosts covers every host of that Ingress's rules.
// - An entry without secretName, a missing Secret, or a host the
//   certificate does not cover: the host still has TLS (redirects, HSTS),
//   served with the default certificate, and the problem is reported.
// - A Secret whose material is unusable (bad PEM, key not matching, expired)
//   is reported; if the previous model served a good certificate from that
//   Secret, it stays in use (last known good), else the default one.
// - Two Ingresses listing the same host: the older one's certificate wins.
// - A host whose requests reach a virtual host owned by another namespace
//   (host-owners.ts) is refused: a namespace serves certificates only for
//   traffic it routes itself.

import { formatKey, keyOf } from '../../k8s/keys.ts';
import type { Ingress } from '../../k8s/objects.ts';
import type { RoutingModel, TlsCertificate, TlsHost } from '../../model/model.ts';
import { compareStrings } from '../order.ts';
import { HostOwners, ownershipHint } from './host-owners.ts';
import type { ResourceSnapshot } from '../snapshot.ts';
import type { StatusRecorder } from '../status.ts';
import { certificateCovers, type ParsedCertificate, validateTlsSecret } from '../tls/certificate.ts';

export interface TlsContext {
  /** Milliseconds since the epoch; undefined: validity dates are not checked. */
  readonly now: number | undefined;
  /** The model served so far: where last-known-good certificates come from. */
  readonly previous: RoutingModel | undefined;
}

export interface TlsResult {
  readonly tlsHosts: TlsHost[];
  readonly certificates: TlsCertificate[];
  /** "namespace/name" of every Secret a tls section names. */
  readonly secretRefs: Set<string>;
  /** Id of the configured default certificate when it is usable. */
  readonly defaultCertificate: string | undefined;
}

const TLS_TYPE = 'kubernetes.io/tls';

export function buildTls(
  owned: readonly Ingress[],
  snap: ResourceSnapshot,
  ctx: TlsContext,
  rec: StatusRecorder,
  defaultSecret?: string,
  owners: HostOwners = new HostOwners(new Map()),
): TlsResult {
  const hosts = new Map<string, TlsHost>();
  const certificates = new Map<string, TlsCertificate>();
  const secretRefs = new Set<string>();
  // Per Secret id: the certificate to use, null for "default certificate". Resolved once per translation.
  const resolved = new Map<string, { cert: TlsCertificate | null; parsed: ParsedCertificate | null }>();

  let defaultCertificate: string | undefined;
  if (defaultSecret !== undefined) {
    secretRefs.add(defaultSecret);
    const r = resolveSecret(defaultSecret, snap, ctx, rec, `Secret ${defaultSecret}`, '--default-ssl-certificate');
    resolved.set(defaultSecret, r);
    if (r.cert !== null) {
      certificates.set(r.cert.id, r.cert);
      defaultCertificate = r.cert.id;
    }
  }

  for (const ing of owned) {
    const ns = ing.metadata.namespace;
    const name = `${ns}/${ing.metadata.name}`;
    const object = formatKey(keyOf(ing));
    ing.spec.tls.forEach((entry, i) => {
      const field = `spec.tls[${i}]`;
      const explicit = entry.hosts.length > 0;
      const all = explicit ? entry.hosts : ruleHosts(ing);
      // Hosts owned by another namespace are dropped here; an implicit one (taken from a rule)
      // is not reported again: the rule itself already is.
      const listed = all.filter((raw, j) => {
        const owner = owners.refusesTls(raw.toLowerCase(), ns);
        if (owner === undefined) return true;
        if (explicit) {
          rec.report('warning', 'host-owned-by-other-namespace', object, `${field}.hosts[${j}]`,
            `TLS host "${raw.toLowerCase()}" is not used: ${ownershipHint(owner)}, and only that namespace may serve a certificate for it`);
        }
        return false;
      });
      if (listed.length === 0 && all.length > 0) return;
      if (listed.length === 0) {
        rec.report('warning', 'tls-no-hosts', object, `${field}.hosts`,
          'this tls entry lists no hosts and the Ingress has no rule with a host; it has no effect');
        return;
      }
      let use: { cert: TlsCertificate | null; parsed: ParsedCertificate | null } = { cert: null, parsed: null };
      if (entry.secretName === undefined) {
        rec.report('warning', 'tls-secret-missing', object, `${field}.secretName`,
          'no secretName: these hosts are served with the default certificate');
      } else {
        const id = `${ns}/${entry.secretName}`;
        secretRefs.add(id);
        let r = resolved.get(id);
        if (r === undefined) {
          r = resolveSecret(id, snap, ctx, rec, object, `${field}.secretName`);
          resolved.set(id, r);
        }
        use = r;
      }
      for (const raw of listed) {
        const host = raw.toLowerCase();
        const taken = hosts.get(host);
        if (taken !== undefined) {
          if (taken.ingress !== name || taken.certificate !== (use.cert?.id ?? null)) {
            rec.report('warning', 'tls-host-conflict', object, `${field}.hosts`,
              `host "${host}" already has TLS from Ingress ${taken.ingress} (older, or first by namespace/name); that certificate is used`);
          }
          continue;
        }
        let certificate = use.cert?.id ?? null;
        if (use.cert !== null && use.parsed !== null && !certificateCovers(use.parsed, host)) {
          rec.report('warning', 'tls-host-not-covered', object, `${field}.hosts`,
            `the certificate in Secret ${use.cert.id} is not valid for "${host}" (it covers ${use.parsed.names.join(', ') || 'no DNS names'}); "${host}" is served with the default certificate`);
          certificate = null;
        }
        if (certificate !== null && use.cert !== null) certificates.set(use.cert.id, use.cert);
        hosts.set(host, { host, certificate, ingress: name });
      }
    });
  }
  return {
    tlsHosts: [...hosts.values()].sort((a, b) => compareStrings(a.host, b.host)),
    certificates: [...certificates.values()].sort((a, b) => compareStrings(a.id, b.id)),
    secretRefs,
    defaultCertificate,
  };
}

function ruleHosts(ing: Ingress): string[] {
  const out: string[] = [];
  for (const r of ing.spec.rules) if (r.host !== undefined && !out.includes(r.host)) out.push(r.host);
  return out;
}

function resolveSecret(
  id: string,
  snap: ResourceSnapshot,
  ctx: TlsContext,
  rec: StatusRecorder,
  object: string,
  field: string,
): { cert: TlsCertificate | null; parsed: ParsedCertificate | null } {
  const secret = snap.secrets.get(id);
  if (secret === undefined) {
    const outcome = field === '--default-ssl-certificate' ? 'Martello serves its generated certificate instead' : 'its hosts are served with the default certificate';
    rec.report('error', 'tls-secret-not-found', object, field, `Secret ${id} not found; ${outcome}`);
    return { cert: null, parsed: null };
  }
  if (secret.type !== TLS_TYPE) {
    rec.report('error', 'tls-secret-wrong-type', object, field,
      `Secret ${id} has type "${secret.type}", expected "${TLS_TYPE}"; its hosts are served with the default certificate`);
    return { cert: null, parsed: null };
  }
  const verdict = validateTlsSecret(secret, ctx.now);
  if (!verdict.ok) {
    const previous = ctx.previous?.certificates.find((c) => c.id === id);
    const outcome = previous !== undefined
      ? 'the certificate served before from this Secret stays in use'
      : 'its hosts are served with the default certificate';
    rec.report('error', verdict.code, `Secret ${id}`, verdict.field, `${verdict.reason}; ${outcome}`);
    if (object !== `Secret ${id}`) {
      rec.report('error', verdict.code, object, field, `Secret ${id} is unusable (${verdict.reason}); ${outcome}`);
    }
    // The previous certificate is kept as is; its host coverage was checked when it was accepted.
    return { cert: previous ?? null, parsed: null };
  }
  const p = verdict.certificate;
  const cert: TlsCertificate = {
    id,
    certPem: p.certPem,
    keyPem: p.keyPem,
    fingerprint: p.fingerprint,
    names: p.names,
    notAfter: new Date(p.notAfter).toISOString(),
  };
  return { cert, parsed: p };
}
