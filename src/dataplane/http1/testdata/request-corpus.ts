// Hand-written request cases: RFC 9112 edge cases and the smuggling and
// parser-differential classes of security.md (§0 R5, §2.4, §3), each with the
// outcome we require: accepted with these message boundaries and facts, or
// rejected with this status and code. Strings are latin1 (one char = one byte).
//
// The same cases are fed whole, byte by byte and in random pieces
// (request-parser.test.ts) and checked against llhttp (differential.test.ts).

import type { ParseErrorCode } from '../errors.ts';
import type { Http1Limits } from '../limits.ts';
import type { RequestHead } from '../message.ts';

export interface MessageExpectation extends Partial<Omit<RequestHead, 'absolute'>> {
  absolute?: Partial<NonNullable<RequestHead['absolute']>>;
  body?: string;
  trailers?: string[];
  /** Offset just past this message in `raw`. */
  end?: number;
}

export interface RequestCase {
  name: string;
  raw: string;
  limits?: Partial<Http1Limits>;
  /** Messages accepted, in order (also before a rejection). */
  accept?: MessageExpectation[];
  /** How the input ends when nothing is rejected (default 'clean'). */
  end?: 'clean' | 'incomplete';
  reject?: { status: number; code: ParseErrorCode };
}

const H = 'Host: a\r\n';
const GET = `GET / HTTP/1.1\r\n${H}\r\n`;

function reject(name: string, raw: string, status: number, code: ParseErrorCode, extra: Partial<RequestCase> = {}): RequestCase {
  return { name, raw, reject: { status, code }, ...extra };
}

