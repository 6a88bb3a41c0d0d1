// Every metric family Martello exposes on /metrics: the one list that the
// exposition, the documentation (docs/metrics.md), the Grafana dashboard and
// the alert rules in deploy/ are checked against. A family that is not here
// cannot be rendered, and a dashboard query that names a family that is not
// here fails the tests.
//
// Cardinality is bounded by construction: labels are configuration objects
// (namespace, ingress, service: as many as there are routes), small closed
// sets (method, status class, protocol) or process names. No path, no client
// address, no request ID. The `host` label on request metrics exists only
// with --metrics-per-host.

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface FamilySpec {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
  /** Labels present only with a flag: `host` on request metrics with --metrics-per-host (appended after `labels`). */
  readonly optionalLabels?: readonly string[];
  /** Upper bounds of a histogram's buckets, in seconds, ascending (+Inf is implied). */
  readonly buckets?: readonly number[];
}

/** Request latency buckets: 1 ms to 60 s. */
export const LATENCY_BUCKETS: readonly number[] = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);

/** Configuration propagation buckets: 5 ms to 60 s. */
export const PROPAGATION_BUCKETS: readonly number[] = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);

/** Labels that name the route a request took ("" when no route matched). */
export const ROUTE_LABELS = ['namespace', 'ingress', 'service'] as const;

function family(name: string, type: MetricType, help: string, labels: readonly string[] = [], buckets?: readonly number[]): FamilySpec {
  return Object.freeze(buckets === undefined ? { name, type, help, labels } : { name, type, help, labels, buckets });
}

/** A request family: route labels, plus `host` with --metrics-per-host. */
function routeFamily(name: string, type: MetricType, help: string, labels: readonly string[], buckets?: readonly number[]): FamilySpec {
  return Object.freeze({ ...family(name, type, help, labels, buckets), optionalLabels: Object.freeze(['host']) });
}

