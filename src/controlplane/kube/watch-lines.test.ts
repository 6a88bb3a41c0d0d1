import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWatchEvent, splitLines, watchEvents, WatchStreamError } from './watch-lines.ts';

async function* chunks(...parts: Array<string | Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p) : p;
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of source) out.push(x);
  return out;
}

describe('splitLines', () => {
  it('joins lines cut across chunks and splits several lines in one chunk', async () => {
    const lines = await collect(splitLines(chunks('{"a":', '1}\n{"b":2}\n{"c"', ':3}\n')));
    assert.deepEqual(lines, ['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it('keeps a multi-byte UTF-8 character cut between chunks intact', async () => {
    const bytes = Buffer.from('{"x":"é€"}\n');
    const lines = await collect(splitLines(chunks(bytes.subarray(0, 7), bytes.subarray(7, 9), bytes.subarray(9))));
    assert.deepEqual(lines, ['{"x":"é€"}']);
  });

  it('yields a final line without a newline', async () => {
    assert.deepEqual(await collect(splitLines(chunks('a\nb'))), ['a', 'b']);
  });

  it('rejects a line longer than the limit, even when it never ends', async () => {
    await assert.rejects(collect(splitLines(chunks('x'.repeat(10), 'y'.repeat(10)), 15)), WatchStreamError);
    await assert.rejects(collect(splitLines(chunks('x'.repeat(10), 'y'.repeat(10) + '\n'), 15)), WatchStreamError);
    assert.deepEqual(await collect(splitLines(chunks('x'.repeat(15) + '\n'), 15)), ['x'.repeat(15)]);
  });
});

describe('watch events', () => {
  it('parses events and skips blank lines', async () => {
    const events = await collect(watchEvents(chunks('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n\n{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}}\n')));
    assert.deepEqual(events.map((e) => e.type), ['ADDED', 'BOOKMARK']);
  });

  it('rejects malformed events', () => {
    assert.throws(() => parseWatchEvent('not json'), WatchStreamError);
    assert.throws(() => parseWatchEvent('[]'), WatchStreamError);
    assert.throws(() => parseWatchEvent('{"type":"SOMETHING","object":{}}'), WatchStreamError);
    assert.throws(() => parseWatchEvent('{"type":"ADDED"}'), WatchStreamError);
  });
});
