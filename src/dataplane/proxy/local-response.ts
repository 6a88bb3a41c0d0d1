// Responses Martello generates itself (404, 400, 502, 503, 504): small
// text/plain bodies with Content-Length, `Server: martello` and the request
// ID. Nothing the client sent is echoed unbounded or with control bytes.

import type { ProxyCounters } from './counters.ts';
import type { DownstreamResponse } from './forwarder.ts';

const MAX_ECHO = 120;

const STATIC_BODIES: ReadonlyMap<number, Buffer> = new Map([
  [400, Buffer.from('400 Bad Request\n')],
  [308, Buffer.from('308 Permanent Redirect\n')],
  [421, Buffer.from('421 Misdirected Request: this connection is not for that host\n')],
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

/** The default text body of a status Martello answers itself. */
export function localBody(status: number): Buffer {
  return STATIC_BODIES.get(status) ?? Buffer.from(`${status}\n`);
}

export function notFoundBody(host: string, path: string): Buffer {
  return Buffer.from(`404 Not Found: no route for host ${sanitizeForEcho(host)} path ${sanitizeForEcho(path)}\n`);
}

/**
 * The client side is gone: a destroyed HTTP/1.1 response, or an HTTP/2
 * response whose stream is destroyed. The compatibility response has no
 * `destroyed`, and its `writableFinished` turns true when the stream closes,
 * finished or not, so neither tells on its own.
 */
export function isResponseGone(res: DownstreamResponse): boolean {
  if ((res as { destroyed?: boolean }).destroyed === true) return true;
  const stream = (res as { stream?: { destroyed: boolean } }).stream;
  return stream !== undefined && stream.destroyed;
}

/** HTTP/2 responses (node:http2 compatibility API) have a `stream`; connection headers are forbidden there. */
export function isHttp2Response(res: DownstreamResponse): boolean {
  return (res as { stream?: unknown }).stream !== undefined;
}

/**
 * `closeConnection` adds `Connection: close` on HTTP/1.1 (ignored on HTTP/2,
 * where a drain is a GOAWAY); `extraHeaders` are flat [name, value, ...]
 * pairs such as Location or Strict-Transport-Security.
 */
export function sendLocal(
  res: DownstreamResponse,
  status: number,
  requestId: string,
  closeConnection: boolean,
  counters: ProxyCounters,
  body?: Buffer,
  extraHeaders?: readonly string[],
): void {
  if (res.headersSent || isResponseGone(res)) {
    res.destroy();
    return;
  }
  const payload = body ?? localBody(status);
  const headers = [
    'content-type', 'text/plain; charset=utf-8',
    'content-length', String(payload.length),
    'server', 'martello',
    'x-request-id', requestId,
  ];
  if (extraHeaders !== undefined) headers.push(...extraHeaders);
  if (closeConnection && !isHttp2Response(res)) headers.push('connection', 'close');
  counters.countStatus(status);
  (res as { writeHead(status: number, headers: string[]): unknown }).writeHead(status, headers);
  res.end(payload);
}
