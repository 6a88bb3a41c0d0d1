// The bytes a WebSocket tunnel writes itself, outside node:http's
// ServerResponse: the upstream handshake's header list, the 101 and refusal
// heads re-serialised for the client, and Martello's own small error answers.
// Every name is checked to be a token and every value to hold no CR, LF, NUL
// or other control byte before it is written (security.md R6): a head that
// fails the check is never sent.

import { STATUS_CODES } from 'node:http';
import { HOP_BY_HOP } from './hop-by-hop.ts';
import { buildResponseHeaders } from './response-headers.ts';

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Field values: HTAB, SP, VCHAR, obs-text. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Origin-form target: "/" then visible ASCII. */
const ORIGIN_FORM = /^\/[\x21-\x7e]*$/;

export function isOriginForm(target: string): boolean {
  return ORIGIN_FORM.test(target);
}

/** Status line + headers + blank line (latin1 text), or null if a name or value is not safe to write. */
export function serializeHead(statusLine: string, headers: readonly string[]): string | null {
  let out = `${statusLine}\r\n`;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) return null;
    out += `${name}: ${value}\r\n`;
  }
  return `${out}\r\n`;
}

/**
 * The upstream handshake headers: the caller's list (hop-by-hop and framing
 * headers dropped again, defensively) plus `Connection: Upgrade` and
 * `Upgrade: websocket`. Null if a name or value is unsafe.
 */
export function handshakeHeaders(headers: readonly string[]): string[] | null {
  const out: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) return null;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower === 'content-length') continue;
    out.push(name, value);
  }
  out.push('Connection', 'Upgrade', 'Upgrade', 'websocket');
  return out;
}

/** The upstream agreed to exactly WebSocket (RFC 6455 §4.1): one Upgrade header, "websocket". */
export function upgradesToWebSocket(raw: readonly string[]): boolean {
  let found = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'upgrade') continue;
    if (found || raw[i + 1]!.trim().toLowerCase() !== 'websocket') return false;
    found = true;
  }
  return found;
}

/**
 * The 101 head for the client: the upstream's end-to-end headers
 * (Sec-WebSocket-Accept, -Protocol, -Extensions, cookies...) minus
 * hop-by-hop and framing headers, our Connection/Upgrade, our X-Request-ID
 * (and our Strict-Transport-Security when the host has HSTS).
 */
export function switchingProtocolsHead(upstreamRaw: readonly string[], requestId: string, hsts: string | null): string | null {
  const headers = buildResponseHeaders(upstreamRaw, requestId, false, hsts);
  const kept: string[] = ['Connection', 'Upgrade', 'Upgrade', 'websocket'];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== 'content-length') kept.push(headers[i]!, headers[i + 1]!);
  }
  return serializeHead('HTTP/1.1 101 Switching Protocols', kept);
}

/**
 * The head of a final non-101 answer relayed to the client, with
 * `Connection: close`; the body that follows is framed by the upstream's
 * Content-Length if it gave one, else by the close. Null for a status
 * outside 200-599 or an unsafe header.
 */
export function refusalHead(status: number, upstreamRaw: readonly string[], requestId: string, hsts: string | null): string | null {
  if (status < 200 || status > 599) return null;
  return serializeHead(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}`, buildResponseHeaders(upstreamRaw, requestId, true, hsts));
}

const LOCAL_BODIES: ReadonlyMap<number, string> = new Map([
  [400, '400 Bad Request\n'],
  [426, '426 Upgrade Required: WebSocket version 13 only\n'],
  [502, '502 Bad Gateway\n'],
  [503, '503 Service Unavailable\n'],
  [504, '504 Gateway Timeout\n'],
]);

/**
 * A small text/plain answer for a socket that has no ServerResponse (an
 * upgrade): Content-Length, `Server: martello`, `Connection: close`, the
 * request ID, and `extraHeaders` (e.g. `Sec-WebSocket-Version: 13` for 426,
 * Location for a redirect). `body` replaces the default text for the status.
 */
export function localResponseBytes(status: number, requestId: string, extraHeaders: readonly string[] = [], body?: Buffer): Buffer {
  const payload = body ?? Buffer.from(LOCAL_BODIES.get(status) ?? `${status}\n`, 'latin1');
  const statusLine = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
  const fixed = [
    'Content-Type', 'text/plain; charset=utf-8',
    'Content-Length', String(payload.length),
    'Server', 'martello',
    'Connection', 'close',
  ];
  const head = serializeHead(statusLine, [...fixed, 'X-Request-ID', requestId, ...extraHeaders])
    // Only with a malformed request ID or extra header: answer without them.
    ?? serializeHead(statusLine, fixed)!;
  return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}
