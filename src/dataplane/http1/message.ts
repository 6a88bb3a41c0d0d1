// The shapes the parsers hand to their callers: parsed heads with the facts a
// proxy decides on already computed (framing, keep-alive, Host, upgrade),
// the handler interfaces that receive them, and what one execute() call
// reports. Handlers are plain objects with methods, reused across messages:
// no closures or event emitters per message.

import type { ParseError } from './errors.ts';
import type { AbsoluteTarget, TargetForm } from './target.ts';

export type HttpVersion = '1.0' | '1.1';

/**
 * How the body is delimited (RFC 9112 §6.3). 'close' (read until the
 * connection closes) happens only for responses.
 */
export type Framing = 'none' | 'content-length' | 'chunked' | 'close';

export interface RequestHead {
  /** One of ACCEPTED_METHODS. */
  readonly method: string;
  /** The request-target exactly as received. */
  readonly target: string;
  readonly targetForm: TargetForm;
  /** The pieces of an absolute-form target (its authority matches Host). */
  readonly absolute: AbsoluteTarget | undefined;
  readonly version: HttpVersion;
  /** [name, value, name, value, ...]: names as received, values without surrounding whitespace. */
  readonly headers: string[];
  /** Lowercased names: names[i] belongs to headers[2 * i]. */
  readonly names: string[];
  readonly framing: 'none' | 'content-length' | 'chunked';
  /** The body length when framing is 'content-length', else -1. */
  readonly contentLength: number;
  /** Whether the connection may carry another request after this one (version + Connection). */
  readonly keepAlive: boolean;
  /** An HTTP/1.1 request with exactly "Expect: 100-continue". */
  readonly expectContinue: boolean;
  /** The Upgrade value of an HTTP/1.1 request whose Connection lists "upgrade", else undefined. */
  readonly upgrade: string | undefined;
  /** The validated Host (lowercase, no trailing dot, IPv6 in brackets); '' for HTTP/1.0 without one. */
  readonly host: string;
  /** The Host port, undefined when none was given. */
  readonly port: number | undefined;
  /** Bytes of the head on the wire (request line to the empty line). */
  readonly headBytes: number;
}

export interface ResponseHead {
  readonly status: number;
  /** The reason phrase as received (may be empty; never needed). */
  readonly reason: string;
  readonly version: HttpVersion;
  readonly headers: string[];
  readonly names: string[];
  readonly framing: Framing;
  /** The body length when framing is 'content-length'; for bodiless responses the advertised length if valid; else -1. */
  readonly contentLength: number;
  /** Whether the connection may be reused after this response. */
  readonly keepAlive: boolean;
  /** The Upgrade value of a 101 response, else undefined. */
  readonly upgrade: string | undefined;
  readonly headBytes: number;
}

/** Receives body bytes and trailers; the bytes are only valid during the call (copy or write them out). */
export interface BodyHandler {
  onBody(data: Buffer, start: number, end: number): void;
  /** Trailer fields, [name, value, ...], only called when there are some. */
  onTrailers(trailers: string[]): void;
  onMessageComplete(): void;
}

export interface RequestHandler extends BodyHandler {
  onHead(head: RequestHead): void;
}

export interface ResponseHandler extends BodyHandler {
  /** A 1xx other than 101 (100 Continue, 103 Early Hints): reported, then the final response follows. */
  onInformational(head: ResponseHead): void;
  /** The final response head, or a 101 (after which execute() returns 'upgrade'). */
  onHead(head: ResponseHead): void;
}

/**
 * What one execute() call did. `consumed` counts bytes from `start`:
 * - 'need-more': everything was taken (body bytes delivered, partial head kept); send more.
 * - 'complete': one message ended after `consumed` bytes; the rest belongs to the next message.
 * - 'upgrade': (responses) a 101 head ended after `consumed` bytes; the rest belongs to the new protocol.
 * - 'error': the message is rejected; close the connection after answering error.status.
 */
export type ParseOutcome =
  | { readonly kind: 'need-more'; readonly consumed: number }
  | { readonly kind: 'complete'; readonly consumed: number }
  | { readonly kind: 'upgrade'; readonly consumed: number }
  | { readonly kind: 'error'; readonly error: ParseError };
