// The seam between the downstream server and the upstream client. The
// proxy server decides where a request goes and what headers it carries;
// a Forwarder moves the bytes and answers 502/504 (or a gRPC status) on
// upstream failure. One forwarder per upstream protocol family: undici for
// HTTP/1.1 and HTTPS, node:http2 sessions for h2c and h2. Downstream may be
// HTTP/1.1 (node:http) or HTTP/2 (node:http2 compatibility objects): both
// expose the same request/response surface used here.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { ClusterTimeouts, UpstreamEndpoint } from '../compile/cluster.ts';

export type DownstreamRequest = IncomingMessage | Http2ServerRequest;
export type DownstreamResponse = ServerResponse | Http2ServerResponse;

export interface ForwardRequest {
  readonly req: DownstreamRequest;
  readonly res: DownstreamResponse;
  readonly endpoint: UpstreamEndpoint;
  /** Request method, e.g. "GET". */
  readonly method: string;
  /** Origin-form request target (path and query), e.g. "/a/b?c=d". */
  readonly target: string;
  /**
   * Upstream request headers, flat [name, value, ...]: no hop-by-hop headers,
   * no HTTP/2 pseudo-headers, forwarding headers included. `host` carries the
   * authority (for an HTTP/2 upstream it becomes `:authority`).
   */
  readonly headers: string[];
  readonly requestId: string;
  /** Stream `req` upstream as the body; false: send no body. */
  readonly hasBody: boolean;
  /** The request is gRPC (content-type application/grpc...): failures are answered as gRPC statuses. */
  readonly grpc: boolean;
  /** Value for a Strict-Transport-Security response header, or null for none. */
  readonly hsts: string | null;
  /** Session affinity's Set-Cookie value for the response, if any. */
  readonly setCookie?: string;
  /** The cluster's own timeouts (0: the proxy's option); the undici forwarder honours the response-head and body ones. */
  readonly timeouts?: ClusterTimeouts;
}

export interface Forwarder {
  /** Start forwarding; the forwarder owns `res` from here and always finishes or destroys it. */
  forward(request: ForwardRequest): void;
  /** After a table swap: keep upstream connections for these endpoint keys, gracefully close the others. */
  retain(endpointKeys: ReadonlySet<string>): void;
  /** Close every upstream connection once its in-flight requests finish. */
  close(): Promise<void>;
}

/** What a forwarder needs from the server it serves. */
export interface ForwarderHost {
  /**
   * Write a generated error response (502/504 or, for gRPC, the matching
   * grpc-status in a trailers-only response), or destroy `res` if its head
   * is already out.
   */
  respondError(res: DownstreamResponse, status: number, requestId: string, grpc: boolean): void;
  /** Count a proxied response head. */
  countStatus(status: number): void;
  /** Count an upstream failure. */
  countUpstreamError(): void;
  /** True while the server drains: HTTP/1.1 responses carry `Connection: close`. */
  readonly closing: boolean;
}
