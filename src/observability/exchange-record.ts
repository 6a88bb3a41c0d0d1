// What one request/response exchange leaves behind for observation: metrics,
// the access log line and the trace span are all computed from this record
// when the exchange ends. Transports (the HTTP/1.1 engine's client
// connection, an HTTP/2 stream, the node:http fallback path) fill it in
// as the exchange progresses. The HTTP/1.1 engine keeps one per connection
// and resets it between requests, so observing costs no allocation there.
//
// Times are `performance.now()` milliseconds (monotonic); `startedWall` is
// the wall clock (Unix ms) at `startedAt`, for log timestamps and spans.

/** Route labels shared by every request of one (ingress, service[, host]); built when the table is compiled. */
export interface RouteRef {
  readonly namespace: string;
  /** Ingress name (without namespace). */
  readonly ingress: string;
  readonly service: string;
  /** The virtual host pattern the route belongs to ("app.example.com", "*.example.com", "*"; "" for the default backend). */
  readonly host: string;
  /** Metrics key without host: namespace\0ingress\0service. */
  readonly key: string;
  /** Metrics key with host (for --metrics-per-host). */
  readonly hostKey: string;
}

export type HttpProtocol = 'HTTP/1.0' | 'HTTP/1.1' | 'HTTP/2';

export class ExchangeRecord {
  /** performance.now() when the request head was complete. */
  startedAt = 0;
  /** Unix ms at startedAt. */
  startedWall = 0;
  /** performance.now() when the exchange ended (last response byte handed to the socket, or the cut). */
  endedAt = 0;
  method = '';
  /** Host or :authority as received ('' when absent). */
  host = '';
  /** The path the route was matched on, without the query. */
  path = '';
  protocol: HttpProtocol = 'HTTP/1.1';
  /** 'TLSv1.3', 'TLSv1.2', or '' on plain connections. */
  tls = '';
  clientAddress = '';
  /** The route that served the request; null when no route matched (400, 404, 421, ...). */
  route: RouteRef | null = null;
  /** Status sent to the client; 0 if the exchange was cut before a response head. */
  status = 0;
  /** Request body bytes received. */
  bytesIn = 0;
  /** Response body bytes sent. */
  bytesOut = 0;
  /** "address:port" of the endpoint the request went to; '' when answered locally. */
  upstream = '';
  /** performance.now() when the request was handed to the upstream connection; 0: never. */
  upstreamStartedAt = 0;
  /** performance.now() when the upstream response head arrived; 0: never. */
  upstreamHeadAt = 0;
  requestId = '';
  /** The trace this exchange belongs to ('' when none): 32 hex. */
  traceId = '';
  /** Our span id (16 hex) when traced. */
  spanId = '';
  /** The caller's span id (16 hex), '' when we started the trace. */
  parentSpanId = '';
  /** The span is sampled (exported). */
  sampled = false;
  /**
   * What the access log's line encoder keeps between the exchanges of one
   * connection (the HTTP/1.1 engine reuses its record), opaque here: see
   * json-line-encoder.ts. Not cleared by reset().
   */
  lineMemo: object | null = null;

  reset(): void {
    this.startedAt = 0;
    this.startedWall = 0;
    this.endedAt = 0;
    this.method = '';
    this.host = '';
    this.path = '';
    this.protocol = 'HTTP/1.1';
    this.tls = '';
    this.clientAddress = '';
    this.route = null;
    this.status = 0;
    this.bytesIn = 0;
    this.bytesOut = 0;
    this.upstream = '';
    this.upstreamStartedAt = 0;
    this.upstreamHeadAt = 0;
    this.requestId = '';
    this.traceId = '';
    this.spanId = '';
    this.parentSpanId = '';
    this.sampled = false;
  }
}
