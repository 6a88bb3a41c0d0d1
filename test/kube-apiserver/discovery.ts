// Discovery documents (kubernetes-api.md §3.4 item 2): /version, /api,
// /apis, /api/v1 and /apis/{group}/{version}. Only the legacy
// (unaggregated) form is served; kubectl asks for the aggregated
// APIGroupDiscoveryList first and falls back to these when it gets plain
// APIVersions/APIGroupList JSON.

import { groupVersions, RESOURCE_DEFS, VERBS, type KubeObject } from './resources.ts';

/** The version kubectl's dispatcher matches against (1.32 = the installed kubectl). */
export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.4-martello-test',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export function apiVersions(serverAddress: string): KubeObject {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiGroupList(): KubeObject {
  const groups = groupVersions()
    .filter((gv) => gv.group !== '')
    .map(({ group, version }) => {
      const gv = { groupVersion: `${group}/${version}`, version };
      return { name: group, versions: [gv], preferredVersion: gv };
    });
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

/** APIResourceList of one group/version, or undefined if not served. */
export function apiResourceList(group: string, version: string): KubeObject | undefined {
  const defs = RESOURCE_DEFS.filter((d) => d.group === group && d.version === version);
  if (defs.length === 0) return undefined;
  const resources: KubeObject[] = [];
  for (const d of defs) {
    const entry: KubeObject = {
      name: d.plural,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: [...VERBS],
    };
    if (d.shortNames.length > 0) entry['shortNames'] = [...d.shortNames];
    if (d.categories.length > 0) entry['categories'] = [...d.categories];
    resources.push(entry);
    if (d.hasStatus) {
      resources.push({ name: `${d.plural}/status`, singularName: '', namespaced: d.namespaced, kind: d.kind, verbs: ['get', 'patch', 'update'] });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources };
}
