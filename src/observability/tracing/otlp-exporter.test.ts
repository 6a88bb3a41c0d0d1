// The OTLP exporter against a real collector on a real socket
// (test/support/otlp-collector.ts): what arrives, batch bounds, the queue
// bound, failing and hanging collectors, shutdown, and that the exporter
// never keeps the process alive.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { OtlpExporter, tracesUrl, type OtlpExporterOptions } from './otlp-exporter.ts';
import { httpServerSpan, STATUS_ERROR, type FinishedSpan } from './span.ts';
import { startOtlpCollector } from '../../../test/support/otlp-collector.ts';
import { eventually } from '../../../test/support/eventually.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

function span(i: number, overrides: Partial<FinishedSpan> = {}): FinishedSpan {
  return {
    traceId: TRACE,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    parentSpanId: '',
    name: 'GET',
    startTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(i),
    endTimeUnixNano: 1_700_000_000_000_500_000n + BigInt(i),
    statusCode: 0,
    attributes: [['seq', i]],
    ...overrides,
  };
}

function exporter(url: string, options: Partial<OtlpExporterOptions> = {}): OtlpExporter {
  return new OtlpExporter({ endpoint: url, serviceName: 'martello', instanceId: 'pod-1', ...options });
}

/** Waits until the exporter's stats equal `expected` (fields given), failing after a wide deadline. */
async function statsReach(e: OtlpExporter, expected: Partial<ReturnType<OtlpExporter['stats']>>, deadlineMs = 10_000) {
  return eventually(`stats ${JSON.stringify(expected)} (now ${JSON.stringify(e.stats())})`, () => {
    const s = e.stats();
    for (const [k, v] of Object.entries(expected)) if (s[k as keyof typeof s] !== v) return undefined;
    return s;
  }, deadlineMs);
}

test('tracesUrl: /v1/traces is appended unless the endpoint already ends with it', () => {
  assert.equal(tracesUrl('http://collector:4318').href, 'http://collector:4318/v1/traces');
  assert.equal(tracesUrl('http://collector:4318/').href, 'http://collector:4318/v1/traces');
  assert.equal(tracesUrl('https://otel.example.com/otlp').href, 'https://otel.example.com/otlp/v1/traces');
  assert.equal(tracesUrl('https://otel.example.com/otlp/v1/traces').href, 'https://otel.example.com/otlp/v1/traces');
  assert.equal(tracesUrl('http://c:4318/v1/traces/').href, 'http://c:4318/v1/traces');
  assert.throws(() => tracesUrl('ftp://c/'), /http or https/);
  assert.throws(() => tracesUrl('not a url'));
  assert.throws(() => exporter('http://c:4318', { maxBatch: 0 }), RangeError);
});

test('spans arrive at the collector with their fields, resource and headers', async (t) => {
  const collector = await startOtlpCollector();
  const e = exporter(collector.url, { flushIntervalMs: 50, headers: { Authorization: 'Bearer s3cret', 'x-tenant': 'blue' } });
  t.after(async () => {
    await e.shutdown(1000);
    await collector.close();
  });
  const http = httpServerSpan({
    traceId: TRACE, spanId: 'aaaaaaaaaaaaaaaa', parentSpanId: 'bbbbbbbbbbbbbbbb', startTimeUnixNano: 1_718_000_000_123_456_789n, endTimeUnixNano: 1_718_000_000_223_456_789n,
    method: 'POST', target: '/cart?id=1', scheme: 'https', host: 'shop.example.com', status: 503, protocolVersion: '2', clientAddress: '10.0.0.7',
    route: { namespace: 'shop', ingress: 'storefront', service: 'web' }, upstreamAddress: '10.1.2.3:8080',
  });
  assert.equal(e.add(http), true);
  assert.equal(e.add(span(1)), true);
  const got = await collector.waitForSpans(2);
  assert.equal(got.length, 2);
  const [a, b] = got;
  assert.ok(a !== undefined && b !== undefined);
  assert.equal(a.traceId, TRACE);
  assert.equal(a.spanId, 'aaaaaaaaaaaaaaaa');
  assert.equal(a.parentSpanId, 'bbbbbbbbbbbbbbbb');
  assert.equal(a.name, 'POST');
  assert.equal(a.kind, 2);
  assert.equal(a.startTimeUnixNano, '1718000000123456789');
  assert.equal(a.endTimeUnixNano, '1718000000223456789');
  assert.equal(a.statusCode, STATUS_ERROR);
  assert.deepEqual(a.attributes, {
    'http.request.method': 'POST',
    'url.path': '/cart',
    'url.scheme': 'https',
    'server.address': 'shop.example.com',
    'http.response.status_code': 503,
    'network.protocol.version': '2',
    'client.address': '10.0.0.7',
    'martello.route.namespace': 'shop',
    'martello.route.ingress': 'storefront',
    'martello.route.service': 'web',
    'martello.upstream.address': '10.1.2.3:8080',
    'error.type': '503',
  });
  assert.deepEqual(a.resource, { 'service.name': 'martello', 'service.instance.id': 'pod-1' });
  assert.equal(a.scope, 'martello');
  assert.equal(b.spanId, '0000000000000002');
  assert.equal(b.parentSpanId, '');
  assert.deepEqual(b.attributes, { seq: 1 });

  const [req] = collector.requestLog();
  assert.ok(req !== undefined);
  assert.equal(req.method, 'POST');
  assert.equal(req.url, '/v1/traces');
  assert.equal(req.headers['content-type'], 'application/json');
  assert.equal(req.headers.authorization, 'Bearer s3cret');
  assert.equal(req.headers['x-tenant'], 'blue');
  await statsReach(e, { exported: 2, dropped: 0, queued: 0 });
});

