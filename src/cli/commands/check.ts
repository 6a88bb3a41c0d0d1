// `martello check --manifests DIR`: validate every manifest and the routing
// they produce; print each problem with its location; exit 1 on any error.

import { formatDiagnostic, type Diagnostic } from '../../shared/diagnostic.ts';
import { buildSnapshot } from '../../translate/snapshot.ts';
import { translate } from '../../translate/translate.ts';
import { loadDirectoryOnce } from '../load-once.ts';
import { CLASS_FLAGS, HELP_FLAG, parseFlags, requireManifests, translateOptionsFrom } from '../options.ts';

export const CHECK_HELP = `Usage: martello check --manifests DIR [options]

Validates every *.yaml, *.yml and *.json file under DIR the way 'serve' reads
them, translates the result, and prints every problem with its file, document,
object and field. Exits 1 if any problem is an error, 0 otherwise.

Options:
  --manifests DIR                  directory of Kubernetes manifests (required)
  --controller-class NAME          IngressClass controller that is ours (default martello.dev/ingress-controller)
  --ingress-class NAME             class name for the legacy annotation (default martello)
  --[no-]watch-ingress-without-class   serve Ingresses without a class (default: yes)
  --allow-cross-namespace-hosts    merge rules for one host from every namespace, as ingress-nginx does (default: a host
                                   belongs to the namespace of its oldest Ingress; docs/kubernetes.md)
`;

export async function runCheck(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const flags = parseFlags(args, { manifests: { type: 'string' }, ...CLASS_FLAGS, ...HELP_FLAG });
  if (flags.help === true) {
    out.write(CHECK_HELP);
    return 0;
  }
  const root = requireManifests(flags);
  const loaded = await loadDirectoryOnce(root);
  const result = translate(buildSnapshot(loaded.objects), translateOptionsFrom(flags, { standalone: true }), { now: Date.now() });
  const all: Diagnostic[] = [
    ...loaded.problems,
    ...result.diagnostics.map((d) => {
      const origin = d.object === undefined ? undefined : loaded.origins.get(d.object);
      return origin === undefined ? d : { ...d, file: origin.file, document: origin.document };
    }),
  ];
  for (const d of all) out.write(formatDiagnostic(d) + '\n');
  const errors = all.filter((d) => d.severity === 'error').length;
  const warnings = all.length - errors;
  const owned = result.statuses.filter((s) => s.owned).length;
  out.write(`${loaded.objects.length} objects, ${owned} Ingresses served, ${errors} errors, ${warnings} warnings\n`);
  return errors > 0 ? 1 : 0;
}
