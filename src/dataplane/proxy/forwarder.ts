// The seam between the downstream server and the upstream client. The
// proxy server decides where a request goes and what headers it carries;
// a Forwarder moves the bytes and answers 502/504 on upstream failure. The
// undici implementation is the first; our own HTTP/1.1 engine will be the
// next, behind this same interface.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UpstreamEndpoint } from '../compile/cluster.ts';

export interface ForwardRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly endpoint: UpstreamEndpoint;
  /** Upstream request headers, flat [name, value, ...], forwarding headers included. */
  readonly headers: string[];
  readonly requestId: string;
  /** Stream `req` upstream as the body; false: send no body. */
  readonly hasBody: boolean;
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
  /** Write a generated error response (502/504), or destroy `res` if its head is already out. */
  respondError(res: ServerResponse, status: number, requestId: string): void;
  /** Count a proxied response head. */
  countStatus(status: number): void;
  /** Count an upstream failure. */
  countUpstreamError(): void;
  /** True while the server drains: responses carry `Connection: close`. */
  readonly closing: boolean;
}
