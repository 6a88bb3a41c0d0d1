// Edge limits of the real `martello serve` process (docs/edge.md "Limits"):
// the PROXY protocol on every listener and transport (HTTP/1.1, TLS, HTTP/2,
// both HTTP/1.1 engines), connection caps per client address, request body
// size (413), and the overload manager's 503. Each check looks at both ends:
// what the client got and what the backend received.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type ClientHttp2Session, connect as h2connect } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../support/echo-backend.ts';
import { serviceYaml } from '../support/manifests.ts';
import { startMartello, type MartelloProcess } from '../support/martello-process.ts';
import { scrapeMetrics, sumSamples } from '../support/metrics.ts';
import { createTestCa, tlsSecretManifest } from '../support/pki.ts';

const INGRESS = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: edge, namespace: default }
spec:
  tls:
    - { hosts: [a.test], secretName: a-cert }
  rules:
    - host: a.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: svc-a, port: { number: 80 } } } }] }
`;

/** A PROXY protocol v1 line. */
const v1 = (src: string, srcPort = 40000): Buffer => Buffer.from(`PROXY TCP4 ${src} 127.0.0.1 ${srcPort} 443\r\n`);

/** The 16 bytes of an IPv6 address written as "a:b::c". */
function ipv6Bytes(text: string): Buffer {
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const words = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  words.forEach((w, i) => b.writeUInt16BE(Number.parseInt(w, 16), i * 2));
  return b;
}

/** A PROXY protocol v2 header for TCP over IPv6. */
function v2Ipv6(src: string, srcPort: number): Buffer {
  const fixed = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x21, 0x00, 36]);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(srcPort, 0);
  ports.writeUInt16BE(443, 2);
  return Buffer.concat([fixed, ipv6Bytes(src), ipv6Bytes('::1'), ports]);
}

/** An HTTP/2 session over TLS to a.test whose connection starts with a PROXY v1 header naming `src`. */
function h2OverProxy(port: number, caPem: string, src: string): ClientHttp2Session {
  const session = h2connect(`https://a.test:${port}`, {
    ca: caPem,
    createConnection: () => {
      const raw = connect(port, '127.0.0.1');
      raw.on('error', () => {});
      raw.write(v1(src));
      return tlsConnect({ socket: raw, servername: 'a.test', ca: caPem, ALPNProtocols: ['h2'] });
    },
  });
  session.on('error', () => {});
  return session;
}

/** Everything the server sends on a raw connection until it closes it (or `deadlineMs` passes). */
/** Keep-alive GETs of `paths` to a.test, back to back (pipelined). */
function pipelinedGets(...paths: string[]): string {
  return paths.map((path) => `GET ${path} HTTP/1.1\r\nhost: a.test\r\n\r\n`).join('');
}

function exchange(port: number, bytes: Buffer, deadlineMs = 5000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => done(false), deadlineMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.on('close', () => done(true));
  });
}

/** An open connection that has passed the gate: its PROXY header sent and one request answered on it. */
async function openConnection(port: number, src: string): Promise<{ socket: Socket; admitted: boolean }> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write(Buffer.concat([v1(src), Buffer.from('GET /keep HTTP/1.1\r\nhost: a.test\r\n\r\n')]));
  const admitted = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000);
    socket.once('data', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  return { socket, admitted };
}

const bodyOf = (raw: string): EchoReply => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as EchoReply;

