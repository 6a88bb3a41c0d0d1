// Test backends: real node:http servers on 127.0.0.1:0. Shared by the proxy
// tests only (not used by production code).

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoReply {
  name: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  bodyLength: number;
  bodySha256: string;
  remotePort: number;
}

export interface TestBackend {
  readonly name: string;
  readonly port: number;
  readonly server: Server;
  /** Requests received so far. */
  requests: number;
  close(): Promise<void>;
}

export type Responder = (req: IncomingMessage, res: ServerResponse, backend: TestBackend) => void;

export async function startBackend(name: string, responder: Responder): Promise<TestBackend> {
  const server = createServer();
  server.keepAliveTimeout = 60_000;
  const backend: TestBackend = {
    name,
    port: 0,
    server,
    requests: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('request', (req, res) => {
    backend.requests++;
    req.on('error', () => {});
    res.on('error', () => {});
    responder(req, res, backend);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (backend as { port: number }).port = (server.address() as AddressInfo).port;
  return backend;
}

/** Echoes method, url, headers and a digest of the body as JSON. */
export const echo: Responder = (req, res, backend) => {
  const hash = createHash('sha256');
  let length = 0;
  req.on('data', (chunk: Buffer) => {
    length += chunk.length;
    hash.update(chunk);
  });
  req.on('end', () => {
    const reply: EchoReply = {
      name: backend.name,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bodyLength: length,
      bodySha256: hash.digest('hex'),
      remotePort: req.socket.remotePort ?? 0,
    };
    const body = JSON.stringify(reply);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), server: `backend-${backend.name}` });
    res.end(body);
  });
};

export function startEcho(name: string): Promise<TestBackend> {
  return startBackend(name, echo);
}

/** A port that was bound and then closed: connecting to it is refused. */
export async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Sends raw bytes on a fresh connection and resolves with everything
 * received until the server closes (or 10 s). The socket is not half-closed:
 * node:http treats a client FIN as an abort, so the last request of the
 * payload must carry `Connection: close` (or be one the server rejects).
 */
export async function rawExchange(port: number, payload: string): Promise<string> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('raw exchange timed out')));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(payload);
  });
}
