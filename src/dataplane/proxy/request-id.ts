// X-Request-ID: kept from the client when it is sane (1–128 visible ASCII
// characters, so it is safe in logs and headers), else generated.

import { randomFillSync } from 'node:crypto';

export const MAX_REQUEST_ID_LENGTH = 128;

export function isAcceptableRequestId(value: string): boolean {
  const n = value.length;
  if (n === 0 || n > MAX_REQUEST_ID_LENGTH) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * A random (version 4) UUID, as crypto.randomUUID makes, from a pool of
 * random bytes refilled every 256 IDs, written as ASCII into a scratch
 * buffer and read out as one string: randomUUID builds its text from 20
 * concatenated pieces, which was about 8% of everything the data path
 * allocated per request.
 */
export function newRequestId(): string {
  if (poolOffset === POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const o = poolOffset;
  poolOffset += 16;
  let w = 0;
  for (let i = 0; i < 16; i++) {
    let b = pool[o + i]!;
    if (i === 6) b = (b & 0x0f) | 0x40; // version 4
    else if (i === 8) b = (b & 0x3f) | 0x80; // RFC 9562 variant
    text[w++] = HEX[b >> 4]!;
    text[w++] = HEX[b & 0x0f]!;
    if (i === 3 || i === 5 || i === 7 || i === 9) text[w++] = 0x2d; // '-'
  }
  return text.toString('latin1', 0, 36);
}

const POOL_BYTES = 16 * 256;
const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let poolOffset = POOL_BYTES;
const text = Buffer.allocUnsafeSlow(36);
const HEX = Buffer.from('0123456789abcdef', 'latin1');
