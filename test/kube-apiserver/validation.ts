// The validations that catch client bugs (kubernetes-api.md §3.4 item 8):
// object names, MicroTime precision, events.k8s.io required fields, and
// Ingress/Service status addresses. Messages follow the real validators so
// a test failure reads like a real cluster's answer.

import { isIP } from 'node:net';
import {
  badRequest, forbidden, invalid, invalidValue, notSupported, requiredValue, tooLong, type FieldError,
} from './status.ts';
import type { KubeObject, NameRule, ResourceDef } from './resources.ts';

const LABEL_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function isDnsSubdomain(v: string): boolean {
  return v.length <= 253 && SUBDOMAIN_1123.test(v);
}

/** The message the real name validators give, or undefined when valid. */
export function nameProblem(name: string, rule: NameRule): string | undefined {
  switch (rule) {
    case 'subdomain':
      if (name.length > 253) return 'must be no more than 253 characters';
      return SUBDOMAIN_1123.test(name) ? undefined
        : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    case 'label':
      if (name.length > 63) return 'must be no more than 63 characters';
      return LABEL_1123.test(name) ? undefined
        : "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    case 'label1035':
      if (name.length > 63) return 'must be no more than 63 characters';
      return LABEL_1035.test(name) ? undefined
        : "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
  }
}

// Go layout "2006-01-02T15:04:05.000000Z07:00": exactly six fractional digits.
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

function get(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** MicroTime fields, as paths in the API form of each kind. */
const MICRO_TIME_FIELDS: Record<string, ReadonlyArray<readonly string[]>> = {
  'coordination.k8s.io/Lease': [['spec', 'acquireTime'], ['spec', 'renewTime']],
  '/Event': [['eventTime'], ['series', 'lastObservedTime']],
  'events.k8s.io/Event': [['eventTime'], ['series', 'lastObservedTime']],
};

/**
 * A MicroTime that does not parse fails decoding of the whole body: 400,
 * before validation ever runs (a JS toISOString() value is the classic bug).
 */
export function checkMicroTimes(def: ResourceDef, obj: KubeObject): void {
  for (const path of MICRO_TIME_FIELDS[`${def.group}/${def.kind}`] ?? []) {
    const v = get(obj, path);
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || !MICRO_TIME.test(v)) {
      const shown = typeof v === 'string' ? v : JSON.stringify(v);
      throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: ` +
        `parsing time "${shown}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "${shown.slice(19)}" as ".000000"`);
    }
  }
}

function checkLength(errors: FieldError[], field: string, value: unknown, max: number): void {
  if (typeof value === 'string' && value.length > max) errors.push(tooLong(field, max));
}

