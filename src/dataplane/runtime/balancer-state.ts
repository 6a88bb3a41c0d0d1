// Balancer state that must outlive a routing table: in-flight counts and
// latency averages by endpoint (least-request, peak-EWMA) and the hash
// tables (Maglev, ring) of clusters whose endpoints did not change. Each
// process that compiles tables keeps one and compiles through it, so a swap
// neither forgets which endpoints are busy nor rebuilds every hash table.

import type { RoutingModel } from '../../model/model.ts';
import { LoadRegistry } from '../compile/lb/endpoint-load.ts';
import { TableCache } from '../compile/lb/table-cache.ts';
import { compile, type RouteTable } from '../compile/route-table.ts';

export class BalancerState {
  readonly loads = new LoadRegistry();
  readonly tables = new TableCache();

  /** Compiles `model` with the shared state, then forgets endpoints no longer in any cluster. */
  compile(model: RoutingModel, generation: number): RouteTable {
    const table = compile(model, generation, { loads: this.loads, tables: this.tables });
    this.loads.retain(table.endpointKeys);
    return table;
  }
}
