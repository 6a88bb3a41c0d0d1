// The response head Martello writes to an HTTP/1.1 client, rebuilt from the
// upstream's parsed head (security.md R6: framing computed by us, never
// copied). Same policy as response-headers.ts for the node:http path:
// hop-by-hop fields and the names the upstream's Connection lists are
// dropped, X-Request-ID is Martello's, Strict-Transport-Security is the
// operator's when HSTS applies. Content-Length and Transfer-Encoding are
// dropped too: the serializer writes the framing the engine chose. HTTP/2
// pseudo-headers (an h2 upstream's :status) are skipped.

import { HOP_BY_HOP, connectionTokens } from '../proxy/hop-by-hop.ts';

const COLON = 0x3a;

/**
 * Appends to `out` the upstream response fields that may go to the client:
 * pseudo-headers, hop-by-hop fields, the names the upstream's Connection
 * lists, Content-Length (the framing is ours), X-Request-ID (ours) and, when
 * HSTS applies, the upstream's Strict-Transport-Security are left out; so is
 * HTTP2-Settings, which only means something in an h2c upgrade request.
 * `headers` is [name, value, ...]; `names`, when given, holds the lowercased
 * names (names[i] ↔ headers[2i]), as the codec's parsers produce them.
 * `lowercase`: write the names lowercased (HTTP/2) rather than as received.
 * Shared by the HTTP/1.1 head below and the HTTP/2 one (h2-response-head.ts).
 */
export function appendForwardedFields(out: string[], headers: readonly string[], names: readonly string[] | null, hsts: string | null, lowercase: boolean): void {
  const start = out.length;
  let connectionValues: string[] | undefined;
  const n = headers.length >> 1;
  for (let i = 0; i < n; i++) {
    const name = headers[2 * i]!;
    if (name.charCodeAt(0) === COLON) continue;
    const lower = names === null ? name.toLowerCase() : names[i]!;
    switch (lower) {
      case 'content-length':
      case 'x-request-id':
      case 'http2-settings':
        continue;
      case 'strict-transport-security':
        if (hsts !== null) continue;
        break;
      default:
        if (HOP_BY_HOP.has(lower)) {
          // "keep-alive" and "close" name no header: the common case needs no token list.
          if (lower === 'connection' && !namesNoField(headers[2 * i + 1]!)) (connectionValues ??= []).push(headers[2 * i + 1]!);
          continue;
        }
    }
    out.push(lowercase ? lower : name, headers[2 * i + 1]!);
  }
  if (connectionValues === undefined) return;
  const tokens = connectionTokens(connectionValues);
  if (tokens.size === 0) return;
  let w = start;
  for (let r = start; r < out.length; r += 2) {
    if (tokens.has(lowercase ? out[r]! : out[r]!.toLowerCase())) continue;
    out[w++] = out[r]!;
    out[w++] = out[r + 1]!;
  }
  out.length = w;
}

/** The response head's fields for an HTTP/1.1 client (the serializer adds the framing). */
export function downstreamHeaders(
  headers: readonly string[],
  names: readonly string[] | null,
  requestId: string,
  hsts: string | null,
  connection: string | null,
  setCookie: string | null = null,
): string[] {
  const result: string[] = [];
  appendForwardedFields(result, headers, names, hsts, false);
  result.push('X-Request-ID', requestId);
  if (hsts !== null) result.push('Strict-Transport-Security', hsts);
  // Session affinity's cookie goes beside the upstream's own Set-Cookie fields.
  if (setCookie !== null) result.push('Set-Cookie', setCookie);
  if (connection !== null) result.push('Connection', connection);
  return result;
}

function namesNoField(value: string): boolean {
  const v = value.length <= 10 ? value.toLowerCase() : '';
  return v === 'keep-alive' || v === 'close';
}
