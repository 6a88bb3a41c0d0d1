// Per-Ingress endpoint health settings, read from Martello's own annotations
// (ingress-nginx has no equivalent): passive outlier detection
// (martello.dev/outlier-*), slow start (martello.dev/slow-start-window) and
// active HTTP health checks (martello.dev/health-check-*). Values are parsed
// into numbers; an invalid one is an `annotation-invalid` error on the
// Ingress and leaves the default in place. See docs/load-balancing.md.

import { formatKey, keyOf } from '../../k8s/keys.ts';
import type { Ingress } from '../../k8s/objects.ts';
import type { HealthCheckPolicy, OutlierPolicy, SlowStartPolicy } from '../../model/model.ts';
import { DEFAULT_HEALTH_CHECK, DEFAULT_OUTLIER_POLICY } from '../../model/upstream-defaults.ts';
import { ANNOTATION, annotationField, clip, readAnnotation } from '../annotations.ts';
import type { StatusRecorder } from '../status.ts';

export interface HealthSettings {
  /** The Ingress's outlier policy; undefined when it equals the default (the model then carries none). */
  readonly outlier: OutlierPolicy | undefined;
  readonly slowStart: SlowStartPolicy | undefined;
  readonly healthCheck: HealthCheckPolicy | undefined;
  /** Appended to cluster ids when any of the above differs from the default ("|outlier=…", "|slow-start=…", "|health-check=…"); "" otherwise. */
  readonly idSuffix: string;
}

/** Durations: "500ms", "30s", "5m" or whole seconds ("30"), up to one hour. */
export const MAX_DURATION_MS = 3_600_000;
const DURATION = /^(\d{1,7})(ms|s|m)?$/;

/** A duration in milliseconds, or undefined when `value` is not one (or is out of 1 ms .. 1 h). */
export function parseDuration(value: string): number | undefined {
  const m = DURATION.exec(value.trim().toLowerCase());
  if (m === null) return undefined;
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  return ms >= 1 && ms <= MAX_DURATION_MS ? ms : undefined;
}

export function readHealthSettings(ing: Ingress, rec: StatusRecorder): HealthSettings {
  const outlier = readOutlier(ing, rec);
  const slowStart = readSlowStart(ing, rec);
  const healthCheck = readHealthCheck(ing, rec);
  let idSuffix = '';
  if (outlier !== undefined) idSuffix += `|outlier=${outlier.consecutiveErrors === 0 ? 'off' : `${outlier.consecutiveErrors},${outlier.baseEjectionMs},${outlier.maxEjectionPercent}`}`;
  if (slowStart !== undefined) idSuffix += `|slow-start=${slowStart.windowMs}`;
  if (healthCheck !== undefined) {
    const h = healthCheck;
    idSuffix += `|health-check=${h.path},${h.intervalMs},${h.timeoutMs},${h.healthyThreshold},${h.unhealthyThreshold}`;
  }
  return { outlier, slowStart, healthCheck, idSuffix };
}

function invalid(ing: Ingress, rec: StatusRecorder, name: string, expected: string, value: string): undefined {
  rec.report('error', 'annotation-invalid', formatKey(keyOf(ing)), annotationField(name),
    `expected ${expected}, got "${clip(value)}"; the annotation is ignored`);
  return undefined;
}

function readDuration(ing: Ingress, keys: readonly string[], rec: StatusRecorder): number | undefined {
  const found = readAnnotation(ing, keys);
  if (found === undefined) return undefined;
  return parseDuration(found.value) ?? invalid(ing, rec, found.name, 'a duration from 1ms to 1h such as "500ms", "30s" or "5m"', found.value);
}

function readInteger(ing: Ingress, keys: readonly string[], rec: StatusRecorder, min: number, max: number): number | undefined {
  const found = readAnnotation(ing, keys);
  if (found === undefined) return undefined;
  const n = /^\d{1,6}$/.test(found.value) ? Number(found.value) : NaN;
  if (n >= min && n <= max) return n;
  return invalid(ing, rec, found.name, `a whole number from ${min} to ${max}`, found.value);
}

const OUTLIER_TUNING = [ANNOTATION.outlierBaseEjection, ANNOTATION.outlierMaxEjectionPercent] as const;

