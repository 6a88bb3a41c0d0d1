// Response headers from upstream, in the raw [name, value, ...] form that
// writeHead accepts: original order, original case, and duplicates such as
// several Set-Cookie lines kept as they came. Hop-by-hop headers and names
// listed in the upstream's Connection header are dropped; the upstream's own
// X-Request-ID is replaced by the one Martello assigned, and so is its
// Strict-Transport-Security when Martello sets HSTS for the host (one policy
// per host, the operator's, as with ingress-nginx's hsts settings).

import { HOP_BY_HOP, connectionTokens } from './hop-by-hop.ts';

type RawHeaders = readonly (Buffer | string)[];

function text(v: Buffer | string): string {
  return typeof v === 'string' ? v : v.toString('latin1');
}

export function buildResponseHeaders(raw: RawHeaders, requestId: string, closeConnection: boolean, hsts: string | null = null): string[] {
  const out: string[] = [];
  let connectionValues: string[] | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = text(raw[i]!);
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') (connectionValues ??= []).push(text(raw[i + 1]!));
      continue;
    }
    if (lower === 'x-request-id') continue;
    if (hsts !== null && lower === 'strict-transport-security') continue;
    out.push(name, text(raw[i + 1]!));
  }
  let headers = out;
  if (connectionValues !== undefined) {
    const tokens = connectionTokens(connectionValues);
    tokens.delete('content-length');
    if (tokens.size > 0) {
      headers = [];
      for (let i = 0; i + 1 < out.length; i += 2) {
        if (!tokens.has(out[i]!.toLowerCase())) headers.push(out[i]!, out[i + 1]!);
      }
    }
  }
  headers.push('X-Request-ID', requestId);
  if (hsts !== null) headers.push('Strict-Transport-Security', hsts);
  if (closeConnection) headers.push('Connection', 'close');
  return headers;
}
