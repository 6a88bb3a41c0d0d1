// The data plane's front door: a plain listener (HTTP/1.1 on node:http) and
// a TLS listener (certificate chosen by SNI from the current table, ALPN
// "h2" handed to a node:http2 session, "http/1.1" to a node:http server).
// Every request, whatever its protocol, goes through one handler: route
// against the table captured when the request starts, apply the TLS rules
// (421 on SNI/Host mismatch, 308 to HTTPS, HSTS), pick an endpoint, and hand
// the request to the forwarder for the endpoint's protocol.
//
// Per request: one header scan that builds the upstream header list, one
// table lookup, one endpoint pick, one handler object. No logging, no
// closures per request or per connection.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createH2Server, type Http2Server, type Http2ServerRequest, type ServerHttp2Session } from 'node:http2';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type SecureContext, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { EMPTY_MODEL } from '../../model/model.ts';
import { Http1Engine } from '../engine/engine.ts';
import { type H2ConnectionOwner, H2StreamServer } from '../engine/h2-stream-server.ts';
import { H2Connection, type H2ConnectionRefusal, type H2ConnectionSettings } from '../engine/h2-connection.ts';
import type { Logger } from '../../shared/log.ts';
import { compile, type RouteTable } from '../compile/route-table.ts';
import { MIN_TLS_VERSION, type PemPair, SecureContexts, TLS_CIPHERS } from '../runtime/secure-contexts.ts';
import { TableHolder } from '../runtime/table-holder.ts';
import { onClientError } from './client-error.ts';
import { ProxyCounters, type ResponsesByClass } from './counters.ts';
import { F } from '../../observability/metrics/catalog.ts';
import { type MetricSnapshot, samplesOf } from '../../observability/metrics/snapshot.ts';
import { parseCidrSet } from '../edge/cidr.ts';
import { ConnectionLimits } from '../edge/connection-limits.ts';
import { ConnectionGate, type GateOwner, type GateRejectReason } from './connection-gate.ts';
import { adoptPeerAddress, peerAddressOf } from './peer-address.ts';
import { OverloadMonitor } from '../runtime/overload.ts';
import { createAccessLog } from '../runtime/access-log-output.ts';
import { type ObserverSetup, setUpObserver } from '../runtime/observer-setup.ts';
import { ExchangeObserver, beginExchange, endBalancing, noteDecision } from '../runtime/exchange-observer.ts';
import type { ClusterBalancer } from '../compile/lb/cluster-balancer.ts';
import type { UpstreamEndpoint } from '../compile/cluster.ts';
import { ExchangeRecord } from '../../observability/exchange-record.ts';
import type { DownstreamRequest, DownstreamResponse, Forwarder, ForwarderHost } from './forwarder.ts';
import { sendGrpcError } from './grpc-status.ts';
import { H2Forwarder, isHttp2Endpoint } from './h2-forwarder.ts';
import { type PlainConnectionOwner, sniffPlainConnection } from './h2c-sniff.ts';
import { sendLocal } from './local-response.ts';
import { DEFAULT_OBSERVABILITY, DEFAULT_PROXY_OPTIONS, type ProxyOptions } from './options.ts';
import { newRequestId } from './request-id.ts';
import { type RequestFacts, routeRequest } from './route-request.ts';
import { StalledReaderSweep } from './stalled-reader-sweep.ts';
import { H2SessionGuard, type H2RefusalReason } from './h2-session-guard.ts';
import { UndiciForwarder } from './undici-forwarder.ts';
import { TunnelRegistry } from './upgrade-tunnel.ts';
import { checkWebSocketUpgrade, SUPPORTED_VERSION_HEADERS } from './websocket-upgrade.ts';

export interface ProxyServerInit {
  readonly logger: Logger;
  /** The table to serve first; default: an empty model (everything 404) at generation 0. */
  readonly table?: RouteTable;
  /** Share a holder with other components; its swaps are honoured (pools retired). Wins over `table`. */
  readonly holder?: TableHolder;
  readonly options?: Partial<ProxyOptions>;
  /**
   * The certificate served when no configured one applies (no SNI, unknown
   * name, unusable Secret) and no --default-ssl-certificate is in the table.
   * Required for listenTls().
   */
  readonly fallbackCertificate?: PemPair;
  /**
   * 48 bytes of TLS session ticket keys. Worker processes sharing a listener
   * must share these, or a ticket issued by one worker cannot resume on
   * another. Default: random per process.
   */
  readonly ticketKeys?: Buffer;
  /** Where finished exchanges go (metrics, access log, spans); default: request metrics only. */
  readonly observer?: ExchangeObserver;
}

export interface ListenOptions {
  /** SO_REUSEPORT: several processes bind the same address and the kernel spreads connections (Linux). */
  readonly reusePort?: boolean;
}

