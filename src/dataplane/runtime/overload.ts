// The overload manager of one serving process (edge/overload-policy.ts says
// when to shed): samples event-loop delay with perf_hooks and heap use with
// v8 every interval, and flips `shedding`, which routeRequest reads for
// every request (a field read; the sampling costs nothing per request).
// While shedding, requests get 503 with Connection: close; the gauge
// martello_overload_active and the counter martello_overload_shed_requests_total
// say it happened, and a warning is logged when it starts and ends.

import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { RequestMetrics } from '../../observability/metrics/request-metrics.ts';
import type { Logger } from '../../shared/log.ts';
import { type OverloadReading, type OverloadSettings, type OverloadSignal, shouldShed } from '../edge/overload-policy.ts';

export interface OverloadMonitorInit {
  readonly settings: OverloadSettings;
  readonly metrics: RequestMetrics;
  readonly logger: Logger;
  /** Sampling interval; default 500 ms. */
  readonly intervalMs?: number;
  /** Readings come from here instead of perf_hooks/v8 (tests). */
  readonly read?: () => OverloadReading;
}

const RESOLUTION_MS = 10;

export class OverloadMonitor implements OverloadSignal {
  shedding = false;
  readonly #settings: OverloadSettings;
  readonly #metrics: RequestMetrics;
  readonly #logger: Logger;
  readonly #histogram: ELDHistogram | undefined;
  readonly #read: () => OverloadReading;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #heapLimit = getHeapStatistics().heap_size_limit;

  constructor(init: OverloadMonitorInit) {
    this.#settings = init.settings;
    this.#metrics = init.metrics;
    this.#logger = init.logger;
    const watching = init.settings.eventLoopDelayMs > 0 || init.settings.heapPercent > 0;
    if (init.read !== undefined) {
      this.#read = init.read;
    } else {
      this.#read = this.#sample;
      if (init.settings.eventLoopDelayMs > 0) {
        this.#histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
        this.#histogram.enable();
      }
    }
    if (watching) {
      this.#timer = setInterval(this.check, init.intervalMs ?? 500);
      this.#timer.unref();
      // A process that starts over its heap threshold sheds from its first request on.
      this.check();
    }
  }

  /** Take a reading and update `shedding` (the interval does this; public for tests). */
  readonly check = (): void => {
    const reading = this.#read();
    const next = shouldShed(this.shedding, reading, this.#settings);
    if (next === this.shedding) return;
    this.shedding = next;
    this.#metrics.overloadActive = next ? 1 : 0;
    const fields = { eventLoopDelayMs: Math.round(reading.eventLoopDelayMs), heapPercent: Math.round(reading.heapPercent), thresholds: this.#settings };
    if (next) this.#logger.warn('overloaded: answering new requests 503 until the process recovers', fields);
    else this.#logger.warn('overload over: serving requests again', fields);
  };

  noteShed(): void {
    this.#metrics.overloadShed++;
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#histogram?.disable();
  }

  readonly #sample = (): OverloadReading => {
    const h = this.#histogram;
    let delay = 0;
    if (h !== undefined) {
      // The histogram records the time between its timer's ticks (ns), which
      // includes the tick interval itself: the delay is what exceeds it.
      delay = h.count > 0 ? Math.max(0, h.percentile(99) / 1e6 - RESOLUTION_MS) : 0;
      h.reset();
    }
    const heap = this.#settings.heapPercent > 0 ? (getHeapStatistics().used_heap_size / this.#heapLimit) * 100 : 0;
    return { eventLoopDelayMs: delay, heapPercent: heap };
  };
}
