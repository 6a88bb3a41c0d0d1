// Plain counters, read by a future /metrics endpoint. Incrementing a number
// field is the cheapest possible bookkeeping on the hot path.

// A type alias (not an interface) so it is assignable to Record<string, number>.
export type ResponsesByClass = {
  '1xx': number;
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
};

export class ProxyCounters {
  /** Requests received (every request that reached the request handler). */
  requests = 0;
  /** Client connections currently open. */
  activeConnections = 0;
  /** Response heads written, by status class (proxied and generated alike). */
  readonly responsesByClass: ResponsesByClass = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
  /** Upstream failures, before (answered 502/504) or after the response head (connection cut). */
  upstreamErrors = 0;

  countStatus(status: number): void {
    const c = this.responsesByClass;
    if (status < 200) c['1xx']++;
    else if (status < 300) c['2xx']++;
    else if (status < 400) c['3xx']++;
    else if (status < 500) c['4xx']++;
    else c['5xx']++;
  }
}
