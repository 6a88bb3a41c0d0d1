// The span the proxy records per request, and its OTLP/HTTP JSON encoding
// (an ExportTraceServiceRequest, opentelemetry-proto's JSON mapping with the
// OTLP deviations: trace and span ids as lowercase hex, not base64; int64 as
// decimal strings; enums as integers). Pure: strings in, a string out.

export type AttributeValue = string | number | boolean;

/** 0: unset, 1: ok, 2: error (OTLP Status.StatusCode). */
export type SpanStatusCode = 0 | 1 | 2;

export const STATUS_UNSET = 0;
export const STATUS_OK = 1;
export const STATUS_ERROR = 2;

/** OTLP Span.SpanKind SPAN_KIND_SERVER: every span Martello produces serves a request. */
export const SPAN_KIND_SERVER = 2;

export const SCOPE_NAME = 'martello';

export interface FinishedSpan {
  /** 32 lowercase hex. */
  readonly traceId: string;
  /** 16 lowercase hex. */
  readonly spanId: string;
  /** 16 lowercase hex, or '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** Nanoseconds since the Unix epoch: a bigint or its decimal string. */
  readonly startTimeUnixNano: bigint | string;
  readonly endTimeUnixNano: bigint | string;
  readonly statusCode: SpanStatusCode;
  /** Key/value pairs in the order they are exported. Integer numbers become intValue, others doubleValue. */
  readonly attributes: ReadonlyArray<readonly [string, AttributeValue]>;
}

export interface SpanResource {
  /** Resource attribute service.name. */
  readonly serviceName: string;
  /** Resource attribute service.instance.id (e.g. the pod name). */
  readonly instanceId: string;
}

// Attribute names: OpenTelemetry semantic conventions for HTTP server spans,
// plus Martello's own under `martello.`.
export const ATTR = Object.freeze({
  method: 'http.request.method',
  methodOriginal: 'http.request.method_original',
  path: 'url.path',
  scheme: 'url.scheme',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  statusCode: 'http.response.status_code',
  protocolVersion: 'network.protocol.version',
  clientAddress: 'client.address',
  errorType: 'error.type',
  routeNamespace: 'martello.route.namespace',
  routeIngress: 'martello.route.ingress',
  routeService: 'martello.route.service',
  upstreamAddress: 'martello.upstream.address',
});

/** The methods semantic conventions know; any other is reported as `_OTHER` (bounded cardinality). */
const KNOWN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE', 'QUERY']);

export interface HttpServerSpanInput {
  readonly traceId: string;
  readonly spanId: string;
  /** The caller's span, or '' when Martello started the trace. */
  readonly parentSpanId: string;
  readonly startTimeUnixNano: bigint | string;
  readonly endTimeUnixNano: bigint | string;
  /** The request method as received. */
  readonly method: string;
  /** The request target's path; a query (from '?') is cut off and never exported. */
  readonly target: string;
  readonly scheme: 'http' | 'https';
  /** Host header or :authority, with or without a port ('' if absent). */
  readonly host: string;
  /** Status code sent to the client; 0 when none was sent. */
  readonly status: number;
  /** '1.0', '1.1' or '2'. */
  readonly protocolVersion: string;
  readonly clientAddress: string;
  /** The route the request took (absent: no route matched). */
  readonly route?: { readonly namespace: string; readonly ingress: string; readonly service: string } | undefined;
  /** The endpoint forwarded to, "ip:port" (absent: not forwarded). */
  readonly upstreamAddress?: string | undefined;
  /** Why the request failed without a status (e.g. 'upstream_reset', 'client_abort'); sets status error. */
  readonly errorType?: string | undefined;
}

/**
 * The span of one proxied request, by the semantic conventions for HTTP
 * server spans: name is the method (or "HTTP" for an unknown one), status is
 * error for 5xx or when no response was sent with an error type, else unset.
 */
