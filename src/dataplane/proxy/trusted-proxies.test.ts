// --trusted-proxies through real sockets, on both HTTP/1.1 engines: a peer
// inside the list has its X-Forwarded-* believed and extended, and the
// client address it reports becomes X-Real-IP (and what the access log
// shows); any other peer has them overwritten (security.md R9).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { HTTP1_ENGINES } from './options.ts';
import { type EchoReply, startEcho, type TestBackend } from './test-support/backends.ts';
import { type RunningProxy, startProxy } from './test-support/harness.ts';

const SPEC = { hosts: [{ host: 'app.test', routes: [{ path: '/', cluster: 'app' }] }] };
const SPOOF = { 'x-forwarded-for': '203.0.113.7, 198.51.100.2', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example', 'x-forwarded-port': '443', 'x-real-ip': '6.6.6.6', forwarded: 'for=6.6.6.6' };

async function echo(p: RunningProxy, headers: Record<string, string>): Promise<EchoReply> {
  const res = await request(`${p.origin}/x`, { headers: { host: 'app.test', ...headers } });
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as EchoReply;
}

for (const engine of HTTP1_ENGINES) describe(`[${engine}] trusted proxies`, () => {
  let app: TestBackend;
  let trusting: RunningProxy;
  let untrusting: RunningProxy;
  let otherTrust: RunningProxy;

  before(async () => {
    app = await startEcho('app');
    const clusters = { app: [app.port] };
    [trusting, untrusting, otherTrust] = await Promise.all([
      startProxy({ ...SPEC, clusters }, { engine, trustedProxyCidrs: '127.0.0.0/8,::1/128' }),
      startProxy({ ...SPEC, clusters }, { engine }),
      startProxy({ ...SPEC, clusters }, { engine, trustedProxyCidrs: '10.0.0.0/8' }),
    ]);
  });

  after(async () => {
    await Promise.all([trusting, untrusting, otherTrust].map((p) => p.close()));
    await app.close();
  });

  test('a trusted peer: the chain is extended with the peer, the client it reports is X-Real-IP, its scheme/host/port kept', async () => {
    const h = (await echo(trusting, SPOOF)).headers;
    assert.equal(h['x-forwarded-for'], '203.0.113.7, 198.51.100.2, 127.0.0.1');
    // 198.51.100.2 is not trusted: it is the client (the rightmost untrusted hop).
    assert.equal(h['x-real-ip'], '198.51.100.2');
    assert.equal(h['x-forwarded-proto'], 'https');
    assert.equal(h['x-forwarded-host'], 'shop.example');
    assert.equal(h['x-forwarded-port'], '443');
    assert.equal(h['forwarded'], undefined, 'Forwarded is never passed on');
  });

  test('a trusted peer that sends no X-Forwarded-For is the client itself', async () => {
    const h = (await echo(trusting, {})).headers;
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-real-ip'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
  });

  for (const [name, get] of [['no --trusted-proxies', () => untrusting], ['a peer outside --trusted-proxies', () => otherTrust]] as const) {
    test(`${name}: every forwarding header is Martello's own`, async () => {
      const p = get();
      const h = (await echo(p, SPOOF)).headers;
      assert.equal(h['x-forwarded-for'], '127.0.0.1');
      assert.equal(h['x-real-ip'], '127.0.0.1');
      assert.equal(h['x-forwarded-proto'], 'http');
      assert.equal(h['x-forwarded-host'], 'app.test');
      assert.equal(h['x-forwarded-port'], String(p.port));
    });
  }
});
