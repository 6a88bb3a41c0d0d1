// Per-Ingress load-balancing and session-affinity settings, read from
// annotations (ingress-nginx's load-balance, upstream-hash-by, affinity and
// session-cookie-* names, and Martello's martello.dev/ ones). Everything is
// parsed into typed values: upstream-hash-by accepts exactly four nginx
// variable forms and nothing else, so no annotation text is ever
// interpolated or evaluated (security.md R1/R2). See docs/load-balancing.md.

import { formatKey, keyOf } from '../../k8s/keys.ts';
import type { Ingress } from '../../k8s/objects.ts';
import { isCookieDomain, isCookieName, isCookiePath, MAX_COOKIE_LIFETIME_SECONDS } from '../../model/cookie-syntax.ts';
import type { AffinityPolicy, CookieAffinity, HashKey, LoadBalancingPolicy } from '../../model/model.ts';
import { ANNOTATION, annotationField, clip, readAnnotation, readBoolean, readEnum } from '../annotations.ts';
import type { StatusRecorder } from '../status.ts';

export interface BalancingSettings {
  /** The Ingress's policy, or the global default (--load-balance) when it sets none. */
  readonly loadBalancing: LoadBalancingPolicy;
  readonly affinity: AffinityPolicy | undefined;
  /**
   * Appended to cluster ids when the settings differ from the global default,
   * so two Ingresses balancing one Service port differently get two clusters
   * (each with its own balancer state). "" when they match the default.
   */
  readonly idSuffix: string;
}

/** Decay time of the peak-EWMA latency average: 10 s, as Finagle, Linkerd and ingress-nginx's ewma use. */
export const DEFAULT_EWMA_DECAY_MS = 10_000;

/** ingress-nginx's default sticky cookie name. */
export const DEFAULT_AFFINITY_COOKIE = 'INGRESSCOOKIE';

export const ROUND_ROBIN: LoadBalancingPolicy = Object.freeze({ kind: 'round-robin' });

/** load-balance values: ingress-nginx's round_robin and ewma, plus Martello's least_request. */
export const LOAD_BALANCE_VALUES = ['round_robin', 'least_request', 'ewma'] as const;
export type LoadBalanceValue = (typeof LOAD_BALANCE_VALUES)[number];

export function policyOfLoadBalance(value: LoadBalanceValue): LoadBalancingPolicy {
  if (value === 'least_request') return { kind: 'least-request', choices: 2 };
  if (value === 'ewma') return { kind: 'peak-ewma', decayMs: DEFAULT_EWMA_DECAY_MS };
  return ROUND_ROBIN;
}

export function readBalancingSettings(ing: Ingress, defaultPolicy: LoadBalancingPolicy, rec: StatusRecorder): BalancingSettings {
  const loadBalancing = readHashPolicy(ing, rec) ?? readLoadBalance(ing, rec) ?? defaultPolicy;
  const affinity = readAffinity(ing, rec);
  const policyKey = describePolicy(loadBalancing);
  let idSuffix = policyKey === describePolicy(defaultPolicy) ? '' : `|lb=${policyKey}`;
  if (affinity !== undefined) idSuffix += `|affinity=${describeAffinity(affinity)}`;
  return { loadBalancing, affinity, idSuffix };
}

function readLoadBalance(ing: Ingress, rec: StatusRecorder): LoadBalancingPolicy | undefined {
  const value = readEnum(ing, ANNOTATION.loadBalance, LOAD_BALANCE_VALUES, rec);
  return value === undefined ? undefined : policyOfLoadBalance(value);
}

