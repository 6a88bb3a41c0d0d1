// Martello's own HTTP/2 server connection (RFC 9113), the engine's
// replacement for node:http2 on client connections (--h2-server martello):
// frames are read from the TLS (or h2c) socket's 'data' events, header blocks
// decoded with src/dataplane/http2/hpack.ts, every request checked by
// checkRequestFields, and each stream handed to the handler as an
// H2ServerStream (h2-server-stream.ts), which offers H2ClientStream the same calls node:http2's
// streams do (engine/h2-stream-port.ts). Why: node:http2 costs ≈ 20 µs per
// request on this machine before any proxying (an Http2Stream is a Duplex
// with its own state objects, header objects, ticks and timers); this
// connection costs a few (docs/benchmarks.md, "Martello's own HTTP/2 server").
//
// Writes: frames are queued on the connection and written once per read
// (at its end) or once per event-loop turn (setImmediate, for answers that
// arrive from upstreams), concatenated when small, corked when large.
//
// Flow control: the connection window is credited back as DATA arrives (the
// streams bound what is buffered); a stream's window only as its body is
// consumed, so a paused stream stops its client. Sending respects the
// client's windows; a stream whose data waits reports write() false and
// 'drain' later. While the socket does not take our writes, reading stops
// (so PING, SETTINGS and resets cannot pile up answers).
//
// Limits (docs/edge.md, "HTTP/2 limits"): concurrent streams (beyond:
// REFUSED_STREAM; too many refusals: GOAWAY), header list size and count
// (431), malformed requests and other stream errors (counted; too many:
// GOAWAY), premature resets (the rapid-reset rule, as H2SessionGuard applies
// to node:http2), CONTINUATION bytes, header timeout and idle timeout on the
// engine's deadline sweep.

import type { Socket } from 'node:net';
import type { DeadlineSweep, Expiring } from './deadline-sweep.ts';
import { H2ServerStream } from './h2-server-stream.ts';
export { H2ServerStream };
import { DECODE_ERROR, DECODE_OK, encodedFieldsBound, encodeFields, HpackDecoder } from '../http2/hpack.ts';
import {
  CLIENT_PREFACE, COMPRESSION_ERROR, CONTINUATION, DATA, DEFAULT_MAX_FRAME_SIZE, DEFAULT_WINDOW, ENHANCE_YOUR_CALM,
  FLAG_ACK, FLAG_END_HEADERS, FLAG_END_STREAM, FLAG_PADDED, FLAG_PRIORITY, FLOW_CONTROL_ERROR, FRAME_HEADER_BYTES, FRAME_SIZE_ERROR,
  GOAWAY, goawayFrame, HEADERS, MAX_FRAME_SIZE_LIMIT, MAX_WINDOW, NO_ERROR, PING, PRIORITY, PROTOCOL_ERROR, PUSH_PROMISE,
  REFUSED_STREAM, RST_STREAM, rstStreamFrame, SETTINGS, SETTINGS_ACK_FRAME, SETTINGS_ENABLE_PUSH, SETTINGS_HEADER_TABLE_SIZE,
  SETTINGS_INITIAL_WINDOW_SIZE, SETTINGS_MAX_CONCURRENT_STREAMS, SETTINGS_MAX_FRAME_SIZE, SETTINGS_MAX_HEADER_LIST_SIZE, settingsFrame,
  STREAM_CLOSED, WINDOW_UPDATE, windowUpdateFrame, writeFrameHeader,
} from '../http2/frames.ts';
import { checkRequestFields, checkTrailerFields, type RequestPseudo } from '../http2/request-fields.ts';
import { PrematureResetRule } from '../proxy/h2-session-guard.ts';

