import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExchangeRecord } from '../exchange-record.ts';
import { routeRef, typical, WALL } from './test-support/records.ts';
import {
  ACCESS_LOG_VARIABLES,
  compileAccessLogFormat,
  formatIsoTime,
  MAX_VALUE_CHARS,
  TRUNCATION_MARKER,
  type AccessLogFormatter,
} from './format.ts';

function compile(spec: string): AccessLogFormatter {
  const f = compileAccessLogFormat(spec);
  if ('error' in f) assert.fail(f.error);
  return f;
}

function compileError(spec: string): string {
  const f = compileAccessLogFormat(spec);
  assert.ok('error' in f, `${JSON.stringify(spec)} should not compile`);
  return f.error;
}

const json = compile('json');

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20) return true;
  return false;
}

/** Formats, checks it is one line of valid JSON that survives UTF-8, and parses it. */
function jsonLine(r: ExchangeRecord): Record<string, unknown> {
  const out = json.format(r);
  assert.ok(!/[\n\r\u2028\u2029]/.test(out), `one line: ${out.slice(0, 200)}`);
  assert.ok(!hasControl(out), 'no raw control characters');
  assert.equal(Buffer.from(out, 'utf8').toString('utf8'), out, 'no lone surrogates left raw (they would not survive UTF-8)');
  return JSON.parse(out) as Record<string, unknown>;
}

