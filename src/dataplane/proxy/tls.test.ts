// TLS termination through real sockets: certificate selection by SNI
// (exact, wildcard, default, generated fallback), protocol versions, ALPN,
// HTTP/2 routing, session resumption, 421 on SNI/Host mismatch, HSTS, the
// HTTP→HTTPS redirect with its ACME exception, and certificate rotation by
// table swap without touching open connections.

import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { connect as h2connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect, type PeerCertificate, type SecureVersion, type TLSSocket } from 'node:tls';
import { request } from 'undici';
import { generateDefaultCertificate } from '../../shared/pki/default-certificate.ts';
import { createTestCa, type TestCa } from '../../../test/support/pki.ts';
import { type EchoReply, startEcho, type TestBackend } from './test-support/backends.ts';
import { HTTP1_ENGINES, type ModelSpec, type RunningProxy, startProxy, tableFor } from './test-support/harness.ts';

interface Handshake {
  readonly subjectCn: string;
  readonly altNames: string;
  readonly alpn: string | false | null;
  readonly version: string | null;
  readonly cipher: string;
  readonly reused: boolean;
  readonly session: Buffer | undefined;
}

function handshake(port: number, ca: string[], opts: { servername?: string; alpn?: string[]; maxVersion?: SecureVersion; minVersion?: SecureVersion; session?: Buffer } = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = tlsConnect({
      host: '127.0.0.1',
      port,
      ca,
      // Identity is asserted from the certificate below; the default
      // certificate is for names the client did not ask for.
      rejectUnauthorized: false,
      ...(opts.servername === undefined ? {} : { servername: opts.servername }),
      ALPNProtocols: opts.alpn ?? ['http/1.1'],
      ...(opts.maxVersion === undefined ? {} : { maxVersion: opts.maxVersion }),
      ...(opts.minVersion === undefined ? {} : { minVersion: opts.minVersion }),
      ...(opts.session === undefined ? {} : { session: opts.session }),
    });
    let session: Buffer | undefined;
    socket.on('session', (s: Buffer) => {
      session = s;
    });
    socket.once('secureConnect', () => {
      const cert: PeerCertificate = socket.getPeerCertificate();
      const result = {
        subjectCn: String(cert.subject?.CN ?? ''),
        altNames: cert.subjectaltname ?? '',
        alpn: socket.alpnProtocol,
        version: socket.getProtocol(),
        cipher: socket.getCipher().name,
        reused: socket.isSessionReused(),
      };
      // TLS 1.3 tickets arrive after the handshake: read a little, then end.
      socket.write('GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
      socket.resume();
      socket.once('end', () => resolve({ ...result, session }));
    });
    socket.once('error', reject);
  });
}

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function httpsGet(port: number, ca: string[], servername: string, host: string, path = '/'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, servername, ca, headers: { host }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

function h2Get(port: number, ca: string[], servername: string, authority: string, path: string): Promise<Reply & { alpn: string | undefined }> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`https://127.0.0.1:${port}`, { ca, servername });
    session.on('error', reject);
    const stream = session.request({ ':authority': authority, ':path': path });
    let headers: Record<string, string | string[] | undefined> = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      headers = h as Record<string, string | string[] | undefined>;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const alpn = session.alpnProtocol;
      session.close();
      resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks).toString(), alpn });
    });
    stream.on('error', reject);
    stream.end();
  });
}

