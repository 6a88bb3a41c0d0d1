// `martello routes --manifests DIR`: the effective host/path → service →
// endpoints table, in precedence order, as the proxy would use it.

import { routeLines } from '../../model/summary.ts';
import { buildSnapshot } from '../../translate/snapshot.ts';
import { translate } from '../../translate/translate.ts';
import { loadDirectoryOnce } from '../load-once.ts';
import { CLASS_FLAGS, HELP_FLAG, parseFlags, requireManifests, translateOptionsFrom } from '../options.ts';

export const ROUTES_HELP = `Usage: martello routes --manifests DIR [options]

Prints the effective routing table: host, path match, the Ingress that defined
it, the Service cluster and its endpoints, in the order requests are matched.

Options:
  --manifests DIR                  directory of Kubernetes manifests (required)
  --output table|json              output format (default table)
  --controller-class NAME, --ingress-class NAME, --[no-]watch-ingress-without-class
                                   as for 'serve'
`;

export async function runRoutes(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags(args, { manifests: { type: 'string' }, output: { type: 'string', default: 'table' }, ...CLASS_FLAGS, ...HELP_FLAG });
  if (flags.help === true) {
    out.write(ROUTES_HELP);
    return 0;
  }
  const root = requireManifests(flags);
  const loaded = await loadDirectoryOnce(root);
  const result = translate(buildSnapshot(loaded.objects), translateOptionsFrom(flags, { standalone: true }), { now: Date.now() });
  const lines = routeLines(result.model);
  if (flags.output === 'json') {
    out.write(JSON.stringify(lines, null, 2) + '\n');
    return 0;
  }
  const rows = lines.map((l) => [l.host, l.match, l.ingress, l.cluster, l.problem !== undefined ? `(503: ${l.problem})` : l.endpoints.join(',')]);
  out.write(formatTable(['HOST', 'MATCH', 'INGRESS', 'SERVICE', 'ENDPOINTS'], rows));
  if (lines.length === 0) out.write('(no routes: every request gets the built-in 404)\n');
  if (loaded.problems.length + result.diagnostics.length > 0) {
    out.write(`${loaded.problems.length + result.diagnostics.length} problems; run 'martello check --manifests ${root}' to see them\n`);
  }
  return 0;
}

function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd() + '\n';
  return [header, ...rows].map(fmt).join('');
}