export interface H2ConnectionSettings {
  readonly maxConcurrentStreams: number;
  /** Our SETTINGS_INITIAL_WINDOW_SIZE: what a client may send per stream unread. */
  readonly streamWindowSize: number;
  /** Our connection receive window. */
  readonly connectionWindowSize: number;
  readonly maxHeaderListSize: number;
  /** Regular header fields per request, at most. */
  readonly maxHeaderFields: number;
  readonly maxInvalidFrames: number;
  readonly maxRejectedStreams: number;
  readonly prematureResetStreams: number;
  readonly prematureResetLifetimeMs: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

/** Why a connection was refused (metrics, as H2SessionGuard's reasons). */
export type H2ConnectionRefusal = 'header_timeout' | 'premature_resets' | 'invalid_frames' | 'rejected_streams';

export interface H2ConnectionHandler {
  /** A new request (its fields checked); `endStream`: no body follows. */
  stream(conn: H2Connection, stream: H2ServerStream, fields: string[], pseudo: RequestPseudo, endStream: boolean): void;
  /** The connection was refused (GOAWAY) for abuse or a header timeout. */
  refused?(conn: H2Connection, reason: H2ConnectionRefusal): void;
  /** The socket closed; every stream is closed already. */
  closed(conn: H2Connection): void;
  /** Handling the connection threw (a bug, not a client error); it is being destroyed. */
  failed?(conn: H2Connection, err: unknown): void;
}

const kConnection = Symbol('martello.h2Connection');
type TaggedSocket = Socket & { [kConnection]?: H2Connection };

/** Payload bytes per DATA frame we send (the minimum every peer accepts). */
const SEND_FRAME_BYTES = DEFAULT_MAX_FRAME_SIZE;
/** Flushes below this size are one concatenated write; above, a corked writev. */
const CONCAT_BYTES = 16 * 1024;
/** CONTINUATION frames per header block, at most (empty ones cost a peer nothing to send). */
const MAX_CONTINUATIONS = 64;
/** Stream ids reset by us that are remembered (their late frames are discarded, not errors). */
const RECENT_RESETS = 256;
/** After GOAWAY, the socket is destroyed if it has not closed by then. */
const CLOSE_GRACE_MS = 2_000;

const STATE_PREFACE = 0;
const STATE_OPEN = 1;
/** GOAWAY sent: open streams finish, new ones are refused. */
const STATE_DRAINING = 2;
/** Closed or closing for good: nothing more is read. */
const STATE_DEAD = 3;

const EMPTY = Buffer.alloc(0);

export class H2Connection implements Expiring {
  deadline = Infinity;
  readonly socket: Socket;
  /** What the handler keeps per connection (H2StreamServer's routing facts). */
  facts: unknown = null;
  readonly #settings: H2ConnectionSettings;
  readonly #handler: H2ConnectionHandler;
  readonly #sweep: DeadlineSweep;
  readonly #decoder: HpackDecoder;
  readonly #streams = new Map<number, H2ServerStream>();
  readonly #resets: PrematureResetRule;
  /** Streams reset by us lately (insertion order: the oldest is dropped first). */
  readonly #recentlyReset = new Set<number>();
  #state = STATE_PREFACE;
  /**
   * Bytes of an unfinished frame (or preface), kept as the chunks they came
   * in and joined once #needed bytes are there: a frame trickled in tiny
   * reads costs one copy, not one per read.
   */
  #pending: Buffer[] | null = null;
  #pendingBytes = 0;
  #needed = 0;
  /** Highest client stream id seen. */
  #lastStreamId = 0;
  /** A header block waiting for CONTINUATION. */
  #blockId = 0;
  #blockFlags = 0;
  #blockParts: Buffer[] | null = null;
  #blockBytes = 0;
  #blockFrames = 0;
  #blockSince = 0;
  /** Highest stream id delivered to the handler: GOAWAY's last-stream-id. */
  #lastDelivered = 0;
  #invalid = 0;
  #rejected = 0;
  // Flow control, send side (the client's windows).
  #sendWindow = DEFAULT_WINDOW;
  #peerInitialWindow = DEFAULT_WINDOW;
  /** Streams with response data waiting for window. */
  readonly #waiting: H2ServerStream[] = [];
  // Flow control, receive side.
  #recvWindow: number;
  #recvUnacked = 0;
  // Output.
  #out: Buffer[] = [];
  #outBytes = 0;
  #reading = false;
  #flushScheduled = false;
  #blocked = false;
  /** Streams whose 'close' is due (emitted after the writes, never inside a caller's call). */
  #closing: H2ServerStream[] = [];
  #closeAfterFlush = false;
  #refusal: H2ConnectionRefusal | null = null;

