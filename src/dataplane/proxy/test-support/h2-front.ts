// Test support for the HTTP/2 forwarder. Mainly a tiny front server: it owns an H2Forwarder
// and a minimal ForwarderHost, and forwards every request, whatever its host
// or path, to one given upstream endpoint. It runs either as a node:http2
// server (h2c: clients use prior knowledge, so the downstream is the HTTP/2
// compatibility API) or as a node:http server (HTTP/1.1 clients), so both
// downstream kinds are exercised. It stands in for the proxy server, which
// does routing and forwarding headers; here only what the forwarder needs.
// Also: HTTP/2 backends (stream API, h2c or TLS), a small HTTP/2 client
// helper, and throwaway certificates made with the openssl CLI.

import { createServer as createHttp1Server, type IncomingMessage, type Server as Http1Server, type ServerResponse } from 'node:http';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import {
  connect as connectHttp2,
  constants as h2constants,
  createSecureServer,
  createServer as createHttp2Server,
  type ClientHttp2Session,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
  type Settings,
} from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../shared/log.ts';
import type { UpstreamEndpoint } from '../../compile/cluster.ts';
import type { DownstreamRequest, DownstreamResponse, ForwarderHost } from '../forwarder.ts';
import { sendGrpcError } from '../grpc-status.ts';
import { H2Forwarder } from '../h2-forwarder.ts';
import { HOP_BY_HOP } from '../hop-by-hop.ts';
import { DEFAULT_PROXY_OPTIONS, type ProxyOptions } from '../options.ts';

export type FrontKind = 'h2c' | 'http1';

/** Records what the forwarder reported. */
export class TestHost implements ForwarderHost {
  closing = false;
  readonly statuses: number[] = [];
  /** Statuses passed to respondError, with the grpc flag. */
  readonly errors: { status: number; grpc: boolean }[] = [];
  upstreamErrors = 0;

  respondError(res: DownstreamResponse, status: number, requestId: string, grpc: boolean): void {
    this.errors.push({ status, grpc });
    if (grpc) {
      sendGrpcError(res, status, requestId, this);
      return;
    }
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const body = Buffer.from(`${status} from front\n`);
    this.countStatus(status);
    (res as ServerResponse).writeHead(status, ['content-type', 'text/plain', 'content-length', String(body.length), 'x-request-id', requestId]);
    res.end(body);
  }

  countStatus(status: number): void {
    this.statuses.push(status);
  }

  countUpstreamError(): void {
    this.upstreamErrors++;
  }
}

export interface H2Front {
  readonly kind: FrontKind;
  readonly port: number;
  /** "http://127.0.0.1:port" */
  readonly origin: string;
  readonly host: TestHost;
  readonly forwarder: H2Forwarder;
  /** Request IDs assigned, in arrival order. */
  readonly requestIds: string[];
  close(): Promise<void>;
}

export interface FrontInit {
  readonly options?: Partial<ProxyOptions>;
  readonly hsts?: string | null;
}

function ignore(): void {}

function upstreamHeaders(req: DownstreamRequest, requestId: string): string[] {
  const raw = req.rawHeaders;
  const out: string[] = [];
  let host: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === ':authority') host ??= raw[i + 1]!;
    if (name.startsWith(':') || HOP_BY_HOP.has(name) || name === 'x-request-id') continue;
    if (name === 'host') host = raw[i + 1]!;
    else out.push(name, raw[i + 1]!);
  }
  if (host !== undefined) out.push('host', host);
  out.push('x-request-id', requestId);
  return out;
}

function hasBody(req: DownstreamRequest): boolean {
  if ('stream' in req) return !(req as Http2ServerRequest).stream.endAfterHeaders;
  const h = (req as IncomingMessage).headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

export async function startH2Front(endpoint: UpstreamEndpoint, kind: FrontKind, init: FrontInit = {}): Promise<H2Front> {
  const options: ProxyOptions = { ...DEFAULT_PROXY_OPTIONS, ...init.options };
  const host = new TestHost();
  const forwarder = new H2Forwarder(host, options, silentLogger, new Set([endpoint.key]));
  const requestIds: string[] = [];
  const hsts = init.hsts ?? null;

  const onRequest = (req: DownstreamRequest, res: DownstreamResponse): void => {
    req.on('error', ignore);
    res.on('error', ignore);
    const requestId = randomUUID();
    requestIds.push(requestId);
    const contentType = req.headers['content-type'];
    forwarder.forward({
      req,
      res,
      endpoint,
      method: req.method ?? 'GET',
      target: req.url ?? '/',
      headers: upstreamHeaders(req, requestId),
      requestId,
      hasBody: hasBody(req),
      grpc: typeof contentType === 'string' && contentType.startsWith('application/grpc'),
      hsts,
    });
  };

  let server: Http1Server | Http2Server;
  const h2Sessions = new Set<ServerHttp2Session>();
  if (kind === 'h2c') {
    const s = createHttp2Server();
    s.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => onRequest(req, res));
    s.on('session', (session: ServerHttp2Session) => {
      h2Sessions.add(session);
      session.on('error', ignore);
      session.once('close', () => h2Sessions.delete(session));
    });
    server = s;
  } else {
    const s = createHttp1Server();
    s.on('request', (req: IncomingMessage, res: ServerResponse) => onRequest(req, res));
    s.on('connection', (socket: Socket) => socket.on('error', ignore));
    server = s;
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    kind,
    port,
    origin: `http://127.0.0.1:${port}`,
    host,
    forwarder,
    requestIds,
    async close(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (kind === 'h2c') for (const session of h2Sessions) session.destroy();
      else (server as Http1Server).closeAllConnections();
      await closed;
      await forwarder.close();
    },
  };
}

