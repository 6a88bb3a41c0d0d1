// Per-Ingress retry and timeout settings, read from ingress-nginx's
// proxy-connect-timeout, proxy-read-timeout, proxy-send-timeout,
// proxy-next-upstream, proxy-next-upstream-tries and
// proxy-next-upstream-timeout annotations (martello.dev/ names first), with
// ingress-nginx's meaning and defaults (model/upstream-defaults.ts). Every
// value is parsed into numbers and a fixed set of conditions; an invalid one
// is an `annotation-invalid` error on the Ingress and leaves the default in
// place. See docs/load-balancing.md, "Retries" and "Timeouts".
//
// nginx's proxy_next_upstream values map to Martello's conditions so:
//   error          → connect-failure + reset (a connection that could not be
//                    made, or broke before the response head was complete)
//   timeout        → timeout (connecting, sending, or waiting for the head)
//   invalid_header → reset (an empty or malformed response head: the
//                    connection is unusable, the same as a reset)
//   http_NNN       → http-NNN (500, 502, 503, 504, 403, 404, 429)
//   non_idempotent → nonIdempotent: true
//   off            → no condition: never retry (alone only)

import { formatKey, keyOf } from '../../k8s/keys.ts';
import type { Ingress } from '../../k8s/objects.ts';
import type { RetryCondition, RetryPolicy, UpstreamTimeouts } from '../../model/model.ts';
import { DEFAULT_RETRY_POLICY, DEFAULT_UPSTREAM_TIMEOUTS, RETRY_CONDITIONS } from '../../model/upstream-defaults.ts';
import { ANNOTATION, annotationField, clip, readAnnotation } from '../annotations.ts';
import type { StatusRecorder } from '../status.ts';

export interface UpstreamSettings {
  /** The Ingress's retry policy; undefined when it equals the default (the model then carries none). */
  readonly retry: RetryPolicy | undefined;
  /** Only the timeouts that differ from the defaults; undefined when none does. */
  readonly timeouts: UpstreamTimeouts | undefined;
  /**
   * Appended to cluster ids when retry or timeouts differ from the defaults,
   * so Ingresses reaching one Service port with different settings get a
   * cluster each ("|retry=…", "|timeouts=…"); "" otherwise.
   */
  readonly idSuffix: string;
}

/** Timeouts are whole seconds (ingress-nginx's annotations are unitless), 1 up to what a timer can hold (about 24.8 days). */
export const MAX_TIMEOUT_SECONDS = 2_147_483;

const NGINX_CONDITIONS: Readonly<Record<string, readonly RetryCondition[]>> = Object.freeze({
  error: ['connect-failure', 'reset'],
  timeout: ['timeout'],
  invalid_header: ['reset'],
  http_500: ['http-500'],
  http_502: ['http-502'],
  http_503: ['http-503'],
  http_504: ['http-504'],
  http_403: ['http-403'],
  http_404: ['http-404'],
  http_429: ['http-429'],
});

const NEXT_UPSTREAM_WORDS = [...Object.keys(NGINX_CONDITIONS), 'non_idempotent', 'off'].join(', ');

export function readUpstreamSettings(ing: Ingress, rec: StatusRecorder): UpstreamSettings {
  const retry = readRetry(ing, rec);
  const timeouts = readTimeouts(ing, rec);
  let idSuffix = '';
  if (retry !== undefined) idSuffix += `|retry=${describeRetry(retry)}`;
  if (timeouts !== undefined) idSuffix += `|timeouts=${describeTimeouts(timeouts)}`;
  return { retry, timeouts, idSuffix };
}

/** What proxy-next-upstream says: the conditions and whether non-idempotent requests are retried; undefined when invalid. */
export function parseNextUpstream(value: string): { on: RetryCondition[]; nonIdempotent: boolean } | undefined {
  const words = value.trim().toLowerCase().split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) return undefined;
  if (words.includes('off')) return words.every((w) => w === 'off') ? { on: [], nonIdempotent: false } : undefined;
  const on = new Set<RetryCondition>();
  let nonIdempotent = false;
  for (const word of words) {
    if (word === 'non_idempotent') {
      nonIdempotent = true;
      continue;
    }
    const conditions = Object.hasOwn(NGINX_CONDITIONS, word) ? NGINX_CONDITIONS[word] : undefined;
    if (conditions === undefined) return undefined;
    for (const c of conditions) on.add(c);
  }
  return { on: RETRY_CONDITIONS.filter((c) => on.has(c)), nonIdempotent };
}

