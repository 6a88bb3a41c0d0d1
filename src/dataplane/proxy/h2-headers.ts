// Header conversions at the HTTP/2 upstream boundary. Requests: the flat
// header list the proxy built becomes an HTTP/2 header block (pseudo-headers
// from the request line, `host` → `:authority`, connection-specific fields
// dropped because RFC 9113 §8.2.2 makes them malformed, `te: trailers` for
// gRPC, which requires it). Responses: the raw HTTP/2 header list, minus
// pseudo-headers, through the same filter as HTTP/1.1 responses
// (response-headers.ts), plus HSTS. Trailers: hop-by-hop and framing fields
// dropped, in the shape each downstream kind accepts.

import type { OutgoingHttpHeaders } from 'node:http2';
import { HOP_BY_HOP } from './hop-by-hop.ts';
import { buildResponseHeaders } from './response-headers.ts';

/** Fields that are connection-specific in HTTP/2 (RFC 9113 §8.2.2); Node refuses to send them. */
const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'http2-settings']);

const COLON = 0x3a;

/**
 * HTTP/2 request headers for node:http2's `session.request()`. `flat` is
 * [name, value, ...] as in ForwardRequest.headers. A null-prototype object,
 * so no header name can collide with Object.prototype.
 */
export function buildH2RequestHeaders(flat: readonly string[], method: string, target: string, scheme: 'http' | 'https', grpc: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = Object.create(null) as OutgoingHttpHeaders;
  out[':method'] = method;
  out[':scheme'] = scheme;
  out[':path'] = target;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const value = flat[i + 1]!;
    if (name.charCodeAt(0) === COLON || CONNECTION_SPECIFIC.has(name)) continue;
    if (name === 'host') {
      // One authority; a second Host never reaches here (the proxy answers 400).
      if (out[':authority'] === undefined) out[':authority'] = value;
      continue;
    }
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    // RFC 9113 §8.2.3 allows one field or several for cookie; one joined
    // with "; " is what an HTTP/1.1 origin would also have seen.
    else if (name === 'cookie') out[name] = `${prev as string}; ${value}`;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev as string, value];
  }
  if (grpc) out['te'] = 'trailers';
  return out;
}

/**
 * Downstream response headers, raw [name, value, ...] (writeHead accepts
 * this on node:http and, on Node 26, on the HTTP/2 compatibility API) from
 * an upstream HTTP/2 response's raw headers. Pseudo-headers come first in
 * an HTTP/2 header block (nghttp2 enforces it) and are skipped.
 */
export function buildH2ResponseHeaders(raw: readonly string[], requestId: string, closeConnection: boolean, hsts: string | null): string[] {
  let first = 0;
  while (first + 1 < raw.length && raw[first]!.charCodeAt(0) === COLON) first += 2;
  const headers = buildResponseHeaders(first === 0 ? raw : raw.slice(first), requestId, closeConnection);
  if (hsts === null) return headers;
  // Martello's HSTS policy replaces the backend's.
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== 'strict-transport-security') out.push(headers[i]!, headers[i + 1]!);
  }
  out.push('Strict-Transport-Security', hsts);
  return out;
}

function keepTrailer(name: string): boolean {
  return name.charCodeAt(0) !== COLON && !CONNECTION_SPECIFIC.has(name) && name !== 'content-length';
}

/** Trailers for node:http's `res.addTrailers()`: [name, value] pairs, duplicates kept. */
export function http1Trailers(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (keepTrailer(name)) out.push([name, raw[i + 1]!]);
  }
  return out;
}

/** Trailers for the HTTP/2 compatibility `res.addTrailers()`: repeated names become arrays. */
export function http2Trailers(raw: readonly string[]): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = Object.create(null) as OutgoingHttpHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!keepTrailer(name)) continue;
    const value = raw[i + 1]!;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev as string, value];
  }
  return out;
}
