// Reads one message body as framed by its head: a Content-Length count, the
// chunked coding (RFC 9112 §7.1) with its trailer section, or everything
// until the connection closes (responses only). Body bytes are handed on as
// ranges of the caller's buffer, never copied.
//
// The chunked decoder is a byte state machine, so a chunk line may be split
// anywhere. It is strict where parsers have disagreed: the size is 1-16 hex
// digits with nothing before it ("0x", "+", " " are errors) and its value
// must fit a safe integer; no whitespace anywhere on the line (the optional
// BWS of chunk-ext is refused too); extensions are ";name[=token|quoted]"
// and their bytes are bounded per message; chunk data must be followed by
// exactly CRLF; trailers obey the same line rules as the head, have their
// own limits, and may not carry framing, routing or connection fields.

import { E, type ParseError } from './errors.ts';
import { FORBIDDEN_TRAILERS, readFields } from './fields.ts';
import { FAILED, HeadScanner, NEED_MORE, type ScanErrors } from './head-scanner.ts';
import type { Http1Limits } from './limits.ts';
import type { BodyHandler } from './message.ts';
import { BACKSLASH, CLASS, CR, DQUOTE, EQUALS, FIELD_VALUE, HEX_VALUE, LF, QDTEXT, SEMICOLON, TCHAR } from './tokens.ts';

export { FAILED, NEED_MORE };

const B_IDLE = 0;
const B_LENGTH = 1;
const B_CHUNKED = 2;
const B_CLOSE = 3;

// chunked states
const C_SIZE_FIRST = 0;
const C_SIZE = 1;
const C_EXT_NAME_FIRST = 2;
const C_EXT_NAME = 3;
const C_EXT_VALUE_FIRST = 4;
const C_EXT_TOKEN = 5;
const C_EXT_QUOTED = 6;
const C_EXT_QUOTED_ESCAPE = 7;
const C_EXT_QUOTE_END = 8;
const C_SIZE_LF = 9;
const C_DATA = 10;
const C_DATA_CR = 11;
const C_DATA_LF = 12;
const C_TRAILERS = 13;

/** 16 hex digits, and the value must stay a safe integer: shifting past 2^49 would not. */
const MAX_SIZE_DIGITS = 16;
const MAX_SIZE_BEFORE_SHIFT = 2 ** 49;

const TRAILER_ERRORS: ScanErrors = {
  tooLarge: E.trailersTooLarge,
  tooMany: E.trailersTooLarge,
  startTooLong: E.trailersTooLarge,
  startInvalid: E.invalidHeaderName,
  bareCr: E.bareCr,
  bareLf: E.bareLf,
  obsFold: E.obsFold,
  leadingWhitespace: E.obsFold,
  invalidName: E.invalidHeaderName,
  whitespaceBeforeColon: E.whitespaceBeforeColon,
  missingColon: E.missingColon,
  invalidValue: E.invalidHeaderValue,
};

export class BodyReader {
  error: ParseError | undefined = undefined;

  readonly #limits: Http1Limits;
  #trailerScanner: HeadScanner | undefined = undefined;
  #mode = B_IDLE;
  /** Bytes left in the body (B_LENGTH) or in the current chunk (C_DATA). */
  #remaining = 0;
  #chunkState = C_SIZE_FIRST;
  #sizeDigits = 0;
  #total = 0;
  #extensionBytes = 0;

  constructor(limits: Http1Limits) {
    this.#limits = limits;
  }

  startLength(length: number): void {
    this.#mode = B_LENGTH;
    this.#remaining = length;
    this.error = undefined;
  }

  startChunked(): void {
    this.#mode = B_CHUNKED;
    this.#chunkState = C_SIZE_FIRST;
    this.#remaining = 0;
    this.#sizeDigits = 0;
    this.#total = 0;
    this.#extensionBytes = 0;
    this.error = undefined;
  }

  startClose(): void {
    this.#mode = B_CLOSE;
    this.#total = 0;
    this.error = undefined;
  }

  /** Reading a body that only the end of the connection can complete. */
  get untilClose(): boolean {
    return this.#mode === B_CLOSE;
  }

