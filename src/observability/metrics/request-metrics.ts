// The data plane's request metrics in one process: a RouteStats per route
// (namespace, ingress, service[, host]) found by a key string built when the
// table was compiled, connection gauges, upstream failures and TLS
// handshakes. Recording is field increments and one histogram scan; the
// snapshot (for /metrics or the primary) is built only when asked.
//
// Stats of routes that left the configuration are kept, so counters never
// go backwards while the process lives; their number is bounded by the
// routes ever configured.

import type { ExchangeRecord, RouteRef } from '../exchange-record.ts';
import { F, LATENCY_BUCKETS } from './catalog.ts';
import { Histogram } from './histogram.ts';
import { type MetricSnapshot, type Sample, samplesOf } from './snapshot.ts';

/** Methods with their own label value; anything else is "OTHER" (bounded cardinality). */
export const METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE', 'OTHER'];
/** Status classes; "none": the exchange ended before any response head (client left, connection cut). */
export const STATUS_CLASSES: readonly string[] = ['1xx', '2xx', '3xx', '4xx', '5xx', 'none'];

export function methodIndex(method: string): number {
  switch (method) {
    case 'GET': return 0;
    case 'HEAD': return 1;
    case 'POST': return 2;
    case 'PUT': return 3;
    case 'DELETE': return 4;
    case 'PATCH': return 5;
    case 'OPTIONS': return 6;
    case 'CONNECT': return 7;
    case 'TRACE': return 8;
    default: return 9;
  }
}

export function statusClassIndex(status: number): number {
  if (status < 100 || status > 599) return 5;
  return Math.floor(status / 100) - 1;
}

const CLASSES = STATUS_CLASSES.length;

class RouteStats {
  readonly labels: readonly string[];
  /** [method * CLASSES + class] → requests. */
  readonly counts: number[] = Array.from({ length: METHODS.length * CLASSES }, () => 0);
  readonly duration = new Histogram(LATENCY_BUCKETS);
  readonly upstreamHeader = new Histogram(LATENCY_BUCKETS);
  bytesIn = 0;
  bytesOut = 0;

  constructor(labels: readonly string[]) {
    this.labels = labels;
  }
}

export type ConnectionProtocol = 'http1' | 'h2' | 'websocket';
export type UpstreamFailureReason = 'connect' | 'timeout' | 'reset';

export interface RequestMetricsOptions {
  /** Add the virtual host pattern as a `host` label on request metrics (--metrics-per-host). */
  readonly perHost: boolean;
}

const REJECT_REASONS = ['max_connections', 'max_connections_per_ip', 'proxy_protocol'] as const;

export class RequestMetrics {
  readonly perHost: boolean;
  readonly #routes = new Map<string, RouteStats>();
  readonly #unrouted: RouteStats;
  readonly connectionsOpen = { http1: 0, h2: 0, websocket: 0 };
  readonly connectionsTotal = { http1: 0, h2: 0, websocket: 0 };
  readonly upstreamFailures = { connect: 0, timeout: 0, reset: 0 };
  /** "TLSv1.3\0true" → handshakes. */
  readonly #handshakes = new Map<string, number>();
  tlsHandshakeErrors = 0;
  /** Attempts sent to another endpoint after a failure (retries). */
  upstreamRetries = 0;
  /** Connections closed at accept, by reason (connection-gate.ts). */
  readonly connectionsRejected = { max_connections: 0, max_connections_per_ip: 0, proxy_protocol: 0 };
  /** 1 while this process sheds load (runtime/overload.ts). */
  overloadActive = 0;
  /** Requests answered 503 because of overload. */
  overloadShed = 0;
  /** HTTP/2 sessions closed by the session guard, by reason (proxy/h2-session-guard.ts). */
  readonly h2SessionsRefused = { header_timeout: 0, premature_resets: 0 };

  constructor(options: RequestMetricsOptions = { perHost: false }) {
    this.perHost = options.perHost;
    this.#unrouted = new RouteStats(this.perHost ? ['', '', '', ''] : ['', '', '']);
  }

  /** Records one finished exchange (times in ms from performance.now()). */
  observe(rec: ExchangeRecord): void {
    const stats = this.#statsFor(rec.route);
    stats.counts[methodIndex(rec.method) * CLASSES + statusClassIndex(rec.status)]!++;
    stats.duration.observe((rec.endedAt - rec.startedAt) / 1000);
    if (rec.upstreamHeadAt !== 0 && rec.upstreamStartedAt !== 0) stats.upstreamHeader.observe((rec.upstreamHeadAt - rec.upstreamStartedAt) / 1000);
    stats.bytesIn += rec.bytesIn;
    stats.bytesOut += rec.bytesOut;
  }

  connectionOpened(protocol: ConnectionProtocol): void {
    this.connectionsOpen[protocol]++;
    this.connectionsTotal[protocol]++;
  }

  connectionClosed(protocol: ConnectionProtocol): void {
    this.connectionsOpen[protocol]--;
  }

  connectionRejected(reason: keyof RequestMetrics['connectionsRejected']): void {
    this.connectionsRejected[reason]++;
  }

  upstreamFailed(reason: UpstreamFailureReason): void {
    this.upstreamFailures[reason]++;
  }

  tlsHandshake(version: string, resumed: boolean): void {
    const key = `${version}\u0000${resumed ? 'true' : 'false'}`;
    this.#handshakes.set(key, (this.#handshakes.get(key) ?? 0) + 1);
  }

