// Finds the end of a message head (start line, field lines, empty line) or of
// a trailer section, incrementally, while enforcing the byte-level rules of
// RFC 9112 §2.2 and §5 that smuggling depends on: every line ends in CRLF (no
// bare CR, no bare LF), no whitespace before the first field or before a
// colon (and so no obs-fold), field names are tokens, field values hold no
// control characters, and the size and count limits hold. It records where
// each line and each colon is, so the head is then sliced into strings once,
// without looking at the bytes again for structure.
//
// A head that arrives in one chunk is parsed in place (no copy); one that is
// split across chunks is gathered into a buffer that starts at 1 KiB, grows
// up to the head-size limit and is reused for the parser's lifetime.

import type { ParseError } from './errors.ts';
import { CLASS, COLON, CR, FIELD_VALUE, HTAB, LF, SP, TCHAR } from './tokens.ts';

export const NEED_MORE = -1;
export const FAILED = -2;

/** What the head starts with. */
export type ScanMode = 'request' | 'response' | 'trailers';

/** The errors to report, which differ between request heads, response heads and trailers. */
export interface ScanErrors {
  readonly tooLarge: ParseError;
  readonly tooMany: ParseError;
  readonly startTooLong: ParseError;
  readonly startInvalid: ParseError;
  readonly bareCr: ParseError;
  readonly bareLf: ParseError;
  readonly obsFold: ParseError;
  readonly leadingWhitespace: ParseError;
  readonly invalidName: ParseError;
  readonly whitespaceBeforeColon: ParseError;
  readonly missingColon: ParseError;
  readonly invalidValue: ParseError;
}

const S_PRE = 0; // before a request line: empty lines (CRLF) are skipped (RFC 9112 §2.2)
const S_PRE_CR = 1;
const S_START = 2;
const S_START_CR = 3;
const S_LINE = 4; // at the start of a field line or of the final empty line
const S_NAME = 5;
const S_VALUE = 6;
const S_VALUE_CR = 7;
const S_END_CR = 8;

const EMPTY = Buffer.alloc(0);
const INITIAL_ACC = 1024;

export class HeadScanner {
  /** After a successful scan: the bytes of the head are buf[base, base + length). */
  buf: Buffer = EMPTY;
  base = 0;
  length = 0;
  /** Lines recorded: the start line (unless trailers) and the field lines, not the final empty line. */
  lines = 0;
  /** lineStarts[i] is the offset (from base) of line i; lineStarts[lines] is the offset of the final empty line. */
  readonly lineStarts: Int32Array;
  /** colons[i] is the offset (from base) of the colon of field line i. */
  readonly colons: Int32Array;
  error: ParseError | undefined = undefined;

  readonly #initial: number;
  readonly #hasStartLine: boolean;
  readonly #startClass: number;
  readonly #maxBytes: number;
  readonly #maxStart: number;
  readonly #maxLines: number;
  readonly #errors: ScanErrors;
  #state: number;
  /** Head bytes held in #acc from earlier chunks. */
  #count = 0;
  /** Empty lines skipped before a request line, bounded like the head. */
  #skipped = 0;
  #acc: Buffer | undefined = undefined;

