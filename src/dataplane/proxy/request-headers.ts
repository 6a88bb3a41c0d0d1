// The header list sent upstream, rebuilt from the parsed request headers
// (never raw bytes, security.md R6). Order of operations matters (R9):
// 1. drop hop-by-hop headers and every header the client's Connection header
//    names (except Host and Content-Length);
// 2. drop client-supplied forwarding headers: without trusted proxies
//    configured they are spoofable, so they are overwritten, not appended;
// 3. add Martello's own headers last, so nothing the client sent can remove
//    or shadow them.

import { ADDED_REQUEST_HEADERS, CONNECTION_PROTECTED, HOP_BY_HOP, connectionTokens } from './hop-by-hop.ts';

/**
 * Client headers Martello replaces with its own values. `forwarded` (RFC
 * 7239) is dropped without replacement until trusted proxies exist.
 * `expect` is dropped because node:http already answered "100 Continue" to
 * the client and the body is streamed upstream as it arrives.
 */
const REPLACED: ReadonlySet<string> = new Set([...ADDED_REQUEST_HEADERS, 'forwarded', 'expect']);

export interface ScannedRequest {
  /** Flat [name, value, ...] list to send upstream, Martello's headers not yet added. */
  readonly headers: string[];
  /** The client's Host header value ('' if absent). */
  readonly host: string;
  /** More than one Host header: a request to reject (security.md R5). */
  readonly duplicateHost: boolean;
  /** The client's X-Request-ID, if any (not yet validated). */
  readonly clientRequestId: string | undefined;
  /** The request announces a body (Content-Length > 0 or Transfer-Encoding). */
  readonly hasBody: boolean;
}

/** One pass over the parsed headers; a second pass only when Connection lists names to drop. */
export function scanRequestHeaders(raw: readonly string[]): ScannedRequest {
  let headers: string[] = [];
  let host = '';
  let hostCount = 0;
  let clientRequestId: string | undefined;
  let hasBody = false;
  let connectionValues: string[] | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === 'host') {
      hostCount++;
      if (hostCount === 1) host = value;
      else continue;
    } else if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') (connectionValues ??= []).push(value);
      else if (lower === 'transfer-encoding') hasBody = true;
      continue;
    } else if (REPLACED.has(lower)) {
      if (lower === 'x-request-id' && clientRequestId === undefined) clientRequestId = value;
      continue;
    } else if (lower === 'content-length' && value !== '0') {
      hasBody = true;
    }
    headers.push(name, value);
  }
  if (connectionValues !== undefined) {
    const tokens = connectionTokens(connectionValues);
    for (const t of CONNECTION_PROTECTED) tokens.delete(t);
    if (tokens.size > 0) {
      const kept: string[] = [];
      for (let i = 0; i + 1 < headers.length; i += 2) {
        if (!tokens.has(headers[i]!.toLowerCase())) kept.push(headers[i]!, headers[i + 1]!);
      }
      headers = kept;
    }
  }
  return { headers, host, duplicateHost: hostCount > 1, clientRequestId, hasBody };
}

export interface ForwardingInfo {
  readonly clientAddress: string;
  readonly host: string;
  readonly listenerPort: string;
  readonly requestId: string;
}

/** Appends Martello's forwarding headers (step 3 above). */
export function addForwardingHeaders(headers: string[], info: ForwardingInfo): void {
  if (info.clientAddress !== '') headers.push('x-forwarded-for', info.clientAddress, 'x-real-ip', info.clientAddress);
  headers.push('x-forwarded-proto', 'http');
  if (info.host !== '') headers.push('x-forwarded-host', info.host);
  headers.push('x-forwarded-port', info.listenerPort, 'x-request-id', info.requestId);
}
