// Keeps the garbage of socket reads bounded during large transfers.
//
// Every large read from a socket lands in an ArrayBuffer of its own (up to
// 64 KiB) outside the JavaScript heap: Node's own reads always do, and the
// engine's do from 4 KiB up (socket-reads.ts: copies, and the buffers of
// bulk reads handed over whole). Its memory comes back only when a
// garbage collection finds the Buffer dead, and V8 collects when its young
// generation fills with JavaScript objects, or when the external memory
// grows about 64 MB past the last collection. A proxy relaying a 100 MB body
// allocates almost no JavaScript objects per 64 KiB read, so the young
// generation fills slowly while dead read buffers pile up to that 64 MB
// limit: the resident memory of a transfer grew by ~65 MB whatever the body
// size (docs/benchmarks.md, "Large bodies and memory").
//
// The engine counts the bytes it reads (client and upstream sockets) and,
// every RECLAIM_BYTES, asks V8 for a scavenge (a young-generation
// collection, well under a millisecond with the 2 MB semi-spaces bin/martello
// sets); dead read buffers are young, so it frees them. Small requests read
// a few hundred bytes each, so this runs about every 4 MB of traffic of
// any kind: a few times a second at the most under small-request load,
// where V8 scavenges hundreds of times a second anyway.
//
// Why 4 MB and not more: with 16 MB, a 100 MB upload that followed a
// small-request load ran a full mark-compact about every 40 ms (V8 started
// incremental marking on its allocation limit while the dead buffers
// waited), and cost 2.5-3.5x the CPU of the same upload on a fresh
// process (0.15-0.21 s against 0.06 s per 100 MB; perf and --trace-gc,
// 2026-11-24). Every 2, 4 or 8 MB kept it at 0.06-0.08 s.
//
// The scavenge is V8's `gc` extension, enabled once by flag for contexts
// created from then on; where that is not possible the counter still
// counts and nothing is collected (V8 falls back to its own limit).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Bytes read between two requested scavenges. */
export const RECLAIM_BYTES = 4 * 1024 * 1024;

type GcFunction = (options: { type: 'minor' | 'major' }) => void;

function scavenger(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc !== 'function') return null;
    const collect = gc as GcFunction;
    return () => collect({ type: 'minor' });
  } catch {
    return null;
  }
}

const scavenge = scavenger();
let sinceLast = 0;
let requested = 0;

/** `bytes` more were read from a socket. */
export function noteBytesRead(bytes: number): void {
  sinceLast += bytes;
  if (sinceLast < RECLAIM_BYTES) return;
  sinceLast = 0;
  if (scavenge === null) return;
  requested++;
  scavenge();
}

/** Scavenges requested so far (tests), and whether this runtime can request them. */
export function readGarbageStats(): { scavenges: number; available: boolean } {
  return { scavenges: requested, available: scavenge !== null };
}
