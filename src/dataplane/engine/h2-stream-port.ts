// What an HTTP/2 client stream must offer H2ClientStream: the part of
// node:http2's ServerHttp2Stream the exchange uses. Two servers provide it:
// node:http2 (its streams fit as they are) and Martello's own HTTP/2
// server (engine/h2-connection.ts, H2ServerStream), so the exchange logic
// (routing, retries, gRPC answers, backpressure, trailers) is written once.
//
// Events used: 'data' and 'end' (request body), 'close' (always, once),
// 'drain' (after write() returned false), 'wantTrailers' (after the last
// DATA frame of a response sent with waitForTrailers), 'error' (listened to
// only so it never crashes the process: closing is reported by 'close').

import type { OutgoingHttpHeaders, ServerStreamResponseOptions } from 'node:http2';

export interface H2StreamPort {
  readonly destroyed: boolean;
  readonly closed: boolean;
  readonly headersSent: boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  respond(headers: OutgoingHttpHeaders | readonly string[], options?: ServerStreamResponseOptions): void;
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer): unknown;
  sendTrailers(headers: OutgoingHttpHeaders): void;
  /** RST_STREAM with `code`. */
  close(code?: number): void;
  /** RST_STREAM: CANCEL for an AbortError, else INTERNAL_ERROR. */
  destroy(error?: Error): unknown;
}
