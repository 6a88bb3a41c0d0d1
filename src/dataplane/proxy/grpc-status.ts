// gRPC answers Martello generates itself. A gRPC client does not read HTTP
// error pages: it expects HTTP status 200 and a `grpc-status` in a
// "Trailers-Only" response (gRPC over HTTP/2 spec, doc/PROTOCOL-HTTP2.md in
// grpc/grpc: one HEADERS frame carrying :status 200, content-type,
// grpc-status and grpc-message, with END_STREAM). So where an HTTP client
// would get 502/503/504/404 from Martello, a gRPC client gets the matching
// gRPC status code instead, and its own status handling (retries on
// UNAVAILABLE, deadline reporting) works as it would against the backend.

import type { ServerResponse } from 'node:http';
import { Http2ServerResponse, constants as h2 } from 'node:http2';
import type { H2StreamPort } from '../engine/h2-stream-port.ts';
import type { DownstreamResponse } from './forwarder.ts';

/** gRPC status codes used here (grpc/grpc doc/statuscodes.md). */
export const GrpcStatus = Object.freeze({
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
});

/**
 * The gRPC status for an HTTP status Martello would have answered.
 *
 * Based on the gRPC document "HTTP to gRPC Status Code Mapping"
 * (grpc/grpc doc/http-grpc-status-mapping.md): 400 → INTERNAL,
 * 401 → UNAUTHENTICATED, 403 → PERMISSION_DENIED, 404 → UNIMPLEMENTED,
 * 502/503 → UNAVAILABLE, everything else → UNKNOWN. That table is written
 * for clients that receive a response *without* grpc-status; here the proxy
 * itself knows why it failed, so two rows are sharper than the table:
 * 504 (Martello's upstream deadline passed) → DEADLINE_EXCEEDED instead of
 * UNAVAILABLE, and 429 (Martello's rate limit) → RESOURCE_EXHAUSTED instead
 * of UNAVAILABLE, the codes google.rpc.Code pairs with those HTTP statuses.
 * 421 (TLS name and Host disagree) → UNAVAILABLE: the client should connect
 * again (to the right name), as with any connection it may not reuse.
 */
export function grpcStatusForHttpStatus(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 421:
    case 502:
    case 503:
      return GrpcStatus.UNAVAILABLE;
    case 429:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case 504:
      return GrpcStatus.DEADLINE_EXCEEDED;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

const MESSAGES: ReadonlyMap<number, string> = new Map([
  [400, 'Martello: bad request'],
  [404, 'Martello: no route for this host and path'],
  [421, 'Martello: misdirected request: the TLS server name does not match the host; open a new connection for this host'],
  [429, 'Martello: too many requests'],
  [502, 'Martello: upstream unavailable (bad gateway)'],
  [503, 'Martello: no endpoints available for this service'],
  [504, 'Martello: upstream did not answer in time (gateway timeout)'],
]);

/** The grpc-message text Martello sends for an HTTP status it would have answered. */
export function grpcMessageForHttpStatus(httpStatus: number): string {
  return MESSAGES.get(httpStatus) ?? `Martello: HTTP status ${httpStatus}`;
}

const HEX = '0123456789ABCDEF';

/**
 * Percent-encoding of a grpc-message value (PROTOCOL-HTTP2.md, Status-Message):
 * the text as UTF-8, every byte outside 0x20-0x7E, and '%' itself, as "%XX".
 */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/** Anything that counts response heads: ProxyCounters, a ForwarderHost. */
export interface StatusCounter {
  countStatus(status: number): void;
}

export interface GrpcErrorOptions {
  /** grpc-message text instead of the default for the status (not yet encoded). */
  readonly message?: string;
  /** HTTP/1.1 downstream only: add `Connection: close` (the server is draining). */
  readonly closeConnection?: boolean;
}

/**
 * Answer a gRPC request with a Trailers-Only error: HTTP 200,
 * `content-type: application/grpc`, grpc-status mapped from `httpStatus`,
 * grpc-message, x-request-id. On an HTTP/2 downstream this is one HEADERS
 * frame with END_STREAM (what gRPC clients require of Trailers-Only); on
 * HTTP/1.1 the same fields as headers with an empty body. If the response
 * head is already out, the stream is reset (HTTP/2) or the connection cut.
 * The HTTP status counted is 200, the one on the wire.
 */
export function sendGrpcError(res: DownstreamResponse, httpStatus: number, requestId: string, counter: StatusCounter, options?: GrpcErrorOptions): void {
  const grpcStatus = String(grpcStatusForHttpStatus(httpStatus));
  const message = encodeGrpcMessage(options?.message ?? grpcMessageForHttpStatus(httpStatus));
  if (res instanceof Http2ServerResponse) {
    if (res.headersSent) {
      const stream = res.stream;
      if (!stream.destroyed) stream.close(h2.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    sendGrpcErrorOnStream(res.stream, httpStatus, requestId, counter, options?.message);
    return;
  }
  sendHttp1(res, grpcStatus, message, requestId, counter, options?.closeConnection === true);
}

/**
 * The same Trailers-Only answer on a node:http2 server stream (the core API,
 * as the martello engine serves HTTP/2 clients): one HEADERS frame with
 * END_STREAM. A stream whose head is out already is reset instead.
 */
export function sendGrpcErrorOnStream(stream: H2StreamPort, httpStatus: number, requestId: string, counter: StatusCounter, message?: string): void {
  if (stream.destroyed || stream.closed || stream.headersSent) {
    if (!stream.destroyed) stream.close(h2.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  counter.countStatus(200);
  // The compatibility API's writeHead()+end() sends the head and then an
  // empty DATA frame with END_STREAM, which gRPC clients do not accept as
  // Trailers-Only; respond() on the stream sends one HEADERS frame.
  stream.respond(
    [
      ':status', '200',
      'content-type', 'application/grpc',
      'grpc-status', String(grpcStatusForHttpStatus(httpStatus)),
      'grpc-message', encodeGrpcMessage(message ?? grpcMessageForHttpStatus(httpStatus)),
      'x-request-id', requestId,
      'server', 'martello',
    ],
    END_STREAM,
  );
}

const END_STREAM = Object.freeze({ endStream: true });

function sendHttp1(res: ServerResponse, grpcStatus: string, message: string, requestId: string, counter: StatusCounter, closeConnection: boolean): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const headers = [
    'Content-Type', 'application/grpc',
    'grpc-status', grpcStatus,
    'grpc-message', message,
    'Content-Length', '0',
    'Server', 'martello',
    'X-Request-ID', requestId,
  ];
  if (closeConnection) headers.push('Connection', 'close');
  counter.countStatus(200);
  res.writeHead(200, headers);
  res.end();
}
