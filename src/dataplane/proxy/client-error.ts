// Answers to requests node:http could not parse (malformed, oversized head,
// head too slow). Written as fixed bytes straight to the socket, then the
// connection is closed: after a parse error the byte stream cannot be
// trusted for another request.

import type { Duplex } from 'node:stream';

function rawResponse(status: number, reason: string): Buffer {
  const body = `${status} ${reason}\n`;
  return Buffer.from(
    `HTTP/1.1 ${status} ${reason}\r\nServer: martello\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    'latin1',
  );
}

const BAD_REQUEST = rawResponse(400, 'Bad Request');
const TIMEOUT = rawResponse(408, 'Request Timeout');
const TOO_LARGE = rawResponse(413, 'Content Too Large');
const HEADERS_TOO_LARGE = rawResponse(431, 'Request Header Fields Too Large');

function responseFor(code: unknown): Buffer {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return HEADERS_TOO_LARGE;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return TOO_LARGE;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return TIMEOUT;
    default:
      return BAD_REQUEST;
  }
}

/** The server's 'clientError' listener. */
export function onClientError(err: Error & { code?: unknown }, socket: Duplex): void {
  // A response is already being written on this connection (the error came
  // mid-pipeline or mid-body): extra bytes would corrupt it, so just close.
  // node:http exposes the in-progress response only as this internal field
  // (its own default clientError handler checks the same one).
  // oxlint-disable-next-line no-underscore-dangle
  const inProgress = (socket as { _httpMessage?: unknown })._httpMessage;
  const busy = inProgress !== undefined && inProgress !== null;
  if (err.code === 'ECONNRESET' || !socket.writable || busy) {
    socket.destroy();
    return;
  }
  socket.end(responseFor(err.code));
}
