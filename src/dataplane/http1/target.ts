// The request-target forms of RFC 9112 §3.2 that a reverse proxy serves:
// origin-form ("/path?query"), absolute-form ("http://host/path", which
// proxies must accept) and asterisk-form ("*", OPTIONS only). Authority-form
// belongs to CONNECT, which we do not implement. The absolute form is taken
// apart here so the caller can route on its authority; the request parser
// then insists that it names the same host and port as Host.

import { type Authority, parseAuthority } from './authority.ts';

export type TargetForm = 'origin' | 'absolute' | 'asterisk';

export interface AbsoluteTarget {
  readonly scheme: 'http' | 'https';
  /** The authority as received (between "//" and the path). */
  readonly authority: string;
  /** Lowercase host without a trailing dot; IPv6 literals keep their brackets. */
  readonly host: string;
  readonly port: number | undefined;
  /** The origin-form equivalent: path (at least "/") and query. */
  readonly pathAndQuery: string;
}

const scratch: Authority = { host: '', port: undefined };

/** Parses an absolute-form target; undefined when it is not http(s)://authority[path][?query]. */
export function parseAbsoluteTarget(target: string): AbsoluteTarget | undefined {
  let scheme: 'http' | 'https';
  let i: number;
  if (startsWithLower(target, 'http://')) {
    scheme = 'http';
    i = 7;
  } else if (startsWithLower(target, 'https://')) {
    scheme = 'https';
    i = 8;
  } else {
    return undefined;
  }
  let end = i;
  while (end < target.length) {
    const c = target.charCodeAt(end);
    if (c === 0x2f /* / */ || c === 0x3f /* ? */) break;
    end++;
  }
  if (!parseAuthority(target, i, end, scratch)) return undefined;
  const rest = target.slice(end);
  const pathAndQuery = rest === '' ? '/' : rest.charCodeAt(0) === 0x3f ? `/${rest}` : rest;
  return { scheme, authority: target.slice(i, end), host: scratch.host, port: scratch.port, pathAndQuery };
}

function startsWithLower(s: string, lit: string): boolean {
  if (s.length < lit.length) return false;
  for (let k = 0; k < lit.length; k++) {
    const c = s.charCodeAt(k);
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== lit.charCodeAt(k)) return false;
  }
  return true;
}
