// Ingress-specific value rules (hosts and paths), as the API server applies them.

import { isIPLiteral } from './ip-literal.ts';
import { dns1123SubdomainProblem } from './validate-names.ts';
import type { PathType } from './objects.ts';

/** Rule and TLS hosts: a lowercase DNS name, optionally "*." + DNS name; never an IP, never a port. */
export function hostProblem(host: string): string | undefined {
  if (isIPLiteral(host)) return 'must be a DNS name, not an IP address';
  if (/^[^:]+:\d*$/.test(host)) return 'must not contain a port; the host is matched without it';
  if (/[A-Z]/.test(host)) return 'must be lowercase: the API server rejects uppercase letters in hosts';
  if (host.startsWith('*.')) {
    const rest = host.slice(2);
    const problem = rest.includes('*') ? 'a wildcard is only allowed as the whole first label' : dns1123SubdomainProblem(rest);
    return problem === undefined ? undefined : `a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain: ${problem}`;
  }
  if (host.includes('*')) return "a wildcard is only allowed as the whole first label, as in '*.example.com'";
  return dns1123SubdomainProblem(host);
}

const INVALID_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_SUFFIXES = ['/..', '/.'];

/** `path` of an HTTP rule. Exact and Prefix paths are matched literally, so ambiguous spellings are refused. */
export function pathProblem(path: string, pathType: PathType): string | undefined {
  if (!path.startsWith('/')) return 'must be an absolute path';
  if (pathType === 'ImplementationSpecific') return undefined;
  const sequence = INVALID_SEQUENCES.find((s) => path.includes(s));
  if (sequence !== undefined) return `must not contain '${sequence}'`;
  const suffix = INVALID_SUFFIXES.find((s) => path.endsWith(s));
  if (suffix !== undefined) return `cannot end with '${suffix}'`;
  return undefined;
}
