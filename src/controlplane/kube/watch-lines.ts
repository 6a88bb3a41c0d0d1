// The framing of a watch stream: one compact JSON object per line. Chunks
// from the socket cut lines (and UTF-8 characters) anywhere, so bytes are
// kept until a newline arrives; a line that never ends is an error, not a
// way to make the controller buffer without bound.

import type { WatchEvent } from './api.ts';

/** Longest watch line accepted (the API server's own object limit is about 1.5 MiB). */
export const MAX_WATCH_LINE_BYTES = 4 * 1024 * 1024;

const NEWLINE = 0x0a;
const EVENT_TYPES: ReadonlySet<string> = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

export class WatchStreamError extends Error {
  override readonly name = 'WatchStreamError';
}

/** Splits a byte stream into its lines (without the newline); a final unterminated line is yielded too. */
export async function* splitLines(chunks: AsyncIterable<Uint8Array>, maxLineBytes = MAX_WATCH_LINE_BYTES): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of chunks) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE, start); nl !== -1; nl = buf.indexOf(NEWLINE, start)) {
      const piece = buf.subarray(start, nl);
      start = nl + 1;
      if (pendingBytes + piece.length > maxLineBytes) throw tooLong(maxLineBytes);
      const line = pending.length === 0 ? piece.toString('utf8') : Buffer.concat([...pending, piece]).toString('utf8');
      pending = [];
      pendingBytes = 0;
      yield line;
    }
    if (start < buf.length) {
      const rest = buf.subarray(start);
      pendingBytes += rest.length;
      if (pendingBytes > maxLineBytes) throw tooLong(maxLineBytes);
      // Copy: the transport may reuse the chunk's memory.
      pending.push(Buffer.from(rest));
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending).toString('utf8');
}

/** Parses one watch line; throws WatchStreamError when it is not a watch event. */
export function parseWatchEvent(line: string): WatchEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new WatchStreamError(`watch stream: a line is not JSON: ${line.slice(0, 120)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new WatchStreamError('watch stream: an event is not a JSON object');
  const { type, object } = value as { type?: unknown; object?: unknown };
  if (typeof type !== 'string' || !EVENT_TYPES.has(type)) throw new WatchStreamError(`watch stream: unknown event type ${JSON.stringify(type)}`);
  if (typeof object !== 'object' || object === null || Array.isArray(object)) throw new WatchStreamError(`watch stream: ${type} event without an object`);
  return { type: type as WatchEvent['type'], object: object as Record<string, unknown> };
}

/** Watch events from a byte stream; blank lines (keep-alives) are skipped. */
export async function* watchEvents(chunks: AsyncIterable<Uint8Array>, maxLineBytes = MAX_WATCH_LINE_BYTES): AsyncGenerator<WatchEvent> {
  for await (const line of splitLines(chunks, maxLineBytes)) {
    if (line.trim() === '') continue;
    yield parseWatchEvent(line);
  }
}

function tooLong(max: number): WatchStreamError {
  return new WatchStreamError(`watch stream: a line is longer than ${max} bytes`);
}