test('batches are bounded by maxBatch; a full batch goes out without waiting for the timer', async (t) => {
  const collector = await startOtlpCollector();
  // The timer would fire only after a minute: everything below is driven by full batches and shutdown.
  const e = exporter(collector.url, { maxBatch: 10, maxQueue: 100, flushIntervalMs: 60_000 });
  t.after(() => collector.close());
  for (let i = 0; i < 35; i++) e.add(span(i));
  await collector.waitForSpans(30);
  await statsReach(e, { exported: 30, dropped: 0, queued: 5 });
  assert.equal(collector.requests, 3);
  await e.shutdown(5000);
  assert.deepEqual(collector.requestLog().map((r) => r.spans), [10, 10, 10, 5]);
  // In order, none twice.
  assert.deepEqual(collector.spans().map((s) => s.attributes.seq), Array.from({ length: 35 }, (_, i) => i));
  assert.deepEqual(e.stats(), { exported: 35, dropped: 0, queued: 0 });
});

test('a full queue drops and counts new spans instead of growing', async (t) => {
  const collector = await startOtlpCollector({ delayMs: 400 });
  const e = exporter(collector.url, { maxQueue: 5, maxBatch: 5, flushIntervalMs: 60_000, timeoutMs: 10_000 });
  t.after(async () => {
    await e.shutdown(1000);
    await collector.close();
  });
  for (let i = 0; i < 5; i++) assert.equal(e.add(span(i)), true);
  // The full batch leaves the queue; the collector holds its answer.
  await eventually('first export in flight', () => (collector.requests === 1 ? true : undefined));
  assert.deepEqual(e.stats(), { exported: 0, dropped: 0, queued: 5 });
  const accepted: boolean[] = [];
  for (let i = 5; i < 13; i++) accepted.push(e.add(span(i)));
  assert.deepEqual(accepted, [true, true, true, true, true, false, false, false]);
  assert.deepEqual(e.stats(), { exported: 0, dropped: 3, queued: 10 });
  await statsReach(e, { exported: 10, dropped: 3, queued: 0 });
  assert.deepEqual(collector.spans().map((s) => s.attributes.seq), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(collector.requests, 2);
});

test('a collector answering 500 loses that batch, counted; the exporter keeps working', async (t) => {
  const collector = await startOtlpCollector({ status: 500 });
  const e = exporter(collector.url, { flushIntervalMs: 50 });
  t.after(async () => {
    await e.shutdown(1000);
    await collector.close();
  });
  for (let i = 0; i < 4; i++) e.add(span(i));
  await statsReach(e, { exported: 0, dropped: 4, queued: 0 });
  assert.equal(collector.requests, 1); // no retry of the failed batch
  assert.deepEqual(collector.spans(), []);

  collector.setStatus(200);
  e.add(span(10));
  e.add(span(11));
  const got = await collector.waitForSpans(2);
  assert.deepEqual(got.map((s) => s.attributes.seq), [10, 11]);
  await statsReach(e, { exported: 2, dropped: 4, queued: 0 });
  assert.equal(collector.requests, 2);
});

test('a collector hanging past timeoutMs loses that batch, counted; the exporter keeps working', async (t) => {
  const collector = await startOtlpCollector({ delayMs: 60_000 });
  const e = exporter(collector.url, { flushIntervalMs: 50, timeoutMs: 300 });
  t.after(async () => {
    await e.shutdown(1000);
    await collector.close();
  });
  const started = Date.now();
  for (let i = 0; i < 3; i++) e.add(span(i));
  await eventually('export sent', () => (collector.requests === 1 ? true : undefined));
  await statsReach(e, { exported: 0, dropped: 3, queued: 0 });
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 250, `dropped after ${elapsed} ms, before the 300 ms timeout`);
  assert.ok(elapsed < 8000, `dropped only after ${elapsed} ms`);

  collector.setDelay(0);
  e.add(span(7));
  const got = await collector.waitForSpans(1);
  assert.deepEqual(got.map((s) => s.attributes.seq), [7]);
  await statsReach(e, { exported: 1, dropped: 3, queued: 0 });
});

