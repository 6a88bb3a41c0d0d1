// The bytes of an answer Martello gives itself on an HTTP/1.1 connection of
// the engine: the same answer as sendLocal() writes through node:http
// (text/plain, Content-Length, Server: martello, X-Request-ID, extra headers
// such as Location or HSTS, Connection: close when the connection ends with
// it), as one Buffer ready for a single write.

import { serializeResponseHead } from '../http1/index.ts';
import { localBody } from '../proxy/local-response.ts';

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

/** The interim answer to `Expect: 100-continue` when the body is wanted. */
export function continueBytes(): Buffer {
  return CONTINUE;
}

/**
 * `connection`: 'close', 'keep-alive' (an HTTP/1.0 client that keeps the
 * connection) or null. `head`: the request was HEAD (no body, same length).
 */
export function localAnswerBytes(
  status: number,
  requestId: string,
  connection: string | null,
  head: boolean,
  body?: Buffer,
  extraHeaders?: readonly string[],
): Buffer {
  const payload = body ?? localBody(status);
  const headers = ['content-type', 'text/plain; charset=utf-8', 'server', 'martello', 'x-request-id', requestId];
  if (extraHeaders !== undefined) for (const h of extraHeaders) headers.push(h);
  if (connection !== null) headers.push('connection', connection);
  const headBytes = serializeResponseHead(status, headers, payload.length);
  if (head || payload.length === 0) return headBytes;
  return Buffer.concat([headBytes, payload], headBytes.length + payload.length);
}
