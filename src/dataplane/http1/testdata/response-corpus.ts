// Hand-written response cases for the upstream parser: framing by request
// method and status (RFC 9112 §6.3), 1xx handling, 101 handover,
// close-delimited bodies, and the anomalies after which a pooled upstream
// connection must be discarded (security.md R7). Strings are latin1.

import type { ParseErrorCode } from '../errors.ts';
import type { Http1Limits } from '../limits.ts';
import type { ResponseHead } from '../message.ts';

export interface ResponseExpectation extends Partial<ResponseHead> {
  body?: string;
  trailers?: string[];
  /** Statuses of the 1xx responses reported before this one. */
  informational?: number[];
}

export interface ResponseCase {
  name: string;
  raw: string;
  /** The request methods, one per expected response. */
  methods: string[];
  /** Whether the connection closes after `raw` (default true). */
  eof?: boolean;
  accept?: ResponseExpectation[];
  outcome?: 'clean' | 'incomplete' | 'upgrade';
  /** For 'upgrade': where the new protocol's bytes start. */
  upgradeAt?: number;
  reject?: ParseErrorCode;
  limits?: Partial<Http1Limits>;
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

export const RESPONSE_CORPUS: ResponseCase[] = [
  {
    name: 'Content-Length body',
    raw: OK,
    methods: ['GET'],
    eof: false,
    accept: [{ status: 200, reason: 'OK', version: '1.1', framing: 'content-length', contentLength: 2, keepAlive: true, body: 'ok', headers: ['Content-Length', '2'] }],
  },
  { name: 'two responses on one connection', raw: OK + OK, methods: ['GET', 'GET'], eof: false, accept: [{ body: 'ok' }, { body: 'ok' }] },
  {
    name: 'HEAD: Content-Length advertises, no body follows',
    raw: `HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n${OK}`,
    methods: ['HEAD', 'GET'],
    eof: false,
    accept: [{ framing: 'none', contentLength: 1234, body: '' }, { body: 'ok' }],
  },
  { name: 'HEAD with Transfer-Encoding: chunked has no body', raw: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${OK}`, methods: ['HEAD', 'GET'], eof: false, accept: [{ framing: 'none', body: '' }, { body: 'ok' }] },
  { name: '204 has no body', raw: `HTTP/1.1 204 No Content\r\n\r\n${OK}`, methods: ['DELETE', 'GET'], eof: false, accept: [{ status: 204, framing: 'none' }, { body: 'ok' }] },
  { name: '304 may advertise a length, has no body', raw: `HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: "x"\r\n\r\n${OK}`, methods: ['GET', 'GET'], eof: false, accept: [{ status: 304, framing: 'none', contentLength: 99 }, { body: 'ok' }] },
  {
    name: '100 Continue is reported, then the final response',
    raw: `HTTP/1.1 100 Continue\r\n\r\n${OK}`,
    methods: ['PUT'],
    eof: false,
    accept: [{ status: 200, informational: [100], body: 'ok' }],
  },
  {
    name: 'several 1xx (103 Early Hints) before the final response',
    raw: `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n${OK}`,
    methods: ['GET'],
    eof: false,
    accept: [{ informational: [100, 103], body: 'ok' }],
  },
  {
    name: '101 hands the rest of the bytes to the new protocol',
    raw: 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello',
    methods: ['GET'],
    eof: false,
    accept: [],
    outcome: 'upgrade',
    upgradeAt: 77,
  },
  { name: 'close-delimited body ends with the connection', raw: 'HTTP/1.1 200 OK\r\n\r\nall of\r\nthis', methods: ['GET'], accept: [{ framing: 'close', keepAlive: false, body: 'all of\r\nthis' }] },
  { name: 'close-delimited empty body', raw: 'HTTP/1.0 200 OK\r\n\r\n', methods: ['GET'], accept: [{ framing: 'close', version: '1.0', body: '' }] },
  { name: 'close-delimited body still open', raw: 'HTTP/1.1 200 OK\r\n\r\nsome', methods: ['GET'], eof: false, accept: [], outcome: 'incomplete' },
  {
    name: 'chunked with extensions and trailers',
    raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Digest\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-Digest: abc\r\n\r\n',
    methods: ['GET'],
    eof: false,
    accept: [{ framing: 'chunked', body: 'hello world', trailers: ['X-Digest', 'abc'] }],
  },
  { name: 'HTTP/1.0 keep-alive with a length', raw: 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok', methods: ['GET'], eof: false, accept: [{ version: '1.0', keepAlive: true }] },
  { name: 'HTTP/1.0 without keep-alive', raw: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', methods: ['GET'], accept: [{ keepAlive: false }] },
  { name: 'Connection: close', raw: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok', methods: ['GET'], accept: [{ keepAlive: false, body: 'ok' }] },
  { name: 'status line without reason phrase', raw: 'HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n', methods: ['GET'], eof: false, accept: [{ status: 404, reason: '' }] },
  { name: 'empty reason phrase', raw: 'HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n', methods: ['GET'], eof: false, accept: [{ status: 500, reason: '' }] },
  { name: 'reason phrase with obs-text and tabs', raw: 'HTTP/1.1 200 \xc7a\tva\r\nContent-Length: 0\r\n\r\n', methods: ['GET'], eof: false, accept: [{ reason: '\xc7a\tva' }] },
  { name: 'repeated Set-Cookie kept in order', raw: 'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n', methods: ['GET'], eof: false, accept: [{ headers: ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Content-Length', '0'] }] },

  // ---- anomalies: discard the connection ---------------------------------
  { name: 'bytes after a complete response', raw: `${OK}X`, methods: ['GET'], eof: false, accept: [{ body: 'ok' }], reject: 'unexpected-data' },
  { name: 'a second response nobody asked for', raw: OK + OK, methods: ['GET'], eof: false, accept: [{ body: 'ok' }], reject: 'unexpected-data' },
  { name: 'a body on a HEAD response', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', methods: ['HEAD'], eof: false, accept: [{ body: '' }], reject: 'unexpected-data' },
  { name: 'a body on a 204', raw: 'HTTP/1.1 204 No Content\r\n\r\nok', methods: ['GET'], eof: false, accept: [{ status: 204 }], reject: 'unexpected-data' },
  { name: '101 alone', raw: 'HTTP/1.1 101 Switching Protocols\r\n\r\n', methods: ['GET'], eof: false, accept: [], outcome: 'upgrade', upgradeAt: 36 },
  { name: 'closed before any response byte', raw: '', methods: ['GET'], reject: 'closed-before-response' },
  { name: 'closed inside the head', raw: 'HTTP/1.1 200 OK\r\nContent-Le', methods: ['GET'], reject: 'incomplete-message' },
  { name: 'closed after a 100 Continue', raw: 'HTTP/1.1 100 Continue\r\n\r\n', methods: ['PUT'], reject: 'incomplete-message' },
  { name: 'closed inside a Content-Length body', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab', methods: ['GET'], reject: 'incomplete-message' },
  { name: 'closed inside a chunked body', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', methods: ['GET'], reject: 'incomplete-message' },
  { name: 'Content-Length and Transfer-Encoding', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', methods: ['GET'], reject: 'content-length-with-transfer-encoding' },
  { name: 'duplicate Content-Length', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok', methods: ['GET'], reject: 'duplicate-content-length' },
  { name: 'Content-Length list', raw: 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok', methods: ['GET'], reject: 'invalid-content-length' },
  { name: 'Transfer-Encoding other than chunked', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx', methods: ['GET'], reject: 'invalid-transfer-encoding' },
  { name: 'Transfer-Encoding on HTTP/1.0', raw: 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', methods: ['GET'], reject: 'transfer-encoding-http10' },
  { name: 'Transfer-Encoding on a 204', raw: 'HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n', methods: ['GET'], reject: 'transfer-encoding-not-allowed' },
  { name: 'bad chunk size', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n', methods: ['GET'], reject: 'invalid-chunk-size' },
  { name: 'Content-Length in trailers', raw: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 1\r\n\r\n', methods: ['GET'], reject: 'forbidden-trailer' },
  { name: 'HTTP/2 status line', raw: 'HTTP/2 200\r\n\r\n', methods: ['GET'], reject: 'invalid-status-line' },
  { name: 'HTTP/1.2 status line', raw: 'HTTP/1.2 200 OK\r\n\r\n', methods: ['GET'], reject: 'invalid-status-line' },
  { name: 'two-digit status', raw: 'HTTP/1.1 20 OK\r\n\r\n', methods: ['GET'], reject: 'invalid-status-line' },
  { name: 'four-digit status', raw: 'HTTP/1.1 2000 OK\r\n\r\n', methods: ['GET'], reject: 'invalid-status-line' },
  { name: 'status out of range', raw: 'HTTP/1.1 600 Nope\r\n\r\n', methods: ['GET'], reject: 'invalid-status' },
  { name: 'status 099', raw: 'HTTP/1.1 099 Nope\r\n\r\n', methods: ['GET'], reject: 'invalid-status' },
  { name: 'no space after the version', raw: 'HTTP/1.1  200 OK\r\n\r\n', methods: ['GET'], reject: 'invalid-status-line' },
  { name: 'empty line before the status line', raw: `\r\n${OK}`, methods: ['GET'], reject: 'invalid-status-line' },
  { name: 'bare LF in the head', raw: 'HTTP/1.1 200 OK\nContent-Length: 0\n\n', methods: ['GET'], reject: 'bare-lf' },
  { name: 'obs-fold in the head', raw: 'HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n', methods: ['GET'], reject: 'obs-fold' },
  { name: 'space before a colon', raw: 'HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n', methods: ['GET'], reject: 'whitespace-before-colon' },
  { name: 'NUL in a value', raw: 'HTTP/1.1 200 OK\r\nX: \x00\r\nContent-Length: 0\r\n\r\n', methods: ['GET'], reject: 'invalid-header-value' },
  { name: 'control byte in the reason phrase', raw: 'HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n', methods: ['GET'], reject: 'invalid-status-line' },
  { name: 'response head over the limit', raw: `HTTP/1.1 200 OK\r\n${`X: ${'v'.repeat(1000)}\r\n`.repeat(70)}\r\n`, methods: ['GET'], reject: 'head-too-large' },
  { name: 'close-delimited body over the body limit', raw: 'HTTP/1.1 200 OK\r\n\r\n0123456789!', methods: ['GET'], limits: { maxBodyBytes: 10 }, reject: 'body-too-large' },
  { name: 'bytes with no request outstanding', raw: OK, methods: [], eof: false, reject: 'unexpected-data' },
];
