// Per-process gauges (CPU, memory, event-loop delay, start time) for the
// `process` label: "main" for the control plane (or the only process with
// --workers 1), "worker-N" for data-plane workers. The event-loop delay
// histogram is Node's own (perf_hooks); it is reset at every read, so the
// gauge is the 99th percentile since the previous scrape.

import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';
import { F } from './metrics/catalog.ts';
import { type MetricSnapshot, samplesOf } from './metrics/snapshot.ts';

export class ProcessMetrics {
  readonly #name: string;
  readonly #delay: ELDHistogram;
  readonly #startSeconds = (performance.timeOrigin) / 1000;

  constructor(name: string) {
    this.#name = name;
    this.#delay = monitorEventLoopDelay({ resolution: 20 });
    this.#delay.enable();
  }

  snapshot(): MetricSnapshot {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    const p99 = this.#delay.count > 0 ? this.#delay.percentile(99) / 1e9 : 0;
    this.#delay.reset();
    const one = (value: number) => [{ labels: [this.#name], value }];
    return {
      [F.processCpu.name]: samplesOf(F.processCpu, one((cpu.user + cpu.system) / 1e6)),
      [F.processRss.name]: samplesOf(F.processRss, one(mem.rss)),
      [F.processHeap.name]: samplesOf(F.processHeap, one(mem.heapUsed)),
      [F.processEventLoopDelay.name]: samplesOf(F.processEventLoopDelay, one(p99)),
      [F.processStart.name]: samplesOf(F.processStart, one(this.#startSeconds)),
    };
  }

  stop(): void {
    this.#delay.disable();
  }
}
