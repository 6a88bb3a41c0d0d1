// Per-Ingress settings read from annotations, once per translation, before
// the passes that use them. Everything here is typed and validated
// (security.md R1/R2): an annotation is a value, never configuration text.

import { formatKey, keyOf } from '../../k8s/keys.ts';
import type { Ingress } from '../../k8s/objects.ts';
import type { UpstreamProtocol, UpstreamTls } from '../../model/model.ts';
import { ANNOTATION, annotationField, clip, readAnnotation, readBoolean, readByteSize, readEnum } from '../annotations.ts';
import type { TranslateOptions } from '../options.ts';
import type { ResourceSnapshot } from '../snapshot.ts';
import type { StatusRecorder } from '../status.ts';
import { readBalancingSettings, ROUND_ROBIN, type BalancingSettings } from './balancing-settings.ts';
import { readHealthSettings, type HealthSettings } from './health-settings.ts';
import { readUpstreamSettings, type UpstreamSettings } from './upstream-settings.ts';

/** How an Ingress wants its backends reached, overriding the Service port's appProtocol. */
export interface BackendOverride {
  readonly protocol: UpstreamProtocol;
  readonly upstreamTls: UpstreamTls | undefined;
  /** Appended to the cluster id, so two Ingresses reaching one Service port differently get two clusters. */
  readonly idSuffix: string;
}

export interface IngressSettings {
  /** Plain-HTTP requests to hosts with TLS are redirected (ssl-redirect; default from --ssl-redirect). */
  readonly sslRedirect: boolean;
  /** Redirect plain HTTP even without TLS on the host (force-ssl-redirect). */
  readonly forceSslRedirect: boolean;
  readonly backend: BackendOverride | undefined;
  /** load-balance, upstream-hash-by, affinity and session-cookie-* (see balancing-settings.ts). */
  readonly balancing: BalancingSettings;
  /** proxy-*-timeout and proxy-next-upstream* (see upstream-settings.ts). */
  readonly upstream: UpstreamSettings;
  /** martello.dev/outlier-*, slow-start-window and health-check-* (see health-settings.ts). */
  readonly health: HealthSettings;
  /** proxy-body-size in bytes (0: no limit); undefined: --max-body-size applies. */
  readonly maxBodyBytes: number | undefined;
}

const BACKEND_PROTOCOLS = ['HTTP', 'HTTPS', 'GRPC', 'GRPCS', 'H2C', 'H2', 'AUTO_HTTP'] as const;
type BackendProtocolValue = (typeof BACKEND_PROTOCOLS)[number];

const PROTOCOL_OF: Readonly<Record<BackendProtocolValue, UpstreamProtocol>> = {
  HTTP: 'http1',
  AUTO_HTTP: 'http1',
  HTTPS: 'https',
  GRPC: 'h2c',
  H2C: 'h2c',
  GRPCS: 'h2',
  H2: 'h2',
};

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

export function readIngressSettings(ing: Ingress, snap: ResourceSnapshot, opts: TranslateOptions, rec: StatusRecorder, secretRefs: Set<string>): IngressSettings {
  return {
    sslRedirect: readBoolean(ing, ANNOTATION.sslRedirect, opts.sslRedirect, rec),
    forceSslRedirect: readBoolean(ing, ANNOTATION.forceSslRedirect, false, rec),
    backend: readBackendOverride(ing, snap, rec, secretRefs),
    balancing: readBalancingSettings(ing, opts.loadBalancing ?? ROUND_ROBIN, rec),
    upstream: readUpstreamSettings(ing, rec),
    health: readHealthSettings(ing, rec),
    maxBodyBytes: readByteSize(ing, ANNOTATION.proxyBodySize, rec),
  };
}

function readBackendOverride(ing: Ingress, snap: ResourceSnapshot, rec: StatusRecorder, secretRefs: Set<string>): BackendOverride | undefined {
  const value = readEnum(ing, ANNOTATION.backendProtocol, BACKEND_PROTOCOLS, rec);
  const protocol = value === undefined ? undefined : PROTOCOL_OF[value];
  if (protocol !== 'https' && protocol !== 'h2') {
    warnUnusedTlsAnnotations(ing, rec);
    return protocol === undefined ? undefined : { protocol, upstreamTls: undefined, idSuffix: `|${protocol}` };
  }
  const { tls: upstreamTls, caSecret } = readUpstreamTls(ing, snap, rec, secretRefs);
  const tlsKey = `${upstreamTls.verify ? 'verify' : 'noverify'},${upstreamTls.serverName ?? ''},${caSecret ?? ''}`;
  return { protocol, upstreamTls, idSuffix: `|${protocol}|${tlsKey}` };
}

/** proxy-ssl-* only mean something for TLS backends: say so instead of ignoring them silently. */
function warnUnusedTlsAnnotations(ing: Ingress, rec: StatusRecorder): void {
  for (const keys of [ANNOTATION.proxySslVerify, ANNOTATION.proxySslSecret, ANNOTATION.proxySslName]) {
    const found = readAnnotation(ing, keys);
    if (found !== undefined) {
      rec.report('warning', 'annotation-unused', formatKey(keyOf(ing)), annotationField(found.name),
        'has no effect unless backend-protocol is HTTPS or GRPCS; the annotation is ignored');
    }
  }
}

/**
 * proxy-ssl-verify (off by default, as in ingress-nginx), proxy-ssl-secret
 * (a kubernetes.io/tls Secret in the Ingress's namespace whose ca.crt is the
 * trust anchor), proxy-ssl-name (the name to send as SNI and verify).
 */
function readUpstreamTls(ing: Ingress, snap: ResourceSnapshot, rec: StatusRecorder, secretRefs: Set<string>): { tls: UpstreamTls; caSecret: string | undefined } {
  const object = formatKey(keyOf(ing));
  const verify = readBoolean(ing, ANNOTATION.proxySslVerify, false, rec);
  let serverName: string | null = null;
  const name = readAnnotation(ing, ANNOTATION.proxySslName);
  if (name !== undefined) {
    const v = name.value.toLowerCase();
    if (DNS_NAME.test(v)) serverName = v;
    else rec.report('error', 'annotation-invalid', object, annotationField(name.name), `expected a DNS name, got "${clip(name.value)}"; the annotation is ignored`);
  }
  let caPem: string | null = null;
  let caSecret: string | undefined;
  const secretAnnotation = readAnnotation(ing, ANNOTATION.proxySslSecret);
  if (secretAnnotation !== undefined) {
    const field = annotationField(secretAnnotation.name);
    const [ns, secretName, extra] = secretAnnotation.value.split('/');
    if (extra !== undefined || secretName === undefined || ns !== ing.metadata.namespace) {
      rec.report('error', 'annotation-invalid', object, field,
        `expected "${ing.metadata.namespace}/NAME" (a Secret in the Ingress's own namespace), got "${clip(secretAnnotation.value)}"; the annotation is ignored`);
    } else {
      const id = `${ns}/${secretName}`;
      secretRefs.add(id);
      const ca = snap.secrets.get(id)?.data['ca.crt'];
      if (ca === undefined) {
        rec.report('error', 'proxy-ssl-secret-unusable', object, field,
          `Secret ${id} not found or has no "ca.crt"; ${verify ? 'verification uses the default trust roots' : 'it is not used'}`);
      } else {
        caPem = new TextDecoder().decode(ca);
        caSecret = id;
      }
    }
  }
  return { tls: { verify, caPem, serverName }, caSecret };
}
