// Routing through real sockets: host/path selection, round-robin, the
// built-in 404, 503 for clusters without endpoints, keep-alive reuse, and one
// pass with curl as an independent client.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Client, request } from 'undici';
import { type EchoReply, rawExchange, startEcho, type TestBackend } from './test-support/backends.ts';
import { HTTP1_ENGINES } from './options.ts';
import { type RunningProxy, startProxy } from './test-support/harness.ts';

async function getJson(origin: string, path: string, host: string, headers: Record<string, string> = {}): Promise<{ status: number; body: EchoReply; headers: Record<string, unknown> }> {
  const res = await request(`${origin}${path}`, { headers: { host, ...headers } });
  const text = await res.body.text();
  assert.equal(res.statusCode, 200, `GET ${host}${path}: ${res.statusCode} ${text}`);
  return { status: res.statusCode, body: JSON.parse(text) as EchoReply, headers: res.headers };
}

for (const engine of HTTP1_ENGINES) describe(`[${engine}] proxy routing`, () => {
  let app: TestBackend;
  let api: TestBackend;
  let rr1: TestBackend;
  let rr2: TestBackend;
  let dflt: TestBackend;
  let p: RunningProxy;

  before(async () => {
    [app, api, rr1, rr2, dflt] = await Promise.all([startEcho('app'), startEcho('api'), startEcho('rr1'), startEcho('rr2'), startEcho('default')]);
    p = await startProxy({
      hosts: [
        { host: 'app.test', routes: [{ path: '/', cluster: 'app' }, { path: '/api', cluster: 'api' }, { type: 'exact', path: '/rr', cluster: 'rr' }] },
        { host: '*.wild.test', routes: [{ path: '/', cluster: 'api' }] },
        { host: 'empty.test', routes: [{ path: '/', cluster: 'empty' }, { path: '/broken', cluster: 'broken' }] },
        { host: 'fb.test', routes: [{ path: '/x', cluster: 'app' }], fallback: 'default' },
      ],
      clusters: { app: [app.port], api: [api.port], rr: [rr1.port, rr2.port], default: [dflt.port], empty: [], broken: { problem: 'service-not-found' } },
    }, { engine });
  });

  after(async () => {
    await p.close();
    await Promise.all([app, api, rr1, rr2, dflt].map((b) => b.close()));
  });

  const ask = async (target: string): Promise<{ status: number; name?: string; url?: string }> => {
    const raw = await rawExchange(p.port, `GET ${target} HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n`);
    const status = Number(raw.slice(9, 12));
    if (status !== 200) return { status };
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as EchoReply;
    return { status, name: body.name, url: body.url };
  };

  test('one canonical path: what is matched is what the backend receives; tricks get 400', async () => {
    // Dot segments, encoded unreserved characters and "//" resolve before matching, and the
    // backend gets the very path that was matched.
    assert.deepEqual(await ask('/x/../api/v1?q=%2E%2E'), { status: 200, name: 'api', url: '/api/v1?q=%2E%2E' });
    assert.deepEqual(await ask('/%61pi/%7Euser'), { status: 200, name: 'api', url: '/api/~user' });
    assert.deepEqual(await ask('//api//v1'), { status: 200, name: 'api', url: '/api/v1' });
    assert.deepEqual(await ask('/ap%69/./x/%2e%2e/y'), { status: 200, name: 'api', url: '/api/y' });
    // Path parameters never take a request past a route: matched as /api, sent as they came.
    assert.deepEqual(await ask('/api;jsessionid=1/v1'), { status: 200, name: 'api', url: '/api;jsessionid=1/v1' });
    // Ambiguous forms are refused rather than guessed.
    for (const target of ['/api%2Fv1', '/x/..%2Fapi', '/api\\v1', '/a/%00', '/../api', '/api/%zz', '/public/..;/api']) {
      assert.equal((await ask(target)).status, 400, target);
    }
  });

  test('host and path select the backend; method, target and query are forwarded', async () => {
    const a = await getJson(p.origin, '/index.html?x=1&y=%20', 'app.test');
    assert.equal(a.body.name, 'app');
    assert.equal(a.body.method, 'GET');
    assert.equal(a.body.url, '/index.html?x=1&y=%20');
    assert.equal((await getJson(p.origin, '/api/v1?q', 'APP.test:8080')).body.name, 'api');
    assert.equal((await getJson(p.origin, '/apix', 'app.test')).body.name, 'app');
    assert.equal((await getJson(p.origin, '/', 'one.wild.test')).body.name, 'api');
    assert.equal((await getJson(p.origin, '/nothing', 'fb.test')).body.name, 'default');
    const post = await request(`${p.origin}/api/items`, { method: 'POST', headers: { host: 'app.test', 'content-type': 'text/plain' }, body: 'hello' });
    const echoed = (await post.body.json()) as EchoReply;
    assert.equal(echoed.method, 'POST');
    assert.equal(echoed.bodyLength, 5);
  });

  test('round-robin alternates across two endpoints', async () => {
    const names: string[] = [];
    for (let i = 0; i < 6; i++) names.push((await getJson(p.origin, '/rr', 'app.test')).body.name);
    for (let i = 1; i < names.length; i++) assert.notEqual(names[i], names[i - 1], `not alternating: ${names.join(',')}`);
    assert.equal(names.filter((n) => n === 'rr1').length, 3);
    assert.equal(names.filter((n) => n === 'rr2').length, 3);
  });

  test('no route and no default backend: built-in 404 with a bounded, clean body', async () => {
    const longPath = `/${'a'.repeat(5000)}`;
    const res = await request(`${p.origin}${longPath}?q=1`, { headers: { host: 'Unknown.test', 'x-request-id': 'req-404' } });
    const body = await res.body.text();
    assert.equal(res.statusCode, 404);
    assert.equal(res.headers['server'], 'martello');
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(body)));
    assert.equal(res.headers['x-request-id'], 'req-404');
    assert.match(body, /^404 Not Found: no route for host Unknown\.test path \/a+\.\.\.\n$/);
    assert.ok(body.length < 300, `404 body must be bounded, got ${body.length} bytes`);
    assert.ok(!body.includes('q=1'), 'the query is not part of the path');
  });

  test('404 body strips control and non-ASCII characters from the echoed host', async () => {
    const res = await request(`${p.origin}/x`, { headers: { host: 'ev\u00e9il.test' } });
    const body = await res.body.text();
    if (engine === 'martello') {
      // The martello codec refuses a Host that is not a valid authority (security.md R5).
      assert.equal(res.statusCode, 400);
      return;
    }
    assert.equal(res.statusCode, 404);
    assert.match(body, /^404 Not Found: no route for host ev\?il\.test path \/x\n$/);
  });

  test('503 for an empty cluster and for a cluster with a problem', async () => {
    for (const path of ['/', '/broken/1']) {
      const res = await request(`${p.origin}${path}`, { headers: { host: 'empty.test' } });
      const body = await res.body.text();
      assert.equal(res.statusCode, 503, path);
      assert.equal(res.headers['server'], 'martello');
      assert.equal(res.headers['content-length'], String(Buffer.byteLength(body)));
      assert.ok(typeof res.headers['x-request-id'] === 'string' && res.headers['x-request-id'].length > 0);
      assert.match(body, /^503 /);
    }
  });

  test('keep-alive: several requests reuse one client connection and one upstream connection', async () => {
    const client = new Client(p.origin, { pipelining: 1 });
    let connects = 0;
    client.on('connect', () => connects++);
    try {
      const upstreamPorts = new Set<number>();
      for (let i = 0; i < 5; i++) {
        const res = await client.request({ path: `/api/${i}`, method: 'GET', headers: { host: 'app.test' } });
        const reply = (await res.body.json()) as EchoReply;
        assert.equal(res.statusCode, 200);
        assert.equal(reply.url, `/api/${i}`);
        upstreamPorts.add(reply.remotePort);
      }
      // The 404 path keeps the connection too.
      const nf = await client.request({ path: '/', method: 'GET', headers: { host: 'nowhere.test' } });
      await nf.body.text();
      assert.equal(nf.statusCode, 404);
      const again = await client.request({ path: '/api/again', method: 'GET', headers: { host: 'app.test' } });
      await again.body.text();
      assert.equal(connects, 1, 'the client opened more than one connection');
      assert.equal(upstreamPorts.size, 1, 'sequential requests should reuse one upstream keep-alive connection');
    } finally {
      await client.close();
    }
  });

  test('duplicate Host headers and absolute-form targets that disagree with Host get 400', async () => {
    const seen = app.requests;
    const dup = await rawExchange(p.port, 'GET / HTTP/1.1\r\nHost: app.test\r\nHost: other.test\r\n\r\n');
    assert.match(dup, /^HTTP\/1\.1 400 /);
    assert.match(dup, /\r\nServer: martello\r\n/i);
    // Absolute-form is accepted when its authority agrees with Host (test/attacks/request-line.test.ts).
    const absolute = await rawExchange(p.port, 'GET http://other.test/ HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n');
    assert.match(absolute, /^HTTP\/1\.1 400 /);
    const garbage = await rawExchange(p.port, 'GET / HTTP/1.1\r\nHost app.test\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 /);
    assert.match(garbage, /\r\nServer: martello\r\n/i);
    assert.equal(app.requests, seen, 'a rejected request reached the backend');
  });

  test('curl: routes by Host and gets the echoed request', async (t) => {
    const curl = '/usr/bin/curl';
    if (!existsSync(curl)) {
      t.skip('curl is not installed at /usr/bin/curl');
      return;
    }
    const out = await new Promise<string>((resolve, reject) => {
      execFile(curl, ['-sS', '--max-time', '10', '-H', 'Host: app.test', '-H', 'X-Request-ID: curl-1', '-D', '-', `${p.origin}/api/curl?z=9`], (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    const [head = '', body = ''] = out.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.match(head, /\r\nX-Request-ID: curl-1/i);
    assert.match(head, /\r\nserver: backend-api/i);
    const reply = JSON.parse(body) as EchoReply;
    assert.equal(reply.name, 'api');
    assert.equal(reply.url, '/api/curl?z=9');
    assert.equal(reply.headers['x-request-id'], 'curl-1');
  });
});
