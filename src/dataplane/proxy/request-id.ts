// X-Request-ID: kept from the client when it is sane (1–128 visible ASCII
// characters, so it is safe in logs and headers), else generated.

import { randomUUID } from 'node:crypto';

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

/** randomUUID draws from a cached entropy pool: no syscall per request. */
export function newRequestId(): string {
  return randomUUID();
}
