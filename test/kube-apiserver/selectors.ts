// labelSelector and fieldSelector query parameters, parsed and matched the
// way the API server does: label requirements are AND-ed (=, ==, !=, in,
// notin, exists, !key); field selectors support =, == and != on the labels
// a resource declares, anything else is a 400.

import { badRequest } from './status.ts';
import { fieldValue, type KubeObject, type ResourceDef } from './resources.ts';

type LabelOp = 'eq' | 'neq' | 'in' | 'notin' | 'exists' | 'notexists';

interface LabelRequirement {
  readonly key: string;
  readonly op: LabelOp;
  readonly values: readonly string[];
}

export type Matcher = (obj: KubeObject) => boolean;

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string, selector: string): string {
  if (!KEY.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${selector}"`);
  return key;
}

function checkValue(value: string, selector: string): string {
  if (!VALUE.test(value)) throw badRequest(`unable to parse requirement: invalid label value: "${value}" in selector "${selector}"`);
  return value;
}

function parseLabelTerm(term: string, selector: string): LabelRequirement {
  const setMatch = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
  if (setMatch) {
    const values = setMatch[3]!.split(',').map((v) => checkValue(v.trim(), selector));
    return { key: checkKey(setMatch[1]!, selector), op: setMatch[2] === 'in' ? 'in' : 'notin', values };
  }
  const opMatch = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
  if (opMatch) {
    const op = opMatch[2] === '!=' ? 'neq' : 'eq';
    return { key: checkKey(opMatch[1]!, selector), op, values: [checkValue(opMatch[3]!.trim(), selector)] };
  }
  if (term.startsWith('!')) return { key: checkKey(term.slice(1).trim(), selector), op: 'notexists', values: [] };
  return { key: checkKey(term, selector), op: 'exists', values: [] };
}

function labelsOf(obj: KubeObject): Record<string, string> {
  const meta = obj['metadata'] as { labels?: Record<string, string> } | undefined;
  return meta?.labels ?? {};
}

function matchesRequirement(req: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case 'eq': return has && value === req.values[0];
    case 'neq': return !has || value !== req.values[0];
    case 'in': return has && req.values.includes(value!);
    case 'notin': return !has || !req.values.includes(value!);
    case 'exists': return has;
    case 'notexists': return !has;
  }
}

export function parseLabelSelector(selector: string | undefined): Matcher {
  if (selector === undefined || selector.trim() === '') return () => true;
  const reqs = splitTopLevel(selector).map((t) => parseLabelTerm(t, selector));
  return (obj) => {
    const labels = labelsOf(obj);
    return reqs.every((r) => matchesRequirement(r, labels));
  };
}

/** Field selectors are evaluated on the API form of `def`'s objects. */
export function parseFieldSelector(selector: string | undefined, def: ResourceDef): Matcher {
  if (selector === undefined || selector.trim() === '') return () => true;
  const checks: Matcher[] = [];
  for (const term of splitTopLevel(selector)) {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const field = m[1]!.trim();
    const value = m[3]!.trim();
    const negate = m[2] === '!=';
    let read: ((obj: KubeObject) => string) | undefined;
    if (field === 'metadata.name' || field === 'metadata.namespace') read = (obj) => fieldValue(obj, field);
    else read = def.fieldLabels[field];
    if (read === undefined) {
      throw badRequest(`field label not supported: ${field}`);
    }
    const reader = read;
    checks.push((obj) => (reader(obj) === value) !== negate);
  }
  return (obj) => checks.every((c) => c(obj));
}
