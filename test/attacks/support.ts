// Shared pieces of the attack suite (docs/security-tests.md): a counting
// backend that records every request it parses and every byte it receives,
// a scripted raw backend for response-side attacks, and a raw-socket client
// that reports the responses, the bytes, and whether the proxy closed the
// connection. Everything binds 127.0.0.1:0; every wait has a deadline.

import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { type AddressInfo, connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { ModelSpec } from '../../src/dataplane/proxy/test-support/harness.ts';

// ---------------------------------------------------------------------------
// Backends

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly version: string;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

export interface CountingBackend {
  readonly name: string;
  readonly port: number;
  /** Every request the backend parsed, in order. */
  readonly seen: SeenRequest[];
  /** Connections accepted. */
  connections: number;
  /** Every byte received, all connections in arrival order (latin1). */
  raw(): string;
  /** Forgets what was seen (between cases). */
  clear(): void;
  close(): Promise<void>;
}

/**
 * A deliberately lenient backend (node:http with `insecureHTTPParser`): if
 * the proxy let a smuggled second request through, this backend would parse
 * and count it. Answers 200 with `backend <name> <url>` as the body.
 */
export async function startCountingBackend(name: string): Promise<CountingBackend> {
  const server: HttpServer = createHttpServer({ insecureHTTPParser: true, keepAliveTimeout: 60_000 });
  const seen: SeenRequest[] = [];
  let rawChunks: Buffer[] = [];
  const backend: CountingBackend = {
    name,
    port: 0,
    seen,
    connections: 0,
    raw: () => Buffer.concat(rawChunks).toString('latin1'),
    clear: () => {
      seen.length = 0;
      rawChunks = [];
      backend.connections = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', (socket: Socket) => {
    backend.connections++;
    socket.on('data', (c: Buffer) => rawChunks.push(c));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  server.on('request', (request: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('error', () => {});
    res.on('error', () => {});
    request.on('end', () => {
      seen.push({ method: request.method ?? '', url: request.url ?? '', version: request.httpVersion, rawHeaders: request.rawHeaders, body: Buffer.concat(chunks) });
      const body = `backend ${name} ${request.url ?? ''}`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (backend as { port: number }).port = (server.address() as AddressInfo).port;
  return backend;
}

/** Header value of a recorded request (first field with that name, case-insensitive). */
export function headerOf(seen: SeenRequest, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (let i = 0; i + 1 < seen.rawHeaders.length; i += 2) if (seen.rawHeaders[i]!.toLowerCase() === lower) return seen.rawHeaders[i + 1];
  return undefined;
}

/** Every value of a header in a recorded request. */
export function headersOf(seen: SeenRequest, name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (let i = 0; i + 1 < seen.rawHeaders.length; i += 2) if (seen.rawHeaders[i]!.toLowerCase() === lower) out.push(seen.rawHeaders[i + 1]!);
  return out;
}

export interface RawBackend {
  readonly port: number;
  /** Request heads received (each up to its empty line). */
  readonly heads: string[];
  connections: number;
  clear(): void;
  close(): Promise<void>;
}

/**
 * A backend that answers each request head with whatever bytes `script`
 * returns (written as they are, then the socket stays open unless the
 * script says close). Request bodies are not expected.
 */
export async function startRawBackend(script: (head: string, index: number) => { bytes: string | Buffer; close?: boolean }): Promise<RawBackend> {
  const heads: string[] = [];
  const sockets = new Set<Socket>();
  const server: NetServer = createNetServer((socket) => {
    backend.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = '';
    socket.on('data', (c: Buffer) => {
      pending += c.toString('latin1');
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = pending.slice(0, end + 4);
        pending = pending.slice(end + 4);
        heads.push(head);
        const answer = script(head, heads.length - 1);
        if (answer.close === true) socket.end(answer.bytes);
        else socket.write(answer.bytes);
      }
    });
  });
  const backend: RawBackend = {
    port: 0,
    heads,
    connections: 0,
    clear: () => {
      heads.length = 0;
      backend.connections = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (backend as { port: number }).port = (server.address() as AddressInfo).port;
  return backend;
}

// ---------------------------------------------------------------------------
// Raw client

export interface ParsedResponse {
  readonly status: number;
  /** Lowercased name → values. */
  readonly headers: ReadonlyMap<string, string[]>;
  readonly body: string;
  /** The body ended before its framing said (the connection closed mid-message). */
  readonly truncated: boolean;
}

export interface RawResult {
  /** Every byte received (latin1). */
  readonly raw: string;
  readonly responses: ParsedResponse[];
  /** Final statuses in order (1xx left out). */
  readonly statuses: number[];
  /** The peer closed (FIN or reset) before the settle time ran out. */
  readonly closed: boolean;
  /** Milliseconds from the first write to the close (or to giving up). */
  readonly elapsedMs: number;
}

export interface RawOptions {
  /**
   * After the last byte received, how long to wait for a close before
   * deciding the connection stays open. Default 400 ms.
   */
  readonly settleMs?: number;
  /** Hard deadline for the whole exchange. Default 8000 ms. */
  readonly timeoutMs?: number;
  /** Pause between the parts of the payload. Default 0 (written at once). */
  readonly gapMs?: number;
}

/**
 * Writes `payload` (one string, or parts written `gapMs` apart) on a fresh
 * connection to 127.0.0.1:port and collects the answer until the peer
 * closes, or until nothing arrived for `settleMs` after at least one
 * complete response, or until the deadline.
 */
export function rawSend(port: number, payload: string | Buffer | readonly (string | Buffer)[], options: RawOptions = {}): Promise<RawResult> {
  const settleMs = options.settleMs ?? 400;
  const timeoutMs = options.timeoutMs ?? 8000;
  const gapMs = options.gapMs ?? 0;
  const parts = typeof payload === 'string' || Buffer.isBuffer(payload) ? [payload] : payload;
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const started = Date.now();
    let settled = false;
    let closed = false;
    let settleTimer: NodeJS.Timeout | undefined;
    let writer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(settleTimer);
      clearTimeout(writer);
      clearTimeout(deadline);
      const raw = Buffer.concat(chunks).toString('latin1');
      const responses = parseResponses(raw);
      socket.destroy();
      resolve({ raw, responses, statuses: responses.filter((r) => r.status >= 200).map((r) => r.status), closed, elapsedMs: Date.now() - started });
    };
    const deadline = setTimeout(finish, timeoutMs);
    const armSettle = (): void => {
      clearTimeout(settleTimer);
      settleTimer = setTimeout(() => {
        if (parseResponses(Buffer.concat(chunks).toString('latin1')).some((r) => r.status >= 200 && !r.truncated)) finish();
        else armSettle();
      }, settleMs);
    };
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      armSettle();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      finish();
    });
    let i = 0;
    const writeNext = (): void => {
      if (settled || closed || socket.destroyed || i >= parts.length) return;
      socket.write(parts[i]!);
      i++;
      if (i < parts.length) writer = setTimeout(writeNext, gapMs);
    };
    socket.once('connect', writeNext);
  });
}

/** Splits a byte stream (latin1) into HTTP/1.1 responses; stops at the first thing it cannot frame. */
export function parseResponses(raw: string): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let pos = 0;
  while (pos < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', pos);
    if (headEnd === -1) break;
    const lines = raw.slice(pos, headEnd).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
    if (m === null) break;
    const status = Number(m[1]);
    const headers = new Map<string, string[]>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).toLowerCase();
      const list = headers.get(name) ?? [];
      list.push(line.slice(colon + 1).trim());
      headers.set(name, list);
    }
    pos = headEnd + 4;
    if (status < 200 || status === 204 || status === 304) {
      out.push({ status, headers, body: '', truncated: false });
      continue;
    }
    const te = headers.get('transfer-encoding');
    const cl = headers.get('content-length');
    if (te !== undefined && te.join(',').toLowerCase().includes('chunked')) {
      let body = '';
      let truncated = true;
      for (;;) {
        const lineEnd = raw.indexOf('\r\n', pos);
        if (lineEnd === -1) break;
        const size = Number.parseInt(raw.slice(pos, lineEnd), 16);
        if (Number.isNaN(size)) break;
        if (size === 0) {
          const trailerEnd = raw.indexOf('\r\n\r\n', lineEnd);
          const end = raw.startsWith('\r\n', lineEnd + 2) ? lineEnd + 4 : trailerEnd === -1 ? -1 : trailerEnd + 4;
          if (end === -1) break;
          pos = end;
          truncated = false;
          break;
        }
        if (lineEnd + 2 + size + 2 > raw.length) {
          body += raw.slice(lineEnd + 2);
          pos = raw.length;
          break;
        }
        body += raw.slice(lineEnd + 2, lineEnd + 2 + size);
        pos = lineEnd + 2 + size + 2;
      }
      out.push({ status, headers, body, truncated });
      if (truncated) break;
    } else if (cl !== undefined) {
      const length = Number(cl[0]);
      const body = raw.slice(pos, pos + length);
      out.push({ status, headers, body, truncated: body.length < length });
      pos += length;
    } else {
      out.push({ status, headers, body: raw.slice(pos), truncated: false });
      break;
    }
  }
  return out;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `predicate` every 10 ms; rejects after `ms`. */
export async function until(predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A request head with CRLF line endings: `lines` joined, then the empty line. */
export function req(...lines: string[]): string {
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The model most attack suites proxy through: host `a.test`, every path to cluster `a` at `port`. */
export function oneHostSpec(port: number): ModelSpec {
  return { hosts: [{ host: 'a.test', routes: [{ path: '/', cluster: 'a' }] }], clusters: { a: [port] } };
}