describe('json', () => {
  test('a typical record: every key, in order, with its value', () => {
    const parsed = jsonLine(typical());
    assert.deepEqual(Object.keys(parsed), [...ACCESS_LOG_VARIABLES]);
    assert.deepEqual(parsed, {
      time: '2026-01-02T03:04:05.678Z',
      client: '10.244.1.17',
      host: 'app.example.com',
      method: 'GET',
      path: '/api/v1/users/12345/orders',
      protocol: 'HTTP/1.1',
      status: 200,
      bytes_received: 17,
      bytes_sent: 5123,
      duration_ms: 12.346,
      upstream_duration_ms: 11.7,
      upstream: '10.244.2.9:8080',
      namespace: 'shop',
      ingress: 'storefront',
      service: 'orders',
      request_id: '5f0c6e2a9b7d4c1e8f3a2b6c7d8e9f01',
      tls: 'TLSv1.3',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    });
    assert.equal(json.kind, 'json');
    assert.deepEqual(json.variables, ACCESS_LOG_VARIABLES);
  });

  test('absent values are null: a 404 answered locally on plain HTTP, untraced', () => {
    const r = typical();
    r.route = null;
    r.upstream = '';
    r.upstreamStartedAt = 0;
    r.upstreamHeadAt = 0;
    r.tls = '';
    r.traceId = '';
    r.requestId = '';
    r.clientAddress = '';
    r.host = '';
    r.status = 404;
    const p = jsonLine(r);
    assert.deepEqual(
      [p.client, p.host, p.upstream, p.upstream_duration_ms, p.namespace, p.ingress, p.service, p.request_id, p.tls, p.trace_id],
      [null, null, null, null, null, null, null, null, null, null],
    );
    assert.deepEqual([p.status, p.method, p.protocol], [404, 'GET', 'HTTP/1.1']);
  });

  test('a reset record still gives one valid line (time null, cut status 0)', () => {
    const p = jsonLine(new ExchangeRecord());
    assert.deepEqual(Object.keys(p), [...ACCESS_LOG_VARIABLES]);
    assert.deepEqual([p.time, p.status, p.duration_ms, p.method, p.path, p.protocol], [null, 0, 0, null, null, 'HTTP/1.1']);
  });

  test('upstream started but no response head: upstream_duration_ms is null', () => {
    const r = typical();
    r.upstreamHeadAt = 0;
    assert.equal(jsonLine(r).upstream_duration_ms, null);
  });

  test('durations: milliseconds rounded to 3 decimals, numbers; unfinished records give null, not garbage', () => {
    const cases: [number, number | null][] = [
      [0, 0],
      [0.0004, 0],
      [0.0005, 0.001],
      [0.1, 0.1],
      [1.23449, 1.234],
      [1.2346, 1.235],
      [999.9999, 1000],
      [12_345.678_9, 12_345.679],
      [86_400_000.5, 86_400_000.5],
      [-1, null],
      [Number.NaN, null],
    ];
    for (const [d, want] of cases) {
      const r = typical();
      r.startedAt = 5000;
      r.endedAt = 5000 + d;
      const got = jsonLine(r).duration_ms;
      const expected = want === null ? null : Math.round((r.endedAt - r.startedAt) * 1000) / 1000;
      assert.equal(got, expected, `duration ${d}`);
      if (want !== null) assert.ok(Math.abs((got as number) - want) < 1e-9, `duration ${d}: ${got} vs ${want}`);
    }
  });

  test('protocols, methods and TLS versions, common and not', () => {
    for (const protocol of ['HTTP/1.0', 'HTTP/1.1', 'HTTP/2'] as const) {
      const r = typical();
      r.protocol = protocol;
      assert.equal(jsonLine(r).protocol, protocol);
    }
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'PROPFIND', 'X"Y']) {
      const r = typical();
      r.method = method;
      assert.equal(jsonLine(r).method, method);
    }
    for (const [tls, want] of [['TLSv1.3', 'TLSv1.3'], ['TLSv1.2', 'TLSv1.2'], ['TLSv1', 'TLSv1'], ['', null]] as const) {
      const r = typical();
      r.tls = tls;
      assert.equal(jsonLine(r).tls, want);
    }
  });

  test('each route shows its own labels (the per-route fragment cache keys on the RouteRef)', () => {
    const r = typical();
    for (const [ns, ing, svc] of [['a', 'b', 'c'], ['team-x', 'web', 'frontend'], ['a', 'b', 'd']] as const) {
      r.route = routeRef(ns, ing, svc);
      const p = jsonLine(r);
      assert.deepEqual([p.namespace, p.ingress, p.service], [ns, ing, svc]);
    }
    r.route = routeRef('we"ird', 'in\\g', 'svc\n');
    const p = jsonLine(r);
    assert.deepEqual([p.namespace, p.ingress, p.service], ['we"ird', 'in\\g', 'svc\n']);
  });

  test('hostile host and path: quotes, backslashes, control characters, non-ASCII, lone surrogates', () => {
    const hostile = [
      'evil"host',
      'a\\b',
      '"},{"status":200,"x":"',
      'line\nbreak\r\n',
      'nul\u0000bell\u0007esc\u001b[31m',
      'del\u007fc1\u0085',
      'caf\u00e9.example',
      '\u{1F600}.example',
      'ls\u2028ps\u2029',
      'lone\ud800high',
      'lone\udc00low',
      '\udbff',
      'x\ud83d',
    ];
    for (const value of hostile) {
      const r = typical();
      r.host = value;
      r.path = '/' + value;
      r.requestId = value;
      const p = jsonLine(r);
      assert.deepEqual([p.host, p.path, p.request_id], [value, '/' + value, value], JSON.stringify(value));
    }
  });

  test('a 10 KB path is cut at 2048 characters with a marker; so is any other long value', () => {
    const r = typical();
    r.path = '/' + 'p'.repeat(10 * 1024);
    r.host = 'h'.repeat(5000);
    r.requestId = 'r'.repeat(MAX_VALUE_CHARS);
    const p = jsonLine(r);
    assert.equal(p.path, r.path.slice(0, MAX_VALUE_CHARS) + TRUNCATION_MARKER);
    assert.equal(p.host, 'h'.repeat(MAX_VALUE_CHARS) + TRUNCATION_MARKER);
    assert.equal(p.request_id, r.requestId, 'exactly MAX_VALUE_CHARS is not cut');
    assert.ok(json.format(r).length < 3 * MAX_VALUE_CHARS + 1000);
  });

  test('truncation never splits a surrogate pair, and hostile long paths stay valid', () => {
    const r = typical();
    r.path = 'a'.repeat(MAX_VALUE_CHARS - 1) + '\u{1F600}' + 'b'.repeat(100);
    assert.equal(jsonLine(r).path, 'a'.repeat(MAX_VALUE_CHARS - 1) + TRUNCATION_MARKER);
    r.path = '"\n\\\ud800'.repeat(3000);
    const p = jsonLine(r);
    assert.ok((p.path as string).endsWith(TRUNCATION_MARKER));
  });

  test('never a query string, even if a transport left one in the path', () => {
    const r = typical();
    r.path = '/login?access_token=SECRET&x=1';
    const line = json.format(r);
    assert.ok(!line.includes('SECRET') && !line.includes('?'), line);
    assert.equal(jsonLine(r).path, '/login');
  });
});

describe('time', () => {
  test('ISO 8601 UTC with milliseconds, correct across the cached second in any order', () => {
    const walls = [
      WALL, WALL + 1, WALL + 321, WALL + 322.9, WALL - 678, WALL - 679, WALL + 999, WALL, WALL + 1000,
      Date.UTC(1999, 11, 31, 23, 59, 59, 999), Date.UTC(2000, 0, 1), 1, Date.UTC(2026, 1, 28, 23, 59, 59, 999), Date.UTC(2028, 1, 29, 12),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1),
    ];
    for (const w of walls) assert.equal(formatIsoTime(w), new Date(Math.floor(w)).toISOString(), String(w));
    for (let w = WALL - 5000; w < WALL + 5000; w += 37.3) assert.equal(formatIsoTime(w), new Date(Math.floor(w)).toISOString());
  });

  test('unset or impossible wall times are null, never a throw', () => {
    for (const w of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 8.64e15 + 1]) assert.equal(formatIsoTime(w), null, String(w));
  });

  test('the JSON and template time are the record start', () => {
    const r = typical();
    r.startedWall = WALL + 0.9;
    assert.equal(jsonLine(r).time, '2026-01-02T03:04:05.678Z');
    assert.equal(compile('$time').format(r), '2026-01-02T03:04:05.678Z');
  });
});