const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** events.k8s.io/v1 create/update rules (pkg/apis/core/validation/events.go), on the events.k8s.io form. */
function eventsV1Errors(obj: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  if (obj['eventTime'] === undefined || obj['eventTime'] === null) errors.push(requiredValue('eventTime'));
  const type = obj['type'];
  if (type !== 'Normal' && type !== 'Warning') errors.push(notSupported('type', type ?? '', ['Normal', 'Warning']));
  const controller = obj['reportingController'];
  if (typeof controller !== 'string' || controller === '') errors.push(requiredValue('reportingController'));
  else if (!QUALIFIED_NAME.test(controller) || controller.length > 316) {
    errors.push(invalidValue('reportingController', controller, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
  }
  const instance = obj['reportingInstance'];
  if (typeof instance !== 'string' || instance === '') errors.push(requiredValue('reportingInstance'));
  else checkLength(errors, 'reportingInstance', instance, 128);
  for (const f of ['action', 'reason'] as const) {
    const v = obj[f];
    if (typeof v !== 'string' || v === '') errors.push(requiredValue(f));
    else checkLength(errors, f, v, 128);
  }
  checkLength(errors, 'note', obj['note'], 1024);
  for (const f of ['deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedCount', 'deprecatedSource'] as const) {
    const v = obj[f];
    if (v !== undefined && v !== null && v !== 0 && !(typeof v === 'object' && Object.keys(v).length === 0)) {
      errors.push(invalidValue(f, v, 'needs to be unset'));
    }
  }
  const series = obj['series'] as { count?: unknown; lastObservedTime?: unknown } | undefined | null;
  if (series !== undefined && series !== null) {
    if (typeof series.count !== 'number' || series.count < 2) errors.push(invalidValue('series.count', series.count ?? 0, 'should be at least 2'));
    if (series.lastObservedTime === undefined || series.lastObservedTime === null) errors.push(requiredValue('series.lastObservedTime'));
  }
  const meta = obj['metadata'] as { namespace?: string } | undefined;
  const regarding = obj['regarding'] as { namespace?: string } | undefined;
  if (regarding?.namespace && meta?.namespace && regarding.namespace !== meta.namespace) {
    errors.push(invalidValue('regarding.namespace', regarding.namespace, 'does not match event.namespace'));
  }
  return errors;
}

/** core/v1 events are validated leniently: only the namespace must agree. */
function coreEventErrors(obj: KubeObject): FieldError[] {
  const meta = obj['metadata'] as { namespace?: string } | undefined;
  const involved = obj['involvedObject'] as { namespace?: string } | undefined;
  if (involved?.namespace && meta?.namespace && involved.namespace !== meta.namespace) {
    return [invalidValue('involvedObject.namespace', involved.namespace, 'does not match event.namespace')];
  }
  return [];
}

/** status.loadBalancer.ingress[]: ip must be an IP, hostname a DNS name and not an IP. */
function loadBalancerErrors(obj: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  const list = get(obj, ['status', 'loadBalancer', 'ingress']);
  if (list === undefined || list === null) return errors;
  if (!Array.isArray(list)) return [invalidValue('status.loadBalancer.ingress', list, 'must be a list')];
  list.forEach((entry: unknown, i) => {
    const base = `status.loadBalancer.ingress[${i}]`;
    const ip = get(entry, ['ip']);
    const hostname = get(entry, ['hostname']);
    if (ip !== undefined && ip !== '' && (typeof ip !== 'string' || isIP(ip) === 0)) {
      errors.push(invalidValue(`${base}.ip`, ip, 'must be a valid IP address'));
    }
    if (hostname !== undefined && hostname !== '') {
      if (typeof hostname !== 'string' || !isDnsSubdomain(hostname)) {
        errors.push(invalidValue(`${base}.hostname`, hostname, nameProblem(String(hostname), 'subdomain') ?? 'must be a DNS name'));
      } else if (isIP(hostname) !== 0) {
        errors.push(invalidValue(`${base}.hostname`, hostname, 'must be a DNS name, not an IP address'));
      }
    }
  });
  return errors;
}

function leaseErrors(obj: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  const duration = get(obj, ['spec', 'leaseDurationSeconds']);
  if (duration !== undefined && duration !== null && (typeof duration !== 'number' || duration <= 0)) {
    errors.push(invalidValue('spec.leaseDurationSeconds', duration, 'must be greater than 0'));
  }
  const transitions = get(obj, ['spec', 'leaseTransitions']);
  if (transitions !== undefined && transitions !== null && (typeof transitions !== 'number' || transitions < 0)) {
    errors.push(invalidValue('spec.leaseTransitions', transitions, 'must be greater than or equal to 0'));
  }
  return errors;
}

function metadataErrors(def: ResourceDef, obj: KubeObject): FieldError[] {
  const meta = obj['metadata'] as Record<string, unknown>;
  const errors: FieldError[] = [];
  const name = meta['name'];
  if (typeof name !== 'string' || name === '') {
    errors.push(requiredValue('metadata.name', 'name or generateName is required'));
  } else {
    const problem = nameProblem(name, def.nameRule);
    if (problem !== undefined) errors.push(invalidValue('metadata.name', name, problem));
  }
  for (const f of ['labels', 'annotations'] as const) {
    const m = meta[f];
    if (m === undefined || m === null) continue;
    if (typeof m !== 'object' || Array.isArray(m)) {
      errors.push(invalidValue(`metadata.${f}`, m, 'must be a map of strings'));
      continue;
    }
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== 'string') errors.push(invalidValue(`metadata.${f}`, v, `value of ${k} must be a string`));
    }
  }
  if (!def.namespaced && meta['namespace'] !== undefined && meta['namespace'] !== '') {
    errors.push(forbidden('metadata.namespace', 'not allowed on this type'));
  }
  return errors;
}

/** Runs every rule for `def` on an object in its API form; throws 422 Invalid. */
export function validateObject(def: ResourceDef, obj: KubeObject): void {
  const errors = metadataErrors(def, obj);
  if (def.group === 'events.k8s.io') errors.push(...eventsV1Errors(obj));
  else if (def.kind === 'Event') errors.push(...coreEventErrors(obj));
  if (def.kind === 'Ingress' || def.kind === 'Service') errors.push(...loadBalancerErrors(obj));
  if (def.kind === 'Lease') errors.push(...leaseErrors(obj));
  if (errors.length > 0) {
    const name = (obj['metadata'] as { name?: unknown }).name;
    throw invalid(def.kind, def.group, typeof name === 'string' ? name : '', errors);
  }
}
