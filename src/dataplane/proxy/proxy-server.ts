// The HTTP/1.1 data plane: a node:http server downstream (its llhttp parser
// and limits for free), route matching against the table captured when the
// request starts, and a Forwarder (undici today) upstream.
//
// Per request: one header scan that builds the upstream header list, one
// table lookup, one endpoint pick, one handler object. No logging, no
// closures per request or per connection.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { EMPTY_MODEL } from '../../model/model.ts';
import type { Logger } from '../../shared/log.ts';
import { compile, type RouteTable } from '../compile/route-table.ts';
import { TableHolder } from '../runtime/table-holder.ts';
import { onClientError } from './client-error.ts';
import { ProxyCounters, type ResponsesByClass } from './counters.ts';
import type { ForwarderHost } from './forwarder.ts';
import { notFoundBody, sendLocal } from './local-response.ts';
import { DEFAULT_PROXY_OPTIONS, type ProxyOptions } from './options.ts';
import { addForwardingHeaders, scanRequestHeaders } from './request-headers.ts';
import { isAcceptableRequestId, newRequestId } from './request-id.ts';
import { StalledReaderSweep } from './stalled-reader-sweep.ts';
import { UndiciForwarder } from './undici-forwarder.ts';

export interface ProxyServerInit {
  readonly logger: Logger;
  /** The table to serve first; default: an empty model (everything 404) at generation 0. */
  readonly table?: RouteTable;
  /** Share a holder with other components; its swaps are honoured (pools retired). Wins over `table`. */
  readonly holder?: TableHolder;
  readonly options?: Partial<ProxyOptions>;
}

export interface ProxyStats {
  readonly requests: number;
  readonly responsesByClass: Readonly<ResponsesByClass>;
  readonly activeConnections: number;
  readonly upstreamErrors: number;
  readonly generation: number;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

const SLASH = 0x2f;

/** Errors on a request or response stream are reported through other paths (close, handler); this keeps them from crashing the process. */
function ignoreStreamError(): void {}

export class ProxyServer implements ForwarderHost {
  readonly counters = new ProxyCounters();
  readonly holder: TableHolder;
  readonly options: ProxyOptions;
  readonly #logger: Logger;
  readonly #server: Server;
  readonly #forwarder: UndiciForwarder;
  readonly #stalled: StalledReaderSweep;
  #listenerPort = '';
  #closing = false;
  #closed: Promise<void> | undefined;

