// Path matching put into words: whether a route's path match covers the
// request path, why not (element-wise prefixes, exact paths, case), and why
// the winner beat the other matching routes (longest path, then Exact over
// Prefix). The winner itself comes from the route table.

import type { PathMatch } from '../model/model.ts';

/** The same test as CompiledVirtualHost.matchPath applies to one route. */
export function pathMatches(match: PathMatch, path: string): boolean {
  if (match.type === 'exact') return path === match.path;
  if (match.path === '/') return path.startsWith('/');
  return path === match.path || path.startsWith(`${match.path}/`);
}

/** Why `match` does not cover `path`. */
export function whyNoMatch(match: PathMatch, path: string): string {
  if (match.type === 'exact') {
    if (path === `${match.path}/` || `${path}/` === match.path) return `Exact ${match.path}: a trailing slash makes another path`;
    if (path.toLowerCase() === match.path.toLowerCase()) return `Exact ${match.path}: paths are case-sensitive`;
    return `Exact ${match.path}: the path must be exactly ${match.path}`;
  }
  if (path.startsWith(match.path)) {
    return `Prefix ${match.path} matches whole path elements: ${match.path}, ${match.path}/ and ${match.path}/..., not ${path}`;
  }
  if (pathMatches({ type: 'prefix', path: match.path.toLowerCase() }, path.toLowerCase())) return `Prefix ${match.path}: paths are case-sensitive`;
  return `Prefix ${match.path}: the path does not start with ${match.path}`;
}

/** Why `winner` beat `other`, both matching. */
export function whyLost(winner: PathMatch, other: PathMatch): string {
  if (winner.path.length > other.path.length) return `matches too, but ${winner.path} is longer (the longest match wins)`;
  if (winner.type === 'exact' && other.type === 'prefix') return 'matches too, but at equal length Exact beats Prefix';
  return 'matches too, but comes later in precedence order';
}

/** Why the winner won, given the other routes that also matched. */
export function whyWon(winner: PathMatch, others: readonly PathMatch[]): string {
  const what = winner.type === 'exact' ? `Exact ${winner.path} equals the path` : `Prefix ${winner.path} covers the path element-wise`;
  if (others.length === 0) return `${what}; the only route of this host that matches`;
  const sameLength = others.some((o) => o.path.length === winner.path.length);
  return sameLength ? `${what}; the longest match, and Exact beats Prefix at equal length` : `${what}; the longest of ${others.length + 1} matching routes`;
}
