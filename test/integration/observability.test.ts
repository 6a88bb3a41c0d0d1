// Observability of the real `martello serve` process under real traffic:
// /metrics checked by value (counts match the requests sent) and by promtool,
// a cardinality check with 1,000 hosts and paths, access log lines parsed
// field by field, trace context checked at the backend, and spans received
// by an OTLP collector. Waits on deadlines with wide margins, never sleeps.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as h2connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { startEchoBackend, type EchoBackend, type EchoReply } from '../support/echo-backend.ts';
import { serviceYaml } from '../support/manifests.ts';
import { startMartello, type MartelloProcess } from '../support/martello-process.ts';
import { type ParsedSample, parseExposition, scrapeMetrics, sumSamples } from '../support/metrics.ts';
import { startOtlpCollector } from '../support/otlp-collector.ts';
import { createTestCa, type TestCa, tlsSecretManifest } from '../support/pki.ts';

const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));

const INGRESS = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: shop, namespace: default }
spec:
  tls:
    - { hosts: [a.test], secretName: a-cert }
  rules:
    - host: a.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: svc-a, port: { number: 80 } } } }] }
    - host: empty.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: svc-empty, port: { number: 80 } } } }] }
    - host: "*.many.test"
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: svc-many, port: { number: 80 } } } }] }
`;

const route = (service: string) => ({ namespace: 'default', ingress: 'shop', service });

/** How much `name` (summed over samples with labels `where`) grew between two scrapes. */
const delta = (from: readonly ParsedSample[], to: readonly ParsedSample[], name: string, where: Record<string, string> = {}) =>
  sumSamples(to, name, where) - sumSamples(from, name, where);

/** Sample lines of an exposition. */
const seriesCount = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;

/** Runs `check` until it stops throwing (its assertions hold), or rethrows its last error after `deadlineMs`. */
async function retrying<T>(check: () => T | Promise<T>, deadlineMs: number): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

interface AccessLine {
  readonly [field: string]: unknown;
}

describe('observability: metrics, access log, tracing', () => {
  let dir: string;
  let ca: TestCa;
  let a: EchoBackend;
  let many: EchoBackend;
  let collector: Awaited<ReturnType<typeof startOtlpCollector>>;
  let martello: MartelloProcess;
  const agent = new Agent({ connections: 4 });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'martello-observability-'));
    ca = createTestCa();
    [a, many] = await Promise.all([startEchoBackend('a'), startEchoBackend('many')]);
    collector = await startOtlpCollector();
    await writeFile(join(dir, 'services.yaml'), [
      serviceYaml({ name: 'svc-a', endpointPorts: [a.port] }),
      serviceYaml({ name: 'svc-empty', endpointPorts: [] }),
      serviceYaml({ name: 'svc-many', endpointPorts: [many.port] }),
    ].join('---\n'));
    await writeFile(join(dir, 'secret.yaml'), tlsSecretManifest({ namespace: 'default', name: 'a-cert', ...ca.issue(['a.test']) }));
    await writeFile(join(dir, 'ingress.yaml'), INGRESS);
    // Every span exported (ratio 1 for traces we start; continued ones keep the caller's flag).
    martello = await startMartello(dir, ['--otlp-endpoint', collector.url, '--trace-sample-ratio', '1', '--no-ssl-redirect']);
    await martello.waitFor((c) => c.generation >= 1 && c.routes.length === 3);
  });

  after(async () => {
    const code = await martello?.stop();
    await agent.close();
    await Promise.all([a?.close(), many?.close(), collector?.close()]);
    await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0);
  });

  const send = async (host: string, path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) => {
    const res = await request(`http://127.0.0.1:${martello.httpPort}${path}`, {
      method: (init.method ?? 'GET') as 'GET',
      headers: { host, ...init.headers },
      body: init.body,
      dispatcher: agent,
    });
    const body = await res.body.text();
    return { status: res.statusCode, headers: res.headers, body };
  };


  const accessLines = (): AccessLine[] => martello.accessLog.map((l) => JSON.parse(l) as AccessLine);

  test('request metrics count exactly what was sent, by route, method and status class', async () => {
    const start = await scrapeMetrics(martello.adminPort);
    let bytesOut = 0;
    for (let i = 0; i < 7; i++) {
      const r = await send('a.test', `/get/${i}`);
      assert.equal(r.status, 200);
      bytesOut += Buffer.byteLength(r.body);
    }
    for (let i = 0; i < 3; i++) {
      const r = await send('a.test', '/post', { method: 'POST', body: 'x'.repeat(100) });
      assert.equal(r.status, 200);
      assert.equal((JSON.parse(r.body) as EchoReply).bodyBytes, 100);
      bytesOut += Buffer.byteLength(r.body);
    }
    for (let i = 0; i < 4; i++) assert.equal((await send('nobody.test', '/')).status, 404);
    for (let i = 0; i < 2; i++) assert.equal((await send('empty.test', '/')).status, 503);
    // The exchange is observed when its response is complete; the client saw that already.
    const end = await retrying(async () => {
      const s = await scrapeMetrics(martello.adminPort);
      assert.equal(delta(start, s, 'martello_http_requests_total'), 16);
      return s;
    }, 10_000);
    const svcA = route('svc-a');
    assert.equal(delta(start, end, 'martello_http_requests_total', { ...svcA, method: 'GET', status: '2xx' }), 7);
    assert.equal(delta(start, end, 'martello_http_requests_total', { ...svcA, method: 'POST', status: '2xx' }), 3);
    assert.equal(delta(start, end, 'martello_http_requests_total', { namespace: '', ingress: '', service: '', method: 'GET', status: '4xx' }), 4);
    assert.equal(delta(start, end, 'martello_http_requests_total', { ...route('svc-empty'), method: 'GET', status: '5xx' }), 2);
    assert.equal(delta(start, end, 'martello_http_request_duration_seconds_count', svcA), 10);
    assert.equal(delta(start, end, 'martello_http_request_duration_seconds_bucket', { ...svcA, le: '+Inf' }), 10);
    assert.equal(delta(start, end, 'martello_upstream_header_duration_seconds_count', svcA), 10);
    assert.ok(delta(start, end, 'martello_http_request_duration_seconds_sum', svcA) > 0);
    assert.equal(delta(start, end, 'martello_http_request_body_bytes_total', svcA), 300);
    assert.equal(delta(start, end, 'martello_http_response_body_bytes_total', svcA), bytesOut);
    // Histogram buckets are cumulative: every bucket ≤ the next.
    const buckets = end.filter((s) => s.name === 'martello_http_request_duration_seconds_bucket' && s.labels['service'] === 'svc-a');
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value);
    // Process and configuration families are there too.
    assert.equal(sumSamples(end, 'martello_config_generation'), (await martello.debugConfig()).generation);
    assert.ok(sumSamples(end, 'martello_process_resident_memory_bytes', { process: 'main' }) > 10_000_000);
    assert.equal(sumSamples(end, 'martello_build_info'), 1);
    const expiry = end.find((s) => s.name === 'martello_tls_certificate_expiry_timestamp_seconds' && s.labels['host'] === 'a.test');
    assert.equal(expiry?.labels['secret'], 'default/a-cert');
    assert.ok(expiry !== undefined && expiry.value > Date.now() / 1000, 'the certificate expires in the future');
  });

  test('connections and TLS handshakes are counted by protocol', async () => {
    const start = await scrapeMetrics(martello.adminPort);
    const ok = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: martello.httpsPort, path: '/tls', servername: 'a.test', ca: ca.certPem, headers: { host: 'a.test' }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(ok, 200);
    const h2 = h2connect(`https://127.0.0.1:${martello.httpsPort}`, { servername: 'a.test', ca: ca.certPem });
    const status = await new Promise<number>((resolve, reject) => {
      const s = h2.request({ ':path': '/h2', ':authority': 'a.test' });
      s.on('response', (h) => resolve(Number(h[':status'])));
      s.on('error', reject);
      s.resume();
      s.end();
    });
    h2.close();
    assert.equal(status, 200);
    const end = await retrying(async () => {
      const s = await scrapeMetrics(martello.adminPort);
      assert.equal(delta(start, s, 'martello_tls_handshakes_total'), 2);
      assert.ok(delta(start, s, 'martello_http_connections_total', { protocol: 'h2' }) >= 1);
      return s;
    }, 10_000);
    assert.equal(delta(start, end, 'martello_tls_handshakes_total', { version: 'TLSv1.3', resumed: 'false' }), 2);
    assert.ok(delta(start, end, 'martello_http_connections_total', { protocol: 'http1' }) >= 1);
  });

  test('promtool check metrics accepts the exposition', { skip: PROMTOOL === undefined && 'promtool not found: apt-get install prometheus (CI installs it)' }, async () => {
    const text = await (await fetch(`http://127.0.0.1:${martello.adminPort}/metrics`)).text();
    const child = execFile(PROMTOOL!, ['check', 'metrics']);
    const done = new Promise<{ code: number | null; out: string }>((resolve) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
    child.stdin!.end(text);
    const { code, out } = await done;
    assert.equal(code, 0, `promtool check metrics:\n${out}`);
    assert.equal(out.trim(), '', `no lint findings:\n${out}`);
  });

  test('cardinality: 1,000 hosts and 1,000 paths add no series', async () => {
    // One request first, so the route's own series exist before the baseline.
    assert.equal((await send('h0.many.test', '/p0')).status, 200);
    const beforeText = await (await fetch(`http://127.0.0.1:${martello.adminPort}/metrics`)).text();
    for (let i = 1; i <= 1000; i++) {
      const r = await send(`h${i}.many.test`, `/p${i}/${i * 7}`);
      assert.equal(r.status, 200);
    }
    const afterText = await retrying(async () => {
      const t = await (await fetch(`http://127.0.0.1:${martello.adminPort}/metrics`)).text();
      assert.equal(delta(parseExposition(beforeText), parseExposition(t), 'martello_http_requests_total', route('svc-many')), 1000);
      return t;
    }, 10_000);
    assert.equal(seriesCount(afterText), seriesCount(beforeText), 'the same series, only their values moved');
    assert.doesNotMatch(afterText, /h\d+\.many\.test|\/p\d+/, 'no host or path in any label');
  });

  test('access log: one JSON line per request, checked field by field; secrets never logged', async () => {
    const r = await send('a.test', '/log-check?token=query-secret', { headers: { authorization: 'Bearer header-secret', cookie: 'session=cookie-secret' } });
    assert.equal(r.status, 200);
    const requestId = String(r.headers['x-request-id']);
    const line = await retrying(() => {
      const found = accessLines().find((l) => l['request_id'] === requestId);
      assert.ok(found, 'the line was written');
      return found;
    }, 10_000);
    assert.deepEqual(Object.keys(line), ['time', 'client', 'host', 'method', 'path', 'protocol', 'status', 'bytes_received', 'bytes_sent', 'duration_ms', 'upstream_duration_ms', 'upstream', 'namespace', 'ingress', 'service', 'request_id', 'tls', 'trace_id']);
    assert.ok(Math.abs(Date.parse(String(line['time'])) - Date.now()) < 60_000, `time ${String(line['time'])}`);
    assert.equal(line['client'], '127.0.0.1');
    assert.equal(line['host'], 'a.test');
    assert.equal(line['method'], 'GET');
    assert.equal(line['path'], '/log-check');
    assert.equal(line['protocol'], 'HTTP/1.1');
    assert.equal(line['status'], 200);
    assert.equal(line['bytes_received'], 0);
    assert.equal(line['bytes_sent'], Buffer.byteLength(r.body));
    assert.equal(typeof line['duration_ms'], 'number');
    assert.equal(typeof line['upstream_duration_ms'], 'number');
    assert.ok((line['duration_ms'] as number) >= (line['upstream_duration_ms'] as number));
    assert.equal(line['upstream'], `127.0.0.1:${a.port}`);
    assert.equal(line['namespace'], 'default');
    assert.equal(line['ingress'], 'shop');
    assert.equal(line['service'], 'svc-a');
    assert.equal(line['tls'], null);
    assert.match(String(line['trace_id']), /^[0-9a-f]{32}$/);
    // A 404 has no route and no upstream.
    const miss = await send('nobody.test', '/x');
    const missLine = await retrying(() => {
      const found = accessLines().find((l) => l['request_id'] === miss.headers['x-request-id']);
      assert.ok(found);
      return found;
    }, 10_000);
    assert.equal(missLine['status'], 404);
    assert.equal(missLine['upstream'], null);
    assert.equal(missLine['service'], null);
    for (const text of martello.accessLog) assert.doesNotMatch(text, /header-secret|cookie-secret|query-secret/);
  });

  test('access log: TLS version and HTTP/2 are recorded', async () => {
    const h2 = h2connect(`https://127.0.0.1:${martello.httpsPort}`, { servername: 'a.test', ca: ca.certPem });
    const id = await new Promise<string>((resolve, reject) => {
      const s = h2.request({ ':path': '/h2-log', ':authority': 'a.test' });
      s.on('response', (h) => resolve(String(h['x-request-id'])));
      s.on('error', reject);
      s.resume();
      s.end();
    });
    h2.close();
    const line = await retrying(() => {
      const found = accessLines().find((l) => l['request_id'] === id);
      assert.ok(found);
      return found;
    }, 10_000);
    assert.equal(line['protocol'], 'HTTP/2');
    assert.equal(line['tls'], 'TLSv1.3');
    assert.equal(line['path'], '/h2-log');
    assert.equal(line['status'], 200);
  });

  test('trace context: created when absent, continued when present, and the span is exported', async () => {
    // No traceparent: Martello starts a trace; the backend and the access log agree on it.
    const fresh = await send('a.test', '/trace-new');
    const sent = String((JSON.parse(fresh.body) as EchoReply).headers['traceparent']);
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(sent);
    assert.ok(m, `traceparent at the backend: ${sent}`);
    const freshLine = await retrying(() => {
      const found = accessLines().find((l) => l['request_id'] === fresh.headers['x-request-id']);
      assert.ok(found);
      return found;
    }, 10_000);
    assert.equal(freshLine['trace_id'], m[1]);

    // A caller's trace: same trace id upstream, our span as the new parent, tracestate passed on.
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = '00f067aa0ba902b7';
    const cont = await send('a.test', '/trace-continue?x=1', { headers: { traceparent: `00-${traceId}-${parent}-01`, tracestate: 'vendor=abc, other=def' } });
    const reply = JSON.parse(cont.body) as EchoReply;
    const up = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(reply.headers['traceparent']));
    assert.ok(up, String(reply.headers['traceparent']));
    assert.equal(up[1], traceId);
    assert.notEqual(up[2], parent, 'Martello is a hop: the backend\'s parent is Martello\'s span');
    assert.equal(reply.headers['tracestate'], 'vendor=abc,other=def');

    // Spans leave in batches (at most a second apart): wait for the one of this trace.
    const span = await retrying(() => {
      const found = collector.spans().find((x) => x.traceId === traceId);
      assert.ok(found, 'the continued trace\'s span reached the collector');
      return found;
    }, 15_000);
    const spans = collector.spans();
    assert.equal(span.spanId, up[2]);
    assert.equal(span.parentSpanId, parent);
    assert.equal(span.kind, 2);
    assert.equal(span.attributes['http.request.method'], 'GET');
    assert.equal(span.attributes['url.path'], '/trace-continue');
    assert.equal(span.attributes['http.response.status_code'], 200);
    assert.equal(span.attributes['martello.route.service'], 'svc-a');
    assert.equal(span.attributes['martello.upstream.address'], `127.0.0.1:${a.port}`);
    assert.ok(BigInt(span.endTimeUnixNano) >= BigInt(span.startTimeUnixNano));
    assert.equal(spans.find((s) => s.traceId === m[1])?.parentSpanId, '', 'a trace Martello started has no parent');
    const metrics = await scrapeMetrics(martello.adminPort);
    assert.ok(sumSamples(metrics, 'martello_tracing_spans_exported_total') >= 2);
    assert.ok(sumSamples(metrics, 'martello_access_log_lines_total') > 0);
    assert.equal(sumSamples(metrics, 'martello_access_log_dropped_total'), 0);
  });
});
