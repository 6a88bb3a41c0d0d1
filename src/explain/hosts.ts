// Which virtual host a request's host selects, and why the related ones (a
// wildcard over it, "*") were or were not chosen. The choice itself is the
// route table's (virtualHostFor), so it cannot disagree with the proxy; this
// module only puts it into words.

import { normaliseHost, parentDomain, wildcardSuffix } from '../dataplane/compile/host.ts';
import type { RouteTable } from '../dataplane/compile/route-table.ts';
import type { ExplainedVirtualHost, HostKind } from './result.ts';

export function kindOfHost(host: string): HostKind {
  if (host === '*') return 'any';
  return wildcardSuffix(host) !== undefined ? 'wildcard' : 'exact';
}

/** Whether an Ingress rule's host (undefined: none) covers the request host by itself, as the table would. */
export function ruleHostCovers(ruleHost: string | undefined, requestHost: string): boolean {
  if (ruleHost === undefined || ruleHost === '*') return true;
  const h = normaliseHost(ruleHost);
  const suffix = wildcardSuffix(h);
  if (suffix === undefined) return h === requestHost;
  return parentDomain(requestHost) === suffix;
}

export function explainVirtualHost(table: RouteTable, authority: string): ExplainedVirtualHost {
  const host = normaliseHost(authority);
  const chosen = table.virtualHostFor(authority);
  const considered: Array<ExplainedVirtualHost['considered'][number]> = [];
  for (const vh of table.virtualHosts) {
    const kind = kindOfHost(vh.host);
    const selected = vh === chosen;
    if (kind === 'exact') {
      if (vh.host === host) considered.push({ host: vh.host, kind, selected, reason: 'exact host name' });
      continue;
    }
    if (kind === 'wildcard') {
      const suffix = wildcardSuffix(vh.host)!;
      if (parentDomain(host) === suffix) {
        considered.push({ host: vh.host, kind, selected, reason: selected
          ? `the wildcard covers "${host}" (exactly one label more than ${suffix}) and no exact host is defined`
          : `covers "${host}", but the exact host ${chosen?.host} is defined: no fall-through to the wildcard` });
      } else if (host === suffix) {
        considered.push({ host: vh.host, kind, selected, reason: `does not cover "${host}" itself: a wildcard needs exactly one more label` });
      } else if (host.endsWith(`.${suffix}`)) {
        considered.push({ host: vh.host, kind, selected, reason: `does not cover "${host}": a wildcard matches exactly one more label, not several` });
      }
      continue;
    }
    considered.push({ host: '*', kind, selected, reason: selected
      ? 'rules without a host serve every host that has no virtual host of its own'
      : `serves only hosts that no rule names or covers; "${host}" selects ${chosen?.host}` });
  }
  if (chosen === undefined) {
    return { selected: null, reason: `no Ingress rule served by Martello names or covers host "${host}", and none is written without a host`, considered };
  }
  const kind = kindOfHost(chosen.host);
  const reason = kind === 'exact'
    ? `an Ingress rule names host "${host}" exactly`
    : kind === 'wildcard'
      ? `the wildcard ${chosen.host} covers "${host}" and no rule names it exactly`
      : `no rule names "${host}" or a wildcard over it; rules without a host serve it`;
  return { selected: { host: chosen.host, kind }, reason, considered };
}
