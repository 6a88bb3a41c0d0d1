// Ingress rules that would match the request but do not serve it, with the
// reason: the Ingress is not ours (its class, from the statuses), its path
// lost a conflict or was refused (from the diagnostics), or its host is not
// the virtual host the request selects (no fall-through between hosts).

import { normaliseHost } from '../dataplane/compile/host.ts';
import type { Ingress } from '../k8s/objects.ts';
import type { Diagnostic } from '../shared/diagnostic.ts';
import type { IngressStatus } from '../translate/status.ts';
import { ruleHostCovers } from './hosts.ts';
import { pathMatches } from './paths.ts';
import type { NotServedRule, RuleSource } from './result.ts';
import { defaultBackendSource, ingressName, pathMatchOf, pathSource } from './sources.ts';

export interface NotServedInput {
  readonly ingresses: readonly Ingress[];
  readonly statuses: readonly IngressStatus[] | undefined;
  readonly diagnostics: readonly Diagnostic[];
  /** Normalised request host and path. */
  readonly host: string;
  readonly path: string;
  /** The virtual host selected ("*" included), or null. */
  readonly selectedHost: string | null;
  /** What serves the request, to leave it out. */
  readonly served: RuleSource | null;
  /** What the table matched: for fallback, default and not-found, losing default backends are candidates too. */
  readonly matchKind: 'route' | 'fallback' | 'default' | 'not-found';
}

/**
 * A default backend that could have answered an unrouted request: a rule-less
 * Ingress's (the catch-all, when no host fallback answered) or the fallback
 * of an Ingress with a rule for the selected host.
 */
function whyDefaultBackend(
  ing: Ingress,
  source: RuleSource,
  input: NotServedInput,
  why: (source: RuleSource, host: string, rule?: number) => NotServedRule | undefined,
): NotServedRule | undefined {
  if (ing.spec.rules.length === 0) {
    return input.matchKind === 'fallback' ? undefined : why(source, '*');
  }
  const host = input.selectedHost;
  if (host === null) return undefined;
  const forHost = ing.spec.rules.findIndex((rule) => (rule.host === undefined ? '*' : normaliseHost(rule.host)) === host);
  if (forHost === -1) return undefined;
  // A rule refused as a whole (its host belongs to another namespace) takes its host fallback with it.
  const found = why(source, host, forHost);
  // A lost host fallback is reported per host; only this host's counts.
  if (found !== undefined && found.code === 'default-backend-conflict' && !found.reason.includes(`host "${host}"`)) return undefined;
  return found;
}

export function findNotServed(input: NotServedInput): NotServedRule[] {
  const owned = new Map(input.statuses?.map((s) => [s.ingress, s]) ?? []);
  const byObject = new Map<string, Diagnostic[]>();
  for (const d of input.diagnostics) {
    if (d.object === undefined) continue;
    const list = byObject.get(d.object);
    if (list === undefined) byObject.set(d.object, [d]);
    else list.push(d);
  }
  const out: NotServedRule[] = [];
  const isServed = (s: RuleSource): boolean => input.served !== null && input.served.ingress === s.ingress && input.served.field === s.field;
  for (const ing of input.ingresses) {
    const name = ingressName(ing);
    const status = owned.get(name);
    const diags = byObject.get(`Ingress ${name}`) ?? [];
    const why = (source: RuleSource, host: string, rule?: number): NotServedRule | undefined => {
      if (status !== undefined && !status.owned) return { source, host, code: 'not-ours', reason: `not served by this controller: ${status.reason}` };
      // A problem with the whole rule (spec.rules[i] or its host) applies to every path in it.
      const ruleField = rule === undefined ? undefined : `spec.rules[${rule}]`;
      const d = (ruleField === undefined ? undefined : diags.find((x) => x.field === ruleField || x.field === `${ruleField}.host`))
        ?? diags.find((x) => x.field === source.field || x.field?.startsWith(`${source.field}.`));
      if (d !== undefined) return { source, host, code: d.code, reason: d.message };
      return undefined;
    };
    for (const [r, rule] of ing.spec.rules.entries()) {
      if (!ruleHostCovers(rule.host, input.host)) continue;
      const host = rule.host === undefined ? '*' : normaliseHost(rule.host);
      for (const [p, path] of rule.paths.entries()) {
        if (!pathMatches(pathMatchOf(path), input.path)) continue;
        const source = pathSource(ing, r, p);
        if (isServed(source)) continue;
        const found = why(source, host, r);
        if (found !== undefined) out.push(found);
        else if (host !== input.selectedHost) {
          out.push({ source, host, code: 'other-virtual-host', reason: `its host ${host} is not the virtual host this request selects (${input.selectedHost ?? 'none'}); there is no fall-through between hosts` });
        }
      }
    }
    if (input.matchKind !== 'route' && ing.spec.defaultBackend !== undefined) {
      const source = defaultBackendSource(ing);
      const found = isServed(source) ? undefined : whyDefaultBackend(ing, source, input, why);
      if (found !== undefined) out.push(found);
    }
  }
  return out;
}
