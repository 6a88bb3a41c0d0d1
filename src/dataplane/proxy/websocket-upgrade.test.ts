// WebSocket handshake validation: a table over checkWebSocketUpgrade, then the
// same rules through a real node:http front (shouldUpgradeCallback + 'upgrade'
// listener) with raw sockets and the ws client: 400 and 426 answers on the
// socket, h2c served as an ordinary request with Upgrade stripped.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { toUpstreamEndpoint } from '../compile/cluster.ts';
import { rawExchange, refusedPort } from './test-support/backends.ts';
import { type PlainReply, type UpgradeFront, startUpgradeFront } from './test-support/upgrade-front.ts';
import { checkWebSocketUpgrade } from './websocket-upgrade.ts';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='; // RFC 6455 §1.3

function requestHeaders(overrides: Record<string, string | string[] | null> = {}): string[] {
  const base: Record<string, string | string[] | null> = {
    Host: 'example.test',
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': KEY,
    ...overrides,
  };
  const out: string[] = [];
  for (const [name, value] of Object.entries(base)) {
    if (value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push(name, v);
  }
  return out;
}

describe('checkWebSocketUpgrade', () => {
  const cases: { name: string; raw: string[]; method?: string; version?: string; expect: string }[] = [
    { name: 'a well-formed handshake', raw: requestHeaders(), expect: 'websocket' },
    { name: 'case-insensitive tokens, Connection list', raw: requestHeaders({ Connection: 'keep-alive, UPGRADE', Upgrade: 'WebSocket' }), expect: 'websocket' },
    { name: 'optional whitespace around values', raw: requestHeaders({ 'Sec-WebSocket-Version': ' 13 ', 'Sec-WebSocket-Key': ` ${KEY}\t` }), expect: 'websocket' },
    { name: 'Content-Length: 0 is no body', raw: requestHeaders({ 'Content-Length': '0' }), expect: 'websocket' },
    { name: 'no Upgrade header', raw: requestHeaders({ Upgrade: null, Connection: 'keep-alive' }), expect: 'not-websocket:no-upgrade' },
    { name: 'h2c', raw: requestHeaders({ Upgrade: 'h2c', Connection: 'Upgrade, HTTP2-Settings' }), expect: 'not-websocket:other-protocol' },
    { name: 'TLS/1.0 (RFC 2817)', raw: requestHeaders({ Upgrade: 'TLS/1.0' }), expect: 'not-websocket:other-protocol' },
    { name: 'websocket among other protocols', raw: requestHeaders({ Upgrade: 'websocket, h2c' }), expect: 'reject:400' },
    { name: 'two Upgrade headers', raw: requestHeaders({ Upgrade: ['websocket', 'websocket'] }), expect: 'reject:400' },
    { name: 'POST', raw: requestHeaders(), method: 'POST', expect: 'reject:400' },
    { name: 'HTTP/1.0', raw: requestHeaders(), version: '1.0', expect: 'reject:400' },
    { name: 'Connection without upgrade', raw: requestHeaders({ Connection: 'keep-alive' }), expect: 'reject:400' },
    { name: 'no Connection', raw: requestHeaders({ Connection: null }), expect: 'reject:400' },
    { name: 'a body by Content-Length', raw: requestHeaders({ 'Content-Length': '5' }), expect: 'reject:400' },
    { name: 'a body by Transfer-Encoding', raw: requestHeaders({ 'Transfer-Encoding': 'chunked' }), expect: 'reject:400' },
    { name: 'no version', raw: requestHeaders({ 'Sec-WebSocket-Version': null }), expect: 'reject:400' },
    { name: 'two version headers', raw: requestHeaders({ 'Sec-WebSocket-Version': ['13', '13'] }), expect: 'reject:400' },
    { name: 'version 8', raw: requestHeaders({ 'Sec-WebSocket-Version': '8' }), expect: 'reject:426' },
    { name: 'a version list', raw: requestHeaders({ 'Sec-WebSocket-Version': '13, 8' }), expect: 'reject:426' },
    { name: 'no key', raw: requestHeaders({ 'Sec-WebSocket-Key': null }), expect: 'reject:400' },
    { name: 'two keys', raw: requestHeaders({ 'Sec-WebSocket-Key': [KEY, KEY] }), expect: 'reject:400' },
    { name: 'a key of 15 bytes', raw: requestHeaders({ 'Sec-WebSocket-Key': Buffer.alloc(15).toString('base64') }), expect: 'reject:400' },
    { name: 'a key of 17 bytes', raw: requestHeaders({ 'Sec-WebSocket-Key': Buffer.alloc(17).toString('base64') }), expect: 'reject:400' },
    { name: 'a key that is not base64', raw: requestHeaders({ 'Sec-WebSocket-Key': 'not base64 at all!!!!!==' }), expect: 'reject:400' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = checkWebSocketUpgrade(c.raw, c.method ?? 'GET', c.version ?? '1.1');
      const got = r.kind === 'websocket' ? 'websocket' : r.kind === 'reject' ? `reject:${r.status}` : `not-websocket:${r.reason}`;
      assert.equal(got, c.expect);
    });
  }
});

