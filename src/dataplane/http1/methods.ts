// The request methods we accept: the ones a reverse proxy in front of web
// applications meets (RFC 9110, PATCH, WebDAV, QUERY), all of which llhttp
// also knows. Any other token is answered 501 (RFC 9110 §9.1); CONNECT has its
// own 501 because we never tunnel. Known methods come back as one shared
// string instance per method, so a request costs no method string.

import { latin1 } from './tokens.ts';

const KNOWN: ReadonlyMap<string, string> = new Map(
  [
    'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY',
    // WebDAV (RFC 4918, 3253, 3648, 3744, 4791, 5323, 5842) and PURGE (caches)
    'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT', 'MKACTIVITY',
    'CHECKOUT', 'MERGE', 'MKCALENDAR', 'ACL', 'BIND', 'UNBIND', 'REBIND', 'LINK', 'UNLINK', 'PURGE',
  ].map((m) => [m, m]),
);

/** Every method the request parser accepts. */
export const ACCEPTED_METHODS: readonly string[] = [...KNOWN.keys()];

/** The accepted method in buf[start, end), or undefined. */
export function knownMethod(buf: Buffer, start: number, end: number): string | undefined {
  const len = end - start;
  const c0 = buf[start];
  if (len === 3 && c0 === 0x47 && buf[start + 1] === 0x45 && buf[start + 2] === 0x54) return 'GET';
  if (len === 4 && c0 === 0x50 && buf[start + 1] === 0x4f && buf[start + 2] === 0x53 && buf[start + 3] === 0x54) return 'POST';
  return KNOWN.get(latin1(buf, start, end));
}

/** True for a method the request parser accepts (serialisers use it too). */
export function isKnownMethod(method: string): boolean {
  return KNOWN.has(method);
}
