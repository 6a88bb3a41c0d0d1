import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { EMPTY_MODEL, type RoutingModel } from '../../model/model.ts';
import { ExchangeRecord, type RouteRef } from '../exchange-record.ts';
import { ALL_FAMILIES, F, LATENCY_BUCKETS } from './catalog.ts';
import { configFamilies, watchFamilies, workerFamilies } from './control-plane.ts';
import { renderExposition } from './exposition.ts';
import { Histogram } from './histogram.ts';
import { methodIndex, RequestMetrics, statusClassIndex } from './request-metrics.ts';
import { isMetricSnapshot, type MetricSnapshot, mergeSnapshots, retainCounters, samplesOf } from './snapshot.ts';

const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));

const ZERO_POOLS = { http1: { active: 0, idle: 0 }, h2: { active: 0, idle: 0 } };

function ref(namespace: string, ingress: string, service: string, host = 'app.test'): RouteRef {
  const key = `${namespace}\u0000${ingress}\u0000${service}`;
  return { namespace, ingress, service, host, key, hostKey: `${key}\u0000${host}` };
}

function exchange(fields: Partial<Omit<ExchangeRecord, 'reset'>>): ExchangeRecord {
  const rec = new ExchangeRecord();
  Object.assign(rec, { method: 'GET', startedAt: 1000, endedAt: 1010, status: 200 }, fields);
  return rec;
}

function lines(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('catalog', () => {
  test('docs/metrics.md lists every family with its type and labels', () => {
    const doc = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
    for (const f of ALL_FAMILIES) {
      const labels = [...f.labels, ...(f.optionalLabels ?? []).map((l) => `(${l})`)].join(', ');
      assert.ok(doc.includes(`| \`${f.name}\` | ${f.type} | ${labels} |`), `${f.name} is documented`);
    }
  });

  test('names are unique, valid, and typed by Prometheus conventions', () => {
    const names = ALL_FAMILIES.map((f) => f.name);
    assert.equal(new Set(names).size, names.length);
    for (const f of ALL_FAMILIES) {
      assert.match(f.name, /^martello_[a-z0-9_]+$/);
      if (f.type === 'counter') assert.match(f.name, /_total$/, `${f.name}: counters end in _total`);
      else assert.doesNotMatch(f.name, /_total$/, `${f.name}: only counters end in _total`);
      if (f.type === 'histogram') assert.ok(f.buckets !== undefined && f.buckets.every((b, i) => i === 0 || b > f.buckets![i - 1]!), `${f.name}: ascending buckets`);
      for (const l of f.labels) assert.doesNotMatch(l, /path|client|ip|request_id/, `${f.name}: unbounded label ${l}`);
    }
  });
});

describe('Histogram', () => {
  test('a value equal to a bound falls in that bucket; above the last, in +Inf', () => {
    const h = new Histogram([0.1, 1]);
    for (const v of [0.05, 0.1, 0.5, 1, 2, 30]) h.observe(v);
    assert.deepEqual(h.counts, [2, 2, 2]);
    assert.equal(h.count, 6);
    assert.equal(h.sum, 0.05 + 0.1 + 0.5 + 1 + 2 + 30);
  });
});

describe('exposition', () => {
  test('HELP and TYPE from the catalog, escaped label values, cumulative buckets ending at the count', () => {
    const h = new Histogram(LATENCY_BUCKETS);
    h.observe(0.003);
    h.observe(0.003);
    h.observe(100);
    const text = renderExposition({
      [F.requestDuration.name]: samplesOf(F.requestDuration, [{ labels: ['ns', 'in"g\\x', 'svc\nnl'], value: h.value() }]),
      [F.configGeneration.name]: samplesOf(F.configGeneration, [{ labels: [], value: 7 }]),
    });
    assert.match(text, /^# HELP martello_config_generation .+\n# TYPE martello_config_generation gauge\nmartello_config_generation 7$/m);
    assert.match(text, /^# TYPE martello_http_request_duration_seconds histogram$/m);
    const labels = 'namespace="ns",ingress="in\\"g\\\\x",service="svc\\nnl"';
    assert.ok(text.includes(`martello_http_request_duration_seconds_bucket{${labels},le="0.0025"} 0`));
    assert.ok(text.includes(`martello_http_request_duration_seconds_bucket{${labels},le="0.005"} 2`));
    assert.ok(text.includes(`martello_http_request_duration_seconds_bucket{${labels},le="60"} 2`));
    assert.ok(text.includes(`martello_http_request_duration_seconds_bucket{${labels},le="+Inf"} 3`));
    assert.ok(text.includes(`martello_http_request_duration_seconds_count{${labels}} 3`));
    assert.ok(text.includes(`martello_http_request_duration_seconds_sum{${labels}} 100.006`));
    // Families appear in catalog order, whatever order the snapshot had.
    assert.ok(text.indexOf('martello_http_request_duration_seconds') < text.indexOf('martello_config_generation'));
  });

  test('promtool check metrics accepts a full exposition', { skip: PROMTOOL === undefined && 'promtool not found: apt-get install prometheus (CI installs it)' }, async () => {
    const m = new RequestMetrics({ perHost: true });
    m.observe(exchange({ route: ref('default', 'web', 'svc', '*.example.com'), method: 'BREW', status: 418 }));
    m.observe(exchange({ route: null, status: 0 }));
    m.tlsHandshake('TLSv1.3', true);
    m.connectionOpened('h2');
    const model: RoutingModel = {
      ...EMPTY_MODEL,
      tlsHosts: [{ host: 'a.test', certificate: 'default/a', ingress: 'default/web' }],
      certificates: [{ id: 'default/a', certPem: '', keyPem: '', fingerprint: '', names: ['a.test'], notAfter: '2027-01-01T00:00:00Z' }],
    };
    const text = renderExposition(mergeSnapshots([
      m.snapshot(ZERO_POOLS),
      configFamilies({ generation: 3, rebuilds: 4, appliedAt: new Date().toISOString(), model, diagnostics: [{ severity: 'error' }] }, new Histogram(F.configPropagation.buckets!)),
      watchFamilies([{ resource: 'ingresses', synced: true, connected: true, restarts: 1, relists: 0, lastContactMs: Date.now(), events: { ADDED: 2 } }]),
      workerFamilies([{ worker: 1, state: 'listening', generation: 3, restarts: 0 }]),
    ]));
    const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
      const child = execFile(PROMTOOL!, ['check', 'metrics'], (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, text: stdout + stderr }));
      child.stdin!.end(text);
    });
    assert.equal(out.code, 0, out.text);
    assert.equal(out.text.trim(), '', out.text);
  });
});

