// When a process sheds load (issue 6 part 6; security.md §5 "Uncaught
// exception / OOM" and "Event-loop stall"): an in-process overload manager
// after Envoy's, with two signals, read every interval:
//
//   - event-loop delay, p99 over the interval: how long a ready callback
//     waited. Every request, timer and handshake of the process waits that
//     long; past the threshold, taking on more work only makes all of it later.
//   - heap use, as a share of V8's heap limit: past the threshold the process
//     is close to dying with "JavaScript heap out of memory", which would cut
//     every connection it holds.
//
// While shedding, new requests are answered 503 with Connection: close (the
// client goes elsewhere or comes back on a new connection, which the kernel
// may give to a less busy worker) and in-flight ones continue. To stop
// flapping at the edge, shedding ends only when both signals are clearly
// below their thresholds: the delay under half of its threshold and the heap
// 5 points under its own. Pure: the readings come in.

export interface OverloadSettings {
  /** p99 event-loop delay (ms) over an interval that starts shedding; 0: not watched. */
  readonly eventLoopDelayMs: number;
  /** Heap used, percent of the heap limit, that starts shedding; 0: not watched. */
  readonly heapPercent: number;
}

export interface OverloadReading {
  /** p99 event-loop delay over the last interval, ms. */
  readonly eventLoopDelayMs: number;
  /** Heap used, percent of the heap limit. */
  readonly heapPercent: number;
}

/** What routeRequest reads per request: whether to shed, and where to count it. */
export interface OverloadSignal {
  readonly shedding: boolean;
  /** A request was answered 503 because of overload. */
  noteShed(): void;
}

/** A second of event-loop delay at p99 is a stall, not load; 95 % of the heap limit is minutes from an OOM kill. */
export const DEFAULT_OVERLOAD_SETTINGS: OverloadSettings = Object.freeze({
  eventLoopDelayMs: 1_000,
  heapPercent: 95,
});

/** Whether to shed after `reading`, given whether the process was shedding before it. */
export function shouldShed(wasShedding: boolean, reading: OverloadReading, settings: OverloadSettings): boolean {
  const delay = settings.eventLoopDelayMs;
  const heap = settings.heapPercent;
  const delayOver = delay > 0 && reading.eventLoopDelayMs > delay;
  const heapOver = heap > 0 && reading.heapPercent > heap;
  if (delayOver || heapOver) return true;
  if (!wasShedding) return false;
  // Shedding: keep on until both are well clear of their thresholds.
  const delayClear = delay <= 0 || reading.eventLoopDelayMs < delay / 2;
  const heapClear = heap <= 0 || reading.heapPercent < heap - 5;
  return !(delayClear && heapClear);
}