function readOutlier(ing: Ingress, rec: StatusRecorder): OutlierPolicy | undefined {
  const object = formatKey(keyOf(ing));
  const errors = readAnnotation(ing, ANNOTATION.outlierConsecutiveErrors);
  let consecutiveErrors = DEFAULT_OUTLIER_POLICY.consecutiveErrors;
  if (errors !== undefined) {
    const v = errors.value.toLowerCase();
    const n = v === 'off' || v === 'false' ? 0 : /^\d{1,4}$/.test(v) ? Number(v) : NaN;
    if (n >= 0 && n <= 1000) consecutiveErrors = n;
    else invalid(ing, rec, errors.name, 'a whole number from 1 to 1000, or "off" (or 0)', errors.value);
  }
  if (consecutiveErrors === 0) {
    for (const keys of OUTLIER_TUNING) {
      const found = readAnnotation(ing, keys);
      if (found !== undefined) {
        rec.report('warning', 'annotation-unused', object, annotationField(found.name),
          'has no effect while outlier detection is off; the annotation is ignored');
      }
    }
    return { consecutiveErrors: 0, baseEjectionMs: DEFAULT_OUTLIER_POLICY.baseEjectionMs, maxEjectionPercent: DEFAULT_OUTLIER_POLICY.maxEjectionPercent };
  }
  const baseEjectionMs = readDuration(ing, ANNOTATION.outlierBaseEjection, rec) ?? DEFAULT_OUTLIER_POLICY.baseEjectionMs;
  const maxEjectionPercent = readInteger(ing, ANNOTATION.outlierMaxEjectionPercent, rec, 0, 100) ?? DEFAULT_OUTLIER_POLICY.maxEjectionPercent;
  const d = DEFAULT_OUTLIER_POLICY;
  if (consecutiveErrors === d.consecutiveErrors && baseEjectionMs === d.baseEjectionMs && maxEjectionPercent === d.maxEjectionPercent) return undefined;
  return { consecutiveErrors, baseEjectionMs, maxEjectionPercent };
}

function readSlowStart(ing: Ingress, rec: StatusRecorder): SlowStartPolicy | undefined {
  const windowMs = readDuration(ing, ANNOTATION.slowStartWindow, rec);
  return windowMs === undefined ? undefined : { windowMs };
}

/** An origin-form path: "/" then visible ASCII without spaces or "#" (it goes on a request line as is). */
const HEALTH_PATH = /^\/[\x21-\x22\x24-\x7e]{0,1023}$/;

const HEALTH_TUNING = [
  ANNOTATION.healthCheckInterval,
  ANNOTATION.healthCheckTimeout,
  ANNOTATION.healthCheckHealthyThreshold,
  ANNOTATION.healthCheckUnhealthyThreshold,
] as const;

function readHealthCheck(ing: Ingress, rec: StatusRecorder): HealthCheckPolicy | undefined {
  const object = formatKey(keyOf(ing));
  const found = readAnnotation(ing, ANNOTATION.healthCheckPath);
  const path = found === undefined ? undefined
    : HEALTH_PATH.test(found.value) ? found.value
      : invalid(ing, rec, found.name, 'a path starting with "/" (visible ASCII, no spaces or "#", at most 1024 characters)', found.value);
  if (path === undefined) {
    for (const keys of HEALTH_TUNING) {
      const tuning = readAnnotation(ing, keys);
      if (tuning !== undefined) {
        rec.report('warning', 'annotation-unused', object, annotationField(tuning.name),
          'has no effect without a valid health-check-path; the annotation is ignored');
      }
    }
    return undefined;
  }
  const d = DEFAULT_HEALTH_CHECK;
  const intervalMs = readDuration(ing, ANNOTATION.healthCheckInterval, rec) ?? d.intervalMs;
  let timeoutMs = readDuration(ing, ANNOTATION.healthCheckTimeout, rec) ?? d.timeoutMs;
  if (timeoutMs > intervalMs) {
    const t = readAnnotation(ing, ANNOTATION.healthCheckTimeout) ?? readAnnotation(ing, ANNOTATION.healthCheckInterval);
    rec.report('warning', 'health-check-timeout-clamped', object, annotationField(t?.name ?? ANNOTATION.healthCheckTimeout[0]!),
      `the health check timeout (${timeoutMs} ms) is longer than its interval (${intervalMs} ms); the interval is used as the timeout`);
    timeoutMs = intervalMs;
  }
  const healthyThreshold = readInteger(ing, ANNOTATION.healthCheckHealthyThreshold, rec, 1, 100) ?? d.healthyThreshold;
  const unhealthyThreshold = readInteger(ing, ANNOTATION.healthCheckUnhealthyThreshold, rec, 1, 100) ?? d.unhealthyThreshold;
  return { path, intervalMs, timeoutMs, healthyThreshold, unhealthyThreshold };
}
