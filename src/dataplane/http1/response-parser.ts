// The upstream (client-side) HTTP/1.1 response parser. Same machinery as the
// request parser, with the response rules of RFC 9112 §6.3: the caller says
// which request method the next response answers (HEAD has no body), 1xx
// responses are reported and skipped (101 hands the connection over), 204
// and 304 have no body, and a response without Content-Length or chunked
// coding runs until the connection closes.
//
// Every anomaly is an error (status 502) so the caller discards the
// connection (security.md R7): a malformed or ambiguous head, a framing
// error, bytes arriving when no response is outstanding (a backend that sent
// more than it framed, or answered twice), or a close in mid-message.

import { BodyReader } from './body-reader.ts';
import { asUpstreamError, E, type ParseError } from './errors.ts';
import {
  CONN_CLOSE,
  CONN_INVALID,
  CONN_KEEP_ALIVE,
  TE_CHUNKED,
  TE_INVALID,
  classifyTransferEncoding,
  connectionFlags,
  parseContentLength,
  readFields,
} from './fields.ts';
import { FAILED, HeadScanner, NEED_MORE, type ScanErrors } from './head-scanner.ts';
import { DEFAULT_RESPONSE_LIMITS, type Http1Limits, resolveLimits } from './limits.ts';
import type { Framing, HttpVersion, ParseOutcome, ResponseHandler, ResponseHead } from './message.ts';
import { FIELD_VALUE, latin1, SP } from './tokens.ts';

const RESPONSE_ERRORS: ScanErrors = {
  tooLarge: E.headTooLarge,
  tooMany: E.tooManyHeaders,
  startTooLong: E.invalidStatusLine,
  startInvalid: E.invalidStatusLine,
  bareCr: E.bareCr,
  bareLf: E.bareLf,
  obsFold: E.obsFold,
  leadingWhitespace: E.leadingWhitespace,
  invalidName: E.invalidHeaderName,
  whitespaceBeforeColon: E.whitespaceBeforeColon,
  missingColon: E.missingColon,
  invalidValue: E.invalidHeaderValue,
};

const R_IDLE = 0;
const R_HEAD = 1;
const R_BODY = 2;
const R_UPGRADED = 3;
const R_ERROR = 4;

export class ResponseParser {
  readonly limits: Http1Limits;
  readonly #handler: ResponseHandler;
  readonly #scanner: HeadScanner;
  readonly #body: BodyReader;
  #state = R_IDLE;
  #method = '';
  /** Some byte of the expected response (or of a 1xx before it) has arrived. */
  #started = false;
  #error: ParseError | undefined = undefined;

  constructor(handler: ResponseHandler, limits?: Partial<Http1Limits>) {
    this.limits = resolveLimits(DEFAULT_RESPONSE_LIMITS, limits);
    this.#handler = handler;
    this.#scanner = new HeadScanner('response', this.limits.maxHeadBytes, this.limits.maxStartLineBytes, this.limits.maxHeaders, FIELD_VALUE, RESPONSE_ERRORS);
    this.#body = new BodyReader(this.limits);
  }

