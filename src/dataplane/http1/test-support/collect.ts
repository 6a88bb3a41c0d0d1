// Test helpers: run a byte stream through our parsers in pieces cut at given
// offsets and collect everything the handlers saw into plain values, so that
// runs over different cuttings (whole, byte by byte, random) can be compared
// with deepEqual, and runs can be compared with what llhttp saw.

import type { ParseError } from '../errors.ts';
import type { Http1Limits } from '../limits.ts';
import type { RequestHandler, RequestHead, ResponseHandler, ResponseHead } from '../message.ts';
import { RequestParser } from '../request-parser.ts';
import { ResponseParser } from '../response-parser.ts';

export interface CollectedRequest {
  head: RequestHead;
  body: Buffer;
  trailers: string[];
  /** Offset in the input just past this message. */
  end: number;
}

export interface RequestRun {
  messages: CollectedRequest[];
  /** 'clean': the input ended between messages; 'incomplete': inside one. */
  outcome: 'clean' | 'incomplete' | 'error';
  error: ParseError | undefined;
}

class RequestCollector implements RequestHandler {
  messages: CollectedRequest[] = [];
  head: RequestHead | undefined;
  chunks: Buffer[] = [];
  trailers: string[] = [];

  onHead(head: RequestHead): void {
    this.head = head;
    this.chunks = [];
    this.trailers = [];
  }

  onBody(data: Buffer, start: number, end: number): void {
    if (end <= start) throw new Error('onBody with an empty range');
    this.chunks.push(Buffer.from(data.subarray(start, end)));
  }

  onTrailers(trailers: string[]): void {
    this.trailers = trailers;
  }

  onMessageComplete(): void {
    if (this.head === undefined) throw new Error('onMessageComplete without onHead');
    this.messages.push({ head: this.head, body: Buffer.concat(this.chunks), trailers: this.trailers, end: -1 });
    this.head = undefined;
  }
}

/** Cut points: pieces are input[cuts[k], cuts[k+1]). */
export type Cuts = readonly number[];

export function wholeCuts(length: number): Cuts {
  return [0, length];
}

export function byteCuts(length: number): Cuts {
  return Array.from({ length: length + 1 }, (_, i) => i);
}

/** A small deterministic PRNG (mulberry32) so split patterns are reproducible from a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random cut points, each piece 1..maxPiece bytes. */
export function randomCuts(length: number, random: () => number, maxPiece = 16): Cuts {
  const cuts = [0];
  let at = 0;
  while (at < length) {
    at = Math.min(length, at + 1 + Math.floor(random() * maxPiece));
    cuts.push(at);
  }
  if (length === 0) cuts.push(0);
  return cuts;
}

/** Runs `input` through one RequestParser, fed piece by piece, continuing after each complete message. */
export function parseRequests(input: Buffer, cuts: Cuts = wholeCuts(input.length), limits?: Partial<Http1Limits>): RequestRun {
  const collector = new RequestCollector();
  const parser = new RequestParser(collector, limits);
  for (let k = 0; k + 1 < cuts.length; k++) {
    let pos = cuts[k]!;
    const end = cuts[k + 1]!;
    while (pos < end) {
      const outcome = parser.execute(input, pos, end);
      if (outcome.kind === 'error') return { messages: collector.messages, outcome: 'error', error: outcome.error };
      if (outcome.kind === 'need-more') {
        if (outcome.consumed !== end - pos) throw new Error('need-more must consume everything');
        break;
      }
      if (outcome.kind !== 'complete') throw new Error(`request parser returned ${outcome.kind}`);
      pos += outcome.consumed;
      collector.messages[collector.messages.length - 1]!.end = pos;
    }
  }
  return { messages: collector.messages, outcome: parser.atMessageBoundary ? 'clean' : 'incomplete', error: undefined };
}

export interface CollectedResponse {
  informational: ResponseHead[];
  head: ResponseHead;
  body: Buffer;
  trailers: string[];
  end: number;
}

export interface ResponseRun {
  responses: CollectedResponse[];
  /** 'clean': every expected response completed; 'upgrade': a 101 ended the HTTP part at `upgradeAt`. */
  outcome: 'clean' | 'incomplete' | 'upgrade' | 'error';
  error: ParseError | undefined;
  upgradeAt: number;
}

class ResponseCollector implements ResponseHandler {
  responses: CollectedResponse[] = [];
  informational: ResponseHead[] = [];
  head: ResponseHead | undefined;
  chunks: Buffer[] = [];
  trailers: string[] = [];

  onInformational(head: ResponseHead): void {
    this.informational.push(head);
  }

  onHead(head: ResponseHead): void {
    this.head = head;
    this.chunks = [];
    this.trailers = [];
  }

  onBody(data: Buffer, start: number, end: number): void {
    if (end <= start) throw new Error('onBody with an empty range');
    this.chunks.push(Buffer.from(data.subarray(start, end)));
  }

  onTrailers(trailers: string[]): void {
    this.trailers = trailers;
  }

  onMessageComplete(): void {
    if (this.head === undefined) throw new Error('onMessageComplete without onHead');
    this.responses.push({ informational: this.informational, head: this.head, body: Buffer.concat(this.chunks), trailers: this.trailers, end: -1 });
    this.informational = [];
    this.head = undefined;
  }
}

/**
 * Runs `input` as the responses to requests with `methods` (one each, in
 * order); `eof` says the connection closed after the input.
 */
export function parseResponses(input: Buffer, methods: readonly string[], cuts: Cuts = wholeCuts(input.length), eof = true, limits?: Partial<Http1Limits>): ResponseRun {
  const collector = new ResponseCollector();
  const parser = new ResponseParser(collector, limits);
  let next = 0;
  if (methods.length > 0) parser.expectResponse(methods[next++]!);
  const fail = (error: ParseError): ResponseRun => ({ responses: collector.responses, outcome: 'error', error, upgradeAt: -1 });
  for (let k = 0; k + 1 < cuts.length; k++) {
    let pos = cuts[k]!;
    const end = cuts[k + 1]!;
    while (pos < end) {
      const outcome = parser.execute(input, pos, end);
      if (outcome.kind === 'error') return fail(outcome.error);
      if (outcome.kind === 'need-more') break;
      pos += outcome.consumed;
      if (outcome.kind === 'upgrade') return { responses: collector.responses, outcome: 'upgrade', error: undefined, upgradeAt: pos };
      collector.responses[collector.responses.length - 1]!.end = pos;
      if (next < methods.length) parser.expectResponse(methods[next++]!);
    }
  }
  if (eof) {
    const error = parser.endOfStream();
    if (error !== undefined) return fail(error);
    const last = collector.responses[collector.responses.length - 1];
    if (last !== undefined && last.end === -1) last.end = input.length;
  }
  return { responses: collector.responses, outcome: parser.idle ? 'clean' : 'incomplete', error: undefined, upgradeAt: -1 };
}