// Upstream HTTP/2 test backends, clients and certificates ---------------------

export interface H2Backend {
  readonly port: number;
  readonly server: Http2Server | Http2SecureServer;
  /** Sessions accepted so far. */
  sessions: number;
  /** Streams received so far. */
  streams: number;
  readonly openSessions: Set<ServerHttp2Session>;
  close(): Promise<void>;
}

export type H2StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[], backend: H2Backend) => void;

export interface H2BackendInit {
  readonly settings?: Settings;
  /** TLS (h2 with ALPN) instead of h2c. */
  readonly tls?: TestCertificate;
}

export async function startH2Backend(handler: H2StreamHandler, init: H2BackendInit = {}): Promise<H2Backend> {
  const options = init.settings === undefined ? {} : { settings: init.settings };
  const server = init.tls === undefined ? createHttp2Server(options) : createSecureServer({ ...options, key: init.tls.key, cert: init.tls.cert });
  const openSessions = new Set<ServerHttp2Session>();
  const backend: H2Backend = {
    port: 0,
    server,
    sessions: 0,
    streams: 0,
    openSessions,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of openSessions) s.destroy();
      }),
  };
  server.on('session', (session: ServerHttp2Session) => {
    backend.sessions++;
    openSessions.add(session);
    session.on('error', ignore);
    session.once('close', () => openSessions.delete(session));
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
    backend.streams++;
    stream.on('error', ignore);
    handler(stream, headers, rawHeaders, backend);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (backend as { port: number }).port = (server.address() as AddressInfo).port;
  return backend;
}

export interface H2Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  /** END_STREAM was on the response HEADERS frame (Trailers-Only). */
  readonly headersEndedStream: boolean;
  readonly body: Buffer;
  readonly trailers: IncomingHttpHeaders | null;
  readonly rawTrailers: string[] | null;
}

/** One request over an existing client session; resolves with the whole reply, rejects on a reset. */
export function h2Fetch(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: Buffer): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let head: { status: number; headers: IncomingHttpHeaders; raw: string[]; end: boolean } | undefined;
    let trailers: { headers: IncomingHttpHeaders; raw: string[] } | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (h, flags, raw: string[]) => {
      head = { status: Number(h[':status']), headers: h, raw, end: (flags & h2constants.NGHTTP2_FLAG_END_STREAM) !== 0 };
    });
    stream.on('trailers', (h, _flags, raw: string[]) => (trailers = { headers: h, raw }));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('end', () => {
      if (head === undefined) return reject(new Error('no response head'));
      resolve({
        status: head.status,
        headers: head.headers,
        rawHeaders: head.raw,
        headersEndedStream: head.end,
        body: Buffer.concat(chunks),
        trailers: trailers?.headers ?? null,
        rawTrailers: trailers?.raw ?? null,
      });
    });
    if (body !== undefined) stream.end(body);
  });
}

export function h2Connect(origin: string): ClientHttp2Session {
  const session = connectHttp2(origin);
  session.on('error', ignore);
  return session;
}

export interface TestCertificate {
  readonly key: string;
  readonly cert: string;
}

/**
 * A fresh self-signed P-256 certificate for CN=localhost and IP 127.0.0.1,
 * made with the openssl CLI; null when openssl is not installed.
 */
export function makeTestCertificate(): TestCertificate | null {
  const dir = mkdtempSync(join(tmpdir(), 'martello-h2-'));
  try {
    const keyFile = join(dir, 'k');
    const certFile = join(dir, 'c');
    try {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile],
        { stdio: 'ignore' },
      );
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return null;
      throw err;
    }
    return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