  /** Announces the response to the request just sent with `method`. One at a time: no upstream pipelining. */
  expectResponse(method: string): void {
    if (this.#state !== R_IDLE) throw new Error('ResponseParser.expectResponse while a response is outstanding, after an upgrade or after an error');
    this.#state = R_HEAD;
    this.#method = method;
    this.#started = false;
    this.#scanner.reset();
  }

  /** Forgets everything, including an error. */
  reset(): void {
    this.#state = R_IDLE;
    this.#error = undefined;
    this.#scanner.reset();
  }

  /** True when no response is outstanding: the connection may be pooled (if the last response was keep-alive). */
  get idle(): boolean {
    return this.#state === R_IDLE;
  }

  get error(): ParseError | undefined {
    return this.#error;
  }

  execute(data: Buffer, start = 0, end = data.length): ParseOutcome {
    switch (this.#state) {
      case R_ERROR:
        return { kind: 'error', error: this.#error! };
      case R_IDLE:
      case R_UPGRADED:
        if (end === start) return { kind: 'need-more', consumed: 0 };
        return this.#fail(E.unexpectedData);
      default:
    }
    let pos = start;
    if (end > start) this.#started = true;
    while (this.#state === R_HEAD) {
      const done = this.#scanner.scan(data, pos, end);
      if (done === NEED_MORE) return { kind: 'need-more', consumed: end - start };
      if (done === FAILED) return this.#fail(this.#scanner.error!);
      const head = this.#parseHead();
      if (head === undefined) return { kind: 'error', error: this.#error! };
      pos = done;
      if (head.status < 200) {
        if (head.status === 101) {
          this.#state = R_UPGRADED;
          this.#handler.onHead(head);
          return { kind: 'upgrade', consumed: pos - start };
        }
        this.#scanner.reset();
        this.#handler.onInformational(head);
        continue;
      }
      this.#handler.onHead(head);
      switch (head.framing) {
        case 'content-length':
          if (head.contentLength === 0) return this.#complete(pos - start);
          this.#body.startLength(head.contentLength);
          break;
        case 'chunked':
          this.#body.startChunked();
          break;
        case 'close':
          this.#body.startClose();
          break;
        default:
          return this.#complete(pos - start);
      }
      this.#state = R_BODY;
    }
    const done = this.#body.read(data, pos, end, this.#handler);
    if (done === NEED_MORE) return { kind: 'need-more', consumed: end - start };
    if (done === FAILED) return this.#fail(this.#body.error!);
    return this.#complete(done - start);
  }

  /**
   * The connection delivered its last byte. Completes a close-delimited
   * body (calling onMessageComplete) and returns undefined when nothing was
   * lost; otherwise returns the error: 'closed-before-response' when not
   * one byte of the expected response arrived (the request may be retried
   * if it is safe to), 'incomplete-message' when it was cut short.
   */
  endOfStream(): ParseError | undefined {
    switch (this.#state) {
      case R_IDLE:
      case R_UPGRADED:
        return undefined;
      case R_ERROR:
        return this.#error;
      case R_BODY:
        if (this.#body.untilClose) {
          this.#body.finishClose();
          this.#complete(0);
          return undefined;
        }
        this.#fail(E.incompleteMessage);
        return this.#error;
      default:
        this.#fail(this.#started ? E.incompleteMessage : E.closedBeforeResponse);
        return this.#error;
    }
  }

  #complete(consumed: number): ParseOutcome {
    this.#state = R_IDLE;
    this.#handler.onMessageComplete();
    return { kind: 'complete', consumed };
  }

  #fail(error: ParseError): ParseOutcome {
    this.#state = R_ERROR;
    this.#error = asUpstreamError(error);
    return { kind: 'error', error: this.#error };
  }

  #reject(error: ParseError): undefined {
    this.#fail(error);
    return undefined;
  }

  #parseHead(): ResponseHead | undefined {
    const s = this.#scanner;
    const buf = s.buf;
    const lineStart = s.base;
    const lineEnd = s.base + s.lineStarts[1]! - 2;

    // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4);
    // a missing SP before an empty reason is tolerated, as RFC 9112 asks.
    if (
      lineEnd - lineStart < 12 ||
      buf[lineStart] !== 0x48 ||
      buf[lineStart + 1] !== 0x54 ||
      buf[lineStart + 2] !== 0x54 ||
      buf[lineStart + 3] !== 0x50 ||
      buf[lineStart + 4] !== 0x2f ||
      buf[lineStart + 5] !== 0x31 ||
      buf[lineStart + 6] !== 0x2e ||
      (buf[lineStart + 7] !== 0x31 && buf[lineStart + 7] !== 0x30) ||
      buf[lineStart + 8] !== SP
    ) {
      return this.#reject(E.invalidStatusLine);
    }
    const version: HttpVersion = buf[lineStart + 7] === 0x31 ? '1.1' : '1.0';
    let status = 0;
    for (let i = lineStart + 9; i < lineStart + 12; i++) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) return this.#reject(E.invalidStatusLine);
      status = status * 10 + d;
    }
    if (status < 100 || status > 599) return this.#reject(E.invalidStatus);
    let reason = '';
    if (lineEnd > lineStart + 12) {
      if (buf[lineStart + 12] !== SP) return this.#reject(E.invalidStatusLine);
      reason = latin1(buf, lineStart + 13, lineEnd);
    }

    const headers: string[] = [];
    const names: string[] = [];
    readFields(s, 1, headers, names);

    let clValue = '';
    let clCount = 0;
    let teValue = '';
    let teCount = 0;
    let connection = 0;
    let upgrade: string | undefined;
    for (let i = 0; i < names.length; i++) {
      switch (names[i]) {
        case 'content-length':
          clCount++;
          clValue = headers[2 * i + 1]!;
          break;
        case 'transfer-encoding':
          teCount++;
          teValue = headers[2 * i + 1]!;
          break;
        case 'connection': {
          const flags = connectionFlags(headers[2 * i + 1]!);
          if (flags === CONN_INVALID) return this.#reject(E.invalidConnection);
          connection |= flags;
          break;
        }
        case 'upgrade': {
          const value = headers[2 * i + 1]!;
          upgrade = upgrade === undefined ? value : `${upgrade}, ${value}`;
          break;
        }
        default:
      }
    }

    let framing: Framing;
    let contentLength = -1;
    const bodiless = status < 200 || status === 204 || status === 304 || this.#method === 'HEAD';
    if (bodiless) {
      // RFC 9110 §8.6, §6.4.1: no body whatever the fields say; a 304 or a
      // HEAD response may advertise the length of the representation.
      if (teCount > 0 && (status < 200 || status === 204)) return this.#reject(E.transferEncodingNotAllowed);
      if (clCount === 1 && teCount === 0) contentLength = parseContentLength(clValue);
      framing = 'none';
    } else if (teCount > 0) {
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
    } else {
      framing = 'close';
    }
    const keepAlive =
      framing !== 'close' && (version === '1.1' ? (connection & CONN_CLOSE) === 0 : (connection & CONN_KEEP_ALIVE) !== 0 && (connection & CONN_CLOSE) === 0);
    return {
      status,
      reason,
      version,
      headers,
      names,
      framing,
      contentLength,
      keepAlive,
      upgrade: status === 101 ? upgrade : undefined,
      headBytes: s.length,
    };
  }
}