/** Status line and lowercased headers of a raw HTTP/1.1 response. */
function parseResponse(raw: string): { status: number; headers: Map<string, string>; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  assert.ok(end > 0, `no response head in ${JSON.stringify(raw)}`);
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body: raw.slice(end + 4) };
}

function handshake(lines: string[]): string {
  return `GET /ws HTTP/1.1\r\nHost: example.test\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;
}

describe('upgrade validation through a node:http front', { timeout: 20_000 }, () => {
  let front: UpgradeFront;

  before(async () => {
    // Nothing valid reaches the endpoint in these tests; a refused port makes that visible (502).
    front = await startUpgradeFront(toUpstreamEndpoint({ address: '127.0.0.1', port: await refusedPort() }));
  });
  after(() => front.close());

  test('another WebSocket version gets 426 with Sec-WebSocket-Version: 13 and the connection closes', async () => {
    const raw = await rawExchange(front.port, handshake(['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 8', `Sec-WebSocket-Key: ${KEY}`, 'X-Request-ID: ver-8']));
    const res = parseResponse(raw);
    assert.equal(res.status, 426);
    assert.equal(res.headers.get('sec-websocket-version'), '13');
    assert.equal(res.headers.get('connection'), 'close');
    assert.equal(res.headers.get('server'), 'martello');
    assert.equal(res.headers.get('x-request-id'), 'ver-8');
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(Number(res.headers.get('content-length')), Buffer.byteLength(res.body));
    assert.ok(front.statuses.includes(426));
  });

  test('a malformed handshake gets 400 (missing key, bad key, POST, body, mixed Upgrade)', async () => {
    const attempts = [
      handshake(['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13']),
      handshake(['Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: short==']),
      `POST /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\nContent-Length: 0\r\n\r\n`,
      `GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\nContent-Length: 3\r\n\r\nabc`,
      handshake(['Connection: Upgrade', 'Upgrade: websocket, h2c', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${KEY}`]),
    ];
    for (const payload of attempts) {
      const res = parseResponse(await rawExchange(front.port, payload));
      assert.equal(res.status, 400, payload);
      assert.equal(res.headers.get('connection'), 'close');
      assert.equal(res.body, '400 Bad Request\n');
    }
    assert.equal(front.upstreamErrors, 0, 'nothing was dialled');
  });

  test('the ws client asking for protocol version 8 gets 426', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${front.port}/ws`, { protocolVersion: 8 });
    const status = await new Promise<number>((resolve, reject) => {
      ws.on('unexpected-response', (req, res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      ws.on('open', () => reject(new Error('opened')));
      ws.on('error', () => {});
    });
    assert.equal(status, 426);
  });

  test('Upgrade: h2c is an ordinary request: no upgrade event, Upgrade and HTTP2-Settings not forwarded', async () => {
    const raw = await rawExchange(front.port, 'GET /plain HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n');
    const res = parseResponse(raw);
    assert.equal(res.status, 200);
    const reply = JSON.parse(res.body) as PlainReply;
    assert.equal(reply.url, '/plain');
    const names = [];
    for (let i = 0; i < reply.upstreamHeaders.length; i += 2) names.push(reply.upstreamHeaders[i]!.toLowerCase());
    assert.deepEqual(names, ['host']);
  });
});
