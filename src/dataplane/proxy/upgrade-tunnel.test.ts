// The WebSocket tunnel over real sockets: the ws package as client and
// backend, raw TCP where the wire itself is the point (head bytes,
// half-close, refusals, smuggling attempts), and a node:http front
// (test-support/upgrade-front.ts) that hands sockets to a TunnelRegistry the
// way the proxy server does.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { toUpstreamEndpoint, type UpstreamEndpoint } from '../compile/cluster.ts';
import { rawExchange, refusedPort } from './test-support/backends.ts';
import { type UpgradeFront, startUpgradeFront } from './test-support/upgrade-front.ts';
import { type TunnelOptions, TunnelRegistry } from './upgrade-tunnel.ts';

// ---------------------------------------------------------------------------
// Backends

interface WsBackend {
  readonly port: number;
  readonly wss: WebSocketServer;
  /** Handshake headers as the backend received them, in order. */
  readonly handshakes: IncomingHttpHeaders[];
  close(): Promise<void>;
}

/**
 * Echoes every message with its type. "close:CODE:REASON" makes the backend
 * close with that code; subprotocol "chat.v2" is chosen when offered.
 */
async function startWsBackend(server: Server = createHttpServer()): Promise<WsBackend> {
  const handshakes: IncomingHttpHeaders[] = [];
  const wss = new WebSocketServer({
    server,
    maxPayload: 4 * 1024 * 1024,
    handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : false),
  });
  wss.on('headers', (_headers, req) => handshakes.push(req.headers));
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString();
      if (text.startsWith('close:')) {
        const [, code, reason] = text.split(':');
        ws.close(Number(code), reason);
        return;
      }
      ws.send(data, { binary: isBinary });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    wss,
    handshakes,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface RawBackend {
  readonly port: number;
  /** Everything each connection sent, per connection, in order. */
  readonly received: Buffer[][];
  /** Resolves when the n-th connection (1-based) has closed. */
  closed(n: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A TCP server that runs `onRequestHead` once a request head has arrived,
 * with the socket. `halfOpen`: a FIN from the proxy leaves our side open.
 */
async function startRawBackend(onRequestHead: (socket: Socket, head: string) => void, halfOpen = false): Promise<RawBackend> {
  const received: Buffer[][] = [];
  const closes: PromiseWithResolvers<void>[] = [];
  const sockets = new Set<Socket>();
  const closeOf = (n: number): PromiseWithResolvers<void> => (closes[n - 1] ??= Promise.withResolvers<void>());
  const server: NetServer = createNetServer({ allowHalfOpen: halfOpen }, (socket) => {
    sockets.add(socket);
    const chunks: Buffer[] = [];
    received.push(chunks);
    const done = closeOf(received.length);
    let answered = false;
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      done.resolve();
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks).toString('latin1');
      const end = all.indexOf('\r\n\r\n');
      if (!answered && end !== -1) {
        answered = true;
        onRequestHead(socket, all.slice(0, end + 4));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    closed: (n) => closeOf(n).promise,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function endpointAt(port: number): UpstreamEndpoint {
  return toUpstreamEndpoint({ address: '127.0.0.1', port });
}

// ---------------------------------------------------------------------------
// Clients

interface Opened {
  readonly ws: WebSocket;
  readonly headers: IncomingHttpHeaders;
  readonly closed: Promise<{ code: number; reason: string }>;
}

function openWs(port: number, path = '/ws', protocols: string[] = []): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, protocols, { maxPayload: 4 * 1024 * 1024 });
    const closed = new Promise<{ code: number; reason: string }>((resolveClose) => {
      ws.on('close', (code, reason) => resolveClose({ code, reason: reason.toString() }));
    });
    let headers: IncomingHttpHeaders = {};
    ws.on('upgrade', (res) => {
      headers = res.headers;
    });
    ws.on('open', () => resolve({ ws, headers, closed }));
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
  });
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}

interface Refusal {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A WebSocket attempt that must not open: the HTTP answer it got instead. */
function refusedWs(port: number, path = '/ws'): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    ws.on('error', () => {});
    ws.on('open', () => reject(new Error('the WebSocket opened')));
    ws.on('unexpected-response', (req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() });
        req.destroy();
      });
    });
  });
}

