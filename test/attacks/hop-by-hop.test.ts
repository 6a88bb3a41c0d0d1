// Hop-by-hop abuse (security.md R9): a client's Connection header may drop
// its own optional headers, never Host, the framing, or the headers Martello
// adds (X-Forwarded-*, X-Real-IP, X-Request-ID); spoofed forwarding headers
// are overwritten. The same for an upstream's Connection header on the way
// back: it cannot strip X-Request-ID or break the framing.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HTTP1_ENGINES, type RunningProxy, startProxy } from '../../src/dataplane/proxy/test-support/harness.ts';
import { type CountingBackend, headerOf, headersOf, type RawBackend, rawSend, req, startCountingBackend, startRawBackend } from './support.ts';

const ADDED = ['x-forwarded-for', 'x-real-ip', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-request-id'];

for (const engine of HTTP1_ENGINES) {
  describe(`[${engine}] attacks: hop-by-hop abuse`, () => {
    let a: CountingBackend;
    let up: RawBackend;
    let p: RunningProxy;

    before(async () => {
      a = await startCountingBackend('a');
      up = await startRawBackend(() => ({
        bytes: 'HTTP/1.1 200 OK\r\nConnection: x-request-id, content-length, transfer-encoding, x-keep\r\nContent-Length: 4\r\nX-Keep: dropped\r\nX-Other: kept\r\n\r\nfine',
      }));
      p = await startProxy(
        {
          hosts: [
            { host: 'a.test', routes: [{ path: '/', cluster: 'a' }] },
            { host: 'up.test', routes: [{ path: '/', cluster: 'up' }] },
          ],
          clusters: { a: [a.port], up: [up.port] },
        },
        { engine },
      );
    });
    after(async () => {
      await p.close();
      await Promise.all([a.close(), up.close()]);
    });

    test('Connection: x-forwarded-for, x-request-id, host, content-length removes none of them', async () => {
      a.clear();
      const r = await rawSend(p.port, req('POST /h HTTP/1.1', 'Host: a.test', 'Connection: x-forwarded-for, x-request-id, host, content-length', 'Content-Length: 5') + 'hello', { settleMs: 200 });
      assert.deepEqual(r.statuses, [200]);
      assert.equal(a.seen.length, 1);
      const seen = a.seen[0]!;
      assert.deepEqual(headersOf(seen, 'host'), ['a.test']);
      assert.deepEqual(headersOf(seen, 'content-length'), ['5']);
      assert.equal(seen.body.toString(), 'hello');
      for (const name of ADDED) assert.equal(headersOf(seen, name).length, 1, `${name} present once`);
      assert.equal(headerOf(seen, 'x-forwarded-for'), '127.0.0.1');
      assert.equal(headerOf(seen, 'connection') ?? 'keep-alive', 'keep-alive', 'the client Connection value is not forwarded');
      // The response still carries the request id.
      assert.equal(r.responses[0]!.headers.get('x-request-id')?.length, 1);
    });

    test('Connection naming every header Martello adds removes none of them', async () => {
      a.clear();
      const r = await rawSend(p.port, req('GET /h HTTP/1.1', 'Host: a.test', `Connection: close, ${ADDED.join(', ')}`), { settleMs: 2000 });
      assert.deepEqual(r.statuses, [200]);
      assert.equal(r.closed, true, 'close still honoured');
      for (const name of ADDED) assert.equal(headersOf(a.seen[0]!, name).length, 1, `${name} present once`);
    });

    test('Connection: transfer-encoding cannot unframe a chunked body', async () => {
      a.clear();
      const r = await rawSend(p.port, req('POST /te HTTP/1.1', 'Host: a.test', 'Connection: transfer-encoding', 'Transfer-Encoding: chunked') + '5\r\nhello\r\n0\r\n\r\n', { settleMs: 200 });
      assert.deepEqual(r.statuses, [200]);
      assert.deepEqual(
        a.seen.map((s) => [s.url, s.body.toString()]),
        [['/te', 'hello']],
      );
    });

    test('a header the client lists in Connection is removed (the legitimate use)', async () => {
      a.clear();
      const r = await rawSend(p.port, req('GET /h HTTP/1.1', 'Host: a.test', 'Connection: x-private', 'X-Private: secret', 'X-Public: yes'), { settleMs: 200 });
      assert.deepEqual(r.statuses, [200]);
      assert.equal(headerOf(a.seen[0]!, 'x-private'), undefined);
      assert.equal(headerOf(a.seen[0]!, 'x-public'), 'yes');
    });

    test('spoofed forwarding headers are overwritten, hop-by-hop headers never forwarded', async () => {
      a.clear();
      const r = await rawSend(
        p.port,
        req('GET /h HTTP/1.1', 'Host: a.test', 'X-Forwarded-For: 6.6.6.6', 'X-Real-IP: 6.6.6.6', 'X-Forwarded-Host: evil.test', 'X-Forwarded-Proto: https', 'Forwarded: for=6.6.6.6', 'Keep-Alive: timeout=5', 'Proxy-Connection: keep-alive', 'TE: trailers', 'Trailer: x-t', 'Upgrade: h2c', 'Connection: upgrade'),
        { settleMs: 200 },
      );
      assert.deepEqual(r.statuses, [200]);
      const seen = a.seen[0]!;
      assert.deepEqual(headersOf(seen, 'x-forwarded-for'), ['127.0.0.1']);
      assert.deepEqual(headersOf(seen, 'x-real-ip'), ['127.0.0.1']);
      assert.deepEqual(headersOf(seen, 'x-forwarded-host'), ['a.test']);
      assert.deepEqual(headersOf(seen, 'x-forwarded-proto'), ['http']);
      for (const name of ['forwarded', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']) assert.equal(headerOf(seen, name), undefined, `${name} not forwarded`);
    });

    test('an upstream Connection header cannot strip X-Request-ID or the framing of the response', async () => {
      const r = await rawSend(p.port, req('GET /r HTTP/1.1', 'Host: up.test') + req('GET /r2 HTTP/1.1', 'Host: up.test', 'Connection: close'), { settleMs: 2000 });
      assert.deepEqual(r.statuses, [200, 200], r.raw);
      for (const res of r.responses) {
        assert.equal(res.body, 'fine');
        assert.equal(res.truncated, false);
        assert.equal(res.headers.get('x-request-id')?.length, 1, 'X-Request-ID kept');
        assert.equal(res.headers.get('x-keep'), undefined, 'a header the upstream listed is dropped');
        assert.deepEqual(res.headers.get('x-other'), ['kept']);
      }
    });
  });
}
