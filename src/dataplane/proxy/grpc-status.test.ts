// Martello's own gRPC error answers: the HTTP → gRPC status mapping, the
// grpc-message percent-encoding, and the wire shape on both downstream
// kinds (HTTP/2: one HEADERS frame with END_STREAM, HTTP/1.1: headers and an
// empty body), with real servers and clients on 127.0.0.1.

import assert from 'node:assert/strict';
import { request as http1Request, createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { encodeGrpcMessage, grpcMessageForHttpStatus, grpcStatusForHttpStatus, sendGrpcError } from './grpc-status.ts';
import { h2Connect, h2Fetch } from './test-support/h2-front.ts';

test('HTTP status → gRPC status', () => {
  const table: [number, number][] = [
    [400, 13],
    [401, 16],
    [403, 7],
    [404, 12],
    [421, 14],
    [429, 8],
    [500, 2],
    [502, 14],
    [503, 14],
    [504, 4],
    [200, 2],
    [418, 2],
  ];
  for (const [http, grpc] of table) assert.equal(grpcStatusForHttpStatus(http), grpc, `HTTP ${http}`);
  assert.match(grpcMessageForHttpStatus(421), /misdirected/i);
  assert.match(grpcMessageForHttpStatus(599), /599/);
});

test('grpc-message percent-encoding: space and VCHAR except % stay, everything else is %XX of its UTF-8 bytes', () => {
  assert.equal(encodeGrpcMessage('plain text: ok!'), 'plain text: ok!');
  assert.equal(encodeGrpcMessage('100%'), '100%25');
  assert.equal(encodeGrpcMessage('a\nb\tc'), 'a%0Ab%09c');
  assert.equal(encodeGrpcMessage('café ☕'), 'caf%C3%A9 %E2%98%95');
  assert.equal(encodeGrpcMessage('\x7f'), '%7F');
  assert.equal(decodeURIComponent(encodeGrpcMessage('déjà vu 100%')), 'déjà vu 100%');
});

function counter(): { statuses: number[]; countStatus(s: number): void } {
  const statuses: number[] = [];
  return { statuses, countStatus: (s) => statuses.push(s) };
}

test('HTTP/2 downstream: Trailers-Only in one HEADERS frame with END_STREAM', async () => {
  const c = counter();
  const server = createHttp2Server();
  server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    if (req.url === '/late') {
      res.writeHead(200, { 'content-type': 'application/grpc' });
      res.write('x');
      sendGrpcError(res, 502, 'rid-late', c);
      return;
    }
    sendGrpcError(res, Number(req.url?.slice(1)), 'rid-1', c, req.url === '/503' ? { message: 'custom 100%' } : undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const session = h2Connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    const reply = await h2Fetch(session, { ':path': '/504' });
    assert.equal(reply.status, 200);
    assert.equal(reply.headersEndedStream, true, 'Trailers-Only must be a single HEADERS frame with END_STREAM');
    assert.equal(reply.headers['content-type'], 'application/grpc');
    assert.equal(reply.headers['grpc-status'], '4');
    assert.equal(reply.headers['grpc-message'], encodeGrpcMessage(grpcMessageForHttpStatus(504)));
    assert.equal(reply.headers['x-request-id'], 'rid-1');
    assert.equal(reply.body.length, 0);

    const custom = await h2Fetch(session, { ':path': '/503' });
    assert.equal(custom.headers['grpc-status'], '14');
    assert.equal(custom.headers['grpc-message'], 'custom 100%25');

    // Head already out: nothing can be fabricated, the stream is reset.
    await assert.rejects(h2Fetch(session, { ':path': '/late' }), /NGHTTP2_INTERNAL_ERROR/);
    assert.deepEqual(c.statuses, [200, 200]);
  } finally {
    session.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('HTTP/1.1 downstream: the same fields as headers, empty body', async () => {
  const c = counter();
  const server = createHttp1Server((_req: IncomingMessage, res: ServerResponse) => sendGrpcError(res, 404, 'rid-2', c, { closeConnection: true }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = http1Request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/x', method: 'POST' }, resolve);
      req.on('error', reject);
      req.end();
    });
    let body = '';
    for await (const chunk of res) body += String(chunk);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/grpc');
    assert.equal(res.headers['grpc-status'], '12');
    assert.equal(res.headers['x-request-id'], 'rid-2');
    assert.equal(res.headers['connection'], 'close');
    assert.equal(body, '');
    assert.deepEqual(c.statuses, [200]);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
