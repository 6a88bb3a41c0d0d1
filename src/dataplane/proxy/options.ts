// Every limit and timeout of the proxy, with the defaults of
// research/security.md section 7. All are options so tests can shorten them.

import { type CanonicalPathOptions, DEFAULT_PATH_OPTIONS } from '../edge/canonical-path.ts';
import type { CidrSet } from '../edge/cidr.ts';
import { DEFAULT_CONNECTION_LIMITS } from '../edge/connection-limits.ts';
import { DEFAULT_OVERLOAD_SETTINGS, type OverloadSignal } from '../edge/overload-policy.ts';
import type { TraceSettings } from './trace-headers.ts';

export interface ProxyOptions {
  /** Upstream TCP connect deadline; exceeded → 504. */
  readonly connectTimeoutMs: number;
  /** Upstream deadline for the complete response head; exceeded → 504. */
  readonly responseHeaderTimeoutMs: number;
  /** Upstream idle time between response body chunks; exceeded after the head → client connection destroyed. */
  readonly upstreamBodyTimeoutMs: number;
  /** How long an idle upstream keep-alive connection is kept. */
  readonly upstreamIdleTimeoutMs: number;
  /** Connections per endpoint; null: unbounded. */
  readonly upstreamMaxConnections: number | null;
  /** Downstream keep-alive idle time. */
  readonly keepAliveTimeoutMs: number;
  /** Deadline for a client's complete request head (slowloris guard). */
  readonly headersTimeoutMs: number;
  /** Deadline for a client's complete request, body included. */
  readonly requestTimeoutMs: number;
  /** Request line + headers, bytes; larger → 431. */
  readonly maxHeaderSize: number;
  /** Requests served on one client connection before it is closed; 0: unlimited. */
  readonly maxRequestsPerSocket: number;
  /** close(): how long in-flight requests may take before their connections are cut. */
  readonly drainTimeoutMs: number;
  /**
   * A client connection on which nothing moved in either direction for this
   * long is destroyed: a client that stops reading a response (or stops
   * sending a body) would otherwise hold its connection, and the upstream
   * connection paused behind it, forever. Longer than every upstream
   * deadline, so a slow backend is reported as 504, not cut here.
   */
  readonly clientIdleTimeoutMs: number;
  /** Strict-Transport-Security value for HTTPS responses to TLS hosts; null: no HSTS. */
  readonly hsts: string | null;
  /** Port written into HTTP→HTTPS redirects; 443 is left out of the URL. */
  readonly httpsRedirectPort: number;
  /** Deadline for a TLS handshake to complete (Node's default is 120 s). */
  readonly tlsHandshakeTimeoutMs: number;
  /** HTTP/2: concurrent streams a client may open per connection (security.md §2: 100, like Envoy and HAProxy). */
  readonly h2MaxConcurrentStreams: number;
  /** HTTP/2: decoded header list of a request (names + values + 32 per field, RFC 9113 SETTINGS_MAX_HEADER_LIST_SIZE); larger → RST_STREAM ENHANCE_YOUR_CALM. */
  readonly h2MaxHeaderListSize: number;
  /** HTTP/2: header fields of a request, not counting the pseudo-header fields; more → RST_STREAM ENHANCE_YOUR_CALM. */
  readonly h2MaxHeaderFields: number;
  /** HTTP/2: flow-control window a client gets per stream (SETTINGS_INITIAL_WINDOW_SIZE). */
  readonly h2StreamWindowSize: number;
  /** HTTP/2: flow-control window a client gets per connection. */
  readonly h2ConnectionWindowSize: number;
  /** HTTP/2: invalid frames tolerated per session before GOAWAY (node:http2's maxSessionInvalidFrames). */
  readonly h2MaxInvalidFrames: number;
  /** HTTP/2: streams refused in a row (no room for them) before GOAWAY (node:http2's maxSessionRejectedStreams). */
  readonly h2MaxRejectedStreams: number;
  /** HTTP/2 rapid-reset guard: half of the last this-many streams reset prematurely → GOAWAY ENHANCE_YOUR_CALM (0: off; h2-session-guard.ts). */
  readonly h2PrematureResetStreams: number;
  /** HTTP/2 rapid-reset guard: a stream closed before its response head within this time is a premature reset. */
  readonly h2PrematureResetLifetimeMs: number;
  /** Accept HTTP/2 with prior knowledge (h2c) on the plain listener. */
  readonly h2c: boolean;
  /** A WebSocket tunnel with no bytes moving for this long is closed (Envoy's stream idle default is 1 h too). */
  readonly tunnelIdleTimeoutMs: number;
  /**
   * Who serves HTTP/1.1 clients and HTTP/1.1 upstreams: 'martello', the
   * engine of src/dataplane/engine/ on raw sockets with Martello's own codec,
   * or 'node', node:http with undici upstream pools.
   */
  readonly engine: Http1EngineKind;
  /**
   * Who serves HTTP/2 clients: 'node' (node:http2) or 'martello' (the
   * engine's own HTTP/2 server, engine/h2-connection.ts; needs engine
   * 'martello', else node:http2 serves).
   */
  readonly h2Server: H2ServerKind;
  /** Request path canonicalisation (docs/edge.md): merge "//", refuse %2F and backslashes. */
  readonly path: CanonicalPathOptions;
  /** Observability (docs/metrics.md, access-log.md, tracing.md); plain data, so it travels to worker processes. */
  readonly observability: ObservabilityOptions;
  /** Built by the ProxyServer from `observability` (never passed in): trace ids and policy. */
  readonly tracing?: TraceSettings | null;
  /** Comma-separated CIDRs of proxies whose X-Forwarded-* are believed (--trusted-proxies); '' for none. */
  readonly trustedProxyCidrs: string;
  /** Built by the ProxyServer from `trustedProxyCidrs` (never passed in). */
  readonly trustedProxies?: CidrSet;
  /** Request header names with "_": 'reject' (400, when absent), 'drop' (ingress-nginx's default) or 'allow' (docs/security-tests.md). */
  readonly headersWithUnderscores?: 'reject' | 'drop' | 'allow';
  /** Client connections open at once in this process; more are closed at accept (0: no cap). */
  readonly maxConnections: number;
  /** Client connections open at once from one client address (trusted proxies exempt); 0: no cap. */
  readonly maxConnectionsPerIp: number;
  /** Every connection starts with a PROXY protocol v1/v2 header from a load balancer (--proxy-protocol). */
  readonly proxyProtocol: boolean;
  /** Deadline for the PROXY protocol header. */
  readonly proxyHeaderTimeoutMs: number;
  /** Shed load (503) while the p99 event-loop delay is over this many ms; 0: not watched. */
  readonly overloadEventLoopDelayMs: number;
  /** Shed load (503) while the heap is over this percent of its limit; 0: not watched. */
  readonly overloadHeapPercent: number;
  /** Built by the ProxyServer from the two above (never passed in). */
  readonly overload?: OverloadSignal;
  /** Largest request body in bytes for routes without proxy-body-size (--max-body-size); 0: no limit. */
  readonly maxBodySize: number;
}