describe('RequestMetrics', () => {
  test('counts by route, method (unknown ones as OTHER) and status class (none: no response head)', () => {
    const m = new RequestMetrics();
    const r = ref('shop', 'web', 'cart');
    m.observe(exchange({ route: r, method: 'GET', status: 200, bytesIn: 10, bytesOut: 5 }));
    m.observe(exchange({ route: r, method: 'GET', status: 204, bytesOut: 7 }));
    m.observe(exchange({ route: r, method: 'PROPFIND', status: 503 }));
    m.observe(exchange({ route: r, method: 'POST', status: 0 }));
    m.observe(exchange({ route: null, method: 'GET', status: 404 }));
    const text = renderExposition(m.snapshot(ZERO_POOLS));
    assert.deepEqual(lines(text, 'martello_http_requests_total'), [
      'martello_http_requests_total{namespace="",ingress="",service="",method="GET",status="4xx"} 1',
      'martello_http_requests_total{namespace="shop",ingress="web",service="cart",method="GET",status="2xx"} 2',
      'martello_http_requests_total{namespace="shop",ingress="web",service="cart",method="OTHER",status="5xx"} 1',
      'martello_http_requests_total{namespace="shop",ingress="web",service="cart",method="POST",status="none"} 1',
    ]);
    assert.ok(text.includes('martello_http_request_body_bytes_total{namespace="shop",ingress="web",service="cart"} 10'));
    assert.ok(text.includes('martello_http_response_body_bytes_total{namespace="shop",ingress="web",service="cart"} 12'));
    assert.ok(text.includes('martello_http_request_duration_seconds_count{namespace="shop",ingress="web",service="cart"} 4'));
    assert.ok(text.includes('martello_http_request_duration_seconds_bucket{namespace="shop",ingress="web",service="cart",le="0.01"} 4'), '10 ms each');
  });

  test('upstream header time is observed only for exchanges that reached an upstream', () => {
    const m = new RequestMetrics();
    const r = ref('a', 'b', 'c');
    m.observe(exchange({ route: r, upstreamStartedAt: 1000, upstreamHeadAt: 1003 }));
    m.observe(exchange({ route: r }));
    const text = renderExposition(m.snapshot(ZERO_POOLS));
    assert.ok(text.includes('martello_upstream_header_duration_seconds_count{namespace="a",ingress="b",service="c"} 1'));
    assert.ok(text.includes('martello_upstream_header_duration_seconds_bucket{namespace="a",ingress="b",service="c",le="0.0025"} 0'));
    assert.ok(text.includes('martello_upstream_header_duration_seconds_bucket{namespace="a",ingress="b",service="c",le="0.005"} 1'));
  });

  test('--metrics-per-host adds the virtual host pattern, never the request host', () => {
    const m = new RequestMetrics({ perHost: true });
    for (let i = 0; i < 50; i++) m.observe(exchange({ route: ref('ns', 'ing', 'svc', '*.example.com'), host: `h${i}.example.com` }));
    m.observe(exchange({ route: ref('ns', 'ing', 'svc', 'other.example.com') }));
    const text = renderExposition(m.snapshot(ZERO_POOLS));
    assert.deepEqual(lines(text, 'martello_http_requests_total'), [
      'martello_http_requests_total{namespace="ns",ingress="ing",service="svc",method="GET",status="2xx",host="*.example.com"} 50',
      'martello_http_requests_total{namespace="ns",ingress="ing",service="svc",method="GET",status="2xx",host="other.example.com"} 1',
    ]);
    assert.equal(m.routeCount, 2);
  });

  test('method and status tables', () => {
    assert.deepEqual(['GET', 'HEAD', 'DELETE', 'get', 'BREW'].map(methodIndex), [0, 1, 4, 9, 9]);
    assert.deepEqual([100, 199, 200, 308, 404, 599, 0, 600, 99].map(statusClassIndex), [0, 0, 1, 2, 3, 4, 5, 5, 5]);
  });
});