describe('template', () => {
  test('every variable', () => {
    const f = compile(ACCESS_LOG_VARIABLES.map((v) => '$' + v).join('|'));
    assert.equal(f.kind, 'template');
    assert.deepEqual(f.variables, ACCESS_LOG_VARIABLES);
    assert.deepEqual(f.format(typical()).split('|'), [
      '2026-01-02T03:04:05.678Z',
      '10.244.1.17',
      'app.example.com',
      'GET',
      '/api/v1/users/12345/orders',
      'HTTP/1.1',
      '200',
      '17',
      '5123',
      '12.346',
      '11.7',
      '10.244.2.9:8080',
      'shop',
      'storefront',
      'orders',
      '5f0c6e2a9b7d4c1e8f3a2b6c7d8e9f01',
      'TLSv1.3',
      '4bf92f3577b34da6a3ce929d0e0e4736',
    ]);
  });

  test('absent values print as "-"', () => {
    const f = compile(ACCESS_LOG_VARIABLES.map((v) => '${' + v + '}').join(' '));
    assert.equal(f.format(new ExchangeRecord()), '- - - - - HTTP/1.1 0 0 0 0 - - - - - - - -');
  });

  test('nginx-like combined format; ${name} next to letters; $$; a variable ends at the first non-name character', () => {
    const f = compile('$client - [$time] "$method $path $protocol" $status $bytes_sent ${duration_ms}ms $$5 $status-$upstream.');
    assert.equal(
      f.format(typical()),
      '10.244.1.17 - [2026-01-02T03:04:05.678Z] "GET /api/v1/users/12345/orders HTTP/1.1" 200 5123 12.346ms $5 200-10.244.2.9:8080.',
    );
    assert.deepEqual(f.variables, ['client', 'time', 'method', 'path', 'protocol', 'status', 'bytes_sent', 'duration_ms', 'status', 'upstream']);
    assert.equal(compile('$$$status$$').format(typical()), '$200$');
    assert.equal(compile('\t$status\t').format(typical()), '\t200\t', 'tabs are allowed in the template');
  });

  test('values are escaped so one request is one line: control characters, DEL, C1, \'"\' and \'\\\' as \\xHH', () => {
    const f = compile('"$host" "$path" $request_id');
    const r = typical();
    r.host = 'a"b\\c';
    r.path = '/x\ny\r\u0000\u001b\u007f\u0085\u00e9\u{1F600}';
    r.requestId = 'id"\n';
    const out = f.format(r);
    assert.equal(out, '"a\\x22b\\x5cc" "/x\\x0ay\\x0d\\x00\\x1b\\x7f\\x85\u00e9\u{1F600}" id\\x22\\x0a');
    assert.ok(!hasControl(out));
  });

  test('long values are truncated with the marker; no query string', () => {
    const r = typical();
    r.path = '/' + 'q'.repeat(10_000) + '?token=SECRET';
    assert.equal(compile('$path').format(r), r.path.slice(0, MAX_VALUE_CHARS) + TRUNCATION_MARKER);
    r.path = '/short?token=SECRET';
    assert.equal(compile('$path').format(r), '/short');
  });

  test('unknown variables are errors that name them and list the valid ones', () => {
    for (const [spec, name] of [['$status $nope', '$nope'], ['${http_authorization}', '$http_authorization'], ['$query_string', '$query_string'], ['$args', '$args'], ['$Status', '$Status'], ['$request', '$request']]) {
      const e = compileError(spec as string);
      assert.ok(e.includes(`"${name}"`), e);
      for (const v of ACCESS_LOG_VARIABLES) assert.ok(e.includes('$' + v), `lists $${v}: ${e}`);
    }
  });

  test('malformed templates are errors', () => {
    assert.match(compileError('$status $'), /position 8 is not followed by a variable name.*\$\$/);
    assert.match(compileError('$status $ x'), /not followed by a variable name/);
    assert.match(compileError('${status'), /unterminated/);
    assert.match(compileError('${}'), /empty variable name/);
    assert.match(compileError(''), /empty access log format/);
    assert.match(compileError(' - '), /has no variables/, 'a template the shell emptied');
    assert.match(compileError('$$'), /has no variables/);
    assert.match(compileError('$status\n$path'), /one line.*0x0a/);
    assert.match(compileError('JSON'), /has no variables/, '"json" is lower case');
  });
});

describe('cost', () => {
  test('json format() of a typical record takes well under 5 µs (measured ~0.5 µs)', () => {
    const r = typical();
    let sink = 0;
    for (let i = 0; i < 20_000; i++) sink += json.format(r).length; // warm up
    const n = 200_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      r.startedWall += 0.37;
      sink += json.format(r).length;
    }
    const ns = Number(process.hrtime.bigint() - t0) / n;
    assert.ok(sink > 0);
    assert.ok(ns < 5000, `${ns.toFixed(0)} ns per format()`);
  });
});