/** upstream-hash-by wins over load-balance, as in ingress-nginx; saying so beats ignoring it silently. */
function readHashPolicy(ing: Ingress, rec: StatusRecorder): LoadBalancingPolicy | undefined {
  const object = formatKey(keyOf(ing));
  const subset = readAnnotation(ing, ANNOTATION.upstreamHashBySubset);
  if (subset !== undefined) {
    rec.report('warning', 'annotation-unsupported', object, annotationField(subset.name),
      'hashing to a subset of endpoints is not supported; upstream-hash-by hashes over all endpoints');
  }
  const tableAnnotation = readAnnotation(ing, ANNOTATION.upstreamHashTable);
  const found = readAnnotation(ing, ANNOTATION.upstreamHashBy);
  if (found === undefined) {
    if (tableAnnotation !== undefined) {
      rec.report('warning', 'annotation-unused', object, annotationField(tableAnnotation.name),
        'has no effect without upstream-hash-by; the annotation is ignored');
    }
    return undefined;
  }
  const table = readEnum(ing, ANNOTATION.upstreamHashTable, ['maglev', 'ring'] as const, rec) ?? 'maglev';
  const key = parseHashKey(found.value);
  if (key === undefined) {
    rec.report('error', 'annotation-invalid', object, annotationField(found.name),
      `expected one of $remote_addr, $binary_remote_addr, $request_uri, $http_NAME or $cookie_NAME, got "${clip(found.value)}"; the annotation is ignored`);
    return undefined;
  }
  const lb = readAnnotation(ing, ANNOTATION.loadBalance);
  if (lb !== undefined) {
    rec.report('warning', 'annotation-unused', object, annotationField(lb.name),
      'upstream-hash-by is set and takes precedence; the annotation is ignored');
  }
  return { kind: 'hash', key, table };
}

/** nginx variable names are [A-Za-z0-9_]; in $http_NAME an underscore stands for "-". */
const HTTP_VAR = /^\$http_([a-z0-9_]{1,100})$/i;
const COOKIE_VAR = /^\$cookie_([A-Za-z0-9_]{1,100})$/;

/** The four nginx variable forms Martello understands as a hash key; anything else is undefined. */
export function parseHashKey(value: string): HashKey | undefined {
  if (value === '$remote_addr' || value === '$binary_remote_addr') return { source: 'client-ip' };
  if (value === '$request_uri') return { source: 'uri' };
  const http = HTTP_VAR.exec(value);
  if (http?.[1] !== undefined) return { source: 'header', name: http[1].toLowerCase().replaceAll('_', '-') };
  const cookie = COOKIE_VAR.exec(value);
  if (cookie?.[1] !== undefined) return { source: 'cookie', name: cookie[1] };
  return undefined;
}

const COOKIE_ANNOTATIONS = [
  ANNOTATION.affinityMode,
  ANNOTATION.sessionCookieName,
  ANNOTATION.sessionCookiePath,
  ANNOTATION.sessionCookieDomain,
  ANNOTATION.sessionCookieSameSite,
  ANNOTATION.sessionCookieSecure,
  ANNOTATION.sessionCookieMaxAge,
  ANNOTATION.sessionCookieExpires,
  ANNOTATION.sessionCookieChangeOnFailure,
] as const;

