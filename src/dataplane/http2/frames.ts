// HTTP/2 framing constants and the 9-byte frame header (RFC 9113 §4.1, §6,
// §7, §11.3): pure byte work for Martello's own HTTP/2 server.

export const FRAME_HEADER_BYTES = 9;
/** The client's connection preface (RFC 9113 §3.4). */
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

// Frame types.
export const DATA = 0x0;
export const HEADERS = 0x1;
export const PRIORITY = 0x2;
export const RST_STREAM = 0x3;
export const SETTINGS = 0x4;
export const PUSH_PROMISE = 0x5;
export const PING = 0x6;
export const GOAWAY = 0x7;
export const WINDOW_UPDATE = 0x8;
export const CONTINUATION = 0x9;

// Flags.
export const FLAG_END_STREAM = 0x1;
export const FLAG_ACK = 0x1;
export const FLAG_END_HEADERS = 0x4;
export const FLAG_PADDED = 0x8;
export const FLAG_PRIORITY = 0x20;

// Error codes (§7).
export const NO_ERROR = 0x0;
export const PROTOCOL_ERROR = 0x1;
export const INTERNAL_ERROR = 0x2;
export const FLOW_CONTROL_ERROR = 0x3;
export const SETTINGS_TIMEOUT = 0x4;
export const STREAM_CLOSED = 0x5;
export const FRAME_SIZE_ERROR = 0x6;
export const REFUSED_STREAM = 0x7;
export const CANCEL = 0x8;
export const COMPRESSION_ERROR = 0x9;
export const ENHANCE_YOUR_CALM = 0xb;
export const HTTP_1_1_REQUIRED = 0xd;

// Settings (§6.5.2).
export const SETTINGS_HEADER_TABLE_SIZE = 0x1;
export const SETTINGS_ENABLE_PUSH = 0x2;
export const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
export const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
export const SETTINGS_MAX_FRAME_SIZE = 0x5;
export const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;

export const DEFAULT_WINDOW = 65_535;
export const MAX_WINDOW = 2 ** 31 - 1;
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const MAX_FRAME_SIZE_LIMIT = 2 ** 24 - 1;

/** Writes a frame header at `offset`; returns the offset after it. */
export function writeFrameHeader(buf: Buffer, offset: number, length: number, type: number, flags: number, streamId: number): number {
  buf[offset] = (length >>> 16) & 0xff;
  buf[offset + 1] = (length >>> 8) & 0xff;
  buf[offset + 2] = length & 0xff;
  buf[offset + 3] = type;
  buf[offset + 4] = flags;
  buf.writeUInt32BE(streamId >>> 0, offset + 5);
  return offset + FRAME_HEADER_BYTES;
}

/** A whole frame whose payload is `payload` (copied). */
export function frame(type: number, flags: number, streamId: number, payload?: Buffer): Buffer {
  const len = payload === undefined ? 0 : payload.length;
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + len);
  writeFrameHeader(buf, 0, len, type, flags, streamId);
  if (payload !== undefined) payload.copy(buf, FRAME_HEADER_BYTES);
  return buf;
}

/** RST_STREAM for `streamId` with `code`. */
export function rstStreamFrame(streamId: number, code: number): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeFrameHeader(buf, 0, 4, RST_STREAM, 0, streamId);
  buf.writeUInt32BE(code, FRAME_HEADER_BYTES);
  return buf;
}

/** WINDOW_UPDATE for `streamId` (0: the connection). */
export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeFrameHeader(buf, 0, 4, WINDOW_UPDATE, 0, streamId);
  buf.writeUInt32BE(increment, FRAME_HEADER_BYTES);
  return buf;
}

/** GOAWAY with the last stream id processed, an error code and optional debug text. */
export function goawayFrame(lastStreamId: number, code: number, debug = ''): Buffer {
  const extra = Buffer.from(debug, 'latin1');
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8 + extra.length);
  writeFrameHeader(buf, 0, 8 + extra.length, GOAWAY, 0, 0);
  buf.writeUInt32BE(lastStreamId, FRAME_HEADER_BYTES);
  buf.writeUInt32BE(code, FRAME_HEADER_BYTES + 4);
  extra.copy(buf, FRAME_HEADER_BYTES + 8);
  return buf;
}

/** SETTINGS with the given [id, value] pairs. */
export function settingsFrame(settings: readonly (readonly [number, number])[]): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 6 * settings.length);
  writeFrameHeader(buf, 0, 6 * settings.length, SETTINGS, 0, 0);
  let pos = FRAME_HEADER_BYTES;
  for (const [id, value] of settings) {
    buf.writeUInt16BE(id, pos);
    buf.writeUInt32BE(value, pos + 2);
    pos += 6;
  }
  return buf;
}

export const SETTINGS_ACK_FRAME: Buffer = frame(SETTINGS, FLAG_ACK, 0);
