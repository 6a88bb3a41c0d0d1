// Upload sink for bench/bodies.sh: the backend of the 100 MB upload case.
// nginx as a backend cannot read and discard a request body before it
// answers (`return 200` answers first and drains the body afterwards, which
// lets clients and proxies stop early), so this tiny node:http server reads
// every byte of every request body, drops it, and only then answers 200 with
// `received N` (N = body bytes), which bench/bodies.sh checks. Keep-alive on.
//
//   taskset -c 1 node_modules/.bin/node bench/bodies/upload-sink.ts --port P
//
// Listens on 127.0.0.1 only; stops on SIGTERM or SIGINT.

import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

function main(): void {
  const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string' } }, strict: true });
  const port = Number(values.port);
  const host = values.host ?? '127.0.0.1';
  if (!Number.isInteger(port) || port <= 0) {
    console.error('usage: node bench/bodies/upload-sink.ts --port PORT [--host 127.0.0.1]');
    process.exit(2);
  }
  const server = createServer((req, res) => {
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    req.on('end', () => {
      const body = `received ${received}\n`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    req.on('error', () => {
      res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 0;
  server.listen(port, host);
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