export interface ProxyStats {
  readonly requests: number;
  readonly responsesByClass: Readonly<ResponsesByClass>;
  readonly activeConnections: number;
  readonly upstreamErrors: number;
  readonly generation: number;
  /** This process's data-plane metric families (summed over workers by the primary). */
  readonly metrics?: MetricSnapshot;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Errors on a request or response stream are reported through other paths (close, handler); this keeps them from crashing the process. */
function ignoreStreamError(): void {}

/** Module-level 'error' listener for sockets and sessions we hand to a server (no closure per connection). */
function ignoreSocketError(): void {}

export class ProxyServer implements ForwarderHost, PlainConnectionOwner, GateOwner, H2ConnectionOwner {
  readonly counters = new ProxyCounters();
  readonly observer: ExchangeObserver;
  /** The observer's outputs (log thread, span exporter) when this server built them. */
  readonly #observerSetup: ObserverSetup | undefined;
  readonly holder: TableHolder;
  readonly options: ProxyOptions;
  readonly #logger: Logger;
  /** Plain listener: HTTP/1.1. */
  readonly #server: Server;
  /**
   * The plain listener's socket when node:http does not listen itself: with
   * --h2c (hands each connection to HTTP/1.1 or #http2) or with the martello
   * engine (hands it to the engine).
   */
  #plainFront: NetServer | undefined;
  /** Martello's HTTP/1.1 engine, when options.engine is 'martello'. */
  readonly #engine: Http1Engine | undefined;
  /** HTTP/1.1 over TLS: the sockets come from #tlsServer, never from a listen(). */
  readonly #tlsHttp1: Server;
  /** HTTP/2 sessions over TLS (ALPN h2), fed by #tlsServer. */
  readonly #http2: Http2Server;
  #tlsServer: TlsServer | undefined;
  /** The TLS listener's socket: the gate admits each connection, then #tlsServer handshakes it. */
  #tlsFront: NetServer | undefined;
  /** PROXY protocol and connection caps, in front of every listener. */
  readonly #gate: ConnectionGate;
  /** Sheds load (503) when the event loop stalls or the heap nears its limit. */
  readonly #overload: OverloadMonitor;
  #contexts: SecureContexts | undefined;
  /** Which certificate the TLS listener's own context (no SNI) holds: its id and fingerprint, '' for the fallback. */
  #defaultContextKey = '';
  readonly #fallbackCertificate: PemPair | undefined;
  readonly #ticketKeys: Buffer | undefined;
  readonly #http1Forwarder: UndiciForwarder;
  readonly #http2Forwarder: H2Forwarder;
  /** Open WebSocket tunnels; they outlive table swaps and close only when their endpoint goes away. */
  readonly #tunnels: TunnelRegistry;
  readonly #stalled: StalledReaderSweep;
  readonly #sessions = new Set<ServerHttp2Session>();
  /** Martello's own HTTP/2 server (options.h2Server 'martello'), and its open connections. */
  readonly #ownH2: H2StreamServer | undefined;
  readonly #h2Connections = new Set<H2Connection>();
  readonly #h2Settings: H2ConnectionSettings;
  /** HTTP/2 header-phase deadline and premature-reset accounting, per session. */
  readonly #h2Guard: H2SessionGuard;
  #closing = false;
  #closed: Promise<void> | undefined;