  constructor(init: ProxyServerInit) {
    this.#logger = init.logger;
    this.options = { ...DEFAULT_PROXY_OPTIONS, ...init.options };
    this.holder = init.holder ?? new TableHolder(init.table ?? compile(EMPTY_MODEL, 0));
    this.#forwarder = new UndiciForwarder(this, this.options, this.#logger, this.holder.current.endpointKeys);
    this.holder.onSwap((next) => this.#forwarder.retain(next.endpointKeys));

    const o = this.options;
    this.#stalled = new StalledReaderSweep(o.clientIdleTimeoutMs);
    const server = createServer({
      maxHeaderSize: o.maxHeaderSize,
      requireHostHeader: true,
      // Node checks header/request deadlines on this interval (default
      // 30 s), which would make a 15 s header deadline up to 45 s.
      connectionsCheckingInterval: Math.min(1000, o.headersTimeoutMs),
      noDelay: true,
    });
    server.keepAliveTimeout = o.keepAliveTimeoutMs;
    server.headersTimeout = o.headersTimeoutMs;
    server.requestTimeout = o.requestTimeoutMs;
    server.maxRequestsPerSocket = o.maxRequestsPerSocket;
    server.on('request', this.#onRequest);
    server.on('clientError', onClientError);
    server.on('connection', this.#onConnection);
    server.on('error', (err) => this.#logger.error('proxy server error', { err }));
    this.#server = server;
  }

  get closing(): boolean {
    return this.#closing;
  }

  get requests(): number {
    return this.counters.requests;
  }

  get responsesByClass(): Readonly<ResponsesByClass> {
    return this.counters.responsesByClass;
  }

  get activeConnections(): number {
    return this.counters.activeConnections;
  }

  /** Upstream pools currently open (one per endpoint in use). */
  get upstreamPools(): number {
    return this.#forwarder.poolCount;
  }

  hasUpstreamPool(endpointKey: string): boolean {
    return this.#forwarder.hasPool(endpointKey);
  }

  stats(): ProxyStats {
    const c = this.counters;
    return {
      requests: c.requests,
      responsesByClass: { ...c.responsesByClass },
      activeConnections: c.activeConnections,
      upstreamErrors: c.upstreamErrors,
      generation: this.holder.current.generation,
    };
  }

  /** Port 0 picks a free port; the bound address is returned. */
  listen(host: string, port: number): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      const server = this.#server;
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.removeListener('error', onError);
        const addr = server.address() as AddressInfo;
        this.#listenerPort = String(addr.port);
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  /** Atomically serve `table` from the next request on; nothing reloads, no connection drops. */
  swap(table: RouteTable): void {
    this.holder.swap(table);
  }

  /**
   * Stop accepting, let in-flight requests finish (their responses carry
   * `Connection: close`), close idle keep-alive connections, then close
   * upstream pools. Connections still busy after `drainTimeoutMs` are cut.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#closing = true;
    const server = this.#server;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // A keep-alive connection whose last response started before close()
    // was called goes idle without `Connection: close`; sweep idle ones
    // until the server has no connections left.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    const deadline = setTimeout(() => server.closeAllConnections(), this.options.drainTimeoutMs);
    try {
      await stopped;
    } finally {
      clearInterval(sweep);
      clearTimeout(deadline);
    }
    this.#stalled.stop();
    await this.#forwarder.close();
  }

  // ForwarderHost -----------------------------------------------------------

  respondError(res: ServerResponse, status: number, requestId: string): void {
    sendLocal(res, status, requestId, this.#closing, this.counters);
  }

  countStatus(status: number): void {
    this.counters.countStatus(status);
  }

  countUpstreamError(): void {
    this.counters.upstreamErrors++;
  }

  // Listeners (one function per server, not per connection) ---------------

  readonly #onConnection = (socket: Socket): void => {
    this.counters.activeConnections++;
    this.#stalled.add(socket);
    socket.once('close', this.#onSocketClose);
  };

  readonly #onSocketClose = (): void => {
    this.counters.activeConnections--;
  };


  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.counters.requests++;
    req.on('error', ignoreStreamError);
    res.on('error', ignoreStreamError);
    // Captured once: a swap from here on changes nothing for this request.
    const table = this.holder.current;
    let requestId = '';
    try {
      const scan = scanRequestHeaders(req.rawHeaders);
      const clientId = scan.clientRequestId;
      requestId = clientId !== undefined && isAcceptableRequestId(clientId) ? clientId : newRequestId();
      const url = req.url ?? '';
      // Only origin-form targets for now: absolute-form (which must agree
      // with Host) and asterisk-form arrive with the request canonicaliser.
      if (scan.duplicateHost || url.charCodeAt(0) !== SLASH) {
        sendLocal(res, 400, requestId, true, this.counters);
        return;
      }
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const match = table.match(scan.host, path);
      if (match.kind === 'not-found') {
        sendLocal(res, 404, requestId, this.#closing, this.counters, notFoundBody(scan.host, path));
        return;
      }
      const endpoint = match.cluster.balancer.pick();
      if (endpoint === undefined) {
        sendLocal(res, 503, requestId, this.#closing, this.counters);
        return;
      }
      addForwardingHeaders(scan.headers, {
        clientAddress: req.socket.remoteAddress ?? '',
        host: scan.host,
        listenerPort: this.#listenerPort,
        requestId,
      });
      this.#forwarder.forward({ req, res, endpoint, headers: scan.headers, requestId, hasBody: scan.hasBody });
    } catch (err) {
      // A bug, not a client error; answer and keep serving.
      this.#logger.error('request handling failed', { err });
      if (!res.headersSent) sendLocal(res, 502, requestId === '' ? newRequestId() : requestId, true, this.counters);
      else res.destroy();
    }
  };
}
