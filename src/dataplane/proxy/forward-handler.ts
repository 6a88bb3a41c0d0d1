// One undici dispatch handler per proxied request: streams the upstream
// response into the client's ServerResponse with backpressure. The listeners
// it needs on `res` are module-level functions that find the handler through
// a symbol, so a request allocates this object and no closures.
//
// Backpressure and the pooled-connection stall trap (perf-calibration §6):
// when res.write() returns false the upstream is paused through undici's
// controller, which stops its parser before the message completes; the
// message (and the connection's return to the pool) can only complete after
// resume(), which 'drain' triggers. If the client goes away instead, the
// upstream request is aborted, which makes undici destroy that connection
// rather than pool it. So a connection never goes back to the pool paused.

import type { Dispatcher } from 'undici';
import type { DownstreamResponse, ForwarderHost } from './forwarder.ts';
import { isHttp2Response, isResponseGone } from './local-response.ts';
import { buildResponseHeaders } from './response-headers.ts';

type Controller = Dispatcher.DispatchController;

const kHandler = Symbol('martello.forwardHandler');

type TaggedResponse = DownstreamResponse & { [kHandler]?: ForwardHandler };

/** The writeHead overloads both response kinds share, with raw [name, value, ...] headers. */
interface HeadWriter {
  writeHead(status: number, headers: string[]): unknown;
  writeHead(status: number, statusMessage: string, headers: string[]): unknown;
}

/** The reason given to undici when the client disappears; allocated once. */
const CLIENT_GONE = Object.freeze(new Error('client closed the connection'));

function onResponseDrain(this: DownstreamResponse): void {
  (this as TaggedResponse)[kHandler]?.resumeUpstream();
}

function onResponseClose(this: DownstreamResponse): void {
  (this as TaggedResponse)[kHandler]?.clientClosed();
}

const TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT']);

/** Status for an upstream failure before the response head: 504 for timeouts, else 502. */
export function statusForUpstreamError(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TIMEOUT_CODES.has(code) ? 504 : 502;
}

export class ForwardHandler implements Dispatcher.DispatchHandler {
  readonly #res: TaggedResponse;
  readonly #requestId: string;
  readonly #host: ForwarderHost;
  readonly #hsts: string | null;
  readonly #grpc: boolean;
  readonly #http2: boolean;
  #controller: Controller | null = null;
  #done = false;
  #clientGone = false;

  readonly #setCookie: string | undefined;

  constructor(res: DownstreamResponse, requestId: string, host: ForwarderHost, hsts: string | null, grpc: boolean, setCookie?: string) {
    this.#setCookie = setCookie;
    this.#res = res as TaggedResponse;
    this.#requestId = requestId;
    this.#host = host;
    this.#hsts = hsts;
    this.#grpc = grpc;
    this.#http2 = isHttp2Response(res);
    this.#res[kHandler] = this;
    res.on('drain', onResponseDrain);
    res.on('close', onResponseClose);
  }

  /** 'drain' on the client response: let the upstream parser continue. */
  resumeUpstream(): void {
    const c = this.#controller;
    if (!this.#done && c !== null && c.paused) c.resume();
  }

  /** 'close' on the client response: if the response was not finished, the client left. */
  clientClosed(): void {
    // #done is set before the response is ended, so a 'close' after a
    // complete response never gets here. (writableFinished is no guide: the
    // HTTP/2 compatibility response reports true once its stream closes,
    // finished or not.)
    if (this.#done) return;
    this.#clientGone = true;
    // Before onRequestStart there is no controller yet; it aborts then.
    this.#controller?.abort(CLIENT_GONE);
  }

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    // A client that left before this handler listened for 'close' is only
    // visible on the response itself.
    if (this.#clientGone || isResponseGone(this.#res)) controller.abort(CLIENT_GONE);
  }

  onResponseStart(controller: Controller, statusCode: number, _headers: unknown, statusMessage?: string): void {
    const res = this.#res;
    if (this.#clientGone || isResponseGone(res)) {
      controller.abort(CLIENT_GONE);
      return;
    }
    const raw = (controller.rawHeaders ?? []) as (Buffer | string)[];
    const headers = buildResponseHeaders(raw, this.#requestId, this.#host.closing && !this.#http2, this.#hsts);
    if (this.#setCookie !== undefined) headers.push('Set-Cookie', this.#setCookie);
    this.#host.countStatus(statusCode);
    // writeHead validates the status message and header values again; an
    // upstream that slipped something invalid through must not crash us.
    // HTTP/2 has no reason phrase.
    const writer = res as HeadWriter;
    try {
      if (!this.#http2 && statusMessage !== undefined && statusMessage !== '') writer.writeHead(statusCode, statusMessage, headers);
      else writer.writeHead(statusCode, headers);
    } catch (err) {
      controller.abort(err instanceof Error ? err : new Error('invalid upstream response head'));
    }
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#done) return;
    if (!(this.#res as { write(chunk: Buffer): boolean }).write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    if (this.#done) return;
    this.#finish();
    this.#res.end();
  }

  onResponseError(_controller: Controller | null, err: Error): void {
    if (this.#done) return;
    this.#finish();
    const res = this.#res;
    if (this.#clientGone || err === CLIENT_GONE) {
      res.destroy();
      return;
    }
    this.#host.countUpstreamError();
    if (!res.headersSent) {
      this.#host.respondError(res, statusForUpstreamError(err), this.#requestId, this.#grpc);
    } else {
      // Part of the response is out: never fabricate a complete one. Cutting
      // the connection tells the client the response is truncated.
      res.destroy();
    }
  }

  #finish(): void {
    this.#done = true;
    const res = this.#res;
    res[kHandler] = undefined;
    res.removeListener('drain', onResponseDrain);
    res.removeListener('close', onResponseClose);
  }
}