  constructor(init: ProxyServerInit) {
    this.#logger = init.logger;
    const merged: ProxyOptions = { ...DEFAULT_PROXY_OPTIONS, ...init.options, observability: { ...DEFAULT_OBSERVABILITY, ...init.options?.observability } };
    const options: ProxyOptions = merged.trustedProxyCidrs === '' ? merged : { ...merged, trustedProxies: parseCidrSet(merged.trustedProxyCidrs) };
    let tracing = options.tracing;
    if (init.observer === undefined) {
      const setup = setUpObserver(options.observability, { accessLog: createAccessLog });
      this.#observerSetup = setup;
      this.observer = setup.observer;
      tracing = setup.tracing;
    } else {
      this.observer = init.observer;
    }
    this.#overload = new OverloadMonitor({
      settings: { eventLoopDelayMs: options.overloadEventLoopDelayMs, heapPercent: options.overloadHeapPercent },
      metrics: this.observer.metrics,
      logger: this.#logger,
    });
    this.options = { ...options, tracing, overload: this.#overload };
    this.holder = init.holder ?? new TableHolder(init.table ?? compile(EMPTY_MODEL, 0));
    this.#fallbackCertificate = init.fallbackCertificate;
    const o = this.options;
    this.#gate = new ConnectionGate(
      new ConnectionLimits({ maxConnections: o.maxConnections, maxConnectionsPerAddress: o.maxConnectionsPerIp }, o.trustedProxies),
      { proxyProtocol: o.proxyProtocol, proxyHeaderTimeoutMs: o.proxyHeaderTimeoutMs },
      this,
    );
    this.#ticketKeys = init.ticketKeys;
    this.#http1Forwarder = new UndiciForwarder(this, this.options, this.#logger, this.holder.current.endpointKeys);
    this.#http2Forwarder = new H2Forwarder(this, this.options, this.#logger, this.holder.current.endpointKeys);
    this.#tunnels = new TunnelRegistry({
      connectTimeoutMs: this.options.connectTimeoutMs,
      responseHeaderTimeoutMs: this.options.responseHeaderTimeoutMs,
      idleTimeoutMs: this.options.tunnelIdleTimeoutMs,
    }, this);
    this.#engine = this.options.engine === 'martello'
      ? new Http1Engine({ options: this.options, counters: this.counters, observer: this.observer, holder: this.holder, tunnels: this.#tunnels, h2: this.#http2Forwarder, logger: this.#logger, host: this })
      : undefined;
    this.holder.onSwap((next) => {
      this.#tunnels.retain(next.endpointKeys);
      this.#engine?.retain(next.endpointKeys);
      this.#http1Forwarder.retain(next.endpointKeys);
      this.#http2Forwarder.retain(next.endpointKeys);
      this.#contexts?.retain(next);
      this.#updateDefaultContext(next);
    });

    this.#stalled = new StalledReaderSweep(this.options.clientIdleTimeoutMs);
    this.#server = this.#createHttp1Server();
    this.#server.on('connection', this.#onConnection);
    this.#server.on('error', (err) => this.#logger.error('proxy server error', { err }));
    this.#tlsHttp1 = this.#createHttp1Server();
    // This server never listens (the TLS listener hands it sockets), but its
    // header/request deadlines and idle tracking only start on 'listening'.
    this.#tlsHttp1.emit('listening');
    // HTTP/2 limits (docs/edge.md, "HTTP/2 limits").
    this.#http2 = createH2Server({
      settings: {
        maxConcurrentStreams: this.options.h2MaxConcurrentStreams,
        maxHeaderListSize: this.options.h2MaxHeaderListSize,
        initialWindowSize: this.options.h2StreamWindowSize,
        enablePush: false,
      },
      // node:http2 counts the four request pseudo-header fields as pairs too.
      maxHeaderListPairs: this.options.h2MaxHeaderFields + 4,
      maxSessionMemory: 10,
      maxSessionInvalidFrames: this.options.h2MaxInvalidFrames,
      maxSessionRejectedStreams: this.options.h2MaxRejectedStreams,
    });
    this.#h2Guard = new H2SessionGuard({
      headersTimeoutMs: this.options.headersTimeoutMs,
      prematureResetStreams: this.options.h2PrematureResetStreams,
      prematureResetLifetimeMs: this.options.h2PrematureResetLifetimeMs,
    }, this);
    // HTTP/2 clients: the martello engine serves the core stream API itself
    // (engine/h2-stream-server.ts) and tells the guard of each delivered
    // stream before serving it (one 'stream' listener: EventEmitter copies the
    // listener array on every emit of an event that has more than one); the
    // node engine keeps the compatibility API, with the guard's own 'stream'
    // listener first.
    this.#ownH2 = this.#engine !== undefined && this.options.h2Server === 'martello' ? new H2StreamServer(this.#engine, this.#logger, undefined, this) : undefined;
    this.#h2Settings = {
      maxConcurrentStreams: o.h2MaxConcurrentStreams,
      streamWindowSize: o.h2StreamWindowSize,
      connectionWindowSize: o.h2ConnectionWindowSize,
      maxHeaderListSize: o.h2MaxHeaderListSize,
      maxHeaderFields: o.h2MaxHeaderFields,
      maxInvalidFrames: o.h2MaxInvalidFrames,
      maxRejectedStreams: o.h2MaxRejectedStreams,
      prematureResetStreams: o.h2PrematureResetStreams,
      prematureResetLifetimeMs: o.h2PrematureResetLifetimeMs,
      headersTimeoutMs: o.headersTimeoutMs,
      keepAliveTimeoutMs: o.keepAliveTimeoutMs,
    };
    if (this.#engine !== undefined) {
      this.#http2.on('stream', new H2StreamServer(this.#engine, this.#logger, this.#h2Guard).onStream);
    } else {
      this.#http2.on('stream', this.#h2Guard.onStream);
      this.#http2.on('request', this.#onRequest);
    }
    this.#http2.on('session', this.#onSession);
    this.#http2.on('sessionError', ignoreSocketError);
    // Idle sessions: GOAWAY after the keep-alive time; open streams finish.
    this.#http2.setTimeout(this.options.keepAliveTimeoutMs, onSessionTimeout);
  }

  #createHttp1Server(): Server {
    const o = this.options;
    const server = createServer({
      maxHeaderSize: o.maxHeaderSize,
      requireHostHeader: true,
      // Node checks header/request deadlines on this interval (default
      // 30 s), which would make a 15 s header deadline up to 45 s.
      connectionsCheckingInterval: Math.min(1000, o.headersTimeoutMs),
      noDelay: true,
      // Only WebSocket handshakes (valid or to be refused) leave the request
      // path; any other Upgrade (h2c, ...) is an ordinary request whose
      // Upgrade header is hop-by-hop and never forwarded.
      shouldUpgradeCallback: isWebSocketAttempt,
    });
    server.keepAliveTimeout = o.keepAliveTimeoutMs;
    server.headersTimeout = o.headersTimeoutMs;
    server.requestTimeout = o.requestTimeoutMs;
    server.maxRequestsPerSocket = o.maxRequestsPerSocket;
    server.on('request', this.#onRequest);
    server.on('upgrade', this.#onUpgrade);
    server.on('clientError', onClientError);
    return server;
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

  /** Upstream pools currently open (one per endpoint in use, HTTP/1.1 and HTTP/2 alike). */
  get upstreamPools(): number {
    return this.#http1Forwarder.poolCount + this.#http2Forwarder.poolCount + (this.#engine?.poolCount ?? 0);
  }

  hasUpstreamPool(endpointKey: string): boolean {
    return this.#http1Forwarder.hasPool(endpointKey) || this.#http2Forwarder.hasPool(endpointKey) || this.#engine?.hasPool(endpointKey) === true;
  }

  /** The HTTP/1.1 engine in use: 'martello' or 'node'. */
  get engine(): 'node' | 'martello' {
    return this.#engine === undefined ? 'node' : 'martello';
  }

  /** The martello engine's own state (tests); undefined with the node engine. */
  get http1Engine(): Http1Engine | undefined {
    return this.#engine;
  }

  /** WebSocket tunnels currently open. */
  get openTunnels(): number {
    return this.#tunnels.size;
  }

  /** TLS contexts currently cached (one per certificate in use). */
  get secureContexts(): number {
    return this.#contexts?.size ?? 0;
  }

  /** Upstream connections by protocol and state, summed over the pools. */
  upstreamConnectionGauges(): { http1: { active: number; idle: number }; h2: { active: number; idle: number } } {
    const http1 = this.#engine?.connectionGauges() ?? { active: 0, idle: 0 };
    const h2 = this.#http2Forwarder.sessionGauges();
    return { http1, h2 };
  }

  #metricsSnapshot(): MetricSnapshot {
    const m = this.observer.metrics;
    // Tunnels are counted where they live: the registry knows how many are open.
    m.connectionsOpen.websocket = this.#tunnels.size;
    m.connectionsTotal.websocket = this.#tunnels.opened;
    const snap = m.snapshot(this.upstreamConnectionGauges());
    const outputs = this.#observerSetup?.outputStats();
    if (outputs === undefined) return snap;
    return {
      ...snap,
      [F.accessLogLines.name]: samplesOf(F.accessLogLines, one(outputs.accessLog.lines)),
      [F.accessLogDropped.name]: samplesOf(F.accessLogDropped, one(outputs.accessLog.dropped)),
      [F.spansExported.name]: samplesOf(F.spansExported, one(outputs.spans.exported)),
      [F.spansDropped.name]: samplesOf(F.spansDropped, one(outputs.spans.dropped)),
    };
  }

  stats(): ProxyStats {
    const c = this.counters;
    return {
      requests: c.requests,
      responsesByClass: { ...c.responsesByClass },
      activeConnections: c.activeConnections,
      upstreamErrors: c.upstreamErrors,
      generation: this.holder.current.generation,
      metrics: this.#metricsSnapshot(),
    };
  }

  /** Plain HTTP listener (and h2c with prior knowledge when enabled). Port 0 picks a free port; the bound address is returned. */
  listen(host: string, port: number, opts: ListenOptions = {}): Promise<ListenAddress> {
    if (this.#plainFront !== undefined) throw new Error('the plain listener is already started');
    if (!this.options.h2c && this.#engine !== undefined) {
      const engineFront = createNetServer({ noDelay: true, allowHalfOpen: true }, this.#acceptEngine);
      engineFront.on('error', (err) => this.#logger.error('proxy server error', { err }));
      this.#plainFront = engineFront;
      return listenOn(engineFront, host, port, opts);
    }
    // node:http never listens itself: every connection passes the gate first.
    // As for the TLS HTTP/1.1 server: start the deadline tracking of a server that does not listen itself.
    this.#server.emit('listening');
    const front = this.options.h2c
      ? createNetServer({ pauseOnConnect: true, noDelay: true }, this.#acceptPlain)
      : createNetServer({ noDelay: true }, this.#acceptNodeHttp);
    front.on('error', (err) => this.#logger.error('proxy server error', { err }));
    this.#plainFront = front;
    return listenOn(front, host, port, opts);
  }

  readonly #acceptEngine = (socket: Socket): void => this.#gate.accept(socket, this.#onEngineSocket);
  readonly #acceptPlain = (socket: Socket): void => this.#gate.accept(socket, this.#onPlainSocket);
  readonly #acceptNodeHttp = (socket: Socket): void => this.#gate.accept(socket, this.#onNodeHttpSocket);
  readonly #acceptTls = (socket: Socket): void => this.#gate.accept(socket, this.#onTlsSocket);

  readonly #onNodeHttpSocket = (socket: Socket): void => {
    this.#server.emit('connection', socket);
  };

  /** Admitted on the TLS listener: the TLS server handshakes it (bytes read for the PROXY header are fed to it first). */
  readonly #onTlsSocket = (socket: Socket): void => {
    this.#tlsServer!.emit('connection', socket);
  };

  /** GateOwner: a connection closed before it was served. */
  connectionRejected(reason: GateRejectReason): void {
    this.observer.metrics.connectionRejected(reason);
  }

  /** Connections the gate holds admitted (tests). */
  get admittedConnections(): number {
    return this.#gate.limits.open;
  }

  /** The plain listener with the martello engine (no h2c): every connection is HTTP/1.1. */
  readonly #onEngineSocket = (socket: Socket): void => {
    socket.on('error', ignoreSocketError);
    // While draining the engine still serves it (with Connection: close): it was accepted.
    this.#onConnection(socket);
    this.#engine!.serve(socket);
  };

  readonly #onPlainSocket = (socket: Socket): void => {
    socket.on('error', ignoreSocketError);
    if (this.#closing) {
      socket.destroy();
      return;
    }
    sniffPlainConnection(socket, this, this.options.headersTimeoutMs);
  };

  /** PlainConnectionOwner: the first bytes decided the protocol. */
  dispatchPlain(socket: Socket, http2: boolean): void {
    if (http2) {
      this.counters.activeConnections++;
      this.observer.metrics.connectionOpened('h2');
      socket.on('close', this.#onH2SocketClose);
      this.#serveHttp2(socket);
    } else if (this.#engine !== undefined) {
      this.#onConnection(socket);
      this.#engine.serve(socket);
    } else {
      this.#server.emit('connection', socket);
    }
  }

  /** TLS listener (HTTPS and HTTP/2). Port 0 picks a free port; the bound address is returned. */
  listenTls(host: string, port: number, opts: ListenOptions = {}): Promise<ListenAddress> {
    if (this.#fallbackCertificate === undefined) throw new Error('listenTls needs a fallbackCertificate');
    if (this.#tlsServer !== undefined) throw new Error('the TLS listener is already started');
    const contexts = new SecureContexts(this.#fallbackCertificate, this.#logger);
    this.#contexts = contexts;
    contexts.retain(this.holder.current);
    const initialDefault = this.holder.current.tls.defaultCertificate;
    this.#defaultContextKey = initialDefault === null ? '' : `${initialDefault.id}|${initialDefault.fingerprint}`;
    const pem = initialDefault ?? this.#fallbackCertificate;
    const server = createTlsServer({
      // The listener's own context serves handshakes without SNI.
      cert: pem.certPem,
      key: pem.keyPem,
      SNICallback: this.#sniCallback,
      ALPNProtocols: ['h2', 'http/1.1'],
      minVersion: MIN_TLS_VERSION,
      ciphers: TLS_CIPHERS,
      handshakeTimeout: this.options.tlsHandshakeTimeoutMs,
      noDelay: true,
      ...(this.#ticketKeys === undefined ? {} : { ticketKeys: this.#ticketKeys }),
    });
    server.on('secureConnection', this.#onSecureConnection);
    server.on('tlsClientError', this.#onTlsClientError);
    server.on('error', (err) => this.#logger.error('TLS listener error', { err }));
    this.#tlsServer = server;
    const front = createNetServer({ noDelay: true }, this.#acceptTls);
    front.on('error', (err) => this.#logger.error('TLS listener error', { err }));
    this.#tlsFront = front;
    return listenOn(front, host, port, opts);
  }

  /** Atomically serve `table` from the next request on; nothing reloads, no connection drops. */
  swap(table: RouteTable): void {
    this.holder.swap(table);
  }

  /**
   * Stop accepting, let in-flight requests finish (HTTP/1.1 responses carry
   * `Connection: close`, HTTP/2 sessions get GOAWAY), close idle keep-alive
   * connections, then close upstream pools. Connections still busy after
   * `drainTimeoutMs` are cut.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#closing = true;
    const drainEnd = performance.now() + this.options.drainTimeoutMs;
    const plain = this.#server;
    const tlsHttp1 = this.#tlsHttp1;
    // Upgraded sockets are not the servers' to close: the tunnel registry
    // drains them (server.close() waits for them too, so run both at once).
    const front = this.#plainFront;
    const stopped: Promise<unknown>[] = [
      front === undefined ? new Promise<void>((resolve) => plain.close(() => resolve())) : new Promise<void>((resolve) => front.close(() => resolve())),
      new Promise<void>((resolve) => tlsHttp1.close(() => resolve())),
      this.#tunnels.close(this.options.drainTimeoutMs),
    ];
    const engine = this.#engine;
    if (engine !== undefined) stopped.push(engine.drain());
    const tlsFront = this.#tlsFront;
    if (tlsFront !== undefined) stopped.push(new Promise<void>((resolve) => tlsFront.close(() => resolve())));
    for (const session of this.#sessions) session.close();
    for (const conn of this.#h2Connections) conn.close();
    const closeIdle = (): void => {
      plain.closeIdleConnections();
      tlsHttp1.closeIdleConnections();
    };
    closeIdle();
    // A keep-alive connection whose last response started before close()
    // was called goes idle without `Connection: close`; sweep idle ones
    // until the servers have no connections left.
    const sweep = setInterval(closeIdle, 50);
    const deadline = setTimeout(() => {
      plain.closeAllConnections();
      tlsHttp1.closeAllConnections();
      engine?.destroyAll();
      for (const session of this.#sessions) session.destroy();
      for (const conn of this.#h2Connections) conn.destroy();
    }, this.options.drainTimeoutMs);
    try {
      await Promise.all(stopped);
    } finally {
      clearInterval(sweep);
      clearTimeout(deadline);
    }
    this.#stalled.stop();
    this.#h2Guard.stop();
    this.#overload.stop();
    // Upstream pools close once their in-flight requests finish; one whose
    // request never ends (a client that vanished without its upstream
    // request being aborted, a backend that never answers) must not hold the
    // process past the drain deadline: then they are cut.
    const pools = Promise.all([this.#http1Forwarder.close(), this.#http2Forwarder.close(), engine?.close()]);
    const remaining = Math.max(0, drainEnd - performance.now());
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), remaining);
    });
    try {
      if ((await Promise.race([pools, expired])) === 'expired') {
        this.#http1Forwarder.destroy();
        this.#http2Forwarder.destroy();
        engine?.destroyPools();
        await pools;
      }
    } finally {
      clearTimeout(timer);
    }
    // Last: the access log lines and spans of the requests that just finished.
    await this.#observerSetup?.close();
  }

  // ForwarderHost -----------------------------------------------------------

  respondError(res: DownstreamResponse, status: number, requestId: string, grpc: boolean): void {
    this.#sendError(res, status, requestId, grpc, this.#closing);
  }

  /** Martello's own error answers: gRPC clients get a grpc-status they understand, others a short text. */
  #sendError(res: DownstreamResponse, status: number, requestId: string, grpc: boolean, closeConnection: boolean, body?: Buffer): void {
    if (grpc) sendGrpcError(res, status, requestId, this.counters, { closeConnection });
    else sendLocal(res, status, requestId, closeConnection, this.counters, body);
  }

  countStatus(status: number): void {
    this.counters.countStatus(status);
  }

  countUpstreamError(): void {
    this.counters.upstreamErrors++;
    // The undici, HTTP/2-forwarder and tunnel paths do not tell connect failures apart.
    this.observer.metrics.upstreamFailed('reset');
  }

  /** H2GuardOwner: a session refused by the HTTP/2 guard (header deadline or premature resets). */
  h2SessionRefused(reason: H2RefusalReason): void {
    this.observer.metrics.h2SessionsRefused[reason]++;
  }

  // TLS -----------------------------------------------------------------------

  /**
   * A handshake without SNI gets the listener's own context: keep it on the
   * table's default certificate. Rebuilt only when that certificate changes
   * (setSecureContext parses the PEM again).
   */
  #updateDefaultContext(table: RouteTable): void {
    const server = this.#tlsServer;
    if (server === undefined) return;
    const cert = table.tls.defaultCertificate;
    const key = cert === null ? '' : `${cert.id}|${cert.fingerprint}`;
    if (key === this.#defaultContextKey) return;
    this.#defaultContextKey = key;
    const pem = cert ?? this.#fallbackCertificate!;
    try {
      server.setSecureContext({ cert: pem.certPem, key: pem.keyPem, minVersion: MIN_TLS_VERSION, ciphers: TLS_CIPHERS });
    } catch (err) {
      this.#logger.error('default certificate could not be loaded; the previous one stays', { err });
    }
  }

  readonly #sniCallback = (serverName: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    const contexts = this.#contexts!;
    let ctx: SecureContext;
    try {
      ctx = contexts.contextFor(this.holder.current.tls.certificateFor(serverName));
    } catch {
      // Exceptions must not escape the TLS callback (security.md, CVE-2026-21637).
      ctx = contexts.fallback;
    }
    cb(null, ctx);
  };

  // Listeners (one function per server, not per connection) ---------------

  readonly #onConnection = (socket: Socket): void => {
    this.counters.activeConnections++;
    this.observer.metrics.connectionOpened('http1');
    this.#stalled.add(socket);
    // 'close' comes once: on() spares the wrapper once() allocates per connection.
    socket.on('close', this.#onSocketClose);
  };

  readonly #onSocketClose = (): void => {
    this.counters.activeConnections--;
    this.observer.metrics.connectionClosed('http1');
  };

  readonly #onH2SocketClose = (): void => {
    this.counters.activeConnections--;
    this.observer.metrics.connectionClosed('h2');
  };

  /** A failed or timed-out handshake: counted; the socket is already being destroyed. */
  readonly #onTlsClientError = (): void => {
    this.observer.metrics.tlsHandshakeErrors++;
  };

  readonly #onSecureConnection = (socket: TLSSocket): void => {
    socket.on('error', ignoreSocketError);
    if (this.options.proxyProtocol) adoptPeerAddress(socket);
    this.observer.metrics.tlsHandshake(socket.getProtocol() ?? 'unknown', socket.isSessionReused());
    // Draining: an HTTP/1.1 connection is still served by the engine (with
    // Connection: close); HTTP/2 and the node:http path are cut as before.
    if (this.#closing && (socket.alpnProtocol === 'h2' || this.#engine === undefined)) {
      socket.destroy();
      return;
    }
    if (socket.alpnProtocol === 'h2') {
      this.counters.activeConnections++;
      this.observer.metrics.connectionOpened('h2');
      socket.on('close', this.#onH2SocketClose);
      this.#serveHttp2(socket);
    } else {
      this.#onConnection(socket);
      if (this.#engine !== undefined) this.#engine.serve(socket);
      else this.#tlsHttp1.emit('connection', socket);
    }
  };

  /** An HTTP/2 connection (ALPN h2, or h2c prior knowledge): Martello's own server or node:http2. */
  #serveHttp2(socket: Socket): void {
    const own = this.#ownH2;
    if (own === undefined) {
      this.#http2.emit('connection', socket);
      return;
    }
    this.#h2Connections.add(new H2Connection(socket, this.#h2Settings, own, this.#engine!.sweep));
  }

  /** H2ConnectionOwner: an own HTTP/2 connection closed. */
  h2ConnectionClosed(conn: H2Connection): void {
    this.#h2Connections.delete(conn);
  }

  /** H2ConnectionOwner: an own HTTP/2 connection refused (the guard's reasons are counted as for node:http2). */
  h2ConnectionRefused(reason: H2ConnectionRefusal): void {
    if (reason === 'header_timeout' || reason === 'premature_resets') this.observer.metrics.h2SessionsRefused[reason]++;
  }

  readonly #onSession = (session: ServerHttp2Session): void => {
    session.on('error', ignoreSocketError);
    this.#sessions.add(session);
    session.once('close', () => this.#sessions.delete(session));
    this.#h2Guard.add(session);
    // The connection window (the stream window is a SETTINGS value).
    if (this.options.h2ConnectionWindowSize > 65_535) session.setLocalWindowSize(this.options.h2ConnectionWindowSize);
    if (this.#closing) session.close();
  };

  /**
   * A WebSocket handshake (node:http's 'upgrade', on either listener): the
   * same routing and TLS rules as #onRequest, answers written on the raw
   * socket, then a tunnel to the endpoint the route's balancer picks.
   */
  readonly #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.counters.requests++;
    socket.on('error', ignoreSocketError);
    const tunnels = this.#tunnels;
    try {
      const check = checkWebSocketUpgrade(req.rawHeaders, req.method ?? '', req.httpVersion);
      const decision = routeRequest(this.holder.current, factsOf(req, false), this.options);
      if (check.kind === 'reject') {
        tunnels.refuse(socket, check.status, decision.requestId, check.status === 426 ? SUPPORTED_VERSION_HEADERS : []);
      } else if (decision.kind === 'local') {
        tunnels.refuse(socket, decision.status, decision.requestId, decision.headers ?? [], decision.body);
      } else {
        tunnels.open({
          clientSocket: socket,
          head,
          endpoint: decision.endpoint,
          method: req.method ?? 'GET',
          target: decision.target,
          headers: decision.headers,
          requestId: decision.requestId,
          hsts: decision.hsts,
        });
      }
    } catch (err) {
      this.#logger.error('upgrade handling failed', { err });
      socket.destroy();
    }
  };

  readonly #onRequest = (req: DownstreamRequest, res: DownstreamResponse): void => {
    this.counters.requests++;
    req.on('error', ignoreStreamError);
    res.on('error', ignoreStreamError);
    let requestId = '';
    try {
      const http2 = req.httpVersionMajor === 2;
      const facts = factsOf(req, http2);
      const rec = new ExchangeRecord();
      const socket = req.socket as Socket & Partial<TLSSocket>;
      beginExchange(rec, req.method ?? '', http2 ? 'HTTP/2' : req.httpVersion === '1.0' ? 'HTTP/1.0' : 'HTTP/1.1', socket.encrypted === true ? (socket.getProtocol?.() ?? '') : '', facts.remoteAddress ?? '');
      observeOnClose(res, rec, this.observer);
      // The table is captured inside: a swap from here on changes nothing for this request.
      const decision = routeRequest(this.holder.current, facts, this.options);
      requestId = decision.requestId;
      noteDecision(rec, decision);
      if (decision.kind === 'forward') {
        rec.upstreamStartedAt = rec.startedAt;
        decision.balancer.onStart(decision.endpoint);
        (res as ObservedResponse)[kObserved]!.balancing = { balancer: decision.balancer, endpoint: decision.endpoint };
      }
      if (decision.kind === 'local') {
        const close = decision.close || this.#closing;
        if (decision.grpc) sendGrpcError(res, decision.status, requestId, this.counters, { closeConnection: close });
        else sendLocal(res, decision.status, requestId, close, this.counters, decision.body, decision.headers);
        return;
      }
      const endpoint = decision.endpoint;
      const forwarder: Forwarder = isHttp2Endpoint(endpoint) ? this.#http2Forwarder : this.#http1Forwarder;
      forwarder.forward({
        req,
        res,
        endpoint,
        method: req.method ?? 'GET',
        target: decision.target,
        headers: decision.headers,
        requestId,
        hasBody: http2 ? !(req as Http2ServerRequest).stream.endAfterHeaders : decision.hasBody,
        grpc: decision.grpc,
        hsts: decision.hsts,
        timeouts: decision.timeouts,
        ...(decision.setCookie === undefined ? {} : { setCookie: decision.setCookie }),
      });
    } catch (err) {
      // A bug, not a client error; answer and keep serving.
      this.#logger.error('request handling failed', { err });
      if (!res.headersSent) sendLocal(res, 502, requestId === '' ? newRequestId() : requestId, true, this.counters);
      else res.destroy();
    }
  };
}

/** A family with one unlabelled sample. */
function one(value: number): Array<{ labels: string[]; value: number }> {
  return [{ labels: [], value }];
}

const kObserved = Symbol('martello.exchangeRecord');
interface Observed {
  readonly rec: ExchangeRecord;
  readonly observer: ExchangeObserver;
  /** Set when the request was forwarded: the balancer told onStart, to be told onEnd. */
  balancing?: { readonly balancer: ClusterBalancer<UpstreamEndpoint>; readonly endpoint: UpstreamEndpoint };
}
type ObservedResponse = DownstreamResponse & { [kObserved]?: Observed };

/**
 * The node:http / node:http2 compatibility path: the exchange is observed
 * when the response closes (finished or cut). Status is what went out; body
 * bytes and upstream timings are not measured on this path (the engine's
 * paths measure them).
 */
function observeOnClose(res: DownstreamResponse, rec: ExchangeRecord, observer: ExchangeObserver): void {
  (res as ObservedResponse)[kObserved] = { rec, observer };
  res.once('close', onObservedClose);
}

function onObservedClose(this: ObservedResponse): void {
  const o = this[kObserved];
  if (o === undefined) return;
  this[kObserved] = undefined;
  o.rec.status = this.headersSent ? this.statusCode : 0;
  o.observer.finish(o.rec);
  if (o.balancing !== undefined) endBalancing(o.balancing.balancer, o.balancing.endpoint, o.rec);
}

/** What routing needs from a node:http or node:http2 request (its socket is the TLS or TCP one). */
function factsOf(req: DownstreamRequest, http2: boolean): RequestFacts {
  const socket = req.socket as Socket & Partial<TLSSocket>;
  return {
    rawHeaders: req.rawHeaders,
    method: req.method,
    http2,
    target: req.url ?? '',
    encrypted: socket.encrypted === true,
    servername: socket.servername,
    remoteAddress: peerAddressOf(socket),
    localPort: socket.localPort,
  };
}

/** node:http's shouldUpgradeCallback: WebSocket handshakes, well-formed or to be refused, leave the request path. */
function isWebSocketAttempt(req: IncomingMessage): boolean {
  return checkWebSocketUpgrade(req.rawHeaders, req.method ?? '', req.httpVersion).kind !== 'not-websocket';
}

/** Idle HTTP/2 session: GOAWAY, letting open streams finish (module level: no closure per session). */
function onSessionTimeout(this: unknown, session?: ServerHttp2Session): void {
  session?.close();
}

function listenOn(server: Server | TlsServer | NetServer, host: string, port: number, opts: ListenOptions): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ port, host, reusePort: opts.reusePort === true }, () => {
      server.removeListener('error', onError);
      const addr = server.address() as AddressInfo;
      resolve({ host: addr.address, port: addr.port });
    });
  });
}
