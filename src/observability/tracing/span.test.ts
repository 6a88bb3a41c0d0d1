// The per-request span and its OTLP/HTTP JSON encoding, checked field by field.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeOtlpJson, httpServerSpan, SPAN_KIND_SERVER, STATUS_ERROR, STATUS_OK, STATUS_UNSET, type FinishedSpan, type HttpServerSpanInput } from './span.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const PARENT = 'b7ad6b7169203331';
const RESOURCE = { serviceName: 'martello', instanceId: 'martello-7d9f-abcde' };

// Larger than 2^53: must survive as an exact decimal string.
const START = 1_718_000_000_123_456_789n;
const END = 1_718_000_000_223_456_789n;

type Json = Record<string, any>;

function decode(spans: FinishedSpan[]): Json {
  return JSON.parse(encodeOtlpJson(spans, RESOURCE)) as Json;
}

test('encodeOtlpJson: request shape, resource and scope', () => {
  const body = decode([{ traceId: TRACE, spanId: SPAN, parentSpanId: '', name: 'GET', startTimeUnixNano: START, endTimeUnixNano: END, statusCode: STATUS_UNSET, attributes: [] }]);
  assert.deepEqual(Object.keys(body), ['resourceSpans']);
  assert.equal(body.resourceSpans.length, 1);
  const rs = body.resourceSpans[0];
  assert.deepEqual(rs.resource, {
    attributes: [
      { key: 'service.name', value: { stringValue: 'martello' } },
      { key: 'service.instance.id', value: { stringValue: 'martello-7d9f-abcde' } },
    ],
  });
  assert.equal(rs.scopeSpans.length, 1);
  assert.deepEqual(rs.scopeSpans[0].scope, { name: 'martello' });
  assert.equal(rs.scopeSpans[0].spans.length, 1);
});

test('encodeOtlpJson: span fields — hex ids, kind SERVER, int64 nanoseconds as decimal strings, status', () => {
  const spans: FinishedSpan[] = [
    { traceId: TRACE, spanId: SPAN, parentSpanId: PARENT, name: 'GET', startTimeUnixNano: START, endTimeUnixNano: END, statusCode: STATUS_ERROR, attributes: [] },
    { traceId: TRACE, spanId: 'a'.repeat(16), parentSpanId: '', name: 'POST', startTimeUnixNano: '1', endTimeUnixNano: '2', statusCode: STATUS_UNSET, attributes: [] },
    { traceId: TRACE, spanId: 'b'.repeat(16), parentSpanId: '', name: 'PUT', startTimeUnixNano: 0n, endTimeUnixNano: 1n, statusCode: STATUS_OK, attributes: [] },
  ];
  const out = decode(spans).resourceSpans[0].scopeSpans[0].spans as [Json, Json, Json];
  assert.equal(out.length, 3);
  assert.deepEqual(out[0], {
    traceId: TRACE,
    spanId: SPAN,
    parentSpanId: PARENT,
    name: 'GET',
    kind: SPAN_KIND_SERVER,
    startTimeUnixNano: '1718000000123456789',
    endTimeUnixNano: '1718000000223456789',
    attributes: [],
    status: { code: 2 },
  });
  assert.equal(out[0].kind, 2);
  // A root span has no parentSpanId; an unset status is omitted.
  assert.equal('parentSpanId' in out[1], false);
  assert.equal('status' in out[1], false);
  assert.equal(out[1].startTimeUnixNano, '1');
  assert.equal(out[1].endTimeUnixNano, '2');
  assert.deepEqual(out[2].status, { code: 1 });
  assert.equal(out[2].startTimeUnixNano, '0');
});

test('encodeOtlpJson: attribute values by type', () => {
  const out = decode([
    {
      traceId: TRACE, spanId: SPAN, parentSpanId: '', name: 'GET', startTimeUnixNano: START, endTimeUnixNano: END, statusCode: STATUS_UNSET,
      attributes: [['s', 'text'], ['i', 200], ['neg', -3], ['b', true], ['f', false], ['d', 1.5], ['empty', '']],
    },
  ]).resourceSpans[0].scopeSpans[0].spans[0] as Json;
  assert.deepEqual(out.attributes, [
    { key: 's', value: { stringValue: 'text' } },
    { key: 'i', value: { intValue: '200' } },
    { key: 'neg', value: { intValue: '-3' } },
    { key: 'b', value: { boolValue: true } },
    { key: 'f', value: { boolValue: false } },
    { key: 'd', value: { doubleValue: 1.5 } },
    { key: 'empty', value: { stringValue: '' } },
  ]);
});

test('encodeOtlpJson: no spans is still a well-formed request', () => {
  const body = decode([]);
  assert.deepEqual(body.resourceSpans[0].scopeSpans[0].spans, []);
});

const base: HttpServerSpanInput = {
  traceId: TRACE,
  spanId: SPAN,
  parentSpanId: PARENT,
  startTimeUnixNano: START,
  endTimeUnixNano: END,
  method: 'GET',
  target: '/api/items?secret=1',
  scheme: 'https',
  host: 'shop.example.com:8443',
  status: 200,
  protocolVersion: '1.1',
  clientAddress: '10.0.0.7',
  route: { namespace: 'shop', ingress: 'storefront', service: 'web' },
  upstreamAddress: '10.1.2.3:8080',
};

