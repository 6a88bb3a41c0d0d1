// `martello backends (--manifests DIR | --kubeconfig FILE)`: every cluster
// (Service port) the routing uses, with its upstream protocol, balancing,
// the endpoints requests go to, the EndpointSlice conditions behind them,
// and the routes that send to it.

import { backendLines } from '../../explain/backends.ts';
import { buildSnapshot } from '../../translate/snapshot.ts';
import { translate } from '../../translate/translate.ts';
import { UsageError } from '../listen-address.ts';
import { loadObjects, SOURCE_FLAGS, SOURCE_HELP, sourceKind, sourceTranslateOptions } from '../load-source.ts';
import { CLASS_FLAGS, HELP_FLAG, parseFlags } from '../options.ts';
import { formatTable } from '../table.ts';

export const BACKENDS_HELP = `Usage: martello backends (--manifests DIR | --kubeconfig FILE) [options]

Prints every backend cluster (Service port) the routing table uses: upstream
protocol, load balancing, the endpoints requests are sent to, how many
endpoints the Service's EndpointSlices list as ready, terminating (used only
when none is ready) and not ready, and the routes that send to it. A cluster
without endpoints answers 503; PROBLEM says why.

These are the endpoints the configuration selects. Passive health (endpoints
ejected after failures, outlier detection) is state of a running instance's
data plane and is not part of this view.

Options:
${SOURCE_HELP}  --output table|json              output format (default table)
  --controller-class NAME, --ingress-class NAME, --[no-]watch-ingress-without-class,
  --allow-cross-namespace-hosts
                                   as for 'serve' (with --kubeconfig: as for 'controller')
`;

export async function runBackends(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags(args, { ...SOURCE_FLAGS, output: { type: 'string', default: 'table' }, ...CLASS_FLAGS, ...HELP_FLAG });
  if (flags.help === true) {
    out.write(BACKENDS_HELP);
    return 0;
  }
  if (flags.output !== 'table' && flags.output !== 'json') throw new UsageError(`--output: expected table or json, got "${flags.output}"`);
  sourceKind(flags);
  const loaded = await loadObjects(flags);
  const snapshot = buildSnapshot(loaded.objects);
  const result = translate(snapshot, sourceTranslateOptions(flags, loaded), { now: Date.now() });
  const lines = backendLines(result.model, snapshot);
  if (flags.output === 'json') {
    out.write(JSON.stringify(lines, null, 2) + '\n');
    return 0;
  }
  const rows = lines.map((l) => [
    l.cluster,
    l.protocol,
    l.affinity === undefined ? l.balancing : `${l.balancing}, ${l.affinity}`,
    l.problem === undefined ? l.endpoints.join(',') : `(503: ${l.problem})`,
    l.slices === undefined ? '-' : `${l.slices.ready}/${l.slices.terminating}/${l.slices.notReady}`,
    l.usedBy.join(', '),
  ]);
  out.write(formatTable(['CLUSTER', 'PROTOCOL', 'BALANCING', 'ENDPOINTS', 'READY/TERM/NOT', 'USED BY'], rows));
  if (lines.length === 0) out.write('(no backends: no Ingress of ours routes anywhere)\n');
  return 0;
}
