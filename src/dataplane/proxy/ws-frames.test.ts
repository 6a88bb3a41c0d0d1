// Frame boundaries of a WebSocket byte stream (ws-frames.ts): every length
// encoding, masked and unmasked, fed whole, byte by byte and at every split
// point; and the close frames Martello injects, decoded here (the tunnel
// tests check that the ws package reads them as 1001 on both sides).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { clientCloseFrame, FrameTracker, GOING_AWAY, serverCloseFrame } from './ws-frames.ts';

/** One frame as RFC 6455 §5.2 lays it out, with the shortest length encoding; `mask` for the client's direction. */
function frame(payloadLength: number, mask: boolean, opcode: 'text' | 'binary' | 'ping' = 'binary', fin = true): Buffer {
  const first = (fin ? 0x80 : 0) | (opcode === 'text' ? 1 : opcode === 'ping' ? 9 : 2);
  let head: Buffer;
  if (payloadLength < 126) head = Buffer.from([first, payloadLength]);
  else if (payloadLength < 65536) {
    head = Buffer.from([first, 126, 0, 0]);
    head.writeUInt16BE(payloadLength, 2);
  } else {
    head = Buffer.from([first, 127, 0, 0, 0, 0, 0, 0, 0, 0]);
    head.writeUInt32BE(payloadLength, 6);
  }
  if (mask) head[1]! |= 0x80;
  return Buffer.concat([head, mask ? randomBytes(4) : Buffer.alloc(0), Buffer.alloc(payloadLength, 0x61)]);
}

/** Opcode, masked, code and reason of one close frame. */
function decodeClose(bytes: Buffer): { opcode: number; masked: boolean; code: number; reason: string } {
  const masked = (bytes[1]! & 0x80) !== 0;
  const length = bytes[1]! & 0x7f;
  const payload = Buffer.from(bytes.subarray(masked ? 6 : 2, (masked ? 6 : 2) + length));
  if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= bytes[2 + (i & 3)]!;
  return { opcode: bytes[0]!, masked, code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() };
}

/** Where frames end in `stream`, as the tracker finds them with stop=true. */
function boundaries(tracker: FrameTracker, stream: Buffer, chunkSize: number): number[] {
  const ends: number[] = [];
  for (let base = 0; base < stream.length; base += chunkSize) {
    const chunk = stream.subarray(base, Math.min(stream.length, base + chunkSize));
    let pos = 0;
    while (pos < chunk.length) {
      const at = tracker.scan(chunk, pos, true);
      if (tracker.atBoundary) ends.push(base + at);
      pos = at;
    }
  }
  return ends;
}

describe('FrameTracker', () => {
  const lengths = [0, 1, 125, 126, 127, 65535, 65536, 70_000];
  for (const mask of [false, true]) {
    test(`${mask ? 'masked' : 'unmasked'} frames of every length encoding: boundaries found whole, byte by byte and in 7-byte reads`, () => {
      const frames = lengths.map((n) => frame(n, mask));
      const stream = Buffer.concat(frames);
      const expected: number[] = [];
      let offset = 0;
      for (const f of frames) expected.push((offset += f.length));
      for (const size of [stream.length, 1, 7, 4096]) {
        const tracker = new FrameTracker();
        assert.deepEqual(boundaries(tracker, stream, size), expected, `reads of ${size}`);
        assert.equal(tracker.atBoundary, true);
        assert.equal(tracker.closeSeen, false);
      }
    });
  }

  test('at every split point of a frame pair, atBoundary is true exactly at the frame ends', () => {
    const a = frame(130, true, 'text', false);
    const b = frame(3, true, 'ping');
    const stream = Buffer.concat([a, b]);
    for (let split = 0; split <= stream.length; split++) {
      const tracker = new FrameTracker();
      tracker.scan(stream.subarray(0, split), 0, false);
      assert.equal(tracker.atBoundary, split === 0 || split === a.length || split === stream.length, `split at ${split}`);
    }
  });

  test('without stop, scan consumes the whole chunk; with stop, it ends at the first boundary', () => {
    const stream = Buffer.concat([frame(10, false), frame(10, false)]);
    const tracker = new FrameTracker();
    assert.equal(tracker.scan(stream, 0, false), stream.length);
    const stopping = new FrameTracker();
    assert.equal(stopping.scan(stream, 0, true), 12);
    assert.equal(stopping.atBoundary, true);
  });

  test('a close frame passing is noticed; a 64-bit length beyond 2^53 loses the boundaries for good', () => {
    const tracker = new FrameTracker();
    tracker.scan(serverCloseFrame(), 0, false);
    assert.equal(tracker.closeSeen, true);
    const lost = new FrameTracker();
    lost.scan(Buffer.from([0x82, 0x7f, 0xff, 0, 0, 0, 0, 0, 0, 1]), 0, false);
    assert.equal(lost.lost, true);
    assert.equal(lost.atBoundary, false);
  });

  test('the injected close frames say 1001 "going away", final and masked only towards the server', () => {
    for (const [bytes, masked] of [[serverCloseFrame(), false], [clientCloseFrame(), true]] as const) {
      assert.deepEqual(decodeClose(bytes), { opcode: 0x88, masked, code: GOING_AWAY, reason: 'going away' });
      const tracker = new FrameTracker();
      tracker.scan(bytes, 0, false);
      assert.equal(tracker.atBoundary, true);
    }
    assert.notDeepEqual(clientCloseFrame().subarray(2, 6), clientCloseFrame().subarray(2, 6), 'a fresh masking key each time');
  });
});