/** One worker's snapshot after `requests` requests with `open` connections open. */
function worker(requests: number, open: number, process: string): MetricSnapshot {
  const m = new RequestMetrics();
  for (let i = 0; i < requests; i++) m.observe(exchange({ route: ref('ns', 'ing', 'svc') }));
  for (let i = 0; i < open; i++) m.connectionOpened('http1');
  return { ...m.snapshot(ZERO_POOLS), [F.processRss.name]: samplesOf(F.processRss, [{ labels: [process], value: 1000 }]) };
}

describe('snapshots across processes', () => {

  test('merging sums counters, histograms and open connections; per-process gauges stay apart', () => {
    const text = renderExposition(mergeSnapshots([worker(3, 1, 'worker-1'), worker(4, 2, 'worker-2')]));
    assert.ok(text.includes('martello_http_requests_total{namespace="ns",ingress="ing",service="svc",method="GET",status="2xx"} 7'));
    assert.ok(text.includes('martello_http_request_duration_seconds_count{namespace="ns",ingress="ing",service="svc"} 7'));
    assert.ok(text.includes('martello_http_connections_open{protocol="http1"} 3'));
    assert.deepEqual(lines(text, 'martello_process_resident_memory_bytes'), [
      'martello_process_resident_memory_bytes{process="worker-1"} 1000',
      'martello_process_resident_memory_bytes{process="worker-2"} 1000',
    ]);
  });

  test('a process that exited leaves its counters, not its gauges', () => {
    const retired = retainCounters(worker(5, 2, 'worker-1'));
    const text = renderExposition(mergeSnapshots([retired, worker(1, 1, 'worker-3')]));
    assert.ok(text.includes('martello_http_requests_total{namespace="ns",ingress="ing",service="svc",method="GET",status="2xx"} 6'), 'sums never go down');
    assert.ok(text.includes('martello_http_connections_open{protocol="http1"} 1'), 'only live connections');
    assert.ok(text.includes('martello_http_connections_total{protocol="http1"} 3'));
    assert.deepEqual(lines(text, 'martello_process_resident_memory_bytes'), ['martello_process_resident_memory_bytes{process="worker-3"} 1000']);
  });

  test('what arrives over IPC is checked', () => {
    assert.ok(isMetricSnapshot(worker(1, 0, 'worker-1')));
    assert.ok(isMetricSnapshot(JSON.parse(JSON.stringify(worker(2, 1, 'worker-2')))));
    assert.equal(isMetricSnapshot({ martello_unknown_total: { labels: [], samples: [] } }), false, 'unknown family');
    assert.equal(isMetricSnapshot({ [F.requests.name]: { labels: ['a'], samples: [{ labels: ['x', 'y'], value: 1 }] } }), false, 'label count');
    assert.equal(isMetricSnapshot({ [F.requests.name]: { labels: ['a'], samples: [{ labels: ['x'], value: '1' }] } }), false, 'value type');
    assert.equal(isMetricSnapshot({ [F.requestDuration.name]: { labels: [], samples: [{ labels: [], value: { counts: [1], sum: 'x', count: 1 } }] } }), false, 'histogram sum');
    assert.equal(isMetricSnapshot([]), false);
  });
});