/** A raw client connection that collects what it receives. */
function rawClient(port: number, allowHalfOpen = false): { socket: Socket; until(predicate: (data: Buffer) => boolean): Promise<Buffer>; closed: Promise<Buffer> } {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen });
  let data = Buffer.alloc(0);
  let waiter: { predicate: (d: Buffer) => boolean; resolve: (d: Buffer) => void } | undefined;
  const closed = Promise.withResolvers<Buffer>();
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    data = Buffer.concat([data, chunk]);
    if (waiter?.predicate(data)) {
      waiter.resolve(data);
      waiter = undefined;
    }
  });
  socket.on('close', () => closed.resolve(data));
  return {
    socket,
    until: (predicate) =>
      new Promise((resolve, reject) => {
        if (predicate(data)) resolve(data);
        else {
          waiter = { predicate, resolve };
          void closed.promise.then((d) => (predicate(d) ? resolve(d) : reject(new Error(`closed with ${JSON.stringify(d.toString('latin1'))}`))));
        }
      }),
    closed: closed.promise,
  };
}

function handshakeRequest(path = '/ws', extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n${extra}\r\n`;
}

/** A masked client text frame (RFC 6455 §5.2), payload under 126 bytes. */
function clientTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** The first unmasked server text frame after the response head, if complete. */
function serverTextAfterHead(data: Buffer): string | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1 || data.length < end + 6) return undefined;
  const frame = data.subarray(end + 4);
  const length = frame[1]! & 0x7f;
  if (frame[0] !== 0x81 || frame.length < 2 + length) return undefined;
  return frame.subarray(2, 2 + length).toString();
}

function statusOf(data: Buffer): number {
  return Number(data.toString('latin1').split(' ')[1]);
}

async function withFront<T>(endpoint: UpstreamEndpoint, options: Partial<TunnelOptions>, body: (front: UpgradeFront) => Promise<T>): Promise<T> {
  const front = await startUpgradeFront(endpoint, options);
  try {
    return await body(front);
  } finally {
    await front.close();
  }
}

// ---------------------------------------------------------------------------

describe('WebSocket tunnel', { timeout: 30_000 }, () => {
  let backend: WsBackend;
  let front: UpgradeFront;

  before(async () => {
    backend = await startWsBackend();
    front = await startUpgradeFront(endpointAt(backend.port));
  });
  after(async () => {
    await front.close();
    await backend.close();
  });

  test('text and binary messages (up to 1 MiB) make the round trip', async () => {
    const { ws, headers } = await openWs(front.port, '/ws?room=1');
    assert.equal(front.registry.size, 1);
    assert.equal(front.registry.countFor(front.endpoint.key), 1);
    assert.match(String(headers['x-request-id']), /^[0-9a-f-]{36}$/);
    ws.send('hello');
    assert.deepEqual(await nextMessage(ws).then((m) => [m.data.toString(), m.isBinary]), ['hello', false]);
    const small = randomBytes(300);
    ws.send(small);
    const echoed = await nextMessage(ws);
    assert.equal(echoed.isBinary, true);
    assert.ok(echoed.data.equals(small));
    const big = randomBytes(1024 * 1024);
    ws.send(big);
    const bigEcho = await nextMessage(ws);
    assert.ok(bigEcho.data.equals(big), '1 MiB message intact');
    ws.close(1000);
    await front.registry.idle();
    assert.equal(front.registry.size, 0);
    assert.equal(front.registry.countFor(front.endpoint.key), 0);
    const seen = backend.handshakes.at(-1)!;
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-request-id'], headers['x-request-id']);
    assert.equal(seen.upgrade, 'websocket');
  });

  test('subprotocol negotiation passes through (Sec-WebSocket-Protocol both ways)', async () => {
    const { ws, headers } = await openWs(front.port, '/ws', ['chat.v1', 'chat.v2']);
    assert.equal(ws.protocol, 'chat.v2');
    assert.equal(headers['sec-websocket-protocol'], 'chat.v2');
    assert.equal(backend.handshakes.at(-1)!['sec-websocket-protocol'], 'chat.v1,chat.v2');
    ws.close();
    await front.registry.idle();
  });

  test("the client's bytes after its request head (same packet) arrive once the upstream said 101", async () => {
    const client = rawClient(front.port);
    client.socket.write(Buffer.concat([Buffer.from(handshakeRequest('/ws', 'X-Request-ID: head-bytes\r\n')), clientTextFrame('early')]));
    const data = await client.until((d) => serverTextAfterHead(d) !== undefined);
    assert.equal(statusOf(data), 101);
    assert.match(data.toString('latin1'), /\r\nX-Request-ID: head-bytes\r\n/);
    assert.equal(serverTextAfterHead(data), 'early');
    client.socket.destroy();
    await front.registry.idle();
  });

  test('a backend-initiated close reaches the client with its code and reason', async () => {
    const { ws, closed } = await openWs(front.port);
    ws.send('close:4001:done');
    assert.deepEqual(await closed, { code: 4001, reason: 'done' });
    await front.registry.idle();
    assert.equal(front.registry.size, 0);
  });

  test('retain() keeps tunnels to endpoints still listed and cuts the others', async () => {
    const other = await startWsBackend();
    const keyA = front.endpoint.key;
    const endpointB = endpointAt(other.port);
    try {
      const a = await openWs(front.port);
      front.endpoint = endpointB;
      const b = await openWs(front.port);
      front.endpoint = endpointAt(backend.port);
      assert.equal(front.registry.countFor(keyA), 1);
      assert.equal(front.registry.countFor(endpointB.key), 1);
      const backendSideB = [...other.wss.clients][0]!;
      const backendClosedB = new Promise<number>((resolve) => backendSideB.once('close', (code) => resolve(code)));

      front.registry.retain(new Set([keyA, '10.9.9.9:80']));
      assert.equal((await b.closed).code, 1006, 'the client of the removed endpoint sees the cut');
      assert.equal(await backendClosedB, 1006, 'so does the removed backend');
      a.ws.send('still there?');
      assert.equal((await nextMessage(a.ws)).data.toString(), 'still there?');
      assert.equal(front.registry.size, 1);
      assert.equal(front.registry.countFor(endpointB.key), 0);

      // An upgrade that picked the removed endpoint from an older table is refused.
      front.endpoint = endpointB;
      assert.equal((await refusedWs(front.port)).status, 502);
      front.endpoint = endpointAt(backend.port);
      a.ws.close();
      await front.registry.idle();
    } finally {
      front.registry.retain(new Set([keyA]));
      await other.close();
    }
  });

  test('bytes the client sends while the upstream has not answered yet are delivered after the 101', async () => {
    const release = Promise.withResolvers<void>();
    const headSeen = Promise.withResolvers<void>();
    const raw = await startRawBackend((socket) => {
      headSeen.resolve();
      void release.promise.then(() => {
        socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
        socket.on('data', (chunk: Buffer) => socket.write(chunk));
      });
    });
    try {
      await withFront(endpointAt(raw.port), {}, async (f) => {
        const client = rawClient(f.port);
        client.socket.write(handshakeRequest());
        await headSeen.promise;
        await new Promise<void>((resolve) => client.socket.write('sent-before-101', () => resolve()));
        assert.equal(Buffer.concat(raw.received[0]!).toString('latin1').includes('sent-before-101'), false, 'held back');
        release.resolve();
        const data = await client.until((d) => d.toString('latin1').endsWith('sent-before-101'));
        assert.equal(statusOf(data), 101);
        client.socket.destroy();
        await f.registry.idle();
      });
    } finally {
      await raw.close();
    }
  });

  test('half-close propagates: a client FIN ends the upstream side, the upstream can still answer', async () => {
    const raw = await startRawBackend((socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
      socket.on('end', () => socket.end('bye'));
    }, true);
    try {
      await withFront(endpointAt(raw.port), {}, async (f) => {
        const client = rawClient(f.port);
        client.socket.write(handshakeRequest());
        await client.until((d) => d.includes('\r\n\r\n'));
        client.socket.end('ping');
        const all = await client.closed;
        assert.match(all.toString('latin1'), /\r\n\r\nbye$/);
        await raw.closed(1);
        assert.match(Buffer.concat(raw.received[0]!).toString('latin1'), /\r\n\r\nping$/);
        await f.registry.idle();
      });
    } finally {
      await raw.close();
    }
  });

  test('the idle timeout closes a tunnel where nothing moves', async () => {
    await withFront(endpointAt(backend.port), { idleTimeoutMs: 300 }, async (f) => {
      const { ws, closed } = await openWs(f.port);
      ws.send('one message');
      await nextMessage(ws);
      const t0 = performance.now();
      assert.equal((await closed).code, 1006);
      assert.ok(performance.now() - t0 >= 200, 'not before the idle timeout');
      await f.registry.idle();
      assert.equal(f.registry.size, 0);
    });
  });

  test('close() drains: resolves as soon as the last tunnel ends on its own', async () => {
    const f = await startUpgradeFront(endpointAt(backend.port));
    const { ws, closed } = await openWs(f.port);
    const draining = f.registry.close(60_000);
    // New tunnels are refused while draining.
    assert.equal((await refusedWs(f.port)).status, 503);
    ws.send('still served while draining');
    assert.equal((await nextMessage(ws)).data.toString(), 'still served while draining');
    ws.close(1001);
    await draining;
    assert.equal((await closed).code, 1001);
    assert.equal(f.registry.size, 0);
    await f.close();
  });

  test('at the drain deadline, open tunnels get a close frame (1001) both ways and end with the closing handshake', async () => {
    const f = await startUpgradeFront(endpointAt(backend.port), { closeGraceMs: 20_000 });
    const upstreamClosed = new Promise<number>((resolve) => backend.wss.once('connection', (ws) => ws.once('close', (code) => resolve(code))));
    const { ws, closed } = await openWs(f.port);
    ws.send('before the deadline');
    assert.equal((await nextMessage(ws)).data.toString(), 'before the deadline');
    const t0 = performance.now();
    await f.registry.close(300);
    const took = performance.now() - t0;
    assert.ok(took >= 250, 'waited for the deadline');
    // Ended by the closing handshakes, not cut at the end of the grace.
    assert.ok(took < 15_000, `took ${took} ms`);
    assert.deepEqual(await closed, { code: 1001, reason: 'going away' });
    assert.equal(await upstreamClosed, 1001, 'the backend got a close frame too');
    assert.equal(f.registry.size, 0);
    await f.close();
  });

  test('a frame half sent at the deadline is finished before the close frame; a peer that does not answer is cut after the grace', async () => {
    const f = await startUpgradeFront(endpointAt(backend.port), { closeGraceMs: 600 });
    const received = Promise.withResolvers<string>();
    const upstreamClosed = Promise.withResolvers<number>();
    backend.wss.once('connection', (ws) => {
      ws.once('message', (data) => received.resolve(String(data)));
      ws.once('close', (code) => upstreamClosed.resolve(code));
    });
    // Half-open: the FIN Martello sends once the backend has ended does not close this client.
    const client = rawClient(f.port, true);
    const ended = once(client.socket, 'end');
    client.socket.write(handshakeRequest());
    await client.until((d) => d.includes('\r\n\r\n'));
    const text = 'x'.repeat(100);
    const whole = clientTextFrame(text);
    client.socket.write(whole.subarray(0, 40));
    // The client-side reader of the raw socket sees the server's close frame first.
    const t0 = performance.now();
    const draining = f.registry.close(200);
    const data = await client.until((d) => d.indexOf(Buffer.from([0x88])) > d.indexOf('\r\n\r\n'));
    const close = data.subarray(data.indexOf('\r\n\r\n') + 4);
    assert.deepEqual([...close.subarray(0, 4)], [0x88, 12, 0x03, 0xe9], 'unmasked close, code 1001');
    // The rest of the frame still goes through, then Martello's masked close frame.
    client.socket.write(whole.subarray(40));
    assert.equal(await received.promise, text);
    assert.equal(await upstreamClosed.promise, 1001);
    // The raw client never answers the close (nor ends): cut at the end of the grace.
    await ended;
    await draining;
    client.socket.destroy();
    assert.ok(performance.now() - t0 >= 700, 'the grace was given');
    assert.equal(f.registry.size, 0);
    await f.close();
  });
});

describe('WebSocket tunnel: upstream refusals and failures', { timeout: 30_000 }, () => {
  test('a backend refusing with 403 reaches the client as 403 (body included); no tunnel', async () => {
    const server = createHttpServer();
    server.on('upgrade', (_req, socket) => {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nX-Why: origin\r\n\r\nforbidden');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await withFront(endpointAt((server.address() as AddressInfo).port), {}, async (f) => {
        const res = await refusedWs(f.port);
        assert.equal(res.status, 403);
        assert.equal(res.body, 'forbidden');
        assert.equal(res.headers['x-why'], 'origin');
        assert.equal(res.headers.connection, 'close');
        assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
        await f.registry.idle();
        assert.equal(f.registry.opened, 0);
        assert.equal(f.registry.size, 0);
        assert.deepEqual(f.statuses, [403]);
        assert.equal(f.upstreamErrors, 0);
      });
    } finally {
      server.close();
    }
  });

  test('a plain HTTP backend answering 200 (chunked) is relayed with its decoded body, never tunnelled', async () => {
    const server = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('hello ');
      res.end('world');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await withFront(endpointAt((server.address() as AddressInfo).port), {}, async (f) => {
        const res = await refusedWs(f.port);
        assert.equal(res.status, 200);
        assert.equal(res.body, 'hello world');
        assert.equal(res.headers['transfer-encoding'], undefined);
        await f.registry.idle();
        assert.equal(f.registry.opened, 0);
      });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test("a refused upgrade never lets the client's early bytes reach the backend (no smuggling)", async () => {
    const raw = await startRawBackend((socket) => {
      socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
    });
    try {
      await withFront(endpointAt(raw.port), {}, async (f) => {
        const client = rawClient(f.port);
        client.socket.write(handshakeRequest() + 'GET /admin HTTP/1.1\r\nHost: internal\r\n\r\n');
        const answer = await client.closed;
        assert.equal(statusOf(answer), 403);
        await raw.closed(1);
        const seen = Buffer.concat(raw.received[0]!).toString('latin1');
        assert.ok(!seen.includes('/admin'), seen);
        await f.registry.idle();
      });
    } finally {
      await raw.close();
    }
  });

  test('a 101 that is not WebSocket, and a 200 that claims an upgrade, are not tunnels', async () => {
    const answers = [
      ['HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n', 502],
      ['HTTP/1.1 200 OK\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 2\r\n\r\nhi', 200],
    ] as const;
    for (const [answer, status] of answers) {
      const raw = await startRawBackend((socket) => socket.write(answer));
      try {
        await withFront(endpointAt(raw.port), {}, async (f) => {
          const res = await refusedWs(f.port);
          assert.equal(res.status, status);
          await f.registry.idle();
          assert.equal(f.registry.opened, 0);
        });
      } finally {
        await raw.close();
      }
    }
  });

  test('refuse() answers on the raw socket with a given body and headers; unsafe header values are never written', async () => {
    const statuses: number[] = [];
    const registry = new TunnelRegistry({ connectTimeoutMs: 1000, responseHeaderTimeoutMs: 1000, idleTimeoutMs: 1000 }, {
      countStatus: (status) => statuses.push(status),
      countUpstreamError: () => {},
    });
    const server = createHttpServer();
    server.on('upgrade', (req, socket) => {
      if (req.url === '/unsafe') registry.refuse(socket, 308, 'rid-2', ['Location', 'https://a/\r\nSet-Cookie: x=1']);
      else registry.refuse(socket, 404, 'rid-1', ['X-Extra', 'yes'], Buffer.from('404 Not Found: no route\n'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const notFound = await rawExchange(port, handshakeRequest('/missing'));
      assert.match(notFound, /^HTTP\/1\.1 404 Not Found\r\n/);
      assert.match(notFound, /\r\nX-Request-ID: rid-1\r\n/);
      assert.match(notFound, /\r\nX-Extra: yes\r\n/);
      assert.match(notFound, /\r\nContent-Length: 24\r\n[^]*\r\n\r\n404 Not Found: no route\n$/);
      const unsafe = await rawExchange(port, handshakeRequest('/unsafe'));
      assert.match(unsafe, /^HTTP\/1\.1 308 Permanent Redirect\r\n/);
      assert.doesNotMatch(unsafe, /Set-Cookie|Location/);
      await registry.idle();
      assert.deepEqual(statuses, [404, 308]);
    } finally {
      server.close();
    }
  });

  test('endpoint refusing connections → 502', async () => {
    await withFront(endpointAt(await refusedPort()), {}, async (f) => {
      const res = await refusedWs(f.port);
      assert.equal(res.status, 502);
      assert.equal(res.headers.server, 'martello');
      assert.equal(res.headers.connection, 'close');
      assert.equal(res.body, '502 Bad Gateway\n');
      assert.equal(f.upstreamErrors, 1);
    });
  });

  test('an endpoint that accepts and never answers → 504 after the response-header timeout', async () => {
    const raw = await startRawBackend(() => {});
    try {
      await withFront(endpointAt(raw.port), { responseHeaderTimeoutMs: 200 }, async (f) => {
        const t0 = performance.now();
        const res = await refusedWs(f.port);
        assert.equal(res.status, 504);
        assert.ok(performance.now() - t0 >= 150);
        assert.equal(f.upstreamErrors, 1);
        await raw.closed(1); // the upstream connection is not left behind
      });
    } finally {
      await raw.close();
    }
  });

  test('a client that leaves during the handshake takes the upstream connection with it', async () => {
    const headSeen = Promise.withResolvers<void>();
    const raw = await startRawBackend(() => headSeen.resolve());
    try {
      await withFront(endpointAt(raw.port), {}, async (f) => {
        const client = rawClient(f.port);
        client.socket.write(handshakeRequest());
        await headSeen.promise;
        assert.equal(f.registry.pending, 1);
        client.socket.destroy();
        await raw.closed(1);
        await f.registry.idle();
        assert.equal(f.registry.pending, 0);
        assert.deepEqual(f.statuses, []);
      });
    } finally {
      await raw.close();
    }
  });

  test('a response head larger than the limit → 502', async () => {
    const raw = await startRawBackend((socket) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    });
    try {
      await withFront(endpointAt(raw.port), {}, async (f) => {
        const res = await refusedWs(f.port);
        assert.equal(res.status, 502);
        assert.equal(f.upstreamErrors, 1);
        assert.equal(f.registry.opened, 0);
      });
    } finally {
      await raw.close();
    }
  });

  test('an HTTP/2 (h2c) endpoint → 502: WebSocket over HTTP/2 upstreams is out of scope', async () => {
    const endpoint = toUpstreamEndpoint({ address: '127.0.0.1', port: await refusedPort() }, 'h2c');
    await withFront(endpoint, {}, async (f) => {
      assert.equal((await refusedWs(f.port)).status, 502);
    });
  });
});

describe('WebSocket tunnel to a TLS upstream', { timeout: 30_000 }, () => {
  let dir = '';
  let cert = '';
  let key = '';
  let skip: string | false = false;

  before(() => {
    const probe = spawnSync('openssl', ['version'], { encoding: 'utf8' });
    if (probe.error !== undefined || probe.status !== 0) {
      skip = 'the openssl CLI is not available: TLS upstream tests skipped';
      return;
    }
    dir = mkdtempSync(join(tmpdir(), 'martello-ws-tls-'));
    const made = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:backend.test',
      '-keyout', join(dir, 'k'), '-out', join(dir, 'c'),
    ], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    key = readFileSync(join(dir, 'k'), 'utf8');
    cert = readFileSync(join(dir, 'c'), 'utf8');
  });
  after(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  async function withTlsBackend(body: (backend: WsBackend, sniSeen: (string | false)[]) => Promise<void>): Promise<void> {
    const server = createHttpsServer({ key, cert });
    const sniSeen: (string | false)[] = [];
    server.on('secureConnection', (socket: TLSSocket) => sniSeen.push(socket.servername ?? false));
    const tlsBackend = await startWsBackend(server as unknown as Server);
    try {
      await body(tlsBackend, sniSeen);
    } finally {
      await tlsBackend.close();
    }
  }

  test('echo through a verified TLS upstream (IP SAN, no SNI)', async (t) => {
    if (skip !== false) return t.skip(skip);
    await withTlsBackend(async (tlsBackend, sniSeen) => {
      const endpoint = toUpstreamEndpoint({ address: '127.0.0.1', port: tlsBackend.port }, 'https', { verify: true, caPem: cert, serverName: null });
      await withFront(endpoint, {}, async (f) => {
        const { ws } = await openWs(f.port);
        const payload = randomBytes(64 * 1024);
        ws.send(payload);
        assert.ok((await nextMessage(ws)).data.equals(payload));
        ws.close();
        await f.registry.idle();
      });
      assert.deepEqual(sniSeen, [false]);
    });
  });

  test('serverName is sent as SNI and verified', async (t) => {
    if (skip !== false) return t.skip(skip);
    await withTlsBackend(async (tlsBackend, sniSeen) => {
      const endpoint = toUpstreamEndpoint({ address: '127.0.0.1', port: tlsBackend.port }, 'https', { verify: true, caPem: cert, serverName: 'backend.test' });
      await withFront(endpoint, {}, async (f) => {
        const { ws } = await openWs(f.port);
        ws.send('sni');
        assert.equal((await nextMessage(ws)).data.toString(), 'sni');
        ws.close();
        await f.registry.idle();
      });
      assert.deepEqual(sniSeen, ['backend.test']);
    });
  });

  test('wss:// client through a TLS listener to a TLS upstream', async (t) => {
    if (skip !== false) return t.skip(skip);
    await withTlsBackend(async (tlsBackend) => {
      const endpoint = toUpstreamEndpoint({ address: '127.0.0.1', port: tlsBackend.port }, 'https', { verify: true, caPem: cert, serverName: null });
      const f = await startUpgradeFront(endpoint, {}, { key, cert });
      try {
        const ws = new WebSocket(`wss://127.0.0.1:${f.port}/secure`, { ca: cert });
        const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
        await new Promise<void>((resolve, reject) => {
          ws.on('open', () => resolve());
          ws.on('error', reject);
        });
        const payload = randomBytes(256 * 1024);
        ws.send(payload);
        assert.ok((await nextMessage(ws)).data.equals(payload));
        assert.equal(tlsBackend.handshakes.at(-1)!['x-forwarded-proto'], 'https');
        ws.send('close:4002:tls-bye');
        assert.equal(await closed, 4002);
        await f.registry.idle();
        assert.equal(f.registry.size, 0);
      } finally {
        await f.close();
      }
    });
  });

  test('a certificate that does not verify → 502 (unless verification is off)', async (t) => {
    if (skip !== false) return t.skip(skip);
    await withTlsBackend(async (tlsBackend) => {
      const address = { address: '127.0.0.1', port: tlsBackend.port };
      await withFront(toUpstreamEndpoint(address, 'https', { verify: true, caPem: null, serverName: null }), {}, async (f) => {
        assert.equal((await refusedWs(f.port)).status, 502);
        assert.equal(f.upstreamErrors, 1);
      });
      await withFront(toUpstreamEndpoint(address, 'https', { verify: true, caPem: cert, serverName: 'other.test' }), {}, async (f) => {
        assert.equal((await refusedWs(f.port)).status, 502);
      });
      await withFront(toUpstreamEndpoint(address, 'https', { verify: false, caPem: null, serverName: null }), {}, async (f) => {
        const { ws } = await openWs(f.port);
        ws.close();
        await f.registry.idle();
      });
    });
  });
});
