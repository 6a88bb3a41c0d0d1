// Reading Ingress annotations: Martello's own names (martello.dev/...) and
// the ingress-nginx names users migrate with. Each setting lists its names in
// order of precedence (ours first). Values are parsed strictly; a value that
// does not parse is reported on the Ingress, with the annotation as the
// field, and the setting keeps its default — a typo never changes routing
// in a way nobody asked for.

import { formatKey, keyOf } from '../k8s/keys.ts';
import type { Ingress } from '../k8s/objects.ts';
import { parseByteSize } from '../shared/byte-size.ts';
import type { StatusRecorder } from './status.ts';

const NGINX = 'nginx.ingress.kubernetes.io/';
const OURS = 'martello.dev/';

function names(key: string): readonly string[] {
  return [OURS + key, NGINX + key];
}

export const ANNOTATION = Object.freeze({
  sslRedirect: names('ssl-redirect'),
  forceSslRedirect: names('force-ssl-redirect'),
  backendProtocol: names('backend-protocol'),
  proxySslVerify: names('proxy-ssl-verify'),
  proxySslSecret: names('proxy-ssl-secret'),
  proxySslName: names('proxy-ssl-name'),
  proxySslServerName: names('proxy-ssl-server-name'),
  loadBalance: names('load-balance'),
  upstreamHashBy: names('upstream-hash-by'),
  upstreamHashBySubset: names('upstream-hash-by-subset'),
  /** Martello only: "maglev" (default) or "ring" for upstream-hash-by. */
  upstreamHashTable: [OURS + 'upstream-hash-table'],
  affinity: names('affinity'),
  affinityMode: names('affinity-mode'),
  sessionCookieName: names('session-cookie-name'),
  sessionCookiePath: names('session-cookie-path'),
  sessionCookieDomain: names('session-cookie-domain'),
  sessionCookieSameSite: names('session-cookie-samesite'),
  sessionCookieConditionalSameSiteNone: names('session-cookie-conditional-samesite-none'),
  sessionCookieSecure: names('session-cookie-secure'),
  sessionCookieMaxAge: names('session-cookie-max-age'),
  sessionCookieExpires: names('session-cookie-expires'),
  sessionCookieChangeOnFailure: names('session-cookie-change-on-failure'),
  /** nginx's client_max_body_size syntax: "8m", "512k", "0" (no limit). */
  proxyBodySize: names('proxy-body-size'),
  proxyConnectTimeout: names('proxy-connect-timeout'),
  proxyReadTimeout: names('proxy-read-timeout'),
  proxySendTimeout: names('proxy-send-timeout'),
  proxyNextUpstream: names('proxy-next-upstream'),
  proxyNextUpstreamTries: names('proxy-next-upstream-tries'),
  proxyNextUpstreamTimeout: names('proxy-next-upstream-timeout'),
  /** Martello only (docs/load-balancing.md, "Outlier detection"): a count, or "off". */
  outlierConsecutiveErrors: [OURS + 'outlier-consecutive-errors'],
  outlierBaseEjection: [OURS + 'outlier-base-ejection'],
  outlierMaxEjectionPercent: [OURS + 'outlier-max-ejection-percent'],
  /** Martello only: a duration ("30s"); absent: no slow start. */
  slowStartWindow: [OURS + 'slow-start-window'],
  /** Martello only: active HTTP health checks (docs/load-balancing.md, "Active health checks"). */
  healthCheckPath: [OURS + 'health-check-path'],
  healthCheckInterval: [OURS + 'health-check-interval'],
  healthCheckTimeout: [OURS + 'health-check-timeout'],
  healthCheckHealthyThreshold: [OURS + 'health-check-healthy-threshold'],
  healthCheckUnhealthyThreshold: [OURS + 'health-check-unhealthy-threshold'],
});

export function annotationField(name: string): string {
  return `metadata.annotations["${name}"]`;
}

/** The first annotation present among `keys`, with its name. */
export function readAnnotation(ing: Ingress, keys: readonly string[]): { name: string; value: string } | undefined {
  const a = ing.metadata.annotations;
  for (const name of keys) {
    const value = a[name];
    if (value !== undefined) return { name, value: value.trim() };
  }
  return undefined;
}

const TRUE = new Set(['true', 'on']);
const FALSE = new Set(['false', 'off']);

/** "true"/"false" (and "on"/"off", which ingress-nginx uses for some keys), case-insensitive. */
export function readBoolean(ing: Ingress, keys: readonly string[], fallback: boolean, rec: StatusRecorder): boolean {
  const found = readAnnotation(ing, keys);
  if (found === undefined) return fallback;
  const v = found.value.toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  rec.report('error', 'annotation-invalid', formatKey(keyOf(ing)), annotationField(found.name),
    `expected "true" or "false", got "${clip(found.value)}"; the annotation is ignored (default: ${fallback})`);
  return fallback;
}

/** One of `allowed` (matched case-insensitively, returned as listed). */
export function readEnum<T extends string>(ing: Ingress, keys: readonly string[], allowed: readonly T[], rec: StatusRecorder): T | undefined {
  const found = readAnnotation(ing, keys);
  if (found === undefined) return undefined;
  const hit = allowed.find((a) => a.toLowerCase() === found.value.toLowerCase());
  if (hit === undefined) {
    rec.report('error', 'annotation-invalid', formatKey(keyOf(ing)), annotationField(found.name),
      `expected one of ${allowed.join(', ')}, got "${clip(found.value)}"; the annotation is ignored`);
  }
  return hit;
}

/** A size in nginx's syntax (bytes, k, m or g; "0": no limit), or undefined when absent or invalid (reported). */
export function readByteSize(ing: Ingress, keys: readonly string[], rec: StatusRecorder): number | undefined {
  const found = readAnnotation(ing, keys);
  if (found === undefined) return undefined;
  const bytes = parseByteSize(found.value);
  if (bytes === undefined) {
    rec.report('error', 'annotation-invalid', formatKey(keyOf(ing)), annotationField(found.name),
      `expected a size such as 512k, 8m, 1g or 0 (no limit), got "${clip(found.value)}"; the annotation is ignored`);
  }
  return bytes;
}

/** Annotation values are user text: keep what is echoed short and printable. */
export function clip(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 80 ? `${printable.slice(0, 80)}...` : printable;
}