test('httpServerSpan: semantic-convention attributes of a forwarded request', () => {
  const span = httpServerSpan(base);
  assert.equal(span.traceId, TRACE);
  assert.equal(span.spanId, SPAN);
  assert.equal(span.parentSpanId, PARENT);
  assert.equal(span.name, 'GET');
  assert.equal(span.startTimeUnixNano, START);
  assert.equal(span.endTimeUnixNano, END);
  assert.equal(span.statusCode, STATUS_UNSET);
  assert.deepEqual(span.attributes, [
    ['http.request.method', 'GET'],
    ['url.path', '/api/items'],
    ['url.scheme', 'https'],
    ['server.address', 'shop.example.com'],
    ['server.port', 8443],
    ['http.response.status_code', 200],
    ['network.protocol.version', '1.1'],
    ['client.address', '10.0.0.7'],
    ['martello.route.namespace', 'shop'],
    ['martello.route.ingress', 'storefront'],
    ['martello.route.service', 'web'],
    ['martello.upstream.address', '10.1.2.3:8080'],
  ]);
  // The query never reaches the span.
  assert.equal(encodeOtlpJson([span], RESOURCE).includes('secret'), false);
});

test('httpServerSpan: status error for 5xx only, with error.type', () => {
  const cases: Array<[number, number, string | undefined]> = [
    [200, STATUS_UNSET, undefined],
    [404, STATUS_UNSET, undefined],
    [499, STATUS_UNSET, undefined],
    [500, STATUS_ERROR, '500'],
    [503, STATUS_ERROR, '503'],
    [504, STATUS_ERROR, '504'],
  ];
  for (const [status, code, errorType] of cases) {
    const span = httpServerSpan({ ...base, status });
    assert.equal(span.statusCode, code, String(status));
    const attrs = new Map(span.attributes);
    assert.equal(attrs.get('http.response.status_code'), status);
    assert.equal(attrs.get('error.type'), errorType, String(status));
  }
  // No response at all (e.g. the upstream reset): error, no status code attribute.
  const reset = httpServerSpan({ ...base, status: 0, errorType: 'upstream_reset' });
  assert.equal(reset.statusCode, STATUS_ERROR);
  const attrs = new Map(reset.attributes);
  assert.equal(attrs.has('http.response.status_code'), false);
  assert.equal(attrs.get('error.type'), 'upstream_reset');
});

test('httpServerSpan: unknown methods are _OTHER with the original kept; name HTTP', () => {
  const span = httpServerSpan({ ...base, method: 'PROPFIND' });
  const attrs = new Map(span.attributes);
  assert.equal(span.name, 'HTTP');
  assert.equal(attrs.get('http.request.method'), '_OTHER');
  assert.equal(attrs.get('http.request.method_original'), 'PROPFIND');
  // Case matters: methods are case-sensitive.
  assert.equal(httpServerSpan({ ...base, method: 'get' }).name, 'HTTP');
  assert.equal(new Map(httpServerSpan({ ...base, method: 'DELETE' }).attributes).has('http.request.method_original'), false);
});

test('httpServerSpan: host forms, and a request no route matched', () => {
  const hostCases: Array<[string, string | undefined, number | undefined]> = [
    ['example.com', 'example.com', undefined],
    ['example.com:80', 'example.com', 80],
    ['[2001:db8::1]:8443', '2001:db8::1', 8443],
    ['[2001:db8::1]', '2001:db8::1', undefined],
    ['10.0.0.1:99999', '10.0.0.1', undefined],
    ['', undefined, undefined],
  ];
  for (const [host, address, port] of hostCases) {
    const attrs = new Map(httpServerSpan({ ...base, host }).attributes);
    assert.equal(attrs.get('server.address'), address, host);
    assert.equal(attrs.get('server.port'), port, host);
  }
  const unrouted = httpServerSpan({ ...base, status: 404, route: undefined, upstreamAddress: undefined, protocolVersion: '2', scheme: 'http' });
  const attrs = new Map(unrouted.attributes);
  assert.equal(attrs.has('martello.route.namespace'), false);
  assert.equal(attrs.has('martello.upstream.address'), false);
  assert.equal(attrs.get('network.protocol.version'), '2');
  assert.equal(attrs.get('url.scheme'), 'http');
  assert.equal(unrouted.statusCode, STATUS_UNSET);
});

test('httpServerSpan → encodeOtlpJson: integer attributes as intValue strings', () => {
  const out = decode([httpServerSpan({ ...base, status: 502 })]).resourceSpans[0].scopeSpans[0].spans[0] as Json;
  const byKey = new Map((out.attributes as Array<{ key: string; value: Json }>).map((a) => [a.key, a.value]));
  assert.deepEqual(byKey.get('http.response.status_code'), { intValue: '502' });
  assert.deepEqual(byKey.get('server.port'), { intValue: '8443' });
  assert.deepEqual(byKey.get('url.path'), { stringValue: '/api/items' });
  assert.deepEqual(out.status, { code: 2 });
  assert.equal(out.parentSpanId, PARENT);
});