test('shutdown flushes what is queued, then refuses new spans', async (t) => {
  const collector = await startOtlpCollector();
  t.after(() => collector.close());
  const e = exporter(collector.url, { flushIntervalMs: 60_000, maxBatch: 512 });
  for (let i = 0; i < 7; i++) e.add(span(i));
  assert.equal(collector.requests, 0);
  assert.deepEqual(e.stats(), { exported: 0, dropped: 0, queued: 7 });
  await e.shutdown(5000);
  assert.deepEqual(collector.spans().map((s) => s.attributes.seq), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(e.stats(), { exported: 7, dropped: 0, queued: 0 });
  assert.equal(e.add(span(99)), false);
  assert.deepEqual(e.stats(), { exported: 7, dropped: 1, queued: 0 });
  // Idempotent.
  await e.shutdown(5000);
  assert.equal(collector.requests, 1);
});

test('shutdown gives up at its deadline: the export in flight and the rest of the queue are dropped', async (t) => {
  const collector = await startOtlpCollector({ delayMs: 60_000 });
  t.after(() => collector.close());
  const e = exporter(collector.url, { flushIntervalMs: 60_000, maxBatch: 4, timeoutMs: 30_000 });
  for (let i = 0; i < 10; i++) e.add(span(i)); // 4 go out at once (full batch), 6 wait
  await eventually('first export in flight', () => (collector.requests === 1 ? true : undefined));
  const started = Date.now();
  await e.shutdown(300);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 250 && elapsed < 5000, `shutdown took ${elapsed} ms`);
  assert.deepEqual(e.stats(), { exported: 0, dropped: 10, queued: 0 });
  assert.equal(collector.requests, 1);
});

test('an exporter never keeps the process alive (timer unref\'d, idle connection unref\'d)', async () => {
  const collector = await startOtlpCollector();
  try {
    const moduleUrl = pathToFileURL(new URL('./otlp-exporter.ts', import.meta.url).pathname).href;
    // The child exports one span, prints its stats and returns without shutdown():
    // a ref'd interval or socket would keep it running until the kill below.
    const script = `
      const { OtlpExporter } = await import(${JSON.stringify(moduleUrl)});
      const e = new OtlpExporter({ endpoint: ${JSON.stringify(collector.url)}, serviceName: 's', instanceId: 'i', flushIntervalMs: 20 });
      e.add({ traceId: '${TRACE}', spanId: '00000000000000aa', parentSpanId: '', name: 'GET', startTimeUnixNano: 1n, endTimeUnixNano: 2n, statusCode: 0, attributes: [] });
      const end = Date.now() + 10000;
      while (e.stats().exported === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      console.log(JSON.stringify(e.stats()));
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    let killed = false;
    const kill = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, 15_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearTimeout(kill);
    assert.equal(killed, false, `the child did not exit on its own; stdout: ${out} stderr: ${err}`);
    assert.equal(code, 0, err);
    assert.deepEqual(JSON.parse(out.trim()), { exported: 1, dropped: 0, queued: 0 });
    assert.equal(collector.spans().length, 1);
  } finally {
    await collector.close();
  }
});
