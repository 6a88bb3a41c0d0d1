// Pure checks of the header rules, the error-status mapping and echo
// sanitising (the socket tests cover the same rules end to end).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statusForUpstreamError } from './forward-handler.ts';
import { sanitizeForEcho } from './local-response.ts';
import { addForwardingHeaders, scanRequestHeaders } from './request-headers.ts';
import { isAcceptableRequestId } from './request-id.ts';
import { buildResponseHeaders } from './response-headers.ts';

test('scanRequestHeaders: Connection cannot remove Host or Content-Length; listed names go', () => {
  const scan = scanRequestHeaders([
    'Host', 'a.test',
    'Connection', 'Host, Content-Length, X-A',
    'connection', 'x-b , close',
    'Content-Length', '3',
    'X-A', '1',
    'X-B', '2',
    'X-C', '3',
    'Expect', '100-continue',
    'Transfer-Encoding', 'chunked',
  ]);
  assert.deepEqual(scan.headers, ['Host', 'a.test', 'Content-Length', '3', 'X-C', '3']);
  assert.equal(scan.host, 'a.test');
  assert.equal(scan.hasBody, true);
  assert.equal(scan.duplicateHost, false);
});

test('scanRequestHeaders: duplicate Host is flagged; first X-Request-ID is the candidate', () => {
  const scan = scanRequestHeaders(['Host', 'a', 'X-Request-ID', 'one', 'host', 'b', 'x-request-id', 'two']);
  assert.equal(scan.duplicateHost, true);
  assert.equal(scan.host, 'a');
  assert.equal(scan.clientRequestId, 'one');
  assert.equal(scan.hasBody, false);
  assert.equal(scanRequestHeaders(['Host', 'a', 'Content-Length', '0']).hasBody, false);
});

test('addForwardingHeaders appends after the client headers', () => {
  const h = ['Host', 'a.test'];
  addForwardingHeaders(h, { proto: 'http', peerAddress: '::1', clientAddress: '::1', host: 'a.test', listenerPort: '8080', requestId: 'r', trusted: undefined });
  assert.deepEqual(h, ['Host', 'a.test', 'x-forwarded-for', '::1', 'x-real-ip', '::1', 'x-forwarded-proto', 'http', 'x-forwarded-host', 'a.test', 'x-forwarded-port', '8080', 'x-request-id', 'r']);
});

test('from a trusted proxy: its X-Forwarded-For chain is extended, its scheme, host and port kept', () => {
  const scan = scanRequestHeaders(['Host', 'a.test', 'X-Forwarded-For', '203.0.113.7, 10.0.0.2', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Port', '443', 'X-Forwarded-Host', 'shop.example', 'X-Real-IP', '1.2.3.4']);
  assert.deepEqual(scan.headers, ['Host', 'a.test'], 'client forwarding headers never pass through as they came');
  assert.deepEqual(scan.forwarded, { for: ['203.0.113.7, 10.0.0.2'], proto: 'https', host: 'shop.example', port: '443' });
  const h = [...scan.headers];
  addForwardingHeaders(h, { proto: 'http', peerAddress: '10.0.0.1', clientAddress: '203.0.113.7', host: 'a.test', listenerPort: '8080', requestId: 'r', trusted: scan.forwarded });
  assert.deepEqual(h, ['Host', 'a.test', 'x-forwarded-for', '203.0.113.7, 10.0.0.2, 10.0.0.1', 'x-real-ip', '203.0.113.7', 'x-forwarded-proto', 'https', 'x-forwarded-host', 'shop.example', 'x-forwarded-port', '443', 'x-request-id', 'r']);
});

test('buildResponseHeaders keeps duplicates and order, drops hop-by-hop and Connection-listed names', () => {
  const raw = [
    Buffer.from('Set-Cookie'), Buffer.from('a=1'),
    Buffer.from('Connection'), Buffer.from('keep-alive, X-Hop'),
    Buffer.from('X-Hop'), Buffer.from('x'),
    Buffer.from('Transfer-Encoding'), Buffer.from('chunked'),
    Buffer.from('Set-Cookie'), Buffer.from('b=2'),
    Buffer.from('X-Request-ID'), Buffer.from('upstream'),
  ];
  assert.deepEqual(buildResponseHeaders(raw, 'mine', false), ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'X-Request-ID', 'mine']);
  assert.deepEqual(buildResponseHeaders([], 'r', true), ['X-Request-ID', 'r', 'Connection', 'close']);
});

test('upstream error codes map to 504 for timeouts and 502 otherwise', () => {
  assert.equal(statusForUpstreamError({ code: 'UND_ERR_CONNECT_TIMEOUT' }), 504);
  assert.equal(statusForUpstreamError({ code: 'UND_ERR_HEADERS_TIMEOUT' }), 504);
  assert.equal(statusForUpstreamError({ code: 'ECONNREFUSED' }), 502);
  assert.equal(statusForUpstreamError({ code: 'UND_ERR_SOCKET' }), 502);
  assert.equal(statusForUpstreamError(new Error('x')), 502);
  assert.equal(statusForUpstreamError(null), 502);
});

test('request IDs: 1 to 128 visible ASCII characters', () => {
  assert.equal(isAcceptableRequestId('a'), true);
  assert.equal(isAcceptableRequestId('~'.repeat(128)), true);
  assert.equal(isAcceptableRequestId(''), false);
  assert.equal(isAcceptableRequestId('x'.repeat(129)), false);
  assert.equal(isAcceptableRequestId('a b'), false);
  assert.equal(isAcceptableRequestId('a\u00e9'), false);
  assert.equal(isAcceptableRequestId('a\tb'), false);
});

test('sanitizeForEcho: printable ASCII only, bounded', () => {
  assert.equal(sanitizeForEcho('ok\r\nX-Injected: 1'), 'ok??X-Injected: 1');
  assert.equal(sanitizeForEcho('\u0000\u00ff'), '??');
  const long = sanitizeForEcho('z'.repeat(10_000));
  assert.ok(long.length <= 130 && long.endsWith('...'));
});
