// Responses Martello generates itself (404, 400, 502, 503, 504): small
// text/plain bodies with Content-Length, `Server: martello` and the request
// ID. Nothing the client sent is echoed unbounded or with control bytes.

import type { ServerResponse } from 'node:http';
import type { ProxyCounters } from './counters.ts';

const MAX_ECHO = 120;

const STATIC_BODIES: ReadonlyMap<number, Buffer> = new Map([
  [400, Buffer.from('400 Bad Request\n')],
  [502, Buffer.from('502 Bad Gateway\n')],
  [503, Buffer.from('503 Service Unavailable: no endpoints available\n')],
  [504, Buffer.from('504 Gateway Timeout\n')],
]);

/** Printable ASCII only, at most MAX_ECHO characters: safe to echo in a body or a log. */
export function sanitizeForEcho(value: string): string {
  const cut = value.length > MAX_ECHO;
  const s = cut ? value.slice(0, MAX_ECHO) : value;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x20 && c <= 0x7e ? s[i] : '?';
  }
  return cut ? `${out}...` : out;
}

export function notFoundBody(host: string, path: string): Buffer {
  return Buffer.from(`404 Not Found: no route for host ${sanitizeForEcho(host)} path ${sanitizeForEcho(path)}\n`);
}

export function sendLocal(res: ServerResponse, status: number, requestId: string, closeConnection: boolean, counters: ProxyCounters, body?: Buffer): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const payload = body ?? STATIC_BODIES.get(status) ?? Buffer.from(`${status}\n`);
  const headers = [
    'Content-Type', 'text/plain; charset=utf-8',
    'Content-Length', String(payload.length),
    'Server', 'martello',
    'X-Request-ID', requestId,
  ];
  if (closeConnection) headers.push('Connection', 'close');
  counters.countStatus(status);
  res.writeHead(status, headers);
  res.end(payload);
}