for (const engine of HTTP1_ENGINES) describe(`[${engine}] TLS termination`, () => {
  let ca: TestCa;
  let trust: string[];
  let app: TestBackend;
  let other: TestBackend;
  let p: RunningProxy;
  let spec: ModelSpec;
  const fallback = generateDefaultCertificate();

  before(async () => {
    ca = createTestCa();
    trust = [ca.certPem, fallback.certPem];
    [app, other] = await Promise.all([startEcho('app'), startEcho('other')]);
    spec = {
      hosts: [
        { host: 'a.test', routes: [{ path: '/', cluster: 'app', httpsRedirect: true }] },
        { host: '*.wild.test', routes: [{ path: '/', cluster: 'app', httpsRedirect: true }] },
        { host: 'b.test', routes: [{ path: '/', cluster: 'other' }] },
        { host: 'nocert.test', routes: [{ path: '/', cluster: 'app' }] },
      ],
      clusters: { app: [app.port], other: [other.port] },
      tls: {
        hosts: { 'a.test': 'a', '*.wild.test': 'wild', 'nocert.test': null },
        certificates: {
          a: ca.issue(['a.test']),
          wild: ca.issue(['*.wild.test'], { keyType: 'rsa-2048' }),
        },
      },
    };
    p = await startProxy(spec, { engine }, { fallbackCertificate: fallback });
  });

  after(async () => {
    await p.close();
    await Promise.all([app.close(), other.close()]);
  });

  test('SNI picks the exact certificate, the wildcard for a matching name, the fallback otherwise', async () => {
    assert.equal((await handshake(p.tlsPort, trust, { servername: 'a.test' })).altNames, 'DNS:a.test');
    assert.equal((await handshake(p.tlsPort, trust, { servername: 'x.wild.test' })).altNames, 'DNS:*.wild.test');
    assert.equal((await handshake(p.tlsPort, trust, { servername: 'A.TEST' })).altNames, 'DNS:a.test', 'SNI is case-insensitive');
    // One label only: a.b.wild.test is not covered by *.wild.test.
    assert.equal((await handshake(p.tlsPort, trust, { servername: 'a.b.wild.test' })).subjectCn, 'Martello Default Certificate');
    assert.equal((await handshake(p.tlsPort, trust, { servername: 'unknown.test' })).subjectCn, 'Martello Default Certificate');
    assert.equal((await handshake(p.tlsPort, trust, { servername: 'nocert.test' })).subjectCn, 'Martello Default Certificate');
    assert.equal((await handshake(p.tlsPort, trust)).subjectCn, 'Martello Default Certificate', 'no SNI');
  });

  test('a configured default certificate replaces the fallback, with and without SNI', async () => {
    const withDefault: ModelSpec = {
      ...spec,
      tls: { ...spec.tls!, certificates: { ...spec.tls!.certificates, dflt: ca.issue(['default.test']) }, defaultCertificate: 'dflt' },
    };
    p.proxy.swap(tableFor(withDefault));
    try {
      assert.equal((await handshake(p.tlsPort, trust, { servername: 'unknown.test' })).altNames, 'DNS:default.test');
      assert.equal((await handshake(p.tlsPort, trust)).altNames, 'DNS:default.test', 'no SNI');
      assert.equal((await handshake(p.tlsPort, trust, { servername: 'a.test' })).altNames, 'DNS:a.test');
    } finally {
      p.proxy.swap(tableFor(spec));
    }
    assert.equal((await handshake(p.tlsPort, trust)).subjectCn, 'Martello Default Certificate', 'back to the fallback');
  });

  test('TLS 1.2 and 1.3 are accepted, TLS 1.1 is refused', async () => {
    assert.equal((await handshake(p.tlsPort, trust, { servername: 'a.test', maxVersion: 'TLSv1.2' })).version, 'TLSv1.2');
    assert.equal((await handshake(p.tlsPort, trust, { servername: 'a.test' })).version, 'TLSv1.3');
    await assert.rejects(handshake(p.tlsPort, trust, { servername: 'a.test', minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }));
  });

  test('TLS 1.3 picks AES-128-GCM first (Mozilla\'s order) from a client offering Node\'s default list, with and without SNI', async () => {
    assert.equal((await handshake(p.tlsPort, trust, { servername: 'a.test' })).cipher, 'TLS_AES_128_GCM_SHA256');
    assert.equal((await handshake(p.tlsPort, trust, {})).cipher, 'TLS_AES_128_GCM_SHA256');
    assert.equal((await handshake(p.tlsPort, trust, { servername: 'a.test', maxVersion: 'TLSv1.2' })).cipher, 'ECDHE-ECDSA-AES128-GCM-SHA256');
  });

  test('ALPN offers h2 and http/1.1', async () => {
    assert.equal((await handshake(p.tlsPort, trust, { servername: 'a.test', alpn: ['h2', 'http/1.1'] })).alpn, 'h2');
    assert.equal((await handshake(p.tlsPort, trust, { servername: 'a.test', alpn: ['http/1.1'] })).alpn, 'http/1.1');
  });

  test('sessions resume (TLS 1.3 tickets and TLS 1.2)', async () => {
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      const first = await handshake(p.tlsPort, trust, { servername: 'a.test', maxVersion });
      assert.ok(first.session !== undefined, `${maxVersion}: a session to resume`);
      const second = await handshake(p.tlsPort, trust, { servername: 'a.test', maxVersion, session: first.session });
      assert.equal(second.reused, true, `${maxVersion}: resumed`);
    }
  });

  test('HTTPS requests route by host, with X-Forwarded-Proto https and HSTS for TLS hosts only', async () => {
    const r = await httpsGet(p.tlsPort, trust, 'a.test', 'a.test', '/x?y=1');
    assert.equal(r.status, 200);
    const echo = JSON.parse(r.body) as EchoReply;
    assert.equal(echo.name, 'app');
    assert.equal(echo.url, '/x?y=1');
    assert.equal(echo.headers['x-forwarded-proto'], 'https');
    assert.equal(r.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    // b.test has no TLS host: served (SNI b.test gets the fallback certificate), no HSTS.
    const b = await new Promise<Reply>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: p.tlsPort, path: '/', servername: 'b.test', rejectUnauthorized: false, headers: { host: 'b.test' }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(b.status, 200);
    assert.equal(b.headers['strict-transport-security'], undefined);
  });

  test('HTTP/2 requests route exactly like HTTP/1.1 ones (:authority is the host)', async () => {
    const r = await h2Get(p.tlsPort, trust, 'a.test', 'a.test', '/h2?q=1');
    assert.equal(r.alpn, 'h2');
    assert.equal(r.status, 200);
    const echo = JSON.parse(r.body) as EchoReply;
    assert.equal(echo.name, 'app');
    assert.equal(echo.url, '/h2?q=1');
    assert.equal(echo.headers['host'], 'a.test');
    assert.equal(echo.headers['x-forwarded-proto'], 'https');
    assert.equal(r.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    const wild = await h2Get(p.tlsPort, trust, 'x.wild.test', 'x.wild.test', '/');
    assert.equal((JSON.parse(wild.body) as EchoReply).name, 'app');
  });

  test('421 when the Host belongs to another virtual host than the SNI name (HTTP/1.1 and HTTP/2)', async () => {
    const h1 = await httpsGet(p.tlsPort, trust, 'a.test', 'b.test');
    assert.equal(h1.status, 421);
    const h2 = await h2Get(p.tlsPort, trust, 'a.test', 'b.test', '/');
    assert.equal(h2.status, 421);
    // Same virtual host through a wildcard: allowed.
    const same = await h2Get(p.tlsPort, trust, 'x.wild.test', 'y.wild.test', '/');
    assert.equal(same.status, 200);
    // A port in the Host header is not a different host.
    assert.equal((await httpsGet(p.tlsPort, trust, 'a.test', `a.test:${p.tlsPort}`)).status, 200);
  });

  test('plain HTTP to a TLS host gets 308 to https, except ACME challenges; other hosts are served', async () => {
    const r = await request(`${p.origin}/some/path?x=1`, { headers: { host: `a.test:${p.port}` }, method: 'POST', body: 'data' });
    await r.body.dump();
    assert.equal(r.statusCode, 308);
    assert.equal(r.headers['location'], 'https://a.test/some/path?x=1');
    const acme = await request(`${p.origin}/.well-known/acme-challenge/token123`, { headers: { host: 'a.test' } });
    assert.equal(acme.statusCode, 200);
    assert.equal(((await acme.body.json()) as EchoReply).url, '/.well-known/acme-challenge/token123');
    const plain = await request(`${p.origin}/`, { headers: { host: 'b.test' } });
    await plain.body.dump();
    assert.equal(plain.statusCode, 200);
    assert.equal(plain.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
  });

  test('the redirect port is configurable and a hostile Host cannot shape the Location', async () => {
    const q = await startProxy(spec, { engine, httpsRedirectPort: 8443 });
    try {
      const r = await request(`${q.origin}/p`, { headers: { host: 'x.wild.test' } });
      await r.body.dump();
      assert.equal(r.headers['location'], 'https://x.wild.test:8443/p');
    } finally {
      await q.close();
    }
  });

  test('a renewed certificate serves new handshakes after the swap; open connections keep working', async () => {
    const session = h2connect(`https://127.0.0.1:${p.tlsPort}`, { ca: trust, servername: 'a.test' });
    session.on('error', () => {});
    const get = (path: string): Promise<number> => new Promise((resolve, reject) => {
      const s = session.request({ ':authority': 'a.test', ':path': path });
      s.on('response', (h) => resolve(Number(h[':status'])));
      s.on('error', reject);
      s.resume();
      s.end();
    });
    assert.equal(await get('/before'), 200);
    const oldCert = (session.socket as TLSSocket).getPeerCertificate().fingerprint256;
    const renewed = ca.issue(['a.test']);
    const next: ModelSpec = { ...spec, tls: { ...spec.tls!, certificates: { ...spec.tls!.certificates, a: renewed } } };
    p.proxy.swap(tableFor(next));
    try {
      const fresh = await new Promise<string>((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port: p.tlsPort, servername: 'a.test', ca: trust }, () => {
          resolve(s.getPeerCertificate().fingerprint256);
          s.end();
        });
        s.on('error', reject);
      });
      assert.notEqual(fresh, oldCert, 'a new handshake sees the renewed certificate');
      assert.equal(await get('/after'), 200, 'the connection opened before the renewal still serves');
    } finally {
      session.close();
      p.proxy.swap(tableFor(spec));
    }
  });
});