export interface ObservabilityOptions {
  /** Add the virtual host as a `host` label on request metrics (--metrics-per-host). */
  readonly metricsPerHost: boolean;
  /** 'off', 'stdout', 'stderr' or a file path (--access-log). */
  readonly accessLog: string;
  /** 'json' or a template with $variables (--access-log-format). */
  readonly accessLogFormat: string;
  /** Share of exchanges logged; 5xx and cut ones always are (--access-log-sample-ratio). */
  readonly accessLogSampleRatio: number;
  /** Start a trace for requests that arrive without a valid traceparent (--trace-create). */
  readonly traceCreate: boolean;
  /** Share of the traces Martello starts that are sampled (--trace-sample-ratio). */
  readonly traceSampleRatio: number;
  /** OTLP/HTTP collector base URL, or null: no span export (--otlp-endpoint). */
  readonly otlpEndpoint: string | null;
  /** Extra headers for the collector (--otlp-header K=V). */
  readonly otlpHeaders: Readonly<Record<string, string>>;
}

export const DEFAULT_OBSERVABILITY: ObservabilityOptions = Object.freeze({
  metricsPerHost: false,
  accessLog: 'off',
  accessLogFormat: 'json',
  accessLogSampleRatio: 1,
  traceCreate: true,
  traceSampleRatio: 0.01,
  otlpEndpoint: null,
  otlpHeaders: Object.freeze({}),
});

export type Http1EngineKind = 'node' | 'martello';
export type H2ServerKind = 'node' | 'martello';
/** Both HTTP/2 servers, for tests that run against each. */
export const H2_SERVERS: readonly H2ServerKind[] = ['martello', 'node'];

export const HTTP1_ENGINES: readonly Http1EngineKind[] = ['node', 'martello'];

/** ingress-nginx's default: hsts on, max-age one year, includeSubDomains, no preload. */
export const DEFAULT_HSTS = 'max-age=31536000; includeSubDomains';

/** security.md §7: 10 MiB (nginx and ingress-nginx: 1 MiB, a common cause of 413s on ordinary uploads). */
export const DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024;

export const DEFAULT_PROXY_OPTIONS: ProxyOptions = Object.freeze({
  connectTimeoutMs: 5_000,
  responseHeaderTimeoutMs: 60_000,
  upstreamBodyTimeoutMs: 60_000,
  upstreamIdleTimeoutMs: 30_000,
  upstreamMaxConnections: null,
  keepAliveTimeoutMs: 30_000,
  headersTimeoutMs: 15_000,
  requestTimeoutMs: 60_000,
  maxHeaderSize: 16 * 1024,
  maxRequestsPerSocket: 1000,
  drainTimeoutMs: 30_000,
  clientIdleTimeoutMs: 120_000,
  hsts: DEFAULT_HSTS,
  httpsRedirectPort: 443,
  tlsHandshakeTimeoutMs: 10_000,
  h2MaxConcurrentStreams: 100,
  h2MaxHeaderListSize: 32 * 1024,
  h2MaxHeaderFields: 100,
  h2StreamWindowSize: 64 * 1024,
  h2ConnectionWindowSize: 1024 * 1024,
  h2MaxInvalidFrames: 100,
  h2MaxRejectedStreams: 100,
  h2PrematureResetStreams: 200,
  h2PrematureResetLifetimeMs: 1_000,
  h2c: false,
  tunnelIdleTimeoutMs: 3_600_000,
  engine: 'martello',
  h2Server: 'martello',
  path: DEFAULT_PATH_OPTIONS,
  trustedProxyCidrs: '',
  observability: DEFAULT_OBSERVABILITY,
  maxConnections: DEFAULT_CONNECTION_LIMITS.maxConnections,
  maxConnectionsPerIp: DEFAULT_CONNECTION_LIMITS.maxConnectionsPerAddress,
  proxyProtocol: false,
  proxyHeaderTimeoutMs: 5_000,
  overloadEventLoopDelayMs: DEFAULT_OVERLOAD_SETTINGS.eventLoopDelayMs,
  overloadHeapPercent: DEFAULT_OVERLOAD_SETTINGS.heapPercent,
  maxBodySize: DEFAULT_MAX_BODY_SIZE,
});