describe('control-plane families', () => {
  test('certificate expiry per TLS host, the default certificate for hosts without their own, none for the generated one', () => {
    const model: RoutingModel = {
      ...EMPTY_MODEL,
      tlsHosts: [
        { host: 'a.test', certificate: 'default/a', ingress: 'default/web' },
        { host: 'b.test', certificate: null, ingress: 'default/web' },
      ],
      certificates: [
        { id: 'default/a', certPem: '', keyPem: '', fingerprint: '', names: ['a.test'], notAfter: '2027-01-01T00:00:00Z' },
        { id: 'ops/default', certPem: '', keyPem: '', fingerprint: '', names: ['*'], notAfter: '2026-12-24T00:00:00Z' },
      ],
    };
    const state = { generation: 1, rebuilds: 1, appliedAt: undefined, model, diagnostics: [] };
    const hist = new Histogram(F.configPropagation.buckets!);
    assert.deepEqual(lines(renderExposition(configFamilies(state, hist)), 'martello_tls_certificate_expiry_timestamp_seconds'), [
      `martello_tls_certificate_expiry_timestamp_seconds{host="a.test",secret="default/a"} ${Date.parse('2027-01-01T00:00:00Z') / 1000}`,
    ]);
    const withDefault = { ...state, model: { ...model, defaultCertificate: 'ops/default' } };
    assert.deepEqual(lines(renderExposition(configFamilies(withDefault, hist)), 'martello_tls_certificate_expiry_timestamp_seconds'), [
      `martello_tls_certificate_expiry_timestamp_seconds{host="a.test",secret="default/a"} ${Date.parse('2027-01-01T00:00:00Z') / 1000}`,
      `martello_tls_certificate_expiry_timestamp_seconds{host="b.test",secret="ops/default"} ${Date.parse('2026-12-24T00:00:00Z') / 1000}`,
    ]);
  });

  test('watches of one resource in several namespaces: up only if all are, events and restarts summed', () => {
    const text = renderExposition(watchFamilies([
      { resource: 'ingresses', synced: true, connected: true, restarts: 1, relists: 1, lastContactMs: 5000, events: { ADDED: 2, MODIFIED: 1 } },
      { resource: 'ingresses', synced: true, connected: false, restarts: 2, relists: 0, lastContactMs: 9000, events: { ADDED: 1 } },
      { resource: 'services', synced: true, connected: true, restarts: 0, relists: 0, lastContactMs: undefined, events: {} },
    ]));
    assert.deepEqual(lines(text, 'martello_kube_watch_up'), ['martello_kube_watch_up{resource="ingresses"} 0', 'martello_kube_watch_up{resource="services"} 1']);
    assert.ok(text.includes('martello_kube_watch_restarts_total{resource="ingresses"} 4'));
    assert.ok(text.includes('martello_kube_watch_events_total{resource="ingresses",type="ADDED"} 3'));
    assert.ok(text.includes('martello_kube_watch_last_activity_timestamp_seconds{resource="ingresses"} 9'));
  });
});
