// WebSocket frame boundaries (RFC 6455 §5.2) in one direction of a tunnel,
// followed without copying or decoding anything: only frame headers are
// read (FIN/opcode byte, MASK bit and the 7-, 16- or 64-bit payload length,
// the masking key's 4 bytes); payloads are skipped by their length. This is
// what lets the drain put a close frame between two frames instead of in the
// middle of one (docs/websockets.md). Per read: one length comparison while
// inside a payload, a few byte reads per frame header. A header split across
// reads is collected in 14 bytes of its own.

/** Close code 1001 "going away" (RFC 6455 §7.4.1): the server is shutting down. */
export const GOING_AWAY = 1001;
const REASON = Buffer.from('going away', 'latin1');

export class FrameTracker {
  /** Bytes of the current frame's payload still to come. */
  #payloadLeft = 0;
  /** A frame header split across reads: its bytes so far. */
  #header: Buffer | null = null;
  #headerLen = 0;
  /** A payload length beyond 2^53 (not a WebSocket peer): boundaries are unknown from here on. */
  lost = false;
  /** A close frame went this way: the peer is closing already, no second one may follow. */
  closeSeen = false;

  /** The bytes so far end exactly at a frame boundary. */
  get atBoundary(): boolean {
    return this.#payloadLeft === 0 && this.#headerLen === 0 && !this.lost;
  }

  /**
   * Follows `chunk` from `start`. With `stop`, returns the offset just after
   * the first frame boundary reached (a frame ends there), else (or when no
   * frame ends in the chunk) chunk.length.
   */
  scan(chunk: Buffer, start: number, stop: boolean): number {
    const end = chunk.length;
    let pos = start;
    while (pos < end) {
      if (this.lost) return end;
      const left = this.#payloadLeft;
      if (left > 0) {
        const n = Math.min(left, end - pos);
        this.#payloadLeft = left - n;
        pos += n;
        if (stop && this.#payloadLeft === 0) return pos;
        continue;
      }
      if (this.#headerLen === 0 && end - pos >= 2) {
        const size = headerSize(chunk[pos + 1]!);
        if (end - pos >= size) {
          this.#frame(chunk, pos);
          pos += size;
          if (stop && this.#payloadLeft === 0) return pos;
          continue;
        }
      }
      // A header split across reads: collect it byte by byte.
      const header = (this.#header ??= Buffer.alloc(14));
      header[this.#headerLen++] = chunk[pos++]!;
      if (this.#headerLen >= 2 && this.#headerLen === headerSize(header[1]!)) {
        this.#headerLen = 0;
        this.#frame(header, 0);
        if (stop && this.#payloadLeft === 0) return pos;
      }
    }
    return end;
  }

  /** A complete header at buf[at...]: the payload that follows it. */
  #frame(buf: Buffer, at: number): void {
    if ((buf[at]! & 0x0f) === 0x8) this.closeSeen = true;
    const len7 = buf[at + 1]! & 0x7f;
    if (len7 < 126) {
      this.#payloadLeft = len7;
    } else if (len7 === 126) {
      this.#payloadLeft = buf.readUInt16BE(at + 2);
    } else {
      const high = buf.readUInt32BE(at + 2);
      if (high > 0x1fffff) {
        this.lost = true;
        return;
      }
      this.#payloadLeft = high * 0x1_0000_0000 + buf.readUInt32BE(at + 6);
    }
  }
}

/** Header size from its second byte: 2, plus 2 or 8 for extended lengths, plus 4 for a masking key. */
function headerSize(second: number): number {
  const len7 = second & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((second & 0x80) !== 0 ? 4 : 0);
}

/** A close frame with `code` and the reason "going away", as a server sends it (unmasked). */
export function serverCloseFrame(code = GOING_AWAY): Buffer {
  const frame = Buffer.alloc(4 + REASON.length);
  frame[0] = 0x88;
  frame[1] = 2 + REASON.length;
  frame.writeUInt16BE(code, 2);
  REASON.copy(frame, 4);
  return frame;
}

/** The same close frame as a client sends it: masked with a fresh random key (RFC 6455 §5.3). */
export function clientCloseFrame(code = GOING_AWAY): Buffer {
  const payloadLength = 2 + REASON.length;
  const frame = Buffer.alloc(6 + payloadLength);
  frame[0] = 0x88;
  frame[1] = 0x80 | payloadLength;
  crypto.getRandomValues(frame.subarray(2, 6));
  frame.writeUInt16BE(code, 6);
  REASON.copy(frame, 8);
  for (let i = 0; i < payloadLength; i++) frame[6 + i]! ^= frame[2 + (i & 3)]!;
  return frame;
}