for (const engine of HTTP1_ENGINES) describe(`[${engine}] TLS and h2c listeners keep the HTTP/1.1 deadlines`, () => {
  test('a TLS client that never finishes its request head gets 408 after headersTimeoutMs', { timeout: 15_000 }, async () => {
    const fallback = generateDefaultCertificate();
    const p = await startProxy({ hosts: [], clusters: {} }, { engine, headersTimeoutMs: 300 }, { fallbackCertificate: fallback });
    try {
      const started = Date.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port: p.tlsPort, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
          s.write('GET / HTTP/1.1\r\nHost: a.test\r\nX-Slow: ');
        });
        let text = '';
        s.on('data', (d: Buffer) => {
          text += d.toString('latin1');
        });
        s.on('close', () => resolve(text));
        s.on('error', reject);
      });
      assert.match(answer, /^HTTP\/1\.1 408 /);
      assert.ok(Date.now() - started < 5_000, 'cut by the deadline, not by the test timeout');
    } finally {
      await p.close();
    }
  });

  test('h2c with prior knowledge and HTTP/1.1 share the plain listener when enabled', async () => {
    const app = await startEcho('app');
    const p = await startProxy({ hosts: [{ host: 'a.test', routes: [{ path: '/', cluster: 'app' }] }], clusters: { app: [app.port] } }, { engine, h2c: true, headersTimeoutMs: 300 });
    try {
      const session = h2connect(`http://127.0.0.1:${p.port}`);
      session.on('error', () => {});
      const viaH2 = await new Promise<EchoReply>((resolve, reject) => {
        const s = session.request({ ':authority': 'a.test', ':path': '/h2c' });
        let body = '';
        s.on('data', (c: Buffer) => {
          body += c.toString();
        });
        s.on('end', () => resolve(JSON.parse(body) as EchoReply));
        s.on('error', reject);
        s.end();
      });
      session.close();
      assert.equal(viaH2.url, '/h2c');
      assert.equal(viaH2.headers['host'], 'a.test');
      const viaH1 = await request(`${p.origin}/h1`, { headers: { host: 'a.test' } });
      assert.equal(((await viaH1.body.json()) as EchoReply).url, '/h1');
      // A silent client is cut at the head deadline.
      const closed = await new Promise<boolean>((resolve) => {
        const s = netConnect(p.port, '127.0.0.1');
        s.on('close', () => resolve(true));
        s.on('error', () => {});
      });
      assert.equal(closed, true);
    } finally {
      await p.close();
      await app.close();
    }
  });

  test('without --h2c the HTTP/2 preface on the plain listener is refused', async () => {
    const p = await startProxy({ hosts: [], clusters: {} }, { engine });
    try {
      const answer = await new Promise<string>((resolve) => {
        const s = netConnect(p.port, '127.0.0.1', () => s.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
        let text = '';
        s.on('data', (d: Buffer) => {
          text += d.toString('latin1');
        });
        s.on('close', () => resolve(text));
        s.on('error', () => resolve(text));
      });
      // node:http: 400; the martello codec names it: 505 (the preface's version is HTTP/2.0).
      assert.match(answer, engine === 'node' ? /^HTTP\/1\.1 400 / : /^HTTP\/1\.1 505 /);
    } finally {
      await p.close();
    }
  });
});