export const REQUEST_CORPUS: RequestCase[] = [
  // ---- accepted -----------------------------------------------------------
  {
    name: 'minimal GET',
    raw: GET,
    accept: [{ method: 'GET', target: '/', version: '1.1', headers: ['Host', 'a'], names: ['host'], framing: 'none', contentLength: -1, keepAlive: true, host: 'a', port: undefined, targetForm: 'origin', body: '' }],
  },
  {
    name: 'names keep their case, values lose surrounding OWS only',
    raw: `GET /p?q=1 HTTP/1.1\r\nHOST: a\r\nX-Mixed-Case:  \t a  b \t \r\nEmpty:\r\nEmpty2: \t\r\n\r\n`,
    accept: [{ headers: ['HOST', 'a', 'X-Mixed-Case', 'a  b', 'Empty', '', 'Empty2', ''], names: ['host', 'x-mixed-case', 'empty', 'empty2'], target: '/p?q=1' }],
  },
  { name: 'obs-text in a value is kept as latin1', raw: `GET / HTTP/1.1\r\n${H}X: caf\xe9 \xff\r\n\r\n`, accept: [{ headers: ['Host', 'a', 'X', 'caf\xe9 \xff'] }] },
  { name: 'underscore in a header name is a token (dropping it is proxy policy)', raw: `GET / HTTP/1.1\r\n${H}X_Y: 1\r\n\r\n`, accept: [{ names: ['host', 'x_y'] }] },
  { name: 'POST with Content-Length', raw: `POST /u HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`, accept: [{ method: 'POST', framing: 'content-length', contentLength: 5, body: 'hello' }] },
  { name: 'Content-Length with leading zeros is decimal', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 007\r\n\r\n1234567`, accept: [{ contentLength: 7, body: '1234567' }] },
  { name: 'Content-Length: 0 ends the message at the head', raw: `GET / HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n${GET}`, accept: [{ framing: 'content-length', contentLength: 0, body: '' }, { method: 'GET' }] },
  { name: 'GET may carry a body', raw: `GET / HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nab`, accept: [{ method: 'GET', body: 'ab' }] },
  {
    name: 'chunked with extensions, uppercase hex, leading zeros and trailers',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0000A;a=b;c="d\\"e";f\r\n0123456789\r\n3\r\nabc\r\n0;last\r\nX-Sum: 1\r\nx-two:  2 \r\n\r\n`,
    accept: [{ framing: 'chunked', contentLength: -1, body: '0123456789abc', trailers: ['X-Sum', '1', 'x-two', '2'] }],
  },
  { name: 'Transfer-Encoding value is case-insensitive and SP-trimmed', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding:  ChUnKeD \r\n\r\n1\r\nx\r\n0\r\n\r\n`, accept: [{ framing: 'chunked', body: 'x' }] },
  { name: 'empty chunked body', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, accept: [{ framing: 'chunked', body: '', trailers: [] }] },
  {
    name: 'pipelined requests split at their boundaries',
    raw: `${GET}POST /2 HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabcPUT /3 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n${GET}`,
    accept: [{ method: 'GET', end: 27 }, { method: 'POST', body: 'abc', end: 27 + 51 }, { method: 'PUT', body: 'z' }, { method: 'GET' }],
  },
  { name: 'empty lines before a request line are skipped', raw: `\r\n\r\n${GET}\r\n${GET}`, accept: [{ method: 'GET' }, { method: 'GET' }] },
  { name: 'an unfinished head is incomplete, not an error', raw: `GET / HTTP/1.1\r\n${H}`, accept: [], end: 'incomplete' },
  { name: 'an unfinished body is incomplete', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nab`, accept: [], end: 'incomplete' },
  { name: 'HTTP/1.0 without Host, not keep-alive', raw: 'GET / HTTP/1.0\r\n\r\n', accept: [{ version: '1.0', host: '', keepAlive: false }] },
  { name: 'HTTP/1.0 keep-alive', raw: 'GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n', accept: [{ version: '1.0', keepAlive: true }] },
  { name: 'HTTP/1.0 keep-alive and close: close wins', raw: 'GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n', accept: [{ keepAlive: false }] },
  { name: 'HTTP/1.1 Connection: close', raw: `GET / HTTP/1.1\r\n${H}Connection: foo, CLOSE\r\n\r\n`, accept: [{ keepAlive: false }] },
  { name: 'Connection lists may have empty elements', raw: `GET / HTTP/1.1\r\n${H}Connection: ,close,\r\n\r\n`, accept: [{ keepAlive: false }] },
  { name: 'a token that merely starts with close is not close', raw: `GET / HTTP/1.1\r\n${H}Connection: closed\r\n\r\n`, accept: [{ keepAlive: true }] },
  { name: 'Expect: 100-continue (any case)', raw: `PUT / HTTP/1.1\r\n${H}Expect: 100-Continue\r\nContent-Length: 1\r\n\r\nx`, accept: [{ expectContinue: true, body: 'x' }] },
  { name: 'Expect: 100-continue from an HTTP/1.0 client is ignored', raw: 'PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx', accept: [{ expectContinue: false, body: 'x' }] },
  { name: 'WebSocket upgrade request', raw: `GET /ws HTTP/1.1\r\n${H}Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n`, accept: [{ upgrade: 'websocket', keepAlive: true }] },
  { name: 'Upgrade without Connection: upgrade is no upgrade', raw: `GET / HTTP/1.1\r\n${H}Upgrade: websocket\r\n\r\n`, accept: [{ upgrade: undefined }] },
  { name: 'Upgrade in HTTP/1.0 is ignored (RFC 9110 §7.8)', raw: 'GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n', accept: [{ upgrade: undefined }] },
  { name: 'Host normalised: case, one trailing dot, port', raw: 'GET / HTTP/1.1\r\nHost: WWW.Example.COM.:8080\r\n\r\n', accept: [{ host: 'www.example.com', port: 8080 }] },
  { name: 'Host IPv6 literal', raw: 'GET / HTTP/1.1\r\nHost: [2001:DB8::1]:443\r\n\r\n', accept: [{ host: '[2001:db8::1]', port: 443 }] },
  { name: 'Host IPv4-mapped IPv6 literal', raw: 'GET / HTTP/1.1\r\nHost: [::ffff:10.0.0.1]\r\n\r\n', accept: [{ host: '[::ffff:10.0.0.1]', port: undefined }] },
  {
    name: 'absolute-form matching Host (default port)',
    raw: 'GET http://Example.com:80/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n',
    accept: [{ targetForm: 'absolute', target: 'http://Example.com:80/a?b', absolute: { scheme: 'http', host: 'example.com', port: 80, pathAndQuery: '/a?b', authority: 'Example.com:80' }, host: 'example.com' }],
  },
  { name: 'absolute-form https with query and no path', raw: 'GET HTTPS://a?x HTTP/1.1\r\nHost: a:443\r\n\r\n', accept: [{ targetForm: 'absolute', absolute: { scheme: 'https', pathAndQuery: '/?x' } }] },
  { name: 'absolute-form from HTTP/1.0 without Host', raw: 'GET http://b/x HTTP/1.0\r\n\r\n', accept: [{ host: 'b', absolute: { pathAndQuery: '/x' } }] },
  { name: 'OPTIONS *', raw: `OPTIONS * HTTP/1.1\r\n${H}\r\n`, accept: [{ method: 'OPTIONS', target: '*', targetForm: 'asterisk' }] },
  { name: 'percent-encodings and backslashes are left to path canonicalisation (R8)', raw: `GET /a%2F..%00\\b?c=%zz HTTP/1.1\r\n${H}\r\n`, accept: [{ target: '/a%2F..%00\\b?c=%zz' }] },
  { name: 'WebDAV and QUERY methods', raw: `PROPFIND / HTTP/1.1\r\n${H}\r\nQUERY / HTTP/1.1\r\n${H}\r\n`, accept: [{ method: 'PROPFIND' }, { method: 'QUERY' }] },
  { name: 'exactly 100 headers', raw: `GET / HTTP/1.1\r\n${H}${'X: y\r\n'.repeat(99)}\r\n`, accept: [{ method: 'GET' }] },

  // ---- request line -------------------------------------------------------
  reject('HTTP/0.9 request line', 'GET /\r\n\r\n', 400, 'missing-version'),
  reject('textual HTTP/2.0', `GET / HTTP/2.0\r\n${H}\r\n`, 505, 'unsupported-version'),
  reject('HTTP/1.2', `GET / HTTP/1.2\r\n${H}\r\n`, 505, 'unsupported-version'),
  reject('HTTP/0.9 spelled out', 'GET / HTTP/0.9\r\n\r\n', 505, 'unsupported-version'),
  reject('HTTP/2 connection preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505, 'unsupported-version'),
  reject('lowercase version', `GET / http/1.1\r\n${H}\r\n`, 400, 'invalid-version'),
  reject('two-digit version', `GET / HTTP/1.10\r\n${H}\r\n`, 400, 'invalid-version'),
  reject('space after the version', `GET / HTTP/1.1 \r\n${H}\r\n`, 400, 'invalid-version'),
  reject('two spaces after the method', `GET  / HTTP/1.1\r\n${H}\r\n`, 400, 'invalid-request-line'),
  reject('space before the method', ` GET / HTTP/1.1\r\n${H}\r\n`, 400, 'invalid-request-line'),
  reject('tab as separator', `GET\t/ HTTP/1.1\r\n${H}\r\n`, 400, 'invalid-request-line'),
  reject('space inside the target', `GET /a b HTTP/1.1\r\n${H}\r\n`, 400, 'invalid-version'),
  reject('non-ASCII byte in the target', `GET /caf\xe9 HTTP/1.1\r\n${H}\r\n`, 400, 'invalid-request-line'),
  reject('NUL in the target', `GET /\x00 HTTP/1.1\r\n${H}\r\n`, 400, 'invalid-request-line'),
  reject('fragment in the target', `GET /a#b HTTP/1.1\r\n${H}\r\n`, 400, 'fragment-in-target'),
  reject('lowercase method is an unknown method', `get / HTTP/1.1\r\n${H}\r\n`, 501, 'unknown-method'),
  reject('unknown method', `BREW / HTTP/1.1\r\n${H}\r\n`, 501, 'unknown-method'),
  reject('CONNECT', `CONNECT a:443 HTTP/1.1\r\n${H}\r\n`, 501, 'connect-not-supported'),
  reject('method with a separator', `G(T / HTTP/1.1\r\n${H}\r\n`, 400, 'invalid-method'),
  reject('asterisk-form with GET', `GET * HTTP/1.1\r\n${H}\r\n`, 400, 'asterisk-form-not-options'),
  reject('asterisk followed by more', `OPTIONS *a HTTP/1.1\r\n${H}\r\n`, 400, 'invalid-target'),
  reject('authority-form with GET', `GET a:80 HTTP/1.1\r\n${H}\r\n`, 400, 'invalid-target'),
  reject('absolute-form with another scheme', `GET ftp://a/ HTTP/1.1\r\n${H}\r\n`, 400, 'invalid-target'),
  reject('absolute-form with userinfo', `GET http://u@a/ HTTP/1.1\r\n${H}\r\n`, 400, 'invalid-target'),
  reject('absolute-form with empty authority', `GET http:///a HTTP/1.1\r\n${H}\r\n`, 400, 'invalid-target'),
  reject('absolute-form naming another host than Host', `GET http://b/x HTTP/1.1\r\n${H}\r\n`, 400, 'host-mismatch'),
  reject('absolute-form naming another port than Host', `GET http://a:8080/x HTTP/1.1\r\n${H}\r\n`, 400, 'host-mismatch'),
  reject('https absolute-form vs Host with port 80', 'GET https://a/x HTTP/1.1\r\nHost: a:80\r\n\r\n', 400, 'host-mismatch'),
  reject('request line over the limit', `GET /${'a'.repeat(9000)} HTTP/1.1\r\n${H}\r\n`, 414, 'request-line-too-long'),
  reject('request line over a small limit', `GET /${'a'.repeat(100)} HTTP/1.1\r\n${H}\r\n`, 414, 'request-line-too-long', { limits: { maxStartLineBytes: 64 } }),
  reject('TLS ClientHello on the plaintext port', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 400, 'invalid-request-line'),

  // ---- line structure and field syntax ------------------------------------
  reject('bare LF line endings', 'GET / HTTP/1.1\nHost: a\n\n', 400, 'bare-lf'),
  reject('bare LF after a header', `GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n`, 400, 'bare-lf'),
  reject('bare LF ending the head', `GET / HTTP/1.1\r\n${H}\n`, 400, 'bare-lf'),
  reject('bare CR inside a value', `GET / HTTP/1.1\r\n${H}X: a\rb\r\n\r\n`, 400, 'bare-cr'),
  reject('CR CR LF', `GET / HTTP/1.1\r\n${H}X: a\r\r\n\r\n`, 400, 'bare-cr'),
  reject('\\r\\n\\rX header terminator', `GET / HTTP/1.1\r\n${H}\rX`, 400, 'bare-cr'),
  reject('bare CR before the request line', `\rGET / HTTP/1.1\r\n${H}\r\n`, 400, 'bare-cr'),
  reject('bare LF before the request line', `\nGET / HTTP/1.1\r\n${H}\r\n`, 400, 'bare-lf'),
  reject('obs-fold', `GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`, 400, 'obs-fold'),
  reject('obs-fold with a tab', `GET / HTTP/1.1\r\n${H}X: a\r\n\tb\r\n\r\n`, 400, 'obs-fold'),
  reject('folded Transfer-Encoding', `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n`, 400, 'obs-fold'),
  reject('whitespace before the first header', `GET / HTTP/1.1\r\n ${H}\r\n`, 400, 'leading-whitespace'),
  reject('space before the colon', `POST / HTTP/1.1\r\n${H}Content-Length : 5\r\n\r\nhello`, 400, 'whitespace-before-colon'),
  reject('tab before the colon', `POST / HTTP/1.1\r\n${H}Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n`, 400, 'whitespace-before-colon'),
  reject('header line without a colon', `GET / HTTP/1.1\r\n${H}Foo\r\n\r\n`, 400, 'missing-colon'),
  reject('empty header name', `GET / HTTP/1.1\r\n${H}: a\r\n\r\n`, 400, 'invalid-header-name'),
  reject('non-ASCII header name', `GET / HTTP/1.1\r\n${H}X\xe9: a\r\n\r\n`, 400, 'invalid-header-name'),
  reject('separator in a header name', `GET / HTTP/1.1\r\n${H}X(Y): a\r\n\r\n`, 400, 'invalid-header-name'),
  reject('NUL in a value', `GET / HTTP/1.1\r\n${H}X: a\x00b\r\n\r\n`, 400, 'invalid-header-value'),
  reject('vertical tab in a value', `GET / HTTP/1.1\r\n${H}X: a\x0bb\r\n\r\n`, 400, 'invalid-header-value'),
  reject('DEL in a value', `GET / HTTP/1.1\r\n${H}X: a\x7f\r\n\r\n`, 400, 'invalid-header-value'),
  reject('ESC in a value', `GET / HTTP/1.1\r\n${H}X: \x1b[31m\r\n\r\n`, 400, 'invalid-header-value'),
  reject('101 headers', `GET / HTTP/1.1\r\n${H}${'X: y\r\n'.repeat(100)}\r\n`, 431, 'too-many-headers'),
  reject('head over 16 KiB', `GET / HTTP/1.1\r\n${H}${`X: ${'v'.repeat(1000)}\r\n`.repeat(17)}\r\n`, 431, 'head-too-large'),
  reject('skipped empty lines count against the head limit', `${'\r\n'.repeat(40)}${GET}`, 431, 'head-too-large', { limits: { maxHeadBytes: 64, maxStartLineBytes: 64 } }),

  // ---- Host ---------------------------------------------------------------
  reject('HTTP/1.1 without Host', 'GET / HTTP/1.1\r\n\r\n', 400, 'missing-host'),
  reject('two Host headers', `GET / HTTP/1.1\r\n${H}Host: b\r\n\r\n`, 400, 'duplicate-host'),
  reject('two identical Host headers', `GET / HTTP/1.1\r\n${H}${H}\r\n`, 400, 'duplicate-host'),
  reject('two Host headers on HTTP/1.0', 'GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n', 400, 'duplicate-host'),
  reject('Host as a list', 'GET / HTTP/1.1\r\nHost: a, b\r\n\r\n', 400, 'invalid-host'),
  reject('empty Host', 'GET / HTTP/1.1\r\nHost:\r\n\r\n', 400, 'invalid-host'),
  reject('Host with a space', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 400, 'invalid-host'),
  reject('Host with userinfo', 'GET / HTTP/1.1\r\nHost: u@a\r\n\r\n', 400, 'invalid-host'),
  reject('Host with a path', 'GET / HTTP/1.1\r\nHost: a/../b\r\n\r\n', 400, 'invalid-host'),
  reject('Host port out of range', 'GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n', 400, 'invalid-host'),
  reject('Host with an empty port', 'GET / HTTP/1.1\r\nHost: a:\r\n\r\n', 400, 'invalid-host'),
  reject('Host with two ports', 'GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n', 400, 'invalid-host'),
  reject('Host with an empty label', 'GET / HTTP/1.1\r\nHost: a..b\r\n\r\n', 400, 'invalid-host'),
  reject('Host with two trailing dots', 'GET / HTTP/1.1\r\nHost: a..\r\n\r\n', 400, 'invalid-host'),
  reject('unterminated IPv6 literal', 'GET / HTTP/1.1\r\nHost: [::1\r\n\r\n', 400, 'invalid-host'),
  reject('IPv6 literal with a zone', 'GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n', 400, 'invalid-host'),
  reject('IPvFuture literal', 'GET / HTTP/1.1\r\nHost: [v1.x]\r\n\r\n', 400, 'invalid-host'),
  reject('percent-encoded Host', 'GET / HTTP/1.1\r\nHost: %61\r\n\r\n', 400, 'invalid-host'),

  // ---- framing: CL.TE, TE.CL, TE.TE and Content-Length games ------------
  reject('CL.TE', `POST / HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG`, 400, 'content-length-with-transfer-encoding'),
  reject('TE.CL', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`, 400, 'content-length-with-transfer-encoding'),
  reject('duplicate identical Content-Length', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`, 400, 'duplicate-content-length'),
  reject('duplicate different Content-Length', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, 400, 'duplicate-content-length'),
  reject('Content-Length list', `POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhello`, 400, 'invalid-content-length'),
  reject('Content-Length with a sign', `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`, 400, 'invalid-content-length'),
  reject('negative Content-Length', `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, 400, 'invalid-content-length'),
  reject('hex Content-Length', `POST / HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\nhello`, 400, 'invalid-content-length'),
  reject('Content-Length with a space inside', `POST / HTTP/1.1\r\n${H}Content-Length: 1 2\r\n\r\n`, 400, 'invalid-content-length'),
  reject('empty Content-Length (0.CL bait)', `POST / HTTP/1.1\r\n${H}Content-Length:\r\n\r\n${GET}`, 400, 'invalid-content-length'),
  reject('Content-Length of 16 digits', `POST / HTTP/1.1\r\n${H}Content-Length: 1000000000000000\r\n\r\n`, 400, 'invalid-content-length'),
  reject('Content-Length overflowing 64 bits', `POST / HTTP/1.1\r\n${H}Content-Length: 18446744073709551617\r\n\r\n`, 400, 'invalid-content-length'),
  reject('Content-Length over the body limit', `POST / HTTP/1.1\r\n${H}Content-Length: 11\r\n\r\nhello world`, 413, 'body-too-large', { limits: { maxBodyBytes: 10 } }),
  reject('TE chunked, identity', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`, 400, 'invalid-transfer-encoding'),
  reject('TE identity', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n`, 400, 'invalid-transfer-encoding'),
  reject('TE ,chunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n`, 400, 'invalid-transfer-encoding'),
  reject('TE chunked,', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked,\r\n\r\n0\r\n\r\n`, 400, 'invalid-transfer-encoding'),
  reject('TE xchunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`, 400, 'invalid-transfer-encoding'),
  reject('TE chunked twice in one value', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`, 400, 'invalid-transfer-encoding'),
  reject('TE quoted', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: "chunked"\r\n\r\n0\r\n\r\n`, 400, 'invalid-transfer-encoding'),
  reject('TE with a parameter', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n`, 400, 'invalid-transfer-encoding'),
  reject('TE gzip, chunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`, 501, 'unsupported-transfer-coding'),
  reject('TE with a trailing tab (llhttp refuses it)', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n`, 400, 'invalid-transfer-encoding'),
  reject('TE with a leading tab', `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n`, 400, 'invalid-transfer-encoding'),
  reject('TE with a vertical tab', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n`, 400, 'invalid-header-value'),
  reject('TE with a trailing NUL', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\x00\r\n\r\n0\r\n\r\n`, 400, 'invalid-header-value'),
  reject('two TE headers', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400, 'duplicate-transfer-encoding'),
  reject('TE identity then chunked in two headers', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400, 'duplicate-transfer-encoding'),
  reject('TE on HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'transfer-encoding-http10'),
  reject('Connection with a non-token element', `GET / HTTP/1.1\r\n${H}Connection: close x\r\n\r\n`, 400, 'invalid-connection'),

  // ---- Expect -------------------------------------------------------------
  reject('Expect with a prefix', `PUT / HTTP/1.1\r\n${H}Expect: y 100-continue\r\nContent-Length: 1\r\n\r\nx`, 417, 'unsupported-expectation'),
  reject('Expect list', `PUT / HTTP/1.1\r\n${H}Expect: 100-continue, x\r\nContent-Length: 1\r\n\r\nx`, 417, 'unsupported-expectation'),
  reject('Expect twice', `PUT / HTTP/1.1\r\n${H}Expect: 100-continue\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx`, 417, 'unsupported-expectation'),
  reject('empty Expect', `PUT / HTTP/1.1\r\n${H}Expect:\r\nContent-Length: 1\r\n\r\nx`, 417, 'unsupported-expectation'),
  reject('unknown expectation', `GET / HTTP/1.1\r\n${H}Expect: 200-ok\r\n\r\n`, 417, 'unsupported-expectation'),

  // ---- chunked body -------------------------------------------------------
  reject('chunk size with a plus', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n`, 400, 'invalid-chunk-size'),
  reject('chunk size with 0x', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n`, 400, 'invalid-chunk-size'),
  reject('chunk size with a leading space', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n`, 400, 'invalid-chunk-size'),
  reject('chunk size with a trailing space', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n`, 400, 'invalid-chunk-size'),
  reject('chunk size then space then extension', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 ;a\r\nhello\r\n0\r\n\r\n`, 400, 'invalid-chunk-size'),
  reject('negative chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-1\r\n`, 400, 'invalid-chunk-size'),
  reject('empty chunk size line', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n\r\n`, 400, 'invalid-chunk-size'),
  reject('chunk size with bare LF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n`, 400, 'invalid-chunk-size'),
  reject('chunk size with bare CR', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\rhello\r\n0\r\n\r\n`, 400, 'bare-cr'),
  reject('chunk size of 17 hex digits', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n00000000000000005\r\nhello\r\n0\r\n\r\n`, 400, 'chunk-size-overflow'),
  reject('chunk size over 2^53', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n20000000000000\r\n`, 400, 'chunk-size-overflow'),
  reject('chunk size overflowing 64 bits', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n`, 400, 'chunk-size-overflow'),
  reject('chunk data longer than its size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n`, 400, 'missing-chunk-crlf'),
  reject('chunk data followed by LF only', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n`, 400, 'missing-chunk-crlf'),
  reject('chunk data followed by CR only', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\rX0\r\n\r\n`, 400, 'missing-chunk-crlf'),
  reject('chunked body over the body limit', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n`, 413, 'body-too-large', { limits: { maxBodyBytes: 10 } }),
  reject('chunk extension with a space', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1; a=b\r\nx\r\n0\r\n\r\n`, 400, 'invalid-chunk-extension'),
  reject('chunk extension with a bare CR', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1;a\rb\r\nx\r\n0\r\n\r\n`, 400, 'bare-cr'),
  reject('chunk extension without a name', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1;=b\r\nx\r\n0\r\n\r\n`, 400, 'invalid-chunk-extension'),
  reject('chunk extension with an empty value', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1;a=\r\nx\r\n0\r\n\r\n`, 400, 'invalid-chunk-extension'),
  reject('chunk extension with an unterminated quote', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1;a="b\r\nx\r\n0\r\n\r\n`, 400, 'invalid-chunk-extension'),
  reject('chunk extension with NUL', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1;a="\x00"\r\nx\r\n0\r\n\r\n`, 400, 'invalid-chunk-extension'),
  reject('chunk extensions over the limit', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${`1;${'e'.repeat(1000)}\r\nx\r\n`.repeat(5)}0\r\n\r\n`, 413, 'chunk-extension-too-large'),
  reject('Content-Length in trailers', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n`, 400, 'forbidden-trailer'),
  reject('Transfer-Encoding in trailers', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n`, 400, 'forbidden-trailer'),
  reject('Host in trailers', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nHost: b\r\n\r\n`, 400, 'forbidden-trailer'),
  reject('obs-fold in trailers', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n`, 400, 'obs-fold'),
  reject('bare LF ending the trailers', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n\n`, 400, 'bare-lf'),
  reject('trailers over the limit', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n${'X: y\r\n'.repeat(33)}\r\n`, 431, 'trailers-too-large'),

  // ---- pipelining ---------------------------------------------------------
  reject('a bad request after a good one', `${GET}GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`, 400, 'duplicate-host', { accept: [{ method: 'GET' }] }),
  reject('smuggled request behind an obfuscated TE', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n${H}\r\n`, 400, 'duplicate-transfer-encoding'),
];