  constructor(socket: Socket, settings: H2ConnectionSettings, handler: H2ConnectionHandler, sweep: DeadlineSweep) {
    this.socket = socket;
    this.#settings = settings;
    this.#handler = handler;
    this.#sweep = sweep;
    this.#decoder = new HpackDecoder(4096, settings.maxHeaderListSize);
    this.#resets = new PrematureResetRule(settings.prematureResetStreams, settings.prematureResetLifetimeMs);
    this.#recvWindow = Math.max(DEFAULT_WINDOW, settings.connectionWindowSize);
    const tagged = socket as TaggedSocket;
    tagged[kConnection] = this;
    socket.on('data', onSocketData);
    socket.on('drain', onSocketDrain);
    socket.on('close', onSocketClose);
    socket.on('error', ignoreError);
    socket.setNoDelay?.(true);
    this.#queue(settingsFrame([
      [SETTINGS_HEADER_TABLE_SIZE, 4096],
      [SETTINGS_ENABLE_PUSH, 0],
      [SETTINGS_MAX_CONCURRENT_STREAMS, settings.maxConcurrentStreams],
      [SETTINGS_INITIAL_WINDOW_SIZE, settings.streamWindowSize],
      [SETTINGS_MAX_FRAME_SIZE, DEFAULT_MAX_FRAME_SIZE],
      [SETTINGS_MAX_HEADER_LIST_SIZE, settings.maxHeaderListSize],
    ]));
    if (this.#recvWindow > DEFAULT_WINDOW) this.#queue(windowUpdateFrame(0, this.#recvWindow - DEFAULT_WINDOW));
    // Until the first request, the idle deadline (as node:http2's session timeout).
    this.deadline = sweep.refresh() + (settings.keepAliveTimeoutMs > 0 ? settings.keepAliveTimeoutMs : Infinity);
    sweep.add(this);
    this.#scheduleFlush();
  }

  /** Graceful close (drain): GOAWAY, open streams finish, then the socket closes. */
  close(): void {
    if (this.#state >= STATE_DRAINING) return;
    this.#goaway(NO_ERROR, '');
  }

  /** Closes the socket now; open streams are reset. */
  destroy(): void {
    this.socket.destroy();
  }

  /**
   * Reading or writing threw: a bug, never a client's doing (every client
   * error has its answer above). Reported, and only this connection pays:
   * it is destroyed, the process keeps serving.
   */
  crashed(err: unknown): void {
    this.#state = STATE_DEAD;
    this.#reading = false;
    try {
      this.#handler.failed?.(this, err);
    } finally {
      this.socket.destroy();
    }
  }

  // Reading ------------------------------------------------------------------------------------

  /** socket 'data'. */
  onData(chunk: Buffer): void {
    if (this.#state === STATE_DEAD) return;
    let buf = chunk;
    const pending = this.#pending;
    if (pending !== null) {
      pending.push(chunk);
      this.#pendingBytes += chunk.length;
      if (this.#pendingBytes < this.#needed) return;
      buf = Buffer.concat(pending, this.#pendingBytes);
      this.#pending = null;
    }
    this.#reading = true;
    let pos = 0;
    if (this.#state === STATE_PREFACE) {
      const n = Math.min(buf.length, CLIENT_PREFACE.length);
      if (buf.compare(CLIENT_PREFACE, 0, n, 0, n) !== 0) {
        // Not HTTP/2 (RFC 9113 §3.4): a connection error, no GOAWAY needed but harmless.
        this.#fail(PROTOCOL_ERROR, 'bad preface');
        this.#endRead();
        return;
      }
      if (buf.length < CLIENT_PREFACE.length) {
        this.#keep(buf, CLIENT_PREFACE.length);
        this.#endRead();
        return;
      }
      pos = CLIENT_PREFACE.length;
      this.#state = STATE_OPEN;
    }
    while (buf.length - pos >= FRAME_HEADER_BYTES && this.#state !== STATE_DEAD) {
      const length = (buf[pos]! << 16) | (buf[pos + 1]! << 8) | buf[pos + 2]!;
      if (length > DEFAULT_MAX_FRAME_SIZE) {
        this.#fail(FRAME_SIZE_ERROR, 'frame larger than SETTINGS_MAX_FRAME_SIZE');
        break;
      }
      const end = pos + FRAME_HEADER_BYTES + length;
      if (end > buf.length) break;
      const type = buf[pos + 3]!;
      const flags = buf[pos + 4]!;
      const id = buf.readUInt32BE(pos + 5) & 0x7fffffff;
      const start = pos + FRAME_HEADER_BYTES;
      pos = end;
      this.#frame(buf, type, flags, id, start, end);
    }
    if (pos < buf.length && this.#state !== STATE_DEAD) {
      const rest = pos === 0 ? buf : buf.subarray(pos);
      // A whole frame header tells the frame's size; else the header itself is what is needed.
      const needed = rest.length >= FRAME_HEADER_BYTES ? FRAME_HEADER_BYTES + ((rest[0]! << 16) | (rest[1]! << 8) | rest[2]!) : FRAME_HEADER_BYTES;
      this.#keep(rest, needed);
    }
    this.#endRead();
  }

  /** Keeps `rest` until `needed` bytes are there. */
  #keep(rest: Buffer, needed: number): void {
    this.#pending = [rest];
    this.#pendingBytes = rest.length;
    this.#needed = needed;
  }

  #endRead(): void {
    this.#reading = false;
    this.#flush();
  }

  #frame(buf: Buffer, type: number, flags: number, id: number, start: number, end: number): void {
    if (this.#blockParts !== null && type !== CONTINUATION) {
      this.#fail(PROTOCOL_ERROR, 'frame inside a header block');
      return;
    }
    switch (type) {
      case DATA:
        this.#data(buf, flags, id, start, end);
        return;
      case HEADERS:
        this.#headers(buf, flags, id, start, end);
        return;
      case PRIORITY:
        if (id === 0) this.#fail(PROTOCOL_ERROR, 'PRIORITY on stream 0');
        else if (end - start !== 5) this.#streamError(id, FRAME_SIZE_ERROR);
        return;
      case RST_STREAM:
        this.#rstStream(buf, id, start, end);
        return;
      case SETTINGS:
        this.#settingsFrame(buf, flags, id, start, end);
        return;
      case PUSH_PROMISE:
        this.#fail(PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
        return;
      case PING:
        if (id !== 0) this.#fail(PROTOCOL_ERROR, 'PING on a stream');
        else if (end - start !== 8) this.#fail(FRAME_SIZE_ERROR, 'PING of the wrong size');
        else if ((flags & FLAG_ACK) === 0) {
          const pong = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8);
          writeFrameHeader(pong, 0, 8, PING, FLAG_ACK, 0);
          buf.copy(pong, FRAME_HEADER_BYTES, start, end);
          this.#queue(pong);
        }
        return;
      case GOAWAY:
        if (id !== 0) this.#fail(PROTOCOL_ERROR, 'GOAWAY on a stream');
        else {
          // The client will open no more streams: finish the open ones, then close.
          if (this.#state === STATE_OPEN) this.#state = STATE_DRAINING;
          if (this.#streams.size === 0) this.#closeAfterFlush = true;
        }
        return;
      case WINDOW_UPDATE:
        this.#windowUpdate(buf, id, start, end);
        return;
      case CONTINUATION:
        this.#continuation(buf, flags, id, start, end);
        return;
      default:
        // Unknown frame types are ignored (§4.1).
        return;
    }
  }

  #settingsFrame(buf: Buffer, flags: number, id: number, start: number, end: number): void {
    if (id !== 0) {
      this.#fail(PROTOCOL_ERROR, 'SETTINGS on a stream');
      return;
    }
    if ((flags & FLAG_ACK) !== 0) {
      if (end !== start) this.#fail(FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if ((end - start) % 6 !== 0) {
      this.#fail(FRAME_SIZE_ERROR, 'SETTINGS of the wrong size');
      return;
    }
    for (let p = start; p < end; p += 6) {
      const key = buf.readUInt16BE(p);
      const value = buf.readUInt32BE(p + 2);
      switch (key) {
        case SETTINGS_ENABLE_PUSH:
          if (value > 1) return this.#fail(PROTOCOL_ERROR, 'bad SETTINGS_ENABLE_PUSH');
          break;
        case SETTINGS_INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) return this.#fail(FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE too large');
          const delta = value - this.#peerInitialWindow;
          this.#peerInitialWindow = value;
          for (const stream of this.#streams.values()) {
            stream.sendWindow += delta;
            if (stream.sendWindow > MAX_WINDOW) return this.#fail(FLOW_CONTROL_ERROR, 'stream window overflow');
          }
          if (delta > 0) this.#pump();
          break;
        }
        case SETTINGS_MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_FRAME_SIZE_LIMIT) return this.#fail(PROTOCOL_ERROR, 'bad SETTINGS_MAX_FRAME_SIZE');
          break;
        default:
          // Header table size (our encoder keeps no table), concurrency of
          // pushes, header list size (advisory), unknown settings: nothing to do.
          break;
      }
    }
    this.#queue(SETTINGS_ACK_FRAME);
  }

  #headers(buf: Buffer, flags: number, id: number, start: number, end: number): void {
    if (id === 0 || (id & 1) === 0) {
      this.#fail(PROTOCOL_ERROR, 'HEADERS on an invalid stream id');
      return;
    }
    let s = start;
    let e = end;
    if ((flags & FLAG_PADDED) !== 0) {
      if (e - s < 1) return this.#fail(FRAME_SIZE_ERROR, 'HEADERS too short');
      const pad = buf[s]!;
      s++;
      if (pad > e - s) return this.#fail(PROTOCOL_ERROR, 'HEADERS padding too long');
      e -= pad;
    }
    let selfDependent = false;
    if ((flags & FLAG_PRIORITY) !== 0) {
      if (e - s < 5) return this.#fail(FRAME_SIZE_ERROR, 'HEADERS too short');
      selfDependent = (buf.readUInt32BE(s) & 0x7fffffff) === id;
      s += 5;
    }
    if ((flags & FLAG_END_HEADERS) !== 0) {
      this.#headerBlock(id, flags, buf, s, e, selfDependent);
      return;
    }
    this.#blockId = id;
    this.#blockFlags = flags | (selfDependent ? 0x100 : 0);
    this.#blockParts = [Buffer.from(buf.subarray(s, e))];
    this.#blockBytes = e - s;
    this.#blockFrames = 0;
    this.#blockSince = this.#sweep.now;
    this.#rearm();
  }

  #continuation(buf: Buffer, flags: number, id: number, start: number, end: number): void {
    const parts = this.#blockParts;
    if (parts === null || id !== this.#blockId) {
      this.#fail(PROTOCOL_ERROR, 'CONTINUATION without its HEADERS');
      return;
    }
    this.#blockBytes += end - start;
    if (++this.#blockFrames > MAX_CONTINUATIONS || this.#blockBytes > this.#settings.maxHeaderListSize + 1024) {
      this.#fail(ENHANCE_YOUR_CALM, 'header block too large');
      return;
    }
    parts.push(Buffer.from(buf.subarray(start, end)));
    if ((flags & FLAG_END_HEADERS) === 0) return;
    const block = Buffer.concat(parts);
    const blockFlags = this.#blockFlags;
    this.#blockParts = null;
    this.#rearm();
    this.#headerBlock(id, blockFlags & 0xff, block, 0, block.length, (blockFlags & 0x100) !== 0);
  }

  /** A complete header block for stream `id`: a new request, or a request's trailers. */
  #headerBlock(id: number, flags: number, buf: Buffer, start: number, end: number, selfDependent: boolean): void {
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    const fields: string[] = [];
    // Always decoded, even for a stream about to be refused: the table must stay in step.
    const result = this.#decoder.decode(buf, start, end, fields);
    if (result === DECODE_ERROR) {
      this.#fail(COMPRESSION_ERROR, 'HPACK decoding failed');
      return;
    }
    const known = this.#streams.get(id);
    if (known !== undefined) {
      // Trailers (§8.1): they end the request; Martello does not forward request trailers.
      if (known.remoteEnded) return this.#streamError(id, STREAM_CLOSED);
      if (!endStream || checkTrailerFields(fields) !== null) return this.#streamError(id, PROTOCOL_ERROR);
      known.receiveEnd();
      return;
    }
    if (id <= this.#lastStreamId) {
      // Late trailers of a stream we reset are discarded; anything else reuses a stream id (§5.1.1).
      if (!this.#recentlyReset.has(id)) this.#fail(PROTOCOL_ERROR, 'HEADERS on a closed stream');
      return;
    }
    this.#lastStreamId = id;
    if (this.#state !== STATE_OPEN) {
      // After our GOAWAY: streams above its last id are not processed.
      if (this.#state === STATE_DRAINING) this.resetStream(id, REFUSED_STREAM);
      return;
    }
    if (selfDependent) {
      this.#streamError(id, PROTOCOL_ERROR);
      return;
    }
    if (this.#streams.size >= this.#settings.maxConcurrentStreams) {
      // Not counted as an invalid frame: the client may not have seen our SETTINGS yet.
      this.resetStream(id, REFUSED_STREAM);
      if (++this.#rejected > this.#settings.maxRejectedStreams) this.#refuse('rejected_streams');
      return;
    }
    if (result !== DECODE_OK || fields.length > 2 * (this.#settings.maxHeaderFields + 4)) {
      // Over h2MaxHeaderListSize or h2MaxHeaderFields: refused as nghttp2 refuses it.
      this.resetStream(id, ENHANCE_YOUR_CALM);
      return;
    }
    const pseudo: RequestPseudo = { method: '', path: '', contentLength: -1 };
    const problem = checkRequestFields(fields, pseudo);
    if (problem !== null) {
      this.#streamError(id, PROTOCOL_ERROR);
      return;
    }
    if (pseudo.method === 'CONNECT') {
      this.#localAnswer(id, '405', endStream);
      return;
    }
    if (endStream && pseudo.contentLength > 0) {
      this.#streamError(id, PROTOCOL_ERROR);
      return;
    }
    const stream = new H2ServerStream(this, id, this.#peerInitialWindow, this.#settings.streamWindowSize, pseudo.contentLength, this.#sweep.now);
    if (endStream) stream.remoteEnded = true;
    this.#streams.set(id, stream);
    this.#lastDelivered = id;
    if (this.#streams.size === 1) this.#rearm();
    this.#handler.stream(this, stream, fields, pseudo, endStream);
  }

  #data(buf: Buffer, flags: number, id: number, start: number, end: number): void {
    if (id === 0) return this.#fail(PROTOCOL_ERROR, 'DATA on stream 0');
    const length = end - start;
    this.#recvWindow -= length;
    if (this.#recvWindow < 0) return this.#fail(FLOW_CONTROL_ERROR, 'connection window exceeded');
    // The connection's credit comes back at once: the streams bound what is buffered.
    this.#recvUnacked += length;
    if (this.#recvUnacked >= this.#settings.connectionWindowSize / 2 || this.#recvUnacked >= 1 << 20) {
      this.#queue(windowUpdateFrame(0, this.#recvUnacked));
      this.#recvWindow += this.#recvUnacked;
      this.#recvUnacked = 0;
    }
    let s = start;
    let e = end;
    if ((flags & FLAG_PADDED) !== 0) {
      if (e - s < 1) return this.#fail(FRAME_SIZE_ERROR, 'DATA too short');
      const pad = buf[s]!;
      s++;
      if (pad > e - s) return this.#fail(PROTOCOL_ERROR, 'DATA padding too long');
      e -= pad;
    }
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (id > this.#lastStreamId) return this.#fail(PROTOCOL_ERROR, 'DATA on an idle stream');
      // A stream that ended or that we reset: its data may still be in flight
      // and is ignored (§5.1, §6.4; its window came back above).
      return;
    }
    if (stream.remoteEnded) {
      this.#streamError(id, STREAM_CLOSED);
      return;
    }
    if (length > stream.recvCredit) {
      this.#streamError(id, FLOW_CONTROL_ERROR);
      return;
    }
    stream.recvCredit -= length;
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    if (e === s && !endStream && length === 0 && ++this.#invalid > this.#settings.maxInvalidFrames) {
      // Empty DATA frames cost a client nothing and us a wake-up each.
      this.#refuse('invalid_frames');
      return;
    }
    // Padding is not body: its window comes back now.
    if (length > e - s) stream.consumed(length - (e - s));
    stream.receiveData(e > s ? buf.subarray(s, e) : EMPTY, endStream);
  }

  #rstStream(buf: Buffer, id: number, start: number, end: number): void {
    if (end - start !== 4) return this.#fail(FRAME_SIZE_ERROR, 'RST_STREAM of the wrong size');
    if (id === 0 || id > this.#lastStreamId) return this.#fail(PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
    const stream = this.#streams.get(id);
    if (stream === undefined) return;
    const code = buf.readUInt32BE(start);
    stream.resetByPeer(code);
    if (this.#resets.streamClosed(stream.openedAt, this.#sweep.refresh(), stream.headersSent)) this.#refuse('premature_resets');
  }

  #windowUpdate(buf: Buffer, id: number, start: number, end: number): void {
    if (end - start !== 4) return this.#fail(FRAME_SIZE_ERROR, 'WINDOW_UPDATE of the wrong size');
    const increment = buf.readUInt32BE(start) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) return this.#fail(PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.#sendWindow += increment;
      if (this.#sendWindow > MAX_WINDOW) return this.#fail(FLOW_CONTROL_ERROR, 'connection window overflow');
      this.#pump();
      return;
    }
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (id > this.#lastStreamId) this.#fail(PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream');
      return;
    }
    if (increment === 0) return this.#streamError(id, PROTOCOL_ERROR);
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) return this.#streamError(id, FLOW_CONTROL_ERROR);
    if (stream.queuedBytes > 0) this.#pump();
  }

  // Answers without an exchange ---------------------------------------------------------------

  /** A bare status (405): one HEADERS frame; a body the client still sends is refused with RST_STREAM NO_ERROR. */
  #localAnswer(id: number, status: string, endStream: boolean): void {
    this.writeHeaderBlock(id, [':status', status, 'content-length', '0', 'server', 'martello'], true);
    if (!endStream) this.resetStream(id, NO_ERROR);
  }

  /** A stream error (§5.4.2): RST_STREAM; counted, and too many end the connection. */
  #streamError(id: number, code: number): void {
    const stream = this.#streams.get(id);
    if (stream !== undefined) stream.resetLocally(code);
    else this.resetStream(id, code);
    if (++this.#invalid > this.#settings.maxInvalidFrames) this.#refuse('invalid_frames');
  }

  // Connection end ---------------------------------------------------------------------------------

  /** A connection error (§5.4.1): GOAWAY with `code`, then close. */
  #fail(code: number, debug: string): void {
    if (this.#state === STATE_DEAD) return;
    this.#queue(goawayFrame(this.#lastDelivered, code, debug));
    this.#state = STATE_DEAD;
    for (const stream of this.#streams.values()) stream.resetLocally(-1);
    this.#closeAfterFlush = true;
    this.#scheduleFlush();
  }

  /**
   * The guard's answer to abuse: GOAWAY ENHANCE_YOUR_CALM and close (the
   * debug text is H2SessionGuard's). A header timeout is calmer (below).
   */
  #refuse(reason: H2ConnectionRefusal): void {
    if (this.#refusal !== null) return;
    this.#refusal = reason;
    this.#handler.refused?.(this, reason);
    this.#fail(ENHANCE_YOUR_CALM, reason === 'premature_resets' ? 'too many premature resets' : reason.replace('_', ' '));
  }

  /**
   * A header block unfinished at headersTimeoutMs (security.md R10): GOAWAY
   * NO_ERROR naming the last delivered stream; the streams in flight may
   * finish within one more deadline, then the connection is cut. The
   * unfinished stream is never served.
   */
  #refuseHeaderTimeout(now: number): void {
    this.#refusal = 'header_timeout';
    this.#handler.refused?.(this, 'header_timeout');
    this.#goaway(NO_ERROR, 'header timeout');
    this.deadline = now + this.#settings.headersTimeoutMs;
  }

  #goaway(code: number, debug: string): void {
    this.#queue(goawayFrame(this.#lastDelivered, code, debug));
    this.#state = STATE_DRAINING;
    if (this.#streams.size === 0) this.#closeAfterFlush = true;
    this.#scheduleFlush();
  }

  /** Expiring: the idle or header deadline, or the grace after GOAWAY. */
  expired(now: number): void {
    if (this.socket.destroyed) {
      this.#sweep.delete(this);
      return;
    }
    if (this.#state !== STATE_OPEN || this.#closeAfterFlush) {
      // The grace after GOAWAY is over.
      this.socket.destroy();
      return;
    }
    if (this.#blockParts !== null) {
      this.#refuseHeaderTimeout(now);
      return;
    }
    if (this.#streams.size === 0) {
      this.#goaway(NO_ERROR, '');
      this.deadline = now + CLOSE_GRACE_MS;
      return;
    }
    this.deadline = Infinity;
  }

  /** The deadline for the current phase. */
  #rearm(): void {
    if (this.#state !== STATE_OPEN || this.#closeAfterFlush) return;
    const now = this.#sweep.now;
    const s = this.#settings;
    if (this.#blockParts !== null) this.deadline = s.headersTimeoutMs > 0 ? this.#blockSince + s.headersTimeoutMs : Infinity;
    else if (this.#streams.size > 0) this.deadline = Infinity;
    else this.deadline = s.keepAliveTimeoutMs > 0 ? now + s.keepAliveTimeoutMs : Infinity;
  }

  /** socket 'close'. */
  onClose(): void {
    this.#state = STATE_DEAD;
    this.#sweep.delete(this);
    for (const stream of this.#streams.values()) stream.resetLocally(-1);
    this.#out = [];
    this.#outBytes = 0;
    this.#emitCloses();
    this.#handler.closed(this);
  }

  // Streams' calls ------------------------------------------------------------------------------

  /** A stream is done (both sides ended, or reset): its 'close' follows the next write. */
  streamDone(stream: H2ServerStream): void {
    if (this.#streams.get(stream.id) === stream) this.#streams.delete(stream.id);
    this.#closing.push(stream);
    if (this.#streams.size === 0) {
      if (this.#state === STATE_DRAINING) this.#closeAfterFlush = true;
      this.#rearm();
    }
    this.#scheduleFlush();
  }

  /** HEADERS (+ CONTINUATION) for `id`. */
  writeHeaderBlock(id: number, fields: readonly string[], endStream: boolean): void {
    const bound = encodedFieldsBound(fields);
    const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bound);
    const blockEnd = encodeFields(fields, buf, FRAME_HEADER_BYTES);
    const blockLength = blockEnd - FRAME_HEADER_BYTES;
    const flags = endStream ? FLAG_END_STREAM : 0;
    if (blockLength <= SEND_FRAME_BYTES) {
      writeFrameHeader(buf, 0, blockLength, HEADERS, flags | FLAG_END_HEADERS, id);
      this.#queue(blockEnd === buf.length ? buf : buf.subarray(0, blockEnd));
      return;
    }
    // A block larger than a frame: HEADERS then CONTINUATION frames.
    let from = FRAME_HEADER_BYTES;
    let first = true;
    while (from < blockEnd) {
      const n = Math.min(SEND_FRAME_BYTES, blockEnd - from);
      const last = from + n === blockEnd;
      const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
      writeFrameHeader(header, 0, n, first ? HEADERS : CONTINUATION, (first ? flags : 0) | (last ? FLAG_END_HEADERS : 0), id);
      this.#queue(header);
      this.#queue(buf.subarray(from, from + n));
      from += n;
      first = false;
    }
  }

  /**
   * DATA for `stream` from `chunk`, as far as the windows allow; returns the
   * bytes sent (the caller queues the rest). `end`: END_STREAM on the frame
   * that carries the last byte (or an empty frame when `chunk` is empty).
   */
  sendData(stream: H2ServerStream, chunk: Buffer, end: boolean): number {
    const total = chunk.length;
    if (total === 0) {
      if (end) this.#dataFrame(stream.id, EMPTY, true);
      return 0;
    }
    let sent = 0;
    while (sent < total) {
      const room = Math.min(stream.sendWindow, this.#sendWindow, SEND_FRAME_BYTES);
      if (room <= 0) break;
      const n = Math.min(room, total - sent);
      stream.sendWindow -= n;
      this.#sendWindow -= n;
      const last = sent + n === total;
      this.#dataFrame(stream.id, sent === 0 && last ? chunk : chunk.subarray(sent, sent + n), end && last);
      sent += n;
    }
    return sent;
  }

  #dataFrame(id: number, payload: Buffer, endStream: boolean): void {
    const n = payload.length;
    if (n > 0 && n <= 256) {
      // Small: header and payload in one buffer, one piece for the flush.
      const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + n);
      writeFrameHeader(buf, 0, n, DATA, endStream ? FLAG_END_STREAM : 0, id);
      payload.copy(buf, FRAME_HEADER_BYTES);
      this.#queue(buf);
      return;
    }
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    writeFrameHeader(header, 0, n, DATA, endStream ? FLAG_END_STREAM : 0, id);
    this.#queue(header);
    if (n > 0) this.#queue(payload);
  }

  /** A stream has data waiting for window. */
  waitForWindow(stream: H2ServerStream): void {
    if (!stream.waiting) {
      stream.waiting = true;
      this.#waiting.push(stream);
    }
  }

  /** Sends what waiting streams can now send. */
  #pump(): void {
    const waiting = this.#waiting;
    if (waiting.length === 0) return;
    const list = waiting.splice(0);
    for (const stream of list) {
      stream.waiting = false;
      stream.flushQueued();
      if (stream.queuedBytes > 0 && !stream.closed) this.waitForWindow(stream);
    }
  }

  /** Whether the socket is not taking writes (write() should report false). */
  get blocked(): boolean {
    return this.#blocked;
  }

  /**
   * RST_STREAM for `id`, which is remembered for a while: frames the client
   * sent before it saw the reset (DATA, trailers) are then discarded rather
   * than taken for a protocol error (RFC 9113 §5.1, "closed").
   */
  resetStream(id: number, code: number): void {
    this.#queue(rstStreamFrame(id, code));
    const recent = this.#recentlyReset;
    recent.add(id);
    if (recent.size > RECENT_RESETS) recent.delete(recent.values().next().value!);
  }

  /** Credits `n` consumed bytes of stream `id` back to the client. */
  credit(id: number, n: number): void {
    this.#queue(windowUpdateFrame(id, n));
  }

  // Writing ---------------------------------------------------------------------------------------

  #queue(buf: Buffer): void {
    this.#out.push(buf);
    this.#outBytes += buf.length;
    if (!this.#reading) this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#reading) return;
    this.#flushScheduled = true;
    pendingFlushes.push(this);
    if (!flushTimerSet) {
      flushTimerSet = true;
      setImmediate(flushAll);
    }
  }

  /** Writes what is queued, emits due 'close' events, ends the socket when it is time. */
  flush(): void {
    this.#flushScheduled = false;
    this.#flush();
  }

  #flush(): void {
    const socket = this.socket;
    if (this.#outBytes > 0 && !socket.destroyed) {
      const out = this.#out;
      let ok: boolean;
      if (out.length === 1) {
        ok = socket.write(out[0]!);
      } else if (this.#outBytes <= CONCAT_BYTES) {
        ok = socket.write(Buffer.concat(out, this.#outBytes));
      } else {
        socket.cork();
        ok = true;
        for (let i = 0; i < out.length; i++) ok = socket.write(out[i]!);
        socket.uncork();
      }
      this.#out = [];
      this.#outBytes = 0;
      if (!ok && !this.#blocked) {
        this.#blocked = true;
        socket.pause();
      }
    }
    this.#emitCloses();
    if (this.#closeAfterFlush && !socket.destroyed) {
      this.#closeAfterFlush = false;
      this.#state = STATE_DEAD;
      socket.end();
      this.deadline = this.#sweep.now + CLOSE_GRACE_MS;
    }
  }

  #emitCloses(): void {
    if (this.#closing.length === 0) return;
    const list = this.#closing;
    this.#closing = [];
    for (const stream of list) stream.emitClose();
  }

  /** socket 'drain'. */
  onDrain(): void {
    if (!this.#blocked) return;
    this.#blocked = false;
    if (this.#state !== STATE_DEAD) this.socket.resume();
    for (const stream of this.#streams.values()) stream.socketDrained();
    this.#flush();
  }
}

let pendingFlushes: H2Connection[] = [];
let flushTimerSet = false;

/** One setImmediate per event-loop turn flushes every connection that queued frames outside a read. */
function flushAll(): void {
  flushTimerSet = false;
  const list = pendingFlushes;
  pendingFlushes = [];
  for (const conn of list) {
    try {
      conn.flush();
    } catch (err) {
      conn.crashed(err);
    }
  }
}

function onSocketData(this: TaggedSocket, chunk: Buffer): void {
  const conn = this[kConnection];
  if (conn === undefined) return;
  try {
    conn.onData(chunk);
  } catch (err) {
    conn.crashed(err);
  }
}

function onSocketDrain(this: TaggedSocket): void {
  this[kConnection]?.onDrain();
}

function onSocketClose(this: TaggedSocket): void {
  const conn = this[kConnection];
  this[kConnection] = undefined;
  conn?.onClose();
}

function ignoreError(): void {}
