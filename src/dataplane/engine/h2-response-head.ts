// The response head Martello sends to an HTTP/2 client, as the flat
// [name, value, ...] list that ServerHttp2Stream.respond() accepts, ':status'
// first. Built from an HTTP/1.1 upstream's parsed head (names lowercased by
// the codec) or an HTTP/2 upstream's raw header list (pseudo-headers
// skipped). Same policy as response-head.ts for HTTP/1.1 clients: hop-by-hop
// fields and the names the upstream's Connection lists are dropped, and so
// is every other connection-specific field HTTP/2 forbids (RFC 9113 §8.2.2:
// node:http2 refuses to send them); X-Request-ID is Martello's,
// Strict-Transport-Security the operator's when HSTS applies. The upstream's
// Content-Length is dropped and, when the body length is known, written
// again from the parsed value (`length` ≥ 0), never copied.

import { HOP_BY_HOP } from '../proxy/hop-by-hop.ts';
import { appendForwardedFields } from './response-head.ts';

const COLON = 0x3a;

/**
 * `headers` is [name, value, ...]; `names`, when given, holds the lowercased
 * names (names[i] ↔ headers[2i]), as the codec's parsers produce them; else
 * the names are lowercased here. `length` < 0: no Content-Length.
 */
export function h2ResponseHead(
  status: number,
  headers: readonly string[],
  names: readonly string[] | null,
  requestId: string,
  hsts: string | null,
  length: number,
  setCookie: string | null = null,
): string[] {
  const result: string[] = [':status', String(status)];
  appendForwardedFields(result, headers, names, hsts, true);
  if (length >= 0) result.push('content-length', String(length));
  result.push('x-request-id', requestId);
  if (hsts !== null) result.push('strict-transport-security', hsts);
  if (setCookie !== null) result.push('set-cookie', setCookie);
  return result;
}

/** Upstream trailers for ServerHttp2Stream.sendTrailers(): pseudo-headers, connection-specific and framing fields dropped; repeated names become arrays. */
export function h2Trailers(raw: readonly string[]): Record<string, string | string[]> | null {
  let out: Record<string, string | string[]> | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name.charCodeAt(0) === COLON || HOP_BY_HOP.has(name) || name === 'http2-settings' || name === 'content-length') continue;
    out ??= Object.create(null) as Record<string, string | string[]>;
    const value = raw[i + 1]!;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}
