// Topology Aware Routing: which endpoints a proxy in `zone` should use,
// following the rules kube-proxy applies to EndpointSlice hints. Hints are
// used only when every endpoint carries them (a partly hinted slice is being
// rewritten by the EndpointSlice controller) and when at least one endpoint
// is hinted for our zone; otherwise every endpoint is used. Martello learns
// its zone from compile options; without one, hints are ignored.

import type { EndpointAddress } from '../../../model/model.ts';

export function endpointsForZone<E extends EndpointAddress>(endpoints: readonly E[], zone: string | undefined): readonly E[] {
  if (zone === undefined || zone === '' || endpoints.length === 0) return endpoints;
  for (const e of endpoints) if (e.forZones === undefined || e.forZones.length === 0) return endpoints;
  const local = endpoints.filter((e) => e.forZones!.includes(zone));
  return local.length === 0 ? endpoints : local;
}