  constructor(mode: ScanMode, maxBytes: number, maxStartLine: number, maxFields: number, startClass: number, errors: ScanErrors) {
    this.#initial = mode === 'request' ? S_PRE : mode === 'response' ? S_START : S_LINE;
    this.#hasStartLine = mode !== 'trailers';
    this.#startClass = startClass;
    this.#maxBytes = maxBytes;
    this.#maxStart = maxStartLine;
    this.#maxLines = maxFields + (this.#hasStartLine ? 1 : 0);
    this.#errors = errors;
    this.#state = this.#initial;
    this.lineStarts = new Int32Array(this.#maxLines + 1);
    this.colons = new Int32Array(this.#maxLines + 1);
  }

  /** Prepares for the next head. */
  reset(): void {
    this.#state = this.#initial;
    this.#count = 0;
    this.#skipped = 0;
    this.lines = 0;
    this.error = undefined;
    this.buf = EMPTY;
  }

  /** True when no byte of a head (not even half of a skipped CRLF) has been seen. */
  get idle(): boolean {
    return this.#state === this.#initial && this.#count === 0 && this.lines === 0;
  }

  /** Field lines recorded (start line excluded). */
  get fieldCount(): number {
    return this.#hasStartLine ? this.lines - 1 : this.lines;
  }

  /**
   * Scans data[pos, end). Returns the index just past the head's final CRLF,
   * NEED_MORE when every byte was taken and the head is not complete yet, or
   * FAILED with `error` set.
   */
  scan(data: Buffer, pos: number, end: number): number {
    let i = pos;
    let state = this.#state;
    if (state === S_PRE || state === S_PRE_CR) {
      while (i < end) {
        const c = data[i]!;
        if (state === S_PRE) {
          if (c !== CR) break;
          state = S_PRE_CR;
        } else {
          if (c !== LF) return this.#fail(this.#errors.bareCr);
          state = S_PRE;
        }
        i++;
        if (++this.#skipped > this.#maxBytes) return this.#fail(this.#errors.tooLarge);
      }
      if (i === end) {
        this.#state = state;
        return NEED_MORE;
      }
      state = S_START;
    }
    // Offsets are relative to the head's first byte: offset(j) = j - origin.
    const segStart = i;
    const origin = segStart - this.#count;
    const limit = Math.min(end, segStart + (this.#maxBytes - this.#count));
    const lineStarts = this.lineStarts;
    let lines = this.lines;
    let done = -1;
    scanning: while (i < limit) {
      switch (state) {
        case S_START: {
          const mask = this.#startClass;
          while (i < limit && (CLASS[data[i]!]! & mask) !== 0) i++;
          if (i === limit) break scanning;
          const c = data[i]!;
          if (c === CR) {
            if (i === origin) return this.#fail(this.#errors.startInvalid); // an empty start line
            if (i - origin + 2 > this.#maxStart) return this.#fail(this.#errors.startTooLong);
            state = S_START_CR;
            i++;
          } else {
            return this.#fail(c === LF ? this.#errors.bareLf : this.#errors.startInvalid);
          }
          break;
        }
        case S_START_CR:
          if (data[i] !== LF) return this.#fail(this.#errors.bareCr);
          i++;
          lineStarts[0] = 0;
          lines = 1;
          lineStarts[1] = i - origin;
          state = S_LINE;
          break;
        case S_LINE: {
          const c = data[i]!;
          if ((CLASS[c]! & TCHAR) !== 0) {
            state = S_NAME;
            i++;
          } else if (c === CR) {
            state = S_END_CR;
            i++;
          } else if (c === SP || c === HTAB) {
            return this.#fail(lines > (this.#hasStartLine ? 1 : 0) ? this.#errors.obsFold : this.#errors.leadingWhitespace);
          } else {
            return this.#fail(c === LF ? this.#errors.bareLf : this.#errors.invalidName);
          }
          break;
        }
        case S_NAME: {
          while (i < limit && (CLASS[data[i]!]! & TCHAR) !== 0) i++;
          if (i === limit) break scanning;
          const c = data[i]!;
          if (c === COLON) {
            this.colons[lines] = i - origin;
            state = S_VALUE;
            i++;
          } else if (c === SP || c === HTAB) {
            return this.#fail(this.#errors.whitespaceBeforeColon);
          } else {
            return this.#fail(c === CR || c === LF ? this.#errors.missingColon : this.#errors.invalidName);
          }
          break;
        }
        case S_VALUE: {
          while (i < limit && (CLASS[data[i]!]! & FIELD_VALUE) !== 0) i++;
          if (i === limit) break scanning;
          const c = data[i]!;
          if (c !== CR) return this.#fail(c === LF ? this.#errors.bareLf : this.#errors.invalidValue);
          state = S_VALUE_CR;
          i++;
          break;
        }
        case S_VALUE_CR:
          if (data[i] !== LF) return this.#fail(this.#errors.bareCr);
          i++;
          if (++lines > this.#maxLines) return this.#fail(this.#errors.tooMany);
          lineStarts[lines] = i - origin;
          state = S_LINE;
          break;
        case S_END_CR:
          if (data[i] !== LF) return this.#fail(this.#errors.bareCr);
          i++;
          done = i;
          break scanning;
        default:
          throw new Error(`head scanner in impossible state ${state}`);
      }
    }
    this.lines = lines;
    if (done === -1) {
      if (i < end) {
        // The budget ran out before the head did.
        return this.#fail(state === S_START || state === S_START_CR ? this.#errors.startTooLong : this.#errors.tooLarge);
      }
      if ((state === S_START || state === S_START_CR) && end - origin > this.#maxStart) return this.#fail(this.#errors.startTooLong);
      this.#keep(data, segStart, end);
      this.#state = state;
      return NEED_MORE;
    }
    if (!this.#hasStartLine) lineStarts[0] = 0;
    if (this.#count === 0) {
      this.buf = data;
      this.base = segStart;
    } else {
      this.#keep(data, segStart, done);
      this.buf = this.#acc!;
      this.base = 0;
    }
    this.length = done - origin;
    this.#state = this.#initial;
    this.#count = 0;
    return done;
  }

  #keep(data: Buffer, from: number, to: number): void {
    if (to === from) return;
    const needed = this.#count + (to - from);
    const acc = this.#acc;
    if (acc === undefined || acc.length < needed) {
      // Grow geometrically up to the head limit: a slow client costs a small
      // buffer, not a full-sized one per connection.
      const size = Math.min(this.#maxBytes, Math.max(needed, INITIAL_ACC, (acc?.length ?? 0) * 2));
      const grown = Buffer.allocUnsafe(size);
      if (acc !== undefined && this.#count > 0) acc.copy(grown, 0, 0, this.#count);
      this.#acc = grown;
    }
    data.copy(this.#acc!, this.#count, from, to);
    this.#count = needed;
  }

  #fail(error: ParseError): number {
    this.error = error;
    return FAILED;
  }
}
