// HTTP/2 clients served by the engine: the listener for node:http2's
// 'stream' event (the core API; no compatibility request/response objects)
// and the handler of Martello's own HTTP/2 connections (h2-connection.ts,
// --h2-server martello), both routing and forwarding each stream with an
// H2ClientStream, over the engine's HTTP/1.1 pools and the shared HTTP/2
// session pools. What routing needs from the connection (TLS, SNI name,
// client address, listener port) is read once per session or connection
// and kept on it.

import type { IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../shared/log.ts';
import type { EngineContext } from './engine-context.ts';
import { H2ClientStream } from './h2-client-stream.ts';
import { peerAddressOf } from '../proxy/peer-address.ts';
import type { H2SessionGuard } from '../proxy/h2-session-guard.ts';
import type { H2Connection, H2ConnectionHandler, H2ConnectionRefusal, H2ServerStream } from './h2-connection.ts';
import type { RequestPseudo } from '../http2/request-fields.ts';
import type { H2StreamPort } from './h2-stream-port.ts';

/** Told when an own HTTP/2 connection closes or is refused (ProxyServer: sessions and metrics). */
export interface H2ConnectionOwner {
  h2ConnectionClosed(conn: H2Connection): void;
  h2ConnectionRefused(reason: H2ConnectionRefusal): void;
}

const kFacts = Symbol('martello.h2SessionFacts');

/** routeRequest's facts, one mutable object per session (routeRequest reads it synchronously). */
interface SessionFacts {
  /** TLS version for the exchange record ('' on h2c). */
  readonly tls: string;
  rawHeaders: readonly string[];
  method: string;
  http2: boolean;
  target: string;
  encrypted: boolean;
  servername: string | false | null | undefined;
  remoteAddress: string | undefined;
  localPort: number | undefined;
}

type TaggedSession = ServerHttp2Session & { [kFacts]?: SessionFacts };

const END_STREAM_FLAG = 0x1;

export class H2StreamServer implements H2ConnectionHandler {
  readonly #ctx: EngineContext;
  readonly #logger: Logger;
  readonly #guard: H2SessionGuard | undefined;
  readonly #owner: H2ConnectionOwner | undefined;

  /** `guard`: the sessions' guard, told of every stream here (the server has no other 'stream' listener). */
  constructor(ctx: EngineContext, logger: Logger, guard?: H2SessionGuard, owner?: H2ConnectionOwner) {
    this.#ctx = ctx;
    this.#logger = logger;
    this.#guard = guard;
    this.#owner = owner;
  }

  // H2ConnectionHandler: Martello's own HTTP/2 connections ------------------------------------------

  stream(conn: H2Connection, stream: H2ServerStream, fields: string[], pseudo: RequestPseudo, endStream: boolean): void {
    const exchange = new H2ClientStream(stream, this.#ctx);
    try {
      const facts = (conn.facts ??= socketFacts(conn.socket as Socket & Partial<TLSSocket>)) as SessionFacts;
      facts.rawHeaders = fields;
      facts.method = pseudo.method;
      facts.target = pseudo.path;
      const headers: IncomingHttpHeaders = { ':method': pseudo.method };
      if (pseudo.contentLength >= 0) headers['content-length'] = String(pseudo.contentLength);
      exchange.start(headers, endStream, facts, facts);
    } catch (err) {
      this.#failed(exchange, stream, err);
    }
  }

  refused(_conn: H2Connection, reason: H2ConnectionRefusal): void {
    this.#owner?.h2ConnectionRefused(reason);
  }

  closed(conn: H2Connection): void {
    this.#owner?.h2ConnectionClosed(conn);
  }

  failed(_conn: H2Connection, err: unknown): void {
    this.#logger.error('HTTP/2 connection handling failed; the connection is closed', { err });
  }

  #failed(exchange: H2ClientStream, stream: H2StreamPort, err: unknown): void {
    // A bug, not a client error; answer and keep serving.
    this.#logger.error('request handling failed', { err });
    try {
      exchange.failed();
    } catch {
      if (!stream.destroyed) stream.destroy();
    }
  }

  /** The 'stream' listener of the HTTP/2 server (one function per server). */
  readonly onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]): void => {
    if (headers[':method'] === 'CONNECT') {
      this.#guard?.onStream(stream);
      refuseConnect(stream);
      return;
    }
    // The guard's close hook is the exchange's own 'close' listener.
    const exchange = new H2ClientStream(stream as H2StreamPort, this.#ctx, this.#guard?.opened(stream));
    try {
      const facts = factsOf(stream.session as TaggedSession | undefined);
      facts.rawHeaders = rawHeaders;
      facts.method = headers[':method'] ?? '';
      const path = headers[':path'];
      facts.target = typeof path === 'string' ? path : '';
      exchange.start(headers, (flags & END_STREAM_FLAG) !== 0 || stream.endAfterHeaders, facts, facts);
    } catch (err) {
      this.#failed(exchange, stream as H2StreamPort, err);
    }
  };
}

/** CONNECT: a bare 405, not counted as a request, as node:http2's compatibility layer answers it. */
function refuseConnect(stream: ServerHttp2Stream): void {
  stream.on('error', ignoreError);
  if (stream.destroyed || stream.closed) return;
  stream.respond(METHOD_NOT_ALLOWED, END_STREAM);
  stream.resume();
}

const METHOD_NOT_ALLOWED = Object.freeze({ ':status': 405 });
const END_STREAM = Object.freeze({ endStream: true });

function ignoreError(): void {}

function factsOf(session: TaggedSession | undefined): SessionFacts {
  const known = session?.[kFacts];
  if (known !== undefined) return known;
  // The session's socket (a proxy to the TLS or TCP socket), read once per session.
  const facts = socketFacts(session?.socket as (Socket & Partial<TLSSocket>) | undefined);
  if (session !== undefined) session[kFacts] = facts;
  return facts;
}

function socketFacts(socket: (Socket & Partial<TLSSocket>) | undefined): SessionFacts {
  const encrypted = socket?.encrypted === true;
  const facts: SessionFacts = {
    tls: encrypted ? (socket?.getProtocol?.() ?? '') : '',
    rawHeaders: [],
    method: '',
    http2: true,
    target: '',
    encrypted,
    servername: socket?.servername,
    remoteAddress: peerAddressOf(socket),
    localPort: socket?.localPort,
  };
  return facts;
}
