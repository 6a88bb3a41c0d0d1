// Header handling through real sockets: hop-by-hop and Connection-listed
// removal (both directions), what Connection may not remove, forwarding
// headers, request IDs, duplicate response headers and bodiless responses.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, request } from 'undici';
import { type EchoReply, echo, rawExchange, startBackend, type TestBackend } from './test-support/backends.ts';
import { HTTP1_ENGINES, type RunningProxy, startProxy } from './test-support/harness.ts';

for (const engine of HTTP1_ENGINES) describe(`[${engine}] proxy headers`, () => {
  let backend: TestBackend;
  let p: RunningProxy;

  before(async () => {
    backend = await startBackend('hdr', (req, res, b) => {
      const url = req.url ?? '';
      if (url.startsWith('/cookies')) {
        res.writeHead(200, [
          'Set-Cookie', 'a=1; Path=/',
          'Set-Cookie', 'b=2; Path=/',
          'Connection', 'X-Secret-Hop',
          'X-Secret-Hop', 'must not reach the client',
          'Keep-Alive', 'timeout=5',
          'X-Request-ID', 'backend-chose-this',
          'Server', 'backend-hdr',
          'Content-Length', '2',
        ]);
        res.end('ok');
      } else if (url.startsWith('/status/')) {
        const status = Number(url.slice('/status/'.length));
        const bodiless = status === 204 || status === 304;
        res.writeHead(status, bodiless ? { etag: '"v1"' } : { etag: '"v1"', 'content-length': '5' });
        res.end(bodiless ? undefined : 'hello');
      } else if (url.startsWith('/head')) {
        res.writeHead(200, { 'content-length': '1234', 'content-type': 'text/plain' });
        res.end();
      } else {
        echo(req, res, b);
      }
    });
    p = await startProxy({ hosts: [{ host: '*', routes: [{ path: '/', cluster: 'hdr' }] }], clusters: { hdr: [backend.port] } }, { engine });
  });

  after(async () => {
    await p.close();
    await backend.close();
  });

  async function echoWith(headers: string[]): Promise<EchoReply> {
    const client = new Client(p.origin);
    try {
      const res = await client.request({ path: '/echo', method: 'GET', headers });
      assert.equal(res.statusCode, 200);
      return (await res.body.json()) as EchoReply;
    } finally {
      await client.close();
    }
  }

  test('hop-by-hop headers and Connection-listed headers are removed before ours are added', async () => {
    // undici refuses to send most hop-by-hop names itself, so use a raw socket.
    const out = await rawExchange(
      p.port,
      'GET /echo HTTP/1.1\r\nHost: Site.Test:8080\r\n' +
        'Connection: close, X-Drop-Me, x-forwarded-for, Host, content-length, X-Request-ID\r\n' +
        'X-Drop-Me: 1\r\nKeep-Alive: timeout=9\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: X-T\r\n' +
        'Upgrade: h2c\r\nX-Keep-Me: yes\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\n' +
        'X-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-Host: evil\r\nForwarded: for=6.6.6.6\r\nX-Request-ID: keep-this-id\r\n\r\n',
    );
    assert.match(out, /^HTTP\/1\.1 200 /);
    const reply = JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)) as EchoReply;
    const h = reply.headers;
    for (const gone of ['x-drop-me', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'forwarded']) {
      assert.equal(h[gone], undefined, `${gone} must not reach the backend`);
    }
    assert.notEqual(h['connection'], 'close, X-Drop-Me, x-forwarded-for, Host, content-length, X-Request-ID');
    assert.equal(h['x-keep-me'], 'yes');
    assert.equal(h['proxy-authorization'], 'Basic Zm9vOmJhcg==', 'Proxy-Authorization is end-to-end for a reverse proxy');
    // Connection could not remove Host or the headers Martello adds.
    assert.equal(h['host'], 'Site.Test:8080');
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-real-ip'], '127.0.0.1');
    assert.equal(h['x-forwarded-host'], 'Site.Test:8080');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-port'], String(p.port));
    assert.equal(h['x-request-id'], 'keep-this-id');
    // Each forwarding header exactly once: client values were replaced, not appended.
    const names = reply.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    for (const n of ['host', 'x-forwarded-for', 'x-real-ip', 'x-forwarded-host', 'x-request-id']) {
      assert.equal(names.filter((x) => x === n).length, 1, `${n} must appear once`);
    }
  });

  test('X-Request-ID: a valid client ID is kept and returned; an invalid one is replaced', async () => {
    const kept = await request(`${p.origin}/echo`, { headers: { host: 'a.test', 'x-request-id': 'abc-123_XYZ' } });
    assert.equal(kept.headers['x-request-id'], 'abc-123_XYZ');
    assert.equal(((await kept.body.json()) as EchoReply).headers['x-request-id'], 'abc-123_XYZ');

    for (const bad of ['has space', 'x'.repeat(129), '']) {
      const res = await request(`${p.origin}/echo`, { headers: { host: 'a.test', 'x-request-id': bad } });
      const reply = (await res.body.json()) as EchoReply;
      const sent = reply.headers['x-request-id'];
      assert.ok(typeof sent === 'string' && sent !== bad && /^[0-9a-f-]{36}$/.test(sent), `replacement for ${JSON.stringify(bad)}: ${String(sent)}`);
      assert.equal(res.headers['x-request-id'], sent, 'the response carries the ID the backend saw');
    }

    const generated = await request(`${p.origin}/echo`, { headers: { host: 'a.test' } });
    const id = ((await generated.body.json()) as EchoReply).headers['x-request-id'];
    assert.ok(typeof id === 'string' && id.length > 0);
    assert.equal(generated.headers['x-request-id'], id);
  });

  test('128 visible ASCII characters is still a valid request ID', async () => {
    const id = '!'.repeat(64) + '~'.repeat(64);
    const reply = await echoWith(['host', 'a.test', 'x-request-id', id]);
    assert.equal(reply.headers['x-request-id'], id);
  });

  test('response: duplicate Set-Cookie kept, hop-by-hop and Connection-listed removed, backend Server kept', async () => {
    const out = await rawExchange(p.port, 'GET /cookies HTTP/1.1\r\nHost: a.test\r\nX-Request-ID: rid-1\r\nConnection: close\r\n\r\n');
    const head = out.slice(0, out.indexOf('\r\n\r\n'));
    assert.match(head, /^HTTP\/1\.1 200 /);
    const lines = head.split('\r\n').slice(1);
    assert.deepEqual(lines.filter((l) => /^set-cookie:/i.test(l)), ['Set-Cookie: a=1; Path=/', 'Set-Cookie: b=2; Path=/']);
    assert.ok(!lines.some((l) => /^x-secret-hop:/i.test(l)), 'a header the upstream listed in Connection leaked');
    assert.ok(!lines.some((l) => /^keep-alive:/i.test(l)), 'upstream Keep-Alive leaked');
    assert.deepEqual(lines.filter((l) => /^x-request-id:/i.test(l)), ['X-Request-ID: rid-1']);
    assert.deepEqual(lines.filter((l) => /^server:/i.test(l)), ['Server: backend-hdr']);
    assert.ok(out.endsWith('\r\n\r\nok'));
  });

  test('HEAD, 204 and 304 responses have no body and the connection stays usable', async () => {
    const client = new Client(p.origin, { pipelining: 1 });
    try {
      const head = await client.request({ path: '/head', method: 'HEAD', headers: { host: 'a.test' } });
      assert.equal(head.statusCode, 200);
      assert.equal(head.headers['content-length'], '1234');
      assert.equal(await head.body.text(), '');
      for (const status of [204, 304]) {
        const res = await client.request({ path: `/status/${status}`, method: 'GET', headers: { host: 'a.test' } });
        assert.equal(res.statusCode, status);
        assert.equal(await res.body.text(), '');
      }
      const after204 = await client.request({ path: '/status/200', method: 'GET', headers: { host: 'a.test' } });
      assert.equal(await after204.body.text(), 'hello');
    } finally {
      await client.close();
    }
  });

  test('304 without a body does not stall on the raw wire either', async () => {
    const out = await rawExchange(p.port, 'GET /status/304 HTTP/1.1\r\nHost: a.test\r\n\r\nGET /status/200 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
    const statuses = [...out.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    assert.deepEqual(statuses, ['304', '200']);
    assert.ok(out.endsWith('hello'));
  });
});