function readAffinity(ing: Ingress, rec: StatusRecorder): CookieAffinity | undefined {
  const object = formatKey(keyOf(ing));
  const kind = readEnum(ing, ANNOTATION.affinity, ['cookie'] as const, rec);
  if (kind === undefined) {
    for (const keys of COOKIE_ANNOTATIONS) {
      const found = readAnnotation(ing, keys);
      if (found !== undefined) {
        rec.report('warning', 'annotation-unused', object, annotationField(found.name),
          'has no effect unless affinity is "cookie"; the annotation is ignored');
      }
    }
    return undefined;
  }
  const conditional = readAnnotation(ing, ANNOTATION.sessionCookieConditionalSameSiteNone);
  if (conditional !== undefined) {
    rec.report('warning', 'annotation-unsupported', object, annotationField(conditional.name),
      'user-agent sniffing is not supported; SameSite is sent as configured');
  }
  const mode = readEnum(ing, ANNOTATION.affinityMode, ['balanced', 'persistent'] as const, rec) ?? 'balanced';
  const name = readChecked(ing, ANNOTATION.sessionCookieName, rec, isCookieName,
    'a cookie name (letters, digits and !#$%&\'*+-.^_`|~, at most 128)') ?? DEFAULT_AFFINITY_COOKIE;
  const path = readChecked(ing, ANNOTATION.sessionCookiePath, rec, isCookiePath,
    'a path starting with "/" without spaces, ";", "," or "\\"');
  const domain = readChecked(ing, ANNOTATION.sessionCookieDomain, rec, (v) => isCookieDomain(v.toLowerCase()), 'a DNS name')?.toLowerCase();
  const sameSite = readEnum(ing, ANNOTATION.sessionCookieSameSite, ['Strict', 'Lax', 'None'] as const, rec);
  const secure = readBoolean(ing, ANNOTATION.sessionCookieSecure, false, rec);
  const maxAgeSeconds = readSeconds(ing, ANNOTATION.sessionCookieMaxAge, rec);
  const expiresSeconds = readSeconds(ing, ANNOTATION.sessionCookieExpires, rec);
  const changeOnFailure = readBoolean(ing, ANNOTATION.sessionCookieChangeOnFailure, false, rec);
  if (sameSite === 'None' && !secure) {
    const found = readAnnotation(ing, ANNOTATION.sessionCookieSameSite);
    rec.report('warning', 'session-cookie-samesite-none-insecure', object, annotationField(found?.name ?? ANNOTATION.sessionCookieSameSite[0]!),
      'browsers drop SameSite=None cookies without Secure, which is sent only on HTTPS requests unless session-cookie-secure is "true"');
  }
  return {
    kind: 'cookie',
    mode,
    name,
    ...(path === undefined ? {} : { path }),
    ...(domain === undefined ? {} : { domain }),
    ...(sameSite === undefined ? {} : { sameSite }),
    ...(secure ? { secure: true as const } : {}),
    ...(maxAgeSeconds === undefined ? {} : { maxAgeSeconds }),
    ...(expiresSeconds === undefined ? {} : { expiresSeconds }),
    changeOnFailure,
  };
}

function readChecked(ing: Ingress, keys: readonly string[], rec: StatusRecorder, ok: (v: string) => boolean, expected: string): string | undefined {
  const found = readAnnotation(ing, keys);
  if (found === undefined) return undefined;
  if (ok(found.value)) return found.value;
  rec.report('error', 'annotation-invalid', formatKey(keyOf(ing)), annotationField(found.name),
    `expected ${expected}, got "${clip(found.value)}"; the annotation is ignored`);
  return undefined;
}

/** Whole seconds, 0 up to 400 days (the cap browsers apply to cookie lifetimes). */
function readSeconds(ing: Ingress, keys: readonly string[], rec: StatusRecorder): number | undefined {
  const found = readAnnotation(ing, keys);
  if (found === undefined) return undefined;
  const n = /^\d{1,10}$/.test(found.value) ? Number(found.value) : NaN;
  if (Number.isInteger(n) && n <= MAX_COOKIE_LIFETIME_SECONDS) return n;
  rec.report('error', 'annotation-invalid', formatKey(keyOf(ing)), annotationField(found.name),
    `expected a number of seconds from 0 to ${MAX_COOKIE_LIFETIME_SECONDS}, got "${clip(found.value)}"; the annotation is ignored`);
  return undefined;
}

/** A short, readable and unambiguous key for a policy (used in cluster ids). */
export function describePolicy(p: LoadBalancingPolicy): string {
  switch (p.kind) {
    case 'round-robin': return 'round-robin';
    case 'least-request': return `least-request,${p.choices}`;
    case 'peak-ewma': return `peak-ewma,${p.decayMs}`;
    case 'hash': return `hash,${p.table},${p.key.source}${'name' in p.key ? `:${p.key.name}` : ''}`;
  }
}

function describeAffinity(a: CookieAffinity): string {
  const parts: string[] = [a.mode, a.name];
  if (a.path !== undefined) parts.push(`path=${a.path}`);
  if (a.domain !== undefined) parts.push(`domain=${a.domain}`);
  if (a.sameSite !== undefined) parts.push(`samesite=${a.sameSite}`);
  if (a.secure === true) parts.push('secure');
  if (a.maxAgeSeconds !== undefined) parts.push(`max-age=${a.maxAgeSeconds}`);
  if (a.expiresSeconds !== undefined) parts.push(`expires=${a.expiresSeconds}`);
  if (a.changeOnFailure) parts.push('change-on-failure');
  return parts.join(',');
}
