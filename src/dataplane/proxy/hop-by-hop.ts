// Header names that describe one connection, not the message (RFC 9110
// §7.6.1), plus the legacy ones proxies still see. They are never forwarded
// in either direction, and neither is any name listed in a Connection header.
//
// Proxy-Authorization is deliberately NOT in this list: RFC 9110 does not
// make it hop-by-hop (§11.7.4 lets a proxy relay it), Martello never consumes
// it itself, and a reverse proxy that silently dropped it would break
// backends that are themselves authenticating proxies.

export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Names a client's Connection header may never remove: Host and
 * Content-Length keep the message meaningful and framed (security.md R9);
 * the headers Martello adds are added after the removal anyway, this only
 * makes the intent explicit.
 */
/** The request headers Martello sets itself on every forwarded request. */
export const ADDED_REQUEST_HEADERS: readonly string[] = [
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'x-request-id',
];

export const CONNECTION_PROTECTED: ReadonlySet<string> = new Set(['host', 'content-length', ...ADDED_REQUEST_HEADERS]);

/** Lowercase tokens of Connection header values, minus the ones that name no header. */
export function connectionTokens(values: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const value of values) {
    for (const raw of value.split(',')) {
      const token = raw.trim().toLowerCase();
      if (token === '' || token === 'close' || token === 'keep-alive') continue;
      out.add(token);
    }
  }
  return out;
}
