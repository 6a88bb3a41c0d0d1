// The downstream (server-side) HTTP/1.1 request parser: incremental over
// Buffers, one message per execute() run, strict reject-and-close. Strictness
// is the point (security.md R5): everything llhttp rejects is rejected here
// too, and so are the ambiguities llhttp lets through (Transfer-Encoding
// other than exactly "chunked", TE on HTTP/1.0, Host missing/duplicated/
// malformed or disagreeing with an absolute-form target, HTTP/0.9 and
// textual HTTP/2.0, loose Expect values, fragments in the target).
//
// Pipelining: execute() stops at the end of each message and says how many
// bytes it consumed; the caller keeps the rest and calls execute() again on
// it when it is ready for the next request (that is where it bounds
// pipelining). Empty lines before a request line are skipped (RFC 9112 §2.2).

import { type Authority, effectivePort, parseAuthority } from './authority.ts';
import { BodyReader } from './body-reader.ts';
import { E, type ParseError } from './errors.ts';
import {
  CONN_CLOSE,
  CONN_INVALID,
  CONN_KEEP_ALIVE,
  CONN_UPGRADE,
  TE_CHUNKED,
  TE_INVALID,
  classifyTransferEncoding,
  connectionFlags,
  fieldValueHasByte,
  parseContentLength,
  readFields,
} from './fields.ts';
import { FAILED, HeadScanner, NEED_MORE, type ScanErrors } from './head-scanner.ts';
import { DEFAULT_REQUEST_LIMITS, type Http1Limits, resolveLimits } from './limits.ts';
import type { HttpVersion, ParseOutcome, RequestHandler, RequestHead } from './message.ts';
import { knownMethod } from './methods.ts';
import { type AbsoluteTarget, parseAbsoluteTarget, type TargetForm } from './target.ts';
import { CLASS, equalsLowerAscii, HTAB, latin1, REQUEST_LINE, SP, TARGET, TCHAR } from './tokens.ts';

const REQUEST_ERRORS: ScanErrors = {
  tooLarge: E.headTooLarge,
  tooMany: E.tooManyHeaders,
  startTooLong: E.requestLineTooLong,
  startInvalid: E.invalidRequestLine,
  bareCr: E.bareCr,
  bareLf: E.bareLf,
  obsFold: E.obsFold,
  leadingWhitespace: E.leadingWhitespace,
  invalidName: E.invalidHeaderName,
  whitespaceBeforeColon: E.whitespaceBeforeColon,
  missingColon: E.missingColon,
  invalidValue: E.invalidHeaderValue,
};

const P_HEAD = 0;
const P_BODY = 1;
const P_ERROR = 2;

export class RequestParser {
  readonly limits: Http1Limits;
  readonly #handler: RequestHandler;
  readonly #scanner: HeadScanner;
  readonly #body: BodyReader;
  readonly #authority: Authority = { host: '', port: undefined };
  #state = P_HEAD;
  #error: ParseError | undefined = undefined;

  constructor(handler: RequestHandler, limits?: Partial<Http1Limits>) {
    this.limits = resolveLimits(DEFAULT_REQUEST_LIMITS, limits);
    this.#handler = handler;
    this.#scanner = new HeadScanner('request', this.limits.maxHeadBytes, this.limits.maxStartLineBytes, this.limits.maxHeaders, REQUEST_LINE, REQUEST_ERRORS);
    this.#body = new BodyReader(this.limits);
  }

  /** Forgets everything, including an error: ready for the first request of a new connection. */
  reset(): void {
    this.#state = P_HEAD;
    this.#error = undefined;
    this.#scanner.reset();
  }

  /** True between messages with nothing buffered: a connection closing now loses no request. */
  get atMessageBoundary(): boolean {
    return this.#state === P_HEAD && this.#scanner.idle;
  }

  /** The error that stopped the parser, if any. */
  get error(): ParseError | undefined {
    return this.#error;
  }