function readRetry(ing: Ingress, rec: StatusRecorder): RetryPolicy | undefined {
  const object = formatKey(keyOf(ing));
  let on: readonly RetryCondition[] = DEFAULT_RETRY_POLICY.on;
  let nonIdempotent = DEFAULT_RETRY_POLICY.nonIdempotent;
  const next = readAnnotation(ing, ANNOTATION.proxyNextUpstream);
  if (next !== undefined) {
    const parsed = parseNextUpstream(next.value);
    if (parsed === undefined) {
      rec.report('error', 'annotation-invalid', object, annotationField(next.name),
        `expected space-separated words among ${NEXT_UPSTREAM_WORDS} ("off" alone), got "${clip(next.value)}"; the annotation is ignored (default: error timeout)`);
    } else {
      on = parsed.on;
      nonIdempotent = parsed.nonIdempotent;
    }
  }
  const tries = readWholeNumber(ing, ANNOTATION.proxyNextUpstreamTries, 0, 999_999_999, rec,
    'a whole number of attempts (0: no limit but the number of endpoints)') ?? DEFAULT_RETRY_POLICY.tries;
  const budgetSeconds = readWholeNumber(ing, ANNOTATION.proxyNextUpstreamTimeout, 0, MAX_TIMEOUT_SECONDS, rec,
    'a whole number of seconds (0: no limit)');
  if (on.length === 0) {
    for (const keys of [ANNOTATION.proxyNextUpstreamTries, ANNOTATION.proxyNextUpstreamTimeout]) {
      const found = readAnnotation(ing, keys);
      if (found !== undefined) {
        rec.report('warning', 'annotation-unused', object, annotationField(found.name),
          'has no effect while proxy-next-upstream is "off"; the annotation is ignored');
      }
    }
  }
  // "off": one attempt, whatever else was said, so every such Ingress shares one cluster.
  const policy: RetryPolicy = on.length === 0 ? { on, tries: 1, nonIdempotent: false } : {
    on,
    tries,
    ...(budgetSeconds === undefined || budgetSeconds === 0 ? {} : { budgetMs: budgetSeconds * 1000 }),
    nonIdempotent,
  };
  return sameRetry(policy, DEFAULT_RETRY_POLICY) ? undefined : policy;
}

function sameRetry(a: RetryPolicy, b: RetryPolicy): boolean {
  return a.tries === b.tries && a.budgetMs === b.budgetMs && a.perTryTimeoutMs === b.perTryTimeoutMs
    && a.nonIdempotent === b.nonIdempotent && a.on.length === b.on.length && a.on.every((c, i) => c === b.on[i]);
}

function readTimeouts(ing: Ingress, rec: StatusRecorder): UpstreamTimeouts | undefined {
  const expected = `a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}`;
  const connect = readWholeNumber(ing, ANNOTATION.proxyConnectTimeout, 1, MAX_TIMEOUT_SECONDS, rec, expected);
  const read = readWholeNumber(ing, ANNOTATION.proxyReadTimeout, 1, MAX_TIMEOUT_SECONDS, rec, expected);
  const send = readWholeNumber(ing, ANNOTATION.proxySendTimeout, 1, MAX_TIMEOUT_SECONDS, rec, expected);
  const d = DEFAULT_UPSTREAM_TIMEOUTS;
  const connectMs = connect === undefined ? undefined : connect * 1000;
  const readMs = read === undefined ? undefined : read * 1000;
  const sendMs = send === undefined ? undefined : send * 1000;
  // nginx's proxy_read_timeout bounds the wait for the response head and every later pause between reads.
  const t: UpstreamTimeouts = {
    ...(connectMs === undefined || connectMs === d.connectMs ? {} : { connectMs }),
    ...(readMs === undefined || readMs === d.responseHeaderMs ? {} : { responseHeaderMs: readMs }),
    ...(readMs === undefined || readMs === d.idleMs ? {} : { idleMs: readMs }),
    ...(sendMs === undefined || sendMs === d.sendIdleMs ? {} : { sendIdleMs: sendMs }),
  };
  return Object.keys(t).length === 0 ? undefined : t;
}

const DIGITS = /^\d{1,10}$/;

/** A whole number from `min` to `max`; anything else is reported and undefined. */
function readWholeNumber(ing: Ingress, keys: readonly string[], min: number, max: number, rec: StatusRecorder, expected: string): number | undefined {
  const found = readAnnotation(ing, keys);
  if (found === undefined) return undefined;
  const n = DIGITS.test(found.value) ? Number(found.value) : NaN;
  if (Number.isInteger(n) && n >= min && n <= max) return n;
  rec.report('error', 'annotation-invalid', formatKey(keyOf(ing)), annotationField(found.name),
    `expected ${expected}, got "${clip(found.value)}"; the annotation is ignored`);
  return undefined;
}

/** A short, readable and unambiguous key for a retry policy (used in cluster ids). */
export function describeRetry(p: RetryPolicy): string {
  const parts = [p.on.length === 0 ? 'off' : p.on.join('+'), `tries=${p.tries}`];
  if (p.perTryTimeoutMs !== undefined) parts.push(`per-try=${p.perTryTimeoutMs}`);
  if (p.budgetMs !== undefined) parts.push(`budget=${p.budgetMs}`);
  if (p.nonIdempotent) parts.push('non-idempotent');
  return parts.join(',');
}

/** A short, readable and unambiguous key for timeouts (used in cluster ids). */
export function describeTimeouts(t: UpstreamTimeouts): string {
  const parts: string[] = [];
  if (t.connectMs !== undefined) parts.push(`connect=${t.connectMs}`);
  if (t.responseHeaderMs !== undefined) parts.push(`header=${t.responseHeaderMs}`);
  if (t.idleMs !== undefined) parts.push(`idle=${t.idleMs}`);
  if (t.sendIdleMs !== undefined) parts.push(`send=${t.sendIdleMs}`);
  return parts.join(',');
}
