// A fixed-bucket histogram: one counter per bucket (not cumulative; the
// exposition accumulates), plus sum and count. observe() is a short linear
// scan over ~15 bounds and two additions: cheap enough per request.

import type { HistogramValue } from './snapshot.ts';

export class Histogram {
  readonly bounds: readonly number[];
  /** counts[i] observations ≤ bounds[i] and > bounds[i-1]; the last slot is +Inf. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = Array.from({ length: bounds.length + 1 }, () => 0);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    const n = bounds.length;
    while (i < n && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  value(): HistogramValue {
    return { counts: this.counts.slice(), sum: this.sum, count: this.count };
  }
}
