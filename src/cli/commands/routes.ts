// `martello routes (--manifests DIR | --kubeconfig FILE)`: the effective
// host/path → service → endpoints table, in precedence order, as the proxy
// would use it.

import { routeLines } from '../../model/summary.ts';
import { buildSnapshot } from '../../translate/snapshot.ts';
import { translate } from '../../translate/translate.ts';
import { UsageError } from '../listen-address.ts';
import { loadObjects, SOURCE_FLAGS, SOURCE_HELP, sourceKind, sourceTranslateOptions } from '../load-source.ts';
import { CLASS_FLAGS, HELP_FLAG, parseFlags } from '../options.ts';
import { formatTable } from '../table.ts';

export const ROUTES_HELP = `Usage: martello routes (--manifests DIR | --kubeconfig FILE) [options]

Prints the effective routing table: host, path match, the Ingress that defined
it, the Service cluster and its endpoints, in the order requests are matched.
'martello explain URL' says why one request goes where it goes.

Options:
${SOURCE_HELP}  --output table|json              output format (default table)
  --controller-class NAME, --ingress-class NAME, --[no-]watch-ingress-without-class,
  --allow-cross-namespace-hosts
                                   as for 'serve' (with --kubeconfig: as for 'controller')
  --default-ssl-certificate NS/NAME    as for 'serve'
`;

export async function runRoutes(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags(args, {
    ...SOURCE_FLAGS, output: { type: 'string', default: 'table' }, 'default-ssl-certificate': { type: 'string' }, ...CLASS_FLAGS, ...HELP_FLAG,
  });
  if (flags.help === true) {
    out.write(ROUTES_HELP);
    return 0;
  }
  if (flags.output !== 'table' && flags.output !== 'json') throw new UsageError(`--output: expected table or json, got "${flags.output}"`);
  sourceKind(flags);
  const loaded = await loadObjects(flags);
  const result = translate(buildSnapshot(loaded.objects), sourceTranslateOptions(flags, loaded), { now: Date.now() });
  const lines = routeLines(result.model);
  if (flags.output === 'json') {
    out.write(JSON.stringify(lines, null, 2) + '\n');
    return 0;
  }
  const rows = lines.map((l) => [l.host, l.match, l.ingress, l.cluster, l.problem !== undefined ? `(503: ${l.problem})` : l.endpoints.join(',')]);
  out.write(formatTable(['HOST', 'MATCH', 'INGRESS', 'SERVICE', 'ENDPOINTS'], rows));
  if (lines.length === 0) out.write('(no routes: every request gets the built-in 404)\n');
  const problems = loaded.problems.length + result.diagnostics.length;
  if (problems > 0) {
    out.write(loaded.standalone
      ? `${problems} problems; run 'martello check --manifests ${flags.manifests}' to see them\n`
      : `${problems} problems; the controller reports them as Events ('kubectl describe ingress NAME')\n`);
  }
  return 0;
}
