// The HTTP/2 forwarder end to end on 127.0.0.1: real HTTP/2 and HTTP/1.1
// clients → a front server owning an H2Forwarder (test-support/h2-front.ts)
// → real node:http2 backends, clear text (h2c) and TLS (h2). Covered: header
// translation both ways, trailers (HTTP/2 and chunked HTTP/1.1 clients),
// Trailers-Only relayed as one HEADERS frame, 8 MiB bodies both ways with
// backpressure (the backend is paused, not buffered, when the client does
// not read; the client is paused when the backend does not read), deadlines
// (504 before the head, reset after it), resets in both directions, a dead
// backend (502), and TLS verification.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { request as http1Request, type IncomingMessage } from 'node:http';
import { constants as h2, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { UpstreamTls } from '../../model/model.ts';
import { toUpstreamEndpoint } from '../compile/cluster.ts';
import { buildH2RequestHeaders, buildH2ResponseHeaders, http1Trailers, http2Trailers } from './h2-headers.ts';
import { type H2Backend, type H2Front, h2Connect, h2Fetch, makeTestCertificate, startH2Backend, startH2Front, type TestCertificate } from './test-support/h2-front.ts';

const MiB = 1024 * 1024;
const CHUNK = randomBytes(64 * 1024);

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function turns(n: number): Promise<void> {
  let p = Promise.resolve();
  for (let i = 0; i < n; i++) p = p.then(() => new Promise((r) => setImmediate(r)));
  return p;
}

interface Http1Reply {
  status: number;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: Buffer;
  trailers: IncomingMessage['trailers'];
}

/** One HTTP/1.1 request on a fresh connection; rejects if the response is cut. */
function http1Fetch(port: number, path: string, init: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<Http1Reply> {
  return new Promise((resolve, reject) => {
    const req = http1Request({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: { host: 'app.test', ...init.headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
      res.on('end', () => {
        if (!res.complete) return reject(new Error('response incomplete'));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks), trailers: res.trailers });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

interface EchoReply {
  raw: string[];
  bodyLength: number;
  sha256: string;
}

interface Download {
  written: number;
  blocked: boolean;
  onBlocked: (() => void) | undefined;
}

/** The backend's routes, by path prefix. */
interface BackendState {
  download: Download;
  uploadGate: Promise<void>;
  cancelled: (code: number) => void;
  /** Paths under /refuse-once already refused. */
  refused: Set<string>;
}

function backendHandler(state: BackendState) {
  return (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, raw: string[]): void => {
    const path = String(headers[':path']);
    if (path.startsWith('/echo') || path.startsWith('/upload')) {
      const hash = createHash('sha256');
      let length = 0;
      const read = (): void => {
        stream.on('data', (c: Buffer) => {
          length += c.length;
          hash.update(c);
        });
        stream.on('end', () => {
          const reply: EchoReply = { raw, bodyLength: length, sha256: hash.digest('hex') };
          stream.respond([
            ':status', '200',
            'content-type', 'application/json',
            'x-request-id', 'upstream-chosen-id',
            'set-cookie', 'a=1',
            'set-cookie', 'b=2',
            'strict-transport-security', 'max-age=1',
            'x-upstream', 'yes',
          ]);
          stream.end(JSON.stringify(reply));
        });
      };
      if (path.startsWith('/upload-slow')) void state.uploadGate.then(read);
      else read();
      return;
    }
    if (path === '/trailers') {
      stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': 'abc123', 'x-multi': ['1', '2'] }));
      stream.end('body before trailers');
      return;
    }
    if (path === '/trailers-only') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'not here' }, { endStream: true });
      return;
    }
    if (path.startsWith('/download/')) {
      const total = Number(path.slice('/download/'.length)) * MiB;
      const d = state.download;
      d.written = 0;
      d.blocked = false;
      stream.respond({ ':status': 200, 'content-type': 'application/octet-stream' });
      const pump = (): void => {
        d.blocked = false;
        while (d.written < total) {
          d.written += CHUNK.length;
          if (!stream.write(CHUNK)) {
            d.blocked = true;
            d.onBlocked?.();
            return;
          }
        }
        stream.end();
      };
      stream.on('drain', pump);
      pump();
      return;
    }
    if (path.startsWith('/refuse-once')) {
      // The first attempt is refused (as a stream that crossed a GOAWAY
      // would be); the next one is served.
      if (state.refused.has(path)) {
        stream.respond({ ':status': 200 });
        stream.end('served on the second attempt');
      } else {
        state.refused.add(path);
        stream.close(h2.NGHTTP2_REFUSED_STREAM);
      }
      return;
    }
    if (path === '/hang') return;
    if (path === '/stall') {
      stream.respond({ ':status': 200 });
      stream.write('first chunk, then nothing');
      return;
    }
    if (path === '/reset-after-head') {
      stream.respond({ ':status': 200 });
      // destroy(err): RST_STREAM INTERNAL_ERROR without END_STREAM (close()
      // would end the stream cleanly first).
      stream.write('partial', () => stream.destroy(new Error('backend failed mid-response')));
      return;
    }
    if (path === '/watch-cancel') {
      stream.on('close', () => state.cancelled(stream.rstCode));
      stream.respond({ ':status': 200 });
      stream.write('streaming...');
      return;
    }
    stream.respond({ ':status': 404 });
    stream.end();
  };
}

test('header translation: request block, response head, trailers', () => {
  const req = buildH2RequestHeaders(
    ['Host', 'app.test', 'Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'Upgrade', 'h2c', 'HTTP2-Settings', 'AAA', 'TE', 'gzip', 'Transfer-Encoding', 'chunked', 'Cookie', 'a=1', 'cookie', 'b=2', 'X-A', '1', 'x-a', '2', 'content-type', 'application/grpc'],
    'POST',
    '/pkg.Svc/Call',
    'https',
    true,
  );
  assert.deepEqual({ ...req }, {
    ':method': 'POST',
    ':scheme': 'https',
    ':path': '/pkg.Svc/Call',
    ':authority': 'app.test',
    cookie: 'a=1; b=2',
    'x-a': ['1', '2'],
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  assert.equal(Object.getPrototypeOf(req), null);
  assert.equal(buildH2RequestHeaders(['te', 'trailers'], 'GET', '/', 'http', false)['te'], undefined);

  const res = buildH2ResponseHeaders(
    [':status', '200', 'content-type', 'text/plain', 'x-request-id', 'theirs', 'strict-transport-security', 'max-age=1', 'x-private', 'p', 'connection', 'x-private', 'set-cookie', 'a', 'set-cookie', 'b'],
    'ours',
    true,
    'max-age=600',
  );
  assert.deepEqual(res, ['content-type', 'text/plain', 'set-cookie', 'a', 'set-cookie', 'b', 'X-Request-ID', 'ours', 'Connection', 'close', 'Strict-Transport-Security', 'max-age=600']);
  assert.deepEqual(buildH2ResponseHeaders([':status', '204'], 'id', false, null), ['X-Request-ID', 'id']);

  const trailers = ['grpc-status', '0', 'x-m', '1', 'x-m', '2', 'content-length', '5', 'connection', 'close'];
  assert.deepEqual(http1Trailers(trailers), [['grpc-status', '0'], ['x-m', '1'], ['x-m', '2']]);
  assert.deepEqual({ ...http2Trailers(trailers) }, { 'grpc-status': '0', 'x-m': ['1', '2'] });
});

describe('H2Forwarder to an h2c backend', () => {
  let backend: H2Backend;
  let front2: H2Front;
  let front1: H2Front;
  let client: ClientHttp2Session;
  const download: Download = { written: 0, blocked: false, onBlocked: undefined };
  let openGate: (() => void) | undefined;
  let cancelled: ((code: number) => void) | undefined;
  const state: BackendState = {
    download,
    uploadGate: Promise.resolve(),
    cancelled: (code: number) => cancelled?.(code),
    refused: new Set(),
  };

  before(async () => {
    backend = await startH2Backend(backendHandler(state));
    const endpoint = toUpstreamEndpoint({ address: '127.0.0.1', port: backend.port }, 'h2c');
    front2 = await startH2Front(endpoint, 'h2c', { hsts: 'max-age=600' });
    front1 = await startH2Front(endpoint, 'http1', { hsts: 'max-age=600' });
    client = h2Connect(front2.origin);
  });

  after(async () => {
    client.close();
    await front2.close();
    await front1.close();
    await backend.close();
  });

  test('HTTP/2 client: GET and POST round trip, headers translated both ways', async () => {
    const get = await h2Fetch(client, {
      ':method': 'GET',
      ':path': '/echo?q=1',
      ':authority': 'app.test',
      cookie: ['a=1', 'b=2'],
      'x-multi': ['one', 'two'],
    });
    assert.equal(get.status, 200);
    const seen = JSON.parse(get.body.toString()) as EchoReply;
    const pairs = new Map<string, string[]>();
    for (let i = 0; i < seen.raw.length; i += 2) pairs.set(seen.raw[i]!, [...(pairs.get(seen.raw[i]!) ?? []), seen.raw[i + 1]!]);
    assert.deepEqual(pairs.get(':method'), ['GET']);
    assert.deepEqual(pairs.get(':path'), ['/echo?q=1']);
    assert.deepEqual(pairs.get(':scheme'), ['http']);
    assert.deepEqual(pairs.get(':authority'), ['app.test']);
    assert.equal(pairs.get('host'), undefined, 'host travels as :authority');
    assert.deepEqual(pairs.get('cookie'), ['a=1; b=2']);
    assert.deepEqual(pairs.get('x-multi'), ['one', 'two']);
    assert.deepEqual(pairs.get('x-request-id'), [front2.requestIds.at(-1)]);
    assert.equal(pairs.get('te'), undefined, 'te: trailers only for gRPC');
    // Response: our request ID replaces the upstream's, HSTS policy wins,
    // repeated fields stay repeated.
    assert.equal(get.headers['x-request-id'], front2.requestIds.at(-1));
    assert.equal(get.headers['strict-transport-security'], 'max-age=600');
    assert.deepEqual(get.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(get.headers['x-upstream'], 'yes');

    const body = Buffer.from('hello over h2');
    const post = await h2Fetch(client, { ':method': 'POST', ':path': '/echo', ':authority': 'app.test', 'content-length': String(body.length) }, body);
    const echoed = JSON.parse(post.body.toString()) as EchoReply;
    assert.equal(echoed.bodyLength, body.length);
    assert.equal(echoed.sha256, sha256(body));
    assert.ok(echoed.raw.includes('content-length'));
    assert.ok(front2.host.statuses.every((s) => s === 200));
  });

  test('HTTP/1.1 client: GET and chunked POST round trip; Connection: close while draining', async () => {
    const get = await http1Fetch(front1.port, '/echo?via=h1', { headers: { cookie: 'c=3', connection: 'keep-alive' } });
    assert.equal(get.status, 200);
    const seen = JSON.parse(get.body.toString()) as EchoReply;
    assert.ok(seen.raw.includes(':authority') && seen.raw[seen.raw.indexOf(':authority') + 1] === 'app.test');
    assert.ok(!seen.raw.includes('connection'));
    assert.equal(get.headers['x-request-id'], front1.requestIds.at(-1));
    assert.equal(get.headers['strict-transport-security'], 'max-age=600');
    assert.deepEqual(get.headers['set-cookie'], ['a=1', 'b=2']);
    assert.notEqual(get.headers['connection'], 'close');

    const body = randomBytes(100_000);
    const post = await http1Fetch(front1.port, '/echo', { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body });
    assert.equal((JSON.parse(post.body.toString()) as EchoReply).sha256, sha256(body));

    front1.host.closing = true;
    try {
      const draining = await http1Fetch(front1.port, '/echo');
      assert.equal(draining.headers['connection'], 'close');
    } finally {
      front1.host.closing = false;
    }
    // HTTP/2 has no Connection header: never sent there.
    front2.host.closing = true;
    try {
      const h2reply = await h2Fetch(client, { ':path': '/echo', ':authority': 'app.test' });
      assert.equal(h2reply.status, 200);
      assert.equal(h2reply.headers['connection'], undefined);
    } finally {
      front2.host.closing = false;
    }
  });

  test('trailers reach an HTTP/2 client and a chunked HTTP/1.1 client', async () => {
    const r2 = await h2Fetch(client, { ':path': '/trailers', ':authority': 'app.test' });
    assert.equal(r2.body.toString(), 'body before trailers');
    assert.deepEqual(r2.rawTrailers, ['x-checksum', 'abc123', 'x-multi', '1', 'x-multi', '2']);

    const r1 = await http1Fetch(front1.port, '/trailers');
    assert.equal(r1.body.toString(), 'body before trailers');
    assert.equal(r1.headers['transfer-encoding'], 'chunked');
    assert.equal(r1.trailers['x-checksum'], 'abc123');
  });

  test('an upstream Trailers-Only answer stays one HEADERS frame with END_STREAM for an HTTP/2 client', async () => {
    const r = await h2Fetch(client, { ':method': 'POST', ':path': '/trailers-only', ':authority': 'app.test', 'content-type': 'application/grpc' }, Buffer.alloc(0));
    assert.equal(r.status, 200);
    assert.equal(r.headersEndedStream, true);
    assert.equal(r.headers['grpc-status'], '5');
    assert.equal(r.headers['grpc-message'], 'not here');
    assert.equal(r.headers['x-request-id'], front2.requestIds.at(-1));
  });

  test('8 MiB up and down, through both client kinds, arrive intact', async () => {
    const body = Buffer.concat(Array.from({ length: 128 }, () => CHUNK));
    const up2 = await h2Fetch(client, { ':method': 'PUT', ':path': '/upload', ':authority': 'app.test' }, body);
    assert.equal((JSON.parse(up2.body.toString()) as EchoReply).sha256, sha256(body));
    const up1 = await http1Fetch(front1.port, '/upload', { method: 'PUT', headers: { 'content-length': String(body.length) }, body });
    assert.equal((JSON.parse(up1.body.toString()) as EchoReply).bodyLength, body.length);

    const down2 = await h2Fetch(client, { ':path': '/download/8', ':authority': 'app.test' });
    assert.equal(down2.body.length, 8 * MiB);
    assert.equal(sha256(down2.body), sha256(body));
    const down1 = await http1Fetch(front1.port, '/download/8');
    assert.equal(sha256(down1.body), sha256(body));
  });

  test('a client that does not read pauses the backend instead of being buffered for', async () => {
    const blocked = new Promise<void>((resolve) => (download.onBlocked = resolve));
    const stream = client.request({ ':path': '/download/8', ':authority': 'app.test' }, { endStream: true });
    await once(stream, 'response');
    // Not reading: HTTP/2 flow control stops the front, which must pause
    // its upstream stream, whose flow control stops the backend.
    await blocked;
    await turns(200);
    assert.equal(download.blocked, true);
    assert.ok(download.written < 2 * MiB, `backend wrote ${(download.written / MiB).toFixed(2)} MiB of 8 while the client read nothing`);
    const hash = createHash('sha256');
    let length = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      length += chunk.length;
      hash.update(chunk);
    }
    assert.equal(length, 8 * MiB);
    assert.equal(hash.digest('hex'), sha256(Buffer.concat(Array.from({ length: 128 }, () => CHUNK))));
    download.onBlocked = undefined;
  });

  test('a backend that does not read pauses the client upload', async () => {
    state.uploadGate = new Promise<void>((resolve) => (openGate = resolve));
    const total = 8 * MiB;
    const stream = client.request({ ':method': 'POST', ':path': '/upload-slow', ':authority': 'app.test' });
    const reply = new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
      stream.on('error', reject);
    });
    let sent = 0;
    let onBlocked: (() => void) | undefined;
    const pump = (): void => {
      while (sent < total) {
        sent += CHUNK.length;
        if (!stream.write(CHUNK)) {
          onBlocked?.();
          return;
        }
      }
      stream.end();
    };
    stream.on('drain', pump);
    const blocked = new Promise<void>((resolve) => (onBlocked = resolve));
    pump();
    await blocked;
    onBlocked = undefined;
    await turns(200);
    assert.ok(sent < 2 * MiB, `client could send ${(sent / MiB).toFixed(2)} MiB of 8 while the backend read nothing`);
    openGate?.();
    const echoed = JSON.parse((await reply).toString()) as EchoReply;
    assert.equal(echoed.bodyLength, total);
    assert.equal(echoed.sha256, sha256(Buffer.concat(Array.from({ length: 128 }, () => CHUNK))));
    state.uploadGate = Promise.resolve();
  });

  test('an upstream reset after the head resets the client stream, or cuts the HTTP/1.1 response', async () => {
    const errors = front2.host.upstreamErrors;
    await assert.rejects(h2Fetch(client, { ':path': '/reset-after-head', ':authority': 'app.test' }), /NGHTTP2_INTERNAL_ERROR/);
    await assert.rejects(http1Fetch(front1.port, '/reset-after-head'), /aborted|incomplete|socket hang up|ECONNRESET/);
    assert.equal(front2.host.upstreamErrors, errors + 1);
  });

  test('a refused stream (RST_STREAM REFUSED_STREAM) is retried once when there is no body; with a body it is a 502', async () => {
    const streams = backend.streams;
    const r = await h2Fetch(client, { ':path': '/refuse-once/get', ':authority': 'app.test' });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'served on the second attempt');
    assert.equal(backend.streams - streams, 2);
    const p = await h2Fetch(client, { ':method': 'POST', ':path': '/refuse-once/post', ':authority': 'app.test' }, Buffer.from('body'));
    assert.equal(p.status, 502);
  });

  test('a client that goes away cancels the upstream stream (RST_STREAM CANCEL)', async () => {
    for (const kind of ['h2', 'http1'] as const) {
      const seen = new Promise<number>((resolve) => (cancelled = resolve));
      if (kind === 'h2') {
        const stream: ClientHttp2Stream = client.request({ ':path': '/watch-cancel', ':authority': 'app.test' }, { endStream: true });
        stream.on('error', () => {});
        await once(stream, 'data');
        stream.close(h2.NGHTTP2_CANCEL);
      } else {
        const req = http1Request({ host: '127.0.0.1', port: front1.port, path: '/watch-cancel', headers: { host: 'app.test' }, agent: false });
        req.on('error', () => {});
        req.end();
        const [res] = (await once(req, 'response')) as [IncomingMessage];
        res.on('error', () => {});
        await once(res, 'data');
        req.destroy();
      }
      assert.equal(await seen, h2.NGHTTP2_CANCEL, `${kind} client`);
    }
  });
});

describe('H2Forwarder deadlines and failures', () => {
  let backend: H2Backend;
  let front2: H2Front;
  let front1: H2Front;
  let client: ClientHttp2Session;
  const state: BackendState = { download: { written: 0, blocked: false, onBlocked: undefined }, uploadGate: Promise.resolve(), cancelled: () => {}, refused: new Set() };

  before(async () => {
    backend = await startH2Backend(backendHandler(state));
    const endpoint = toUpstreamEndpoint({ address: '127.0.0.1', port: backend.port }, 'h2c');
    const options = { responseHeaderTimeoutMs: 150, upstreamBodyTimeoutMs: 150 };
    front2 = await startH2Front(endpoint, 'h2c', { options });
    front1 = await startH2Front(endpoint, 'http1', { options });
    client = h2Connect(front2.origin);
  });

  after(async () => {
    client.close();
    await front2.close();
    await front1.close();
    await backend.close();
  });

  test('no response head within responseHeaderTimeoutMs → 504', async () => {
    const started = performance.now();
    const r2 = await h2Fetch(client, { ':path': '/hang', ':authority': 'app.test' });
    assert.equal(r2.status, 504);
    assert.ok(performance.now() - started >= 140);
    const r1 = await http1Fetch(front1.port, '/hang');
    assert.equal(r1.status, 504);
    assert.deepEqual(front1.host.errors, [{ status: 504, grpc: false }]);
    assert.equal(front1.host.upstreamErrors, 1);
  });

  test('a response that stalls longer than upstreamBodyTimeoutMs is reset, never completed', async () => {
    await assert.rejects(h2Fetch(client, { ':path': '/stall', ':authority': 'app.test' }), /NGHTTP2_INTERNAL_ERROR/);
    await assert.rejects(http1Fetch(front1.port, '/stall'), /aborted|incomplete|socket hang up|ECONNRESET/);
  });

  test('backend down → 502', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createTcpServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const front = await startH2Front(toUpstreamEndpoint({ address: '127.0.0.1', port }, 'h2c'), 'http1');
    try {
      const r = await http1Fetch(front.port, '/');
      assert.equal(r.status, 502);
      assert.equal(r.headers['x-request-id'], front.requestIds[0]);
      assert.equal(front.host.upstreamErrors, 1);
    } finally {
      await front.close();
    }
  });
});

describe('H2Forwarder to a TLS (h2) backend', () => {
  let cert: TestCertificate | null;
  let other: TestCertificate | null;
  let backend: H2Backend | undefined;

  before(async () => {
    cert = makeTestCertificate();
    other = cert === null ? null : makeTestCertificate();
    if (cert !== null) {
      backend = await startH2Backend((stream, headers) => {
        stream.respond({ ':status': 200 });
        stream.end(`tls ${String(headers[':scheme'])} ${String(headers[':path'])}`);
      }, { tls: cert });
    }
  });

  after(() => backend?.close());

  async function via(tls: UpstreamTls): Promise<{ status: number; body: string }> {
    const front = await startH2Front(toUpstreamEndpoint({ address: '127.0.0.1', port: backend!.port }, 'h2', tls), 'h2c');
    const session = h2Connect(front.origin);
    try {
      const r = await h2Fetch(session, { ':method': 'POST', ':path': '/secure', ':authority': 'app.test' }, Buffer.from('x'));
      return { status: r.status, body: r.body.toString() };
    } finally {
      session.close();
      await front.close();
    }
  }

  test('without verification, with the right CA, and with a wrong CA', async (t) => {
    if (cert === null || other === null) {
      t.skip('openssl CLI not installed: cannot make a test certificate');
      return;
    }
    assert.deepEqual(await via({ verify: false, caPem: null, serverName: null }), { status: 200, body: 'tls https /secure' });
    assert.deepEqual(await via({ verify: true, caPem: cert.cert, serverName: null }), { status: 200, body: 'tls https /secure' });
    assert.equal((await via({ verify: true, caPem: other.cert, serverName: null })).status, 502);
    assert.equal((await via({ verify: true, caPem: null, serverName: null })).status, 502, 'a self-signed certificate is not in the default roots');
  });
});
