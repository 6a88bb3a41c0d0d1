// A real HTTP backend for process tests: answers every request with JSON
// describing what it received, so tests can assert on what the proxy sent.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoReply {
  readonly backend: string;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly bodyBytes: number;
}

export interface EchoBackend {
  readonly name: string;
  readonly port: number;
  /** Requests answered so far. */
  readonly count: () => number;
  close(): Promise<void>;
}

export async function startEchoBackend(name: string): Promise<EchoBackend> {
  let count = 0;
  const server: Server = createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
    });
    req.on('end', () => {
      count++;
      const reply: EchoReply = { backend: name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes };
      const body = JSON.stringify(reply);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    count: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