export const F = Object.freeze({
  build: family('martello_build_info', 'gauge',
    'Always 1; the labels say which Martello and which Node.js run.', ['version', 'node']),
  // Requests (data plane, summed over workers). Route labels are "" for requests no route matched.
  requests: routeFamily('martello_http_requests_total', 'counter',
    'HTTP requests answered, by route, method and status class (1xx..5xx; none: the exchange ended before any response head).', [...ROUTE_LABELS, 'method', 'status']),
  requestDuration: routeFamily('martello_http_request_duration_seconds', 'histogram',
    'Time from the request head to the last response byte, by route.', ROUTE_LABELS, LATENCY_BUCKETS),
  upstreamHeaderDuration: routeFamily('martello_upstream_header_duration_seconds', 'histogram',
    'Time from sending a request upstream to its response head, by route.', ROUTE_LABELS, LATENCY_BUCKETS),
  requestBytes: routeFamily('martello_http_request_body_bytes_total', 'counter',
    'Request body bytes received from clients, by route.', ROUTE_LABELS),
  responseBytes: routeFamily('martello_http_response_body_bytes_total', 'counter',
    'Response body bytes sent to clients, by route.', ROUTE_LABELS),
  connectionsOpen: family('martello_http_connections_open', 'gauge',
    'Client connections currently open, by protocol (http1, h2, websocket: tunnels handed over after an upgrade).', ['protocol']),
  connections: family('martello_http_connections_total', 'counter',
    'Client connections accepted, by protocol.', ['protocol']),
  connectionsRejected: family('martello_connections_rejected_total', 'counter',
    'Client connections closed at accept, before any request was read, by reason (max_connections, max_connections_per_ip, proxy_protocol: a missing, malformed or late PROXY header).', ['reason']),
  overloadActive: family('martello_overload_active', 'gauge',
    'Processes shedding load now (1 per process whose event-loop delay or heap use is over its threshold).'),
  overloadShed: family('martello_overload_shed_requests_total', 'counter',
    'Requests answered 503 with Connection: close because the process was overloaded.'),
  h2SessionsRefused: family('martello_http2_sessions_refused_total', 'counter',
    'HTTP/2 client connections closed with GOAWAY by the session guard, by reason (header_timeout: a header block unfinished at the header deadline; premature_resets: too many streams reset before their response, rapid reset).', ['reason']),
  upstreamConnections: family('martello_upstream_connections', 'gauge',
    'Upstream connections in the pools, by protocol (http1, h2) and state (active: carrying requests, idle).', ['protocol', 'state']),
  upstreamFailures: family('martello_upstream_failures_total', 'counter',
    'Upstream exchanges that failed, by reason (connect, timeout, reset: cut or unusable response).', ['reason']),
  upstreamRetries: family('martello_upstream_retries_total', 'counter',
    'Requests sent again to another endpoint after a failed attempt (retry policy and budget allowing).'),
  upstreamEjections: family('martello_upstream_ejections_total', 'counter',
    'Endpoints ejected from balancing by outlier detection, by Service and reason (gateway-failure, connect-failure); each process ejects on its own.', ['namespace', 'service', 'reason']),
  upstreamExcluded: family('martello_upstream_endpoints_excluded', 'gauge',
    'Endpoints currently left out of balancing, by Service and cause (ejected: outlier detection; health-check: failing or not yet passed active health checks), summed over processes.', ['namespace', 'service', 'cause']),
  tlsHandshakes: family('martello_tls_handshakes_total', 'counter',
    'TLS handshakes completed on the HTTPS listener, by protocol version and whether the session was resumed.', ['version', 'resumed']),
  tlsHandshakeErrors: family('martello_tls_handshake_errors_total', 'counter',
    'TLS handshakes that failed or timed out on the HTTPS listener.'),
  accessLogLines: family('martello_access_log_lines_total', 'counter',
    'Access log lines written.'),
  accessLogDropped: family('martello_access_log_dropped_total', 'counter',
    'Access log lines dropped because the log sink was not keeping up.'),
  spansExported: family('martello_tracing_spans_exported_total', 'counter',
    'Spans sent to the OTLP collector.'),
  spansDropped: family('martello_tracing_spans_dropped_total', 'counter',
    'Spans dropped: export queue full or the collector failed.'),

  // Processes (one sample per process: process="main" is the control plane, or the only process with --workers 1).
  processCpu: family('martello_process_cpu_seconds_total', 'counter',
    'CPU time (user + system) used by each Martello process.', ['process']),
  processRss: family('martello_process_resident_memory_bytes', 'gauge',
    'Resident memory of each Martello process.', ['process']),
  processHeap: family('martello_process_heap_used_bytes', 'gauge',
    'V8 heap in use in each Martello process.', ['process']),
  processEventLoopDelay: family('martello_process_event_loop_delay_seconds', 'gauge',
    'Event-loop delay of each Martello process, 99th percentile since the previous scrape.', ['process']),
  processStart: family('martello_process_start_time_seconds', 'gauge',
    'Start time of each Martello process, Unix seconds.', ['process']),

  // Workers (present with --workers N > 1).
  workerUp: family('martello_worker_up', 'gauge',
    'Whether each data-plane worker is listening (1) or starting, draining or down (0).', ['worker']),
  workerGeneration: family('martello_worker_config_generation', 'gauge',
    'Generation of the routing configuration each worker acknowledged.', ['worker']),
  workerRestarts: family('martello_worker_restarts_total', 'counter',
    'Times each worker was replaced after exiting unexpectedly.', ['worker']),

  // Configuration (control plane).
  configGeneration: family('martello_config_generation', 'gauge',
    'Generation of the routing configuration currently applied.'),
  configRebuilds: family('martello_config_rebuilds_total', 'counter',
    'Configuration rebuilds run, whether or not they changed anything.'),
  configProblems: family('martello_config_problems', 'gauge',
    'Configuration problems currently reported (translation errors and warnings), by severity.', ['severity']),
  configLastApplied: family('martello_config_last_applied_timestamp_seconds', 'gauge',
    'When the current configuration was applied to the data plane, Unix seconds (0: never).'),
  configPropagation: family('martello_config_propagation_seconds', 'histogram',
    'Time from the first object change of a rebuild to the new configuration being applied in every data-plane process.', [], PROPAGATION_BUCKETS),
  certificateExpiry: family('martello_tls_certificate_expiry_timestamp_seconds', 'gauge',
    'When the certificate served for each TLS host expires, Unix seconds, with the Secret it came from.', ['host', 'secret']),

  // Kubernetes watches (controller mode).
  watchUp: family('martello_kube_watch_up', 'gauge',
    'Whether the watch of each resource is synced and connected (1) or listing, backing off or broken (0).', ['resource']),
  watchEvents: family('martello_kube_watch_events_total', 'counter',
    'Watch events received, by resource and type (ADDED, MODIFIED, DELETED, BOOKMARK).', ['resource', 'type']),
  watchRestarts: family('martello_kube_watch_restarts_total', 'counter',
    'Watches restarted after an error, a stall or an expired resource version (relist), by resource.', ['resource']),
  watchLastActivity: family('martello_kube_watch_last_activity_timestamp_seconds', 'gauge',
    'When each watch last received anything (event or bookmark) or completed a list, Unix seconds.', ['resource']),
});

export const ALL_FAMILIES: readonly FamilySpec[] = Object.freeze(Object.values(F));

export const FAMILY_NAMES: ReadonlySet<string> = new Set(ALL_FAMILIES.map((f) => f.name));