  /**
   * Feeds data[pos, end). Returns the index just past the body (and calls
   * handler.onTrailers if any; the caller signals completion), NEED_MORE
   * when all bytes were taken, or FAILED with `error` set.
   */
  read(data: Buffer, pos: number, end: number, handler: BodyHandler): number {
    switch (this.#mode) {
      case B_LENGTH: {
        const n = Math.min(this.#remaining, end - pos);
        if (n > 0) {
          this.#remaining -= n;
          handler.onBody(data, pos, pos + n);
        }
        if (this.#remaining === 0) {
          this.#mode = B_IDLE;
          return pos + n;
        }
        return NEED_MORE;
      }
      case B_CHUNKED:
        return this.#readChunked(data, pos, end, handler);
      case B_CLOSE:
        if (end > pos) {
          this.#total += end - pos;
          if (this.#total > this.#limits.maxBodyBytes) return this.#fail(E.bodyTooLarge);
          handler.onBody(data, pos, end);
        }
        return NEED_MORE;
      default:
        throw new Error('BodyReader.read without a body in progress');
    }
  }

  /** Ends a close-delimited body. */
  finishClose(): void {
    this.#mode = B_IDLE;
  }

  #readChunked(data: Buffer, pos: number, end: number, handler: BodyHandler): number {
    let i = pos;
    let state = this.#chunkState;
    while (i < end) {
      if (state === C_DATA) {
        const n = Math.min(this.#remaining, end - i);
        this.#remaining -= n;
        handler.onBody(data, i, i + n);
        i += n;
        if (this.#remaining === 0) state = C_DATA_CR;
        continue;
      }
      if (state === C_TRAILERS) {
        this.#chunkState = state;
        return this.#readTrailers(data, i, end, handler);
      }
      const c = data[i]!;
      i++;
      switch (state) {
        case C_SIZE_FIRST:
        case C_SIZE: {
          const d = HEX_VALUE[c]!;
          if (d >= 0) {
            if (++this.#sizeDigits > MAX_SIZE_DIGITS || this.#remaining >= MAX_SIZE_BEFORE_SHIFT) return this.#fail(E.chunkSizeOverflow);
            this.#remaining = this.#remaining * 16 + d;
            state = C_SIZE;
          } else if (state === C_SIZE_FIRST) {
            return this.#fail(E.invalidChunkSize);
          } else if (c === CR) {
            state = C_SIZE_LF;
          } else if (c === SEMICOLON) {
            if (!this.#countExtension()) return FAILED;
            state = C_EXT_NAME_FIRST;
          } else {
            return this.#fail(E.invalidChunkSize);
          }
          break;
        }
        case C_EXT_NAME_FIRST:
        case C_EXT_NAME:
          if (!this.#countExtension()) return FAILED;
          if ((CLASS[c]! & TCHAR) !== 0) state = C_EXT_NAME;
          else if (state === C_EXT_NAME_FIRST) return this.#fail(E.invalidChunkExtension);
          else if (c === CR) state = C_SIZE_LF;
          else if (c === SEMICOLON) state = C_EXT_NAME_FIRST;
          else if (c === EQUALS) state = C_EXT_VALUE_FIRST;
          else return this.#fail(E.invalidChunkExtension);
          break;
        case C_EXT_VALUE_FIRST:
          if (!this.#countExtension()) return FAILED;
          if ((CLASS[c]! & TCHAR) !== 0) state = C_EXT_TOKEN;
          else if (c === DQUOTE) state = C_EXT_QUOTED;
          else return this.#fail(E.invalidChunkExtension);
          break;
        case C_EXT_TOKEN:
          if (!this.#countExtension()) return FAILED;
          if ((CLASS[c]! & TCHAR) !== 0) break;
          if (c === CR) state = C_SIZE_LF;
          else if (c === SEMICOLON) state = C_EXT_NAME_FIRST;
          else return this.#fail(E.invalidChunkExtension);
          break;
        case C_EXT_QUOTED:
          if (!this.#countExtension()) return FAILED;
          if (c === DQUOTE) state = C_EXT_QUOTE_END;
          else if (c === BACKSLASH) state = C_EXT_QUOTED_ESCAPE;
          else if ((CLASS[c]! & QDTEXT) === 0) return this.#fail(E.invalidChunkExtension);
          break;
        case C_EXT_QUOTED_ESCAPE:
          if (!this.#countExtension()) return FAILED;
          // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ): the field-value bytes
          if ((CLASS[c]! & FIELD_VALUE) === 0) return this.#fail(E.invalidChunkExtension);
          state = C_EXT_QUOTED;
          break;
        case C_EXT_QUOTE_END:
          if (!this.#countExtension()) return FAILED;
          if (c === CR) state = C_SIZE_LF;
          else if (c === SEMICOLON) state = C_EXT_NAME_FIRST;
          else return this.#fail(E.invalidChunkExtension);
          break;
        case C_SIZE_LF:
          if (c !== LF) return this.#fail(E.bareCr);
          this.#sizeDigits = 0;
          if (this.#remaining === 0) {
            state = C_TRAILERS;
            this.#startTrailers();
          } else {
            this.#total += this.#remaining;
            if (this.#total > this.#limits.maxBodyBytes) return this.#fail(E.bodyTooLarge);
            state = C_DATA;
          }
          break;
        case C_DATA_CR:
          if (c !== CR) return this.#fail(E.missingChunkCrlf);
          state = C_DATA_LF;
          break;
        case C_DATA_LF:
          if (c !== LF) return this.#fail(E.missingChunkCrlf);
          state = C_SIZE_FIRST;
          break;
        default:
          throw new Error(`chunked decoder in impossible state ${state}`);
      }
    }
    this.#chunkState = state;
    if (state === C_TRAILERS) return this.#readTrailers(data, i, end, handler);
    return NEED_MORE;
  }

  #countExtension(): boolean {
    if (++this.#extensionBytes > this.#limits.maxChunkExtensionBytes) {
      this.error = E.chunkExtensionTooLarge;
      return false;
    }
    return true;
  }

  #startTrailers(): void {
    const limits = this.#limits;
    this.#trailerScanner ??= new HeadScanner('trailers', limits.maxTrailerBytes, limits.maxTrailerBytes, limits.maxTrailers, 0, TRAILER_ERRORS);
    this.#trailerScanner.reset();
  }

  #readTrailers(data: Buffer, pos: number, end: number, handler: BodyHandler): number {
    if (pos === end) return NEED_MORE;
    const scanner = this.#trailerScanner!;
    const done = scanner.scan(data, pos, end);
    if (done === NEED_MORE) return NEED_MORE;
    if (done === FAILED) return this.#fail(scanner.error!);
    this.#mode = B_IDLE;
    if (scanner.lines > 0) {
      const trailers: string[] = [];
      const names: string[] = [];
      readFields(scanner, 0, trailers, names);
      for (const name of names) if (FORBIDDEN_TRAILERS.has(name)) return this.#fail(E.forbiddenTrailer);
      handler.onTrailers(trailers);
    }
    return done;
  }

  #fail(error: ParseError): number {
    this.error = error;
    this.#mode = B_IDLE;
    return FAILED;
  }
}