for (const engine of ['martello', 'node'] as const) {
  describe(`[${engine}] edge limits: PROXY protocol, connection caps, body size`, () => {
    let dir: string;
    let backend: EchoBackend;
    let martello: MartelloProcess;
    let caPem: string;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'martello-edge-limits-'));
      const ca = createTestCa();
      caPem = ca.certPem;
      backend = await startEchoBackend('a');
      await writeFile(join(dir, 'services.yaml'), serviceYaml({ name: 'svc-a', endpointPorts: [backend.port] }));
      await writeFile(join(dir, 'secret.yaml'), tlsSecretManifest({ namespace: 'default', name: 'a-cert', ...ca.issue(['a.test']) }));
      await writeFile(join(dir, 'ingress.yaml'), INGRESS);
      martello = await startMartello(dir, [
        '--http1-engine', engine, '--proxy-protocol', '--max-connections-per-ip', '3', '--max-body-size', '1k', '--no-ssl-redirect', '--keep-alive-requests', '2',
      ]);
      await martello.waitFor((c) => c.generation >= 1 && c.routes.length === 1);
    });

    after(async () => {
      const code = await martello?.stop();
      await backend?.close();
      await rm(dir, { recursive: true, force: true });
      assert.equal(code, 0);
    });

    test('the PROXY v1 source address is the client: X-Forwarded-For, X-Real-IP and the access log say so', async () => {
      const r = await exchange(martello.httpPort, Buffer.concat([v1('203.0.113.7'), Buffer.from('GET /who HTTP/1.1\r\nhost: a.test\r\nconnection: close\r\n\r\n')]));
      assert.match(r.text, /^HTTP\/1\.1 200 /);
      const reply = bodyOf(r.text);
      assert.equal(reply.headers['x-real-ip'], '203.0.113.7');
      assert.equal(reply.headers['x-forwarded-for'], '203.0.113.7');
      await waitUntil(() => martello.accessLog.some((l) => l.includes('"/who"') && l.includes('"client":"203.0.113.7"')), 5000, 'access log line with the PROXY source');
    });

    test('without a PROXY header, or with a malformed one, the connection is closed unanswered and nothing reaches the backend', async () => {
      const countBefore = backend.count();
      const bare = await exchange(martello.httpPort, Buffer.from('GET / HTTP/1.1\r\nhost: a.test\r\n\r\n'));
      assert.deepEqual(bare, { text: '', closed: true });
      const bad = await exchange(martello.httpPort, Buffer.from('PROXY TCP4 203.0.113.300 127.0.0.1 1 2\r\nGET / HTTP/1.1\r\nhost: a.test\r\n\r\n'));
      assert.deepEqual(bad, { text: '', closed: true });
      const spoof = await exchange(martello.httpsPort, Buffer.from('PROXY UNKNOWN-TLS\r\n'));
      assert.deepEqual(spoof, { text: '', closed: true });
      assert.equal(backend.count(), countBefore);
      const metrics = await scrapeMetrics(martello.adminPort);
      assert.ok(sumSamples(metrics, 'martello_connections_rejected_total', { reason: 'proxy_protocol' }) >= 3);
    });

    test('TLS behind a PROXY v2 header (IPv6 source): the handshake and the request see the header\'s address', async () => {
      const raw = connect(martello.httpsPort, '127.0.0.1');
      raw.on('error', () => {});
      await new Promise<void>((resolve) => raw.once('connect', resolve));
      raw.write(v2Ipv6('2001:db8::5', 51000));
      const tls = tlsConnect({ socket: raw, servername: 'a.test', ca: caPem, ALPNProtocols: ['http/1.1'] });
      await new Promise<void>((resolve, reject) => {
        tls.once('secureConnect', resolve);
        tls.once('error', reject);
      });
      tls.write('GET /tls HTTP/1.1\r\nhost: a.test\r\nconnection: close\r\n\r\n');
      const chunks: Buffer[] = [];
      tls.on('data', (c: Buffer) => chunks.push(c));
      await new Promise<void>((resolve) => tls.once('end', resolve));
      tls.destroy();
      const text = Buffer.concat(chunks).toString();
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.equal(bodyOf(text).headers['x-real-ip'], '2001:db8::5');
    });

    test('HTTP/2 over TLS behind a PROXY v1 header: streams carry the header\'s address', async () => {
      const session = h2OverProxy(martello.httpsPort, caPem, '192.0.2.44');
      try {
        const stream = session.request({ ':path': '/h2', ':authority': 'a.test' });
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        const status = await new Promise<number>((resolve, reject) => {
          stream.once('response', (h) => resolve(Number(h[':status'])));
          stream.once('error', reject);
        });
        await new Promise<void>((resolve) => stream.once('end', resolve));
        assert.equal(status, 200);
        assert.equal((JSON.parse(Buffer.concat(chunks).toString()) as EchoReply).headers['x-real-ip'], '192.0.2.44');
      } finally {
        session.destroy();
      }
    });

    test('per-IP cap (3): the fourth connection from one client address is closed, other addresses still get in, a close frees a slot', async () => {
      const start = await scrapeMetrics(martello.adminPort);
      const held = [];
      for (let i = 0; i < 3; i++) held.push(await openConnection(martello.httpPort, '198.51.100.1'));
      try {
        assert.deepEqual(held.map((c) => c.admitted), [true, true, true]);
        const fourth = await openConnection(martello.httpPort, '198.51.100.1');
        assert.equal(fourth.admitted, false, 'the fourth connection from 198.51.100.1 was served');
        fourth.socket.destroy();
        const other = await openConnection(martello.httpPort, '198.51.100.2');
        assert.equal(other.admitted, true, 'another address was refused');
        other.socket.destroy();
        const after1 = await scrapeMetrics(martello.adminPort);
        assert.equal(
          sumSamples(after1, 'martello_connections_rejected_total', { reason: 'max_connections_per_ip' }) - sumSamples(start, 'martello_connections_rejected_total', { reason: 'max_connections_per_ip' }),
          1,
        );
        held.pop()!.socket.destroy();
        // The close reaches the worker asynchronously: retry until the slot is free.
        let again = await openConnection(martello.httpPort, '198.51.100.1');
        for (const end = Date.now() + 5000; !again.admitted && Date.now() < end;) {
          again.socket.destroy();
          await new Promise((r) => setTimeout(r, 50));
          again = await openConnection(martello.httpPort, '198.51.100.1');
        }
        assert.equal(again.admitted, true, 'the freed slot was not reusable');
        again.socket.destroy();
      } finally {
        for (const c of held) c.socket.destroy();
      }
    });

    test('--keep-alive-requests 2: the second response on a connection says Connection: close, a third request is not forwarded (the martello engine also ends the connection)', async () => {
      const countBefore = backend.count();
      const r = await exchange(martello.httpPort, Buffer.concat([v1('203.0.113.9'), Buffer.from(pipelinedGets('/k1', '/k2', '/k3'))]), engine === 'node' ? 1000 : 5000);
      // node:http (the node engine) answers a pipelined third request 503 and leaves closing to the client.
      if (engine === 'martello') assert.ok(r.closed, 'the connection stayed open: ' + JSON.stringify(r.text));
      const heads = r.text.match(/HTTP\/1\.1 \d{3}[^]*?\r\n\r\n/g) ?? [];
      assert.match(heads[0] ?? '', /^HTTP\/1\.1 200 /);
      assert.doesNotMatch(heads[0] ?? '', /\r\nconnection: close/i);
      assert.match(heads[1] ?? '', /^HTTP\/1\.1 200 [^]*\r\nconnection: close/i);
      assert.ok(heads.slice(2).every((h) => !h.startsWith('HTTP/1.1 2')), r.text);
      assert.equal(backend.count(), countBefore + 2, 'the third request reached the backend');
    });

    test('--max-body-size 1k: a declared larger body is 413 and never forwarded; a smaller one passes', async () => {
      const countBefore = backend.count();
      const big = await exchange(martello.httpPort, Buffer.concat([v1('203.0.113.8'), Buffer.from(`POST /up HTTP/1.1\r\nhost: a.test\r\ncontent-length: 2048\r\n\r\n${'x'.repeat(2048)}`)]));
      assert.match(big.text, /^HTTP\/1\.1 413 /);
      assert.match(big.text, /\r\nconnection: close\r\n/i);
      assert.equal(backend.count(), countBefore, 'the oversized request reached the backend');
      const small = await exchange(martello.httpPort, Buffer.concat([v1('203.0.113.8'), Buffer.from(`POST /up HTTP/1.1\r\nhost: a.test\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n${'x'.repeat(1000)}`)]));
      assert.match(small.text, /^HTTP\/1\.1 200 /);
      assert.equal(bodyOf(small.text).bodyBytes, 1000);
    });

    test('--max-body-size 1k: a chunked body that grows past the limit is 413 and never completed upstream', { skip: engine === 'node' ? 'the node engine enforces declared lengths only (docs/edge.md)' : false }, async () => {
      const countBefore = backend.count();
      const chunk = `400\r\n${'y'.repeat(1024)}\r\n`;
      const r = await exchange(martello.httpPort, Buffer.concat([v1('203.0.113.9'), Buffer.from(`POST /chunked HTTP/1.1\r\nhost: a.test\r\ntransfer-encoding: chunked\r\n\r\n${chunk}${chunk}0\r\n\r\n`)]));
      assert.match(r.text, /^HTTP\/1\.1 413 /);
      assert.equal(r.closed, true);
      // The backend may have seen the request start, but never a complete one: the echo answers only at the end.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(backend.count(), countBefore, 'a truncated body was completed upstream');
    });

    test('--max-body-size 1k: an HTTP/2 body without content-length that grows past the limit is 413', { skip: engine === 'node' ? 'the node engine enforces declared lengths only (docs/edge.md)' : false }, async () => {
      const countBefore = backend.count();
      const session = h2OverProxy(martello.httpsPort, caPem, '192.0.2.45');
      try {
        const stream = session.request({ ':path': '/h2-up', ':method': 'POST', ':authority': 'a.test' });
        stream.on('error', () => {});
        stream.write(Buffer.alloc(800, 0x61));
        stream.end(Buffer.alloc(800, 0x62));
        const status = await new Promise<number>((resolve, reject) => {
          stream.once('response', (h) => resolve(Number(h[':status'])));
          stream.once('close', () => reject(new Error(`stream closed without a response (rst ${stream.rstCode})`)));
        });
        assert.equal(status, 413);
      } finally {
        session.destroy();
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(backend.count(), countBefore, 'a truncated body was completed upstream');
    });
  });
}

