// WebSockets through the real `martello serve` process with the `ws`
// package on both ends: ws:// and wss://, a connection held open across ten
// configuration changes, and the rule that a tunnel closes when its
// endpoint really goes away (not when the table merely changes). Waits on
// /debug/config generations and on socket events, never on sleeps.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { serviceYaml } from '../support/manifests.ts';
import { startMartello, type MartelloProcess } from '../support/martello-process.ts';
import { createTestCa, tlsSecretManifest } from '../support/pki.ts';

interface WsBackend {
  readonly name: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A WebSocket echo server that prefixes replies with its name. */
async function startWsBackend(name: string): Promise<WsBackend> {
  const server: Server = createServer((_req, res) => res.end(`${name} speaks WebSocket only\n`));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${name}:${String(data)}`)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.close(() => resolve());
    }),
  };
}

function open(url: string, host: string, options: { ca?: string; servername?: string } = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { host }, ...options });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function roundTrip(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.once('message', (data) => resolve(String(data)));
    ws.once('error', reject);
    ws.send(text);
  });
}

const ingress = (endpointsNote: string): string => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ws, namespace: default, annotations: { note: "${endpointsNote}" } }
spec:
  tls:
    - { hosts: [ws.test], secretName: ws-cert }
  rules:
    - host: ws.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: chat, port: { number: 80 } } } }] }
    - host: other-${endpointsNote}.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: chat, port: { number: 80 } } } }] }
`;

describe('martello serve: WebSockets', () => {
  let dir: string;
  let ca: ReturnType<typeof createTestCa>;
  let b1: WsBackend;
  let b2: WsBackend;
  let martello: MartelloProcess;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'martello-ws-'));
    ca = createTestCa();
    [b1, b2] = await Promise.all([startWsBackend('b1'), startWsBackend('b2')]);
    await writeFile(join(dir, 'secret.yaml'), tlsSecretManifest({ namespace: 'default', name: 'ws-cert', ...ca.issue(['ws.test']) }));
    await writeFile(join(dir, 'service.yaml'), serviceYaml({ name: 'chat', endpointPorts: [b1.port] }));
    await writeFile(join(dir, 'ingress.yaml'), ingress('0'));
    // Plain ws:// to a TLS host would be redirected; this test wants both.
    martello = await startMartello(dir, ['--no-ssl-redirect']);
    await martello.waitFor((c) => c.generation >= 1 && c.routes.length === 2);
  });

  after(async () => {
    const code = await martello?.stop();
    await Promise.all([b1?.close(), b2?.close()]);
    await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0);
  });

  test('ws:// and wss:// are tunnelled to the route\'s endpoint, text and binary', async () => {
    const plain = await open(`ws://127.0.0.1:${martello.httpPort}/chat`, 'ws.test');
    assert.equal(await roundTrip(plain, 'hi'), 'b1:hi');
    const big = Buffer.alloc(1 << 20, 7);
    const echoed = await new Promise<Buffer>((resolve) => {
      plain.once('message', (d) => resolve(d as Buffer));
      plain.send(big);
    });
    assert.ok(echoed.equals(big), '1 MiB binary message intact');
    plain.close();
    const secure = await open(`wss://127.0.0.1:${martello.httpsPort}/chat`, 'ws.test', { ca: ca.certPem, servername: 'ws.test' });
    assert.equal(await roundTrip(secure, 'secure'), 'b1:secure');
    secure.close();
  });

  test('a WebSocket stays open across ten configuration changes', async () => {
    const ws = await open(`ws://127.0.0.1:${martello.httpPort}/long`, 'ws.test');
    let closed = false;
    ws.once('close', () => {
      closed = true;
    });
    for (let i = 1; i <= 10; i++) {
      const gen = (await martello.debugConfig()).generation;
      await writeFile(join(dir, 'ingress.yaml'), ingress(String(i)));
      await martello.waitFor((c) => c.generation > gen);
      assert.equal(await roundTrip(ws, `m${i}`), `b1:m${i}`, `message after change ${i}`);
    }
    assert.equal(closed, false);
    ws.close();
  });

  test('adding an endpoint keeps open tunnels; removing their endpoint closes them', async () => {
    const ws = await open(`ws://127.0.0.1:${martello.httpPort}/ep`, 'ws.test');
    const closedWith = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    let gen = (await martello.debugConfig()).generation;
    await writeFile(join(dir, 'service.yaml'), serviceYaml({ name: 'chat', endpointPorts: [b1.port, b2.port] }));
    await martello.waitFor((c) => c.generation > gen);
    assert.equal(await roundTrip(ws, 'still'), 'b1:still', 'the endpoint is still listed: the tunnel lives');
    gen = (await martello.debugConfig()).generation;
    await writeFile(join(dir, 'service.yaml'), serviceYaml({ name: 'chat', endpointPorts: [b2.port] }));
    await martello.waitFor((c) => c.generation > gen);
    const code = await closedWith;
    assert.equal(code, 1006, 'closed without a close frame: the endpoint went away');
    const fresh = await open(`ws://127.0.0.1:${martello.httpPort}/ep`, 'ws.test');
    assert.equal(await roundTrip(fresh, 'new'), 'b2:new');
    fresh.close();
  });

  test('a malformed handshake and an unknown host are answered by Martello itself', async () => {
    // A raw socket: no client library sends a wrong version on purpose.
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = connect(martello.httpPort, '127.0.0.1', () => {
        sock.write('GET / HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      });
      let text = '';
      sock.on('data', (d: Buffer) => {
        text += d.toString('latin1');
      });
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 426 /);
    assert.match(answer, /\r\nSec-WebSocket-Version: 13\r\n/i);
    await assert.rejects(open(`ws://127.0.0.1:${martello.httpPort}/`, 'nowhere.test'), /Unexpected server response: 404/);
  });
});