  /**
   * Parses data[start, end) (default: all of it) up to the end of one
   * message. Handler methods are called synchronously from inside.
   */
  execute(data: Buffer, start = 0, end = data.length): ParseOutcome {
    if (this.#state === P_ERROR) return { kind: 'error', error: this.#error! };
    let pos = start;
    if (this.#state === P_HEAD) {
      const done = this.#scanner.scan(data, pos, end);
      if (done === NEED_MORE) return { kind: 'need-more', consumed: end - start };
      if (done === FAILED) return this.#fail(this.#scanner.error!);
      const head = this.#parseHead();
      if (head === undefined) return { kind: 'error', error: this.#error! };
      this.#handler.onHead(head);
      pos = done;
      if (head.framing === 'none' || head.contentLength === 0) return this.#complete(pos - start);
      if (head.framing === 'chunked') this.#body.startChunked();
      else this.#body.startLength(head.contentLength);
      this.#state = P_BODY;
    }
    const done = this.#body.read(data, pos, end, this.#handler);
    if (done === NEED_MORE) return { kind: 'need-more', consumed: end - start };
    if (done === FAILED) return this.#fail(this.#body.error!);
    return this.#complete(done - start);
  }

  #complete(consumed: number): ParseOutcome {
    this.#state = P_HEAD;
    this.#scanner.reset();
    this.#handler.onMessageComplete();
    return { kind: 'complete', consumed };
  }

  #fail(error: ParseError): ParseOutcome {
    this.#state = P_ERROR;
    this.#error = error;
    return { kind: 'error', error };
  }

  /** Builds the head from the scanned bytes, or records the error and returns undefined. */
  #parseHead(): RequestHead | undefined {
    const s = this.#scanner;
    const buf = s.buf;
    const lineStart = s.base;
    const lineEnd = s.base + s.lineStarts[1]! - 2;

    // request-line = method SP request-target SP HTTP-version (RFC 9112 §3)
    let sp1 = lineStart;
    while (sp1 < lineEnd && buf[sp1] !== SP) sp1++;
    if (sp1 === lineStart || sp1 === lineEnd) return this.#reject(E.invalidRequestLine);
    for (let i = lineStart; i < sp1; i++) if ((CLASS[buf[i]!]! & TCHAR) === 0) return this.#reject(E.invalidMethod);
    const targetStart = sp1 + 1;
    let sp2 = targetStart;
    while (sp2 < lineEnd && buf[sp2] !== SP) sp2++;
    if (sp2 === targetStart) return this.#reject(E.invalidRequestLine);
    if (sp2 === lineEnd) return this.#reject(E.missingVersion);
    const version = this.#version(buf, sp2 + 1, lineEnd);
    if (version === undefined) return undefined;
    const method = knownMethod(buf, lineStart, sp1);
    if (method === undefined) {
      const isConnect = sp1 - lineStart === 7 && latin1(buf, lineStart, sp1) === 'CONNECT';
      return this.#reject(isConnect ? E.connectNotSupported : E.unknownMethod);
    }
    for (let i = targetStart; i < sp2; i++) if ((CLASS[buf[i]!]! & TARGET) === 0) return this.#reject(E.fragmentInTarget);
    const target = latin1(buf, targetStart, sp2);

    const headers: string[] = [];
    const names: string[] = [];
    readFields(s, 1, headers, names);