describe('overload: a process over its heap threshold answers 503 with Connection: close, and says so', () => {
  let dir: string;
  let backend: EchoBackend;
  let martello: MartelloProcess;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'martello-overload-'));
    backend = await startEchoBackend('a');
    await writeFile(join(dir, 'services.yaml'), serviceYaml({ name: 'svc-a', endpointPorts: [backend.port] }));
    await writeFile(join(dir, 'ingress.yaml'), INGRESS.replace(/ {2}tls:\n.*\n/, ''));
    // Any heap is over 0.05% of the limit (a few MB): the process sheds from its first check on.
    martello = await startMartello(dir, ['--overload-heap-percent', '0.05']);
    await martello.waitFor((c) => c.generation >= 1 && c.routes.length === 1);
  });

  after(async () => {
    const code = await martello?.stop();
    await backend?.close();
    await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0);
  });

  test('503 with Connection: close and Retry-After, nothing forwarded, martello_overload_* report it', async () => {
    let last = '';
    for (const end = Date.now() + 10_000; Date.now() < end;) {
      last = (await exchange(martello.httpPort, Buffer.from('GET / HTTP/1.1\r\nhost: a.test\r\n\r\n'))).text;
      if (last.startsWith('HTTP/1.1 503 ')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(last, /^HTTP\/1\.1 503 /);
    assert.match(last, /\r\nconnection: close\r\n/i);
    assert.match(last, /\r\nretry-after: 1\r\n/i);
    assert.equal(backend.count(), 0);
    const metrics = await scrapeMetrics(martello.adminPort);
    assert.equal(sumSamples(metrics, 'martello_overload_active'), 1);
    assert.ok(sumSamples(metrics, 'martello_overload_shed_requests_total') >= 1);
    assert.ok(martello.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('overloaded')), 'no "overloaded" warning logged');
  });
});

async function waitUntil(check: () => boolean, deadlineMs: number, what: string): Promise<void> {
  for (const end = Date.now() + deadlineMs; !check();) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