describe('martello serve: WebSockets at shutdown', { timeout: 90_000 }, () => {
  let dir: string;
  let backend: WsBackend;
  let backendCloseCode: Promise<number>;
  let martello: MartelloProcess;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'martello-ws-drain-'));
    const server: Server = createServer();
    const wss = new WebSocketServer({ server });
    const closed = Promise.withResolvers<number>();
    backendCloseCode = closed.promise;
    wss.on('connection', (ws) => {
      ws.on('message', (data) => ws.send(`drain:${String(data)}`));
      ws.on('close', (code) => closed.resolve(code));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    backend = {
      name: 'drain',
      port: (server.address() as AddressInfo).port,
      close: () => new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
      }),
    };
    await writeFile(join(dir, 'service.yaml'), serviceYaml({ name: 'chat', endpointPorts: [backend.port] }));
    await writeFile(join(dir, 'ingress.yaml'), `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ws, namespace: default }
spec:
  rules:
    - host: ws.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: chat, port: { number: 80 } } } }] }
`);
    martello = await startMartello(dir, ['--drain-timeout', '3']);
    await martello.waitFor((c) => c.generation >= 1 && c.routes.length === 1);
  });

  after(async () => {
    await martello?.stop();
    await backend?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a WebSocket still open at the drain deadline (--drain-timeout 3) gets a close frame 1001 "going away", and so does its backend', async () => {
    const ws = await open(`ws://127.0.0.1:${martello.httpPort}/`, 'ws.test');
    const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: String(reason), at: performance.now() }));
    });
    assert.equal(await roundTrip(ws, 'before'), 'drain:before');
    const stopped = martello.stop();
    const t0 = performance.now();
    // Draining: the open tunnel is still served.
    assert.equal(await roundTrip(ws, 'during'), 'drain:during');
    const close = await closed;
    assert.deepEqual({ code: close.code, reason: close.reason }, { code: 1001, reason: 'going away' });
    assert.ok(close.at - t0 >= 2_500, `closed ${(close.at - t0).toFixed(0)} ms after SIGTERM, before the drain deadline`);
    assert.equal(await backendCloseCode, 1001, 'the backend got a close frame too');
    assert.equal(await stopped, 0);
  });
});