    let hostValue: string | undefined;
    let hostCount = 0;
    let clValue = '';
    let clCount = 0;
    let teValue = '';
    let teCount = 0;
    let connection = 0;
    let expectValue = '';
    let expectCount = 0;
    let upgradeValue: string | undefined;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      switch (name) {
        case 'host':
          hostCount++;
          hostValue = headers[2 * i + 1]!;
          break;
        case 'content-length':
          clCount++;
          clValue = headers[2 * i + 1]!;
          break;
        case 'transfer-encoding':
          // llhttp refuses "chunked<HTAB>" though RFC 9112 trims it: refuse any
          // HTAB on this line rather than read it differently from a peer.
          if (fieldValueHasByte(s, i + 1, HTAB)) return this.#reject(E.invalidTransferEncoding);
          teCount++;
          teValue = headers[2 * i + 1]!;
          break;
        case 'connection': {
          const flags = connectionFlags(headers[2 * i + 1]!);
          if (flags === CONN_INVALID) return this.#reject(E.invalidConnection);
          connection |= flags;
          break;
        }
        case 'expect':
          expectCount++;
          expectValue = headers[2 * i + 1]!;
          break;
        case 'upgrade': {
          const value = headers[2 * i + 1]!;
          upgradeValue = upgradeValue === undefined ? value : `${upgradeValue}, ${value}`;
          break;
        }
        default:
      }
    }

    // Framing (RFC 9112 §6.1-6.3): exactly one way to find the end of the body.
    let framing: RequestHead['framing'] = 'none';
    let contentLength = -1;
    if (teCount > 0) {
      if (version === '1.0') return this.#reject(E.transferEncodingHttp10);
      if (clCount > 0) return this.#reject(E.contentLengthWithTransferEncoding);
      if (teCount > 1) return this.#reject(E.duplicateTransferEncoding);
      const te = classifyTransferEncoding(teValue);
      if (te !== TE_CHUNKED) return this.#reject(te === TE_INVALID ? E.invalidTransferEncoding : E.unsupportedTransferCoding);
      framing = 'chunked';
    } else if (clCount > 0) {
      if (clCount > 1) return this.#reject(E.duplicateContentLength);
      contentLength = parseContentLength(clValue);
      if (contentLength < 0) return this.#reject(E.invalidContentLength);
      if (contentLength > this.limits.maxBodyBytes) return this.#reject(E.bodyTooLarge);
      framing = 'content-length';
    }

    // Host (RFC 9112 §3.2): exactly one on HTTP/1.1, at most one on 1.0, always valid.
    const authority = this.#authority;
    let host = '';
    let port: number | undefined;
    if (hostCount > 1) return this.#reject(E.duplicateHost);
    if (hostValue !== undefined) {
      if (!parseAuthority(hostValue, 0, hostValue.length, authority)) return this.#reject(E.invalidHost);
      host = authority.host;
      port = authority.port;
    } else if (version === '1.1') {
      return this.#reject(E.missingHost);
    }

    let targetForm: TargetForm = 'origin';
    let absolute: AbsoluteTarget | undefined;
    const first = target.charCodeAt(0);
    if (first === 0x2a /* * */) {
      if (target.length !== 1) return this.#reject(E.invalidTarget);
      if (method !== 'OPTIONS') return this.#reject(E.asteriskNotOptions);
      targetForm = 'asterisk';
    } else if (first !== 0x2f /* / */) {
      absolute = parseAbsoluteTarget(target);
      if (absolute === undefined) return this.#reject(E.invalidTarget);
      if (hostValue !== undefined && (absolute.host !== host || effectivePort(absolute.port, absolute.scheme) !== effectivePort(port, absolute.scheme))) {
        return this.#reject(E.hostMismatch);
      }
      host = absolute.host;
      port = absolute.port;
      targetForm = 'absolute';
    }

    // Expect (RFC 9110 §10.1.1): only 100-continue; a 1.0 client's is ignored.
    if (expectCount > 1 || (expectCount === 1 && !equalsLowerAscii(expectValue, '100-continue'))) return this.#reject(E.unsupportedExpectation);

    const keepAlive = version === '1.1' ? (connection & CONN_CLOSE) === 0 : (connection & CONN_KEEP_ALIVE) !== 0 && (connection & CONN_CLOSE) === 0;
    return {
      method,
      target,
      targetForm,
      absolute,
      version,
      headers,
      names,
      framing,
      contentLength,
      keepAlive,
      expectContinue: expectCount === 1 && version === '1.1',
      // RFC 9110 §7.8: an Upgrade in an HTTP/1.0 request is ignored.
      upgrade: version === '1.1' && (connection & CONN_UPGRADE) !== 0 ? upgradeValue : undefined,
      host,
      port,
      headBytes: s.length,
    };
  }

  /** "HTTP/1.1" or "HTTP/1.0"; other well-formed versions are 505, anything else 400. */
  #version(buf: Buffer, start: number, end: number): HttpVersion | undefined {
    if (
      end - start !== 8 ||
      buf[start] !== 0x48 ||
      buf[start + 1] !== 0x54 ||
      buf[start + 2] !== 0x54 ||
      buf[start + 3] !== 0x50 ||
      buf[start + 4] !== 0x2f ||
      buf[start + 6] !== 0x2e
    ) {
      return this.#reject(E.invalidVersion);
    }
    const major = buf[start + 5]! - 0x30;
    const minor = buf[start + 7]! - 0x30;
    if (major < 0 || major > 9 || minor < 0 || minor > 9) return this.#reject(E.invalidVersion);
    if (major === 1 && minor === 1) return '1.1';
    if (major === 1 && minor === 0) return '1.0';
    return this.#reject(E.unsupportedVersion);
  }

  #reject(error: ParseError): undefined {
    this.#state = P_ERROR;
    this.#error = error;
    return undefined;
  }
}