  /** How many routes have stats (the cardinality of the request families). */
  get routeCount(): number {
    return this.#routes.size;
  }

  #statsFor(route: RouteRef | null): RouteStats {
    if (route === null) return this.#unrouted;
    const key = this.perHost ? route.hostKey : route.key;
    let stats = this.#routes.get(key);
    if (stats === undefined) {
      const labels = [route.namespace, route.ingress, route.service];
      if (this.perHost) labels.push(route.host);
      stats = new RouteStats(labels);
      this.#routes.set(key, stats);
    }
    return stats;
  }

  /**
   * The families this process contributes, plus `upstreamConnections`
   * (the pools' gauges, read by the caller from the pools themselves).
   */
  snapshot(upstreamConnections: { readonly http1: { active: number; idle: number }; readonly h2: { active: number; idle: number } }): MetricSnapshot {
    const extra = this.perHost ? ['host'] : [];
    const requests: Sample[] = [];
    const durations: Sample[] = [];
    const upstream: Sample[] = [];
    const bytesIn: Sample[] = [];
    const bytesOut: Sample[] = [];
    const all = this.#unrouted.counts.some((n) => n > 0) ? [this.#unrouted, ...this.#routes.values()] : [...this.#routes.values()];
    for (const stats of all) {
      for (let m = 0; m < METHODS.length; m++) {
        for (let c = 0; c < CLASSES; c++) {
          const n = stats.counts[m * CLASSES + c]!;
          if (n > 0) requests.push({ labels: withMethodStatus(stats.labels, METHODS[m]!, STATUS_CLASSES[c]!), value: n });
        }
      }
      durations.push({ labels: stats.labels, value: stats.duration.value() });
      if (stats.upstreamHeader.count > 0) upstream.push({ labels: stats.labels, value: stats.upstreamHeader.value() });
      bytesIn.push({ labels: stats.labels, value: stats.bytesIn });
      bytesOut.push({ labels: stats.labels, value: stats.bytesOut });
    }
    const protocols: ConnectionProtocol[] = ['http1', 'h2', 'websocket'];
    const handshakes: Sample[] = [];
    for (const [key, n] of this.#handshakes) handshakes.push({ labels: key.split('\u0000'), value: n });
    return {
      [F.requests.name]: requestsFamily(requests, this.perHost),
      [F.requestDuration.name]: samplesOf(F.requestDuration, durations, extra),
      [F.upstreamHeaderDuration.name]: samplesOf(F.upstreamHeaderDuration, upstream, extra),
      [F.requestBytes.name]: samplesOf(F.requestBytes, bytesIn, extra),
      [F.responseBytes.name]: samplesOf(F.responseBytes, bytesOut, extra),
      [F.connectionsOpen.name]: samplesOf(F.connectionsOpen, protocols.map((p) => ({ labels: [p], value: this.connectionsOpen[p] }))),
      [F.connections.name]: samplesOf(F.connections, protocols.map((p) => ({ labels: [p], value: this.connectionsTotal[p] }))),
      [F.upstreamConnections.name]: samplesOf(F.upstreamConnections, [
        { labels: ['http1', 'active'], value: upstreamConnections.http1.active },
        { labels: ['http1', 'idle'], value: upstreamConnections.http1.idle },
        { labels: ['h2', 'active'], value: upstreamConnections.h2.active },
        { labels: ['h2', 'idle'], value: upstreamConnections.h2.idle },
      ]),
      [F.upstreamFailures.name]: samplesOf(F.upstreamFailures, (['connect', 'timeout', 'reset'] as const).map((r) => ({ labels: [r], value: this.upstreamFailures[r] }))),
      [F.tlsHandshakes.name]: samplesOf(F.tlsHandshakes, handshakes),
      [F.tlsHandshakeErrors.name]: samplesOf(F.tlsHandshakeErrors, [{ labels: [], value: this.tlsHandshakeErrors }]),
      [F.upstreamRetries.name]: samplesOf(F.upstreamRetries, [{ labels: [], value: this.upstreamRetries }]),
      [F.connectionsRejected.name]: samplesOf(F.connectionsRejected, REJECT_REASONS.map((r) => ({ labels: [r], value: this.connectionsRejected[r] }))),
      [F.overloadActive.name]: samplesOf(F.overloadActive, [{ labels: [], value: this.overloadActive }]),
      [F.overloadShed.name]: samplesOf(F.overloadShed, [{ labels: [], value: this.overloadShed }]),
      [F.h2SessionsRefused.name]: samplesOf(F.h2SessionsRefused, [
        { labels: ['header_timeout'], value: this.h2SessionsRefused.header_timeout },
        { labels: ['premature_resets'], value: this.h2SessionsRefused.premature_resets },
      ]),
    };
  }
}

/** Route labels (namespace, ingress, service[, host]) → request labels (namespace, ingress, service, method, status[, host]). */
function withMethodStatus(routeLabels: readonly string[], method: string, status: string): string[] {
  const out = [routeLabels[0]!, routeLabels[1]!, routeLabels[2]!, method, status];
  if (routeLabels.length > 3) out.push(routeLabels[3]!);
  return out;
}

function requestsFamily(samples: Sample[], perHost: boolean): { labels: readonly string[]; samples: Sample[] } {
  return { labels: perHost ? [...F.requests.labels, 'host'] : F.requests.labels, samples };
}
