// What Node.js itself costs per TLS handshake and per HTTP/2 request on this
// machine, without Martello: a bare server that answers every request with
// the benchmark's 100-byte body itself (no routing, no upstream). It gives
// the floor under Martello's numbers in docs/benchmarks.md ("TLS handshakes
// and HTTP/2"); it is not a proxy and not part of bench/tls/run.sh.
//
//   taskset -c 0 node_modules/.bin/node bench/tls/floor-server.ts --cert DIR/ecdsa.crt --key DIR/ecdsa.key \
//     --port P1 --h2-port P2
//
// --port: TLS, ALPN http/1.1, certificate by an SNICallback (as Martello
// does); a minimal HTTP/1.1 answer: read until the end of the head, write
// the response with `Connection: close`, end. That is all the handshake
// benchmark needs. --h2-port: node:http2 secure server, ALPN h2, the same
// SNICallback, every stream answered with the core API (stream.respond).
// Stops on SIGTERM or SIGINT.

import { readFileSync } from 'node:fs';
import { createSecureServer, type ServerHttp2Stream } from 'node:http2';
import { createSecureContext, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { parseArgs } from 'node:util';

const BODY = Buffer.from('martello-bench backend ok: fixed body of one hundred bytes for proxy comparisons....................', 'latin1');
const HTTP1_RESPONSE = Buffer.concat([
  Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n`, 'latin1'),
  BODY,
]);
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

function main(): void {
  const { values } = parseArgs({
    options: { cert: { type: 'string' }, key: { type: 'string' }, port: { type: 'string' }, 'h2-port': { type: 'string' }, host: { type: 'string' } },
    strict: true,
  });
  const port = Number(values.port);
  const h2Port = Number(values['h2-port']);
  const host = values.host ?? '127.0.0.1';
  if (values.cert === undefined || values.key === undefined || !Number.isInteger(port) || !Number.isInteger(h2Port)) {
    console.error('usage: node bench/tls/floor-server.ts --cert FILE --key FILE --port PORT --h2-port PORT [--host 127.0.0.1]');
    process.exit(2);
  }
  const cert = readFileSync(values.cert, 'utf8');
  const key = readFileSync(values.key, 'utf8');
  const context = createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
  const sni = (_name: string, cb: (err: Error | null, ctx?: typeof context) => void): void => cb(null, context);

  const tls = createTlsServer({ cert, key, minVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'], SNICallback: sni }, (socket: TLSSocket) => {
    let seen: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      if (seen.indexOf(HEAD_END) !== -1) socket.end(HTTP1_RESPONSE);
    });
    socket.on('error', () => socket.destroy());
  });
  tls.listen(port, host);

  const h2 = createSecureServer({ cert, key, minVersion: 'TLSv1.2', SNICallback: sni });
  h2.on('stream', (stream: ServerHttp2Stream) => {
    stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': BODY.length });
    stream.end(BODY);
  });
  h2.listen(h2Port, host);

  const stop = (): void => {
    tls.close();
    h2.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main();