export function httpServerSpan(input: HttpServerSpanInput): FinishedSpan {
  const known = KNOWN_METHODS.has(input.method);
  const attributes: Array<readonly [string, AttributeValue]> = [[ATTR.method, known ? input.method : '_OTHER']];
  if (!known) attributes.push([ATTR.methodOriginal, input.method]);
  const q = input.target.indexOf('?');
  attributes.push([ATTR.path, q < 0 ? input.target : input.target.slice(0, q)], [ATTR.scheme, input.scheme]);
  const { address, port } = splitHost(input.host);
  if (address !== '') attributes.push([ATTR.serverAddress, address]);
  if (port !== undefined) attributes.push([ATTR.serverPort, port]);
  if (input.status > 0) attributes.push([ATTR.statusCode, input.status]);
  attributes.push([ATTR.protocolVersion, input.protocolVersion], [ATTR.clientAddress, input.clientAddress]);
  if (input.route !== undefined) {
    attributes.push([ATTR.routeNamespace, input.route.namespace], [ATTR.routeIngress, input.route.ingress], [ATTR.routeService, input.route.service]);
  }
  if (input.upstreamAddress !== undefined && input.upstreamAddress !== '') attributes.push([ATTR.upstreamAddress, input.upstreamAddress]);
  let error = input.status >= 500;
  if (input.errorType !== undefined && input.errorType !== '') {
    attributes.push([ATTR.errorType, input.errorType]);
    error = true;
  } else if (error) {
    attributes.push([ATTR.errorType, String(input.status)]);
  }
  return {
    traceId: input.traceId,
    spanId: input.spanId,
    parentSpanId: input.parentSpanId,
    name: known ? input.method : 'HTTP',
    startTimeUnixNano: input.startTimeUnixNano,
    endTimeUnixNano: input.endTimeUnixNano,
    statusCode: error ? STATUS_ERROR : STATUS_UNSET,
    attributes,
  };
}

/** "host", "host:port", "[v6]", "[v6]:port" → address (without brackets) and port. */
function splitHost(host: string): { address: string; port: number | undefined } {
  let address = host;
  let portText = '';
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0) return { address: host, port: undefined };
    address = host.slice(1, close);
    if (host.charCodeAt(close + 1) === 0x3a) portText = host.slice(close + 2);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0 && host.indexOf(':') === colon) {
      address = host.slice(0, colon);
      portText = host.slice(colon + 1);
    }
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : undefined;
  return { address, port: port !== undefined && port <= 65535 ? port : undefined };
}

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string;
  doubleValue?: number;
  boolValue?: boolean;
}

function anyValue(v: AttributeValue): OtlpAnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
}

function keyValues(attributes: ReadonlyArray<readonly [string, AttributeValue]>): Array<{ key: string; value: OtlpAnyValue }> {
  const out: Array<{ key: string; value: OtlpAnyValue }> = [];
  for (const [key, value] of attributes) out.push({ key, value: anyValue(value) });
  return out;
}

/**
 * An OTLP/HTTP JSON ExportTraceServiceRequest body for `spans`, all under one
 * resource (service.name, service.instance.id) and one scope ("martello").
 * Span kind is SERVER; parentSpanId is omitted for root spans (proto3 JSON
 * omits empty fields); status is omitted when unset.
 */
export function encodeOtlpJson(spans: readonly FinishedSpan[], resource: SpanResource): string {
  const out: Array<Record<string, unknown>> = [];
  for (const s of spans) {
    const span: Record<string, unknown> = { traceId: s.traceId, spanId: s.spanId };
    if (s.parentSpanId !== '') span.parentSpanId = s.parentSpanId;
    span.name = s.name;
    span.kind = SPAN_KIND_SERVER;
    span.startTimeUnixNano = String(s.startTimeUnixNano);
    span.endTimeUnixNano = String(s.endTimeUnixNano);
    span.attributes = keyValues(s.attributes);
    if (s.statusCode !== STATUS_UNSET) span.status = { code: s.statusCode };
    out.push(span);
  }
  return JSON.stringify({
    resourceSpans: [
      {
        resource: {
          attributes: keyValues([
            ['service.name', resource.serviceName],
            ['service.instance.id', resource.instanceId],
          ]),
        },
        scopeSpans: [{ scope: { name: SCOPE_NAME }, spans: out }],
      },
    ],
  });
}
