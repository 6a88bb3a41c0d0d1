import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_OUTLIER_CONFIG, OutlierDetector, OutlierRegistry, type AttemptResult } from './outlier.ts';

interface Ep { readonly key: string }

function eps(n: number, prefix = '10.0.0.'): Ep[] {
  return Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i + 1}:8080` }));
}

const OK: AttemptResult = { ok: true, connectFailure: false, status: 200 };
const E503: AttemptResult = { ok: false, connectFailure: false, status: 503 };
const E500: AttemptResult = { ok: false, connectFailure: false, status: 500 };
const REFUSED: AttemptResult = { ok: false, connectFailure: true };
const RESET: AttemptResult = { ok: false, connectFailure: false };
const NOT_FOUND: AttemptResult = { ok: true, connectFailure: false, status: 404 };

function fail<E>(d: OutlierDetector<E>, e: E, times: number, result: AttemptResult, now: number): void {
  for (let i = 0; i < times; i++) d.onResult(e, result, now);
}

test('defaults are Envoy\'s', () => {
  assert.deepEqual({ ...DEFAULT_OUTLIER_CONFIG }, {
    consecutive5xx: 5, consecutiveGatewayFailure: 5, consecutiveConnectFailure: 5,
    baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 10, intervalMs: 10_000,
  });
});

test('ejected after 5 consecutive failures of each kind, not after 4', () => {
  for (const [name, result, reason] of [
    ['503', E503, 'gateway-failure'], ['500', E500, 'consecutive-5xx'], ['connect', REFUSED, 'connect-failure'], ['reset', RESET, 'gateway-failure'],
  ] as const) {
    const list = eps(10);
    const d = new OutlierDetector(list);
    fail(d, list[0]!, 4, result, 1000);
    assert.equal(d.isEjected(list[0]!, 1000), false, `${name}: 4 failures`);
    assert.equal(d.onResult(list[0]!, result, 1000), reason, name);
    assert.equal(d.isEjected(list[0]!, 1000), true, `${name}: 5 failures`);
    assert.deepEqual([...d.ejected(1000)], [list[0]], name);
    assert.equal(d.stats.ejectionsTotal, 1);
  }
});

test('a success (or a 4xx) resets the count', () => {
  const list = eps(10);
  const d = new OutlierDetector(list);
  fail(d, list[0]!, 4, E503, 0);
  d.onResult(list[0]!, OK, 0);
  fail(d, list[0]!, 4, E503, 0);
  assert.equal(d.isEjected(list[0]!, 0), false);
  d.onResult(list[0]!, NOT_FOUND, 0);
  fail(d, list[0]!, 4, REFUSED, 0);
  assert.equal(d.isEjected(list[0]!, 0), false);
  d.onResult(list[0]!, E503, 0);
  assert.equal(d.isEjected(list[0]!, 0), true, '4 connect failures and a 503 are 5 gateway errors in a row');
});

test('mixed 5xx: 500s break a gateway run but count as 5xx', () => {
  const list = eps(10);
  const d = new OutlierDetector(list, undefined, undefined, { ...DEFAULT_OUTLIER_CONFIG, consecutive5xx: 0 });
  for (let i = 0; i < 10; i++) d.onResult(list[0]!, i % 2 === 0 ? E503 : E500, 0);
  assert.equal(d.isEjected(list[0]!, 0), false, 'with consecutive5xx off, alternating 503/500 never ejects');
  const d2 = new OutlierDetector(list);
  for (let i = 0; i < 5; i++) d2.onResult(list[0]!, i % 2 === 0 ? E503 : E500, 0);
  assert.equal(d2.isEjected(list[0]!, 0), true);
  assert.equal(d2.stats.ejectionsConsecutive5xx, 1);
});

test('un-ejected when the interval ends; each new ejection lasts twice as long, up to the maximum', () => {
  const list = eps(10);
  const d = new OutlierDetector(list);
  const e = list[3]!;
  let now = 0;
  const lengths: number[] = [];
  for (let round = 0; round < 6; round++) {
    fail(d, e, 5, E503, now);
    assert.ok(d.isEjected(e, now));
    const start = now;
    // find the end: ejected until exactly start + length
    let length = 0;
    for (const candidate of [30_000, 60_000, 120_000, 240_000, 300_000]) {
      if (!d.isEjected(e, start + candidate)) {
        length = candidate;
        break;
      }
    }
    assert.ok(d.isEjected(e, start + length - 1));
    lengths.push(length);
    now = start + length; // fails again at once
  }
  assert.deepEqual(lengths, [30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
});

test('results while ejected are ignored; the ejection count decays while healthy', () => {
  const list = eps(10);
  const d = new OutlierDetector(list);
  const e = list[0]!;
  fail(d, e, 5, E503, 0); // 1st: 30 s
  fail(d, e, 20, E503, 10_000);
  assert.equal(d.stats.ejectionsTotal, 1, 'in-flight failures do not eject again');
  fail(d, e, 5, E503, 30_000); // 2nd: 60 s, right away
  assert.ok(d.isEjected(e, 89_999) && !d.isEjected(e, 90_000));
  // un-ejected at 90 s; two intervals (10 s each) later the count is back to 0
  d.onResult(e, OK, 110_000);
  fail(d, e, 5, E503, 110_000);
  assert.ok(d.isEjected(e, 139_999) && !d.isEjected(e, 140_000), 'after decaying, the next ejection is the base length');
});

test('decay is one per interval: after one interval the next ejection is shorter, not base', () => {
  const list = eps(10);
  const d = new OutlierDetector(list);
  const e = list[0]!;
  fail(d, e, 5, E503, 0); // 30 s, ends 30 s
  fail(d, e, 5, E503, 30_000); // 60 s, ends 90 s
  fail(d, e, 5, E503, 90_000); // 120 s, ends 210 s; count 3
  fail(d, e, 5, E503, 220_000); // one interval healthy: count 2, then 3rd ejection → 120 s
  assert.ok(d.isEjected(e, 339_999) && !d.isEjected(e, 340_000));
});

test('never more than 10 % ejected, but always one', () => {
  for (const [n, most] of [[1, 1], [3, 1], [10, 1], [19, 1], [20, 2], [35, 3]] as const) {
    const list = eps(n);
    const d = new OutlierDetector(list);
    for (const e of list) fail(d, e, 5, E503, 0);
    assert.equal(d.ejectedCount(0), most, `${n} endpoints`);
    assert.equal(d.ejected(0).size, most);
    assert.equal(d.stats.ejectionsOverflow, n - most);
  }
});

test('the cap counts current ejections: another endpoint may go once one returns', () => {
  const list = eps(5);
  const d = new OutlierDetector(list);
  fail(d, list[0]!, 5, E503, 0);
  fail(d, list[1]!, 5, E503, 1000);
  assert.equal(d.isEjected(list[1]!, 1000), false);
  d.onResult(list[1]!, E503, 30_000); // list[0] returned at 30 s; the run of failures continues
  assert.equal(d.isEjected(list[1]!, 30_000), true);
  assert.deepEqual([...d.ejected(30_000)], [list[1]]);
});

test('ejected(): the same set until something changes, then a new one', () => {
  const list = eps(10);
  const d = new OutlierDetector(list);
  const empty = d.ejected(0);
  assert.equal(empty.size, 0);
  assert.equal(d.ejected(1), empty);
  fail(d, list[2]!, 5, E503, 5);
  const one = d.ejected(5);
  assert.notEqual(one, empty);
  assert.deepEqual([...one], [list[2]]);
  assert.equal(d.ejected(29_000), one);
  assert.equal(d.ejected(30_005).size, 0, 'expiry rebuilds');
  assert.equal(one.size, 1, 'a returned set is never modified');
  assert.equal(d.isEjected({ key: 'stranger' }, 0), false);
  assert.equal(d.onResult({ key: 'stranger' }, E503, 0), undefined);
});

test('registry: state survives a new table of the same cluster; departed endpoints and clusters are forgotten', () => {
  const registry = new OutlierRegistry();
  const first = eps(10);
  const d1 = registry.detector('shop/web:80', first);
  fail(d1, first[0]!, 5, E503, 0);
  fail(d1, first[1]!, 3, E503, 0);
  // A new table: new endpoint objects with the same keys, one endpoint gone, one new.
  const second = [...eps(9).map((e) => ({ ...e })), { key: '10.0.0.99:8080' }].filter((e) => e.key !== '10.0.0.5:8080');
  const d2 = registry.detector('shop/web:80', second);
  assert.equal(d2.isEjected(second[0]!, 1000), true, 'ejection carried over');
  assert.deepEqual([...d2.ejected(1000)].map((e) => e.key), ['10.0.0.1:8080']);
  fail(d2, second[1]!, 2, E503, 1000);
  assert.equal(d2.isEjected(second[1]!, 1000), false, 'the cap: one of ten already ejected');
  assert.equal(d2.stats.ejectionsOverflow, 1, '3 + 2 consecutive failures reached the threshold');
  assert.equal(d2.stats, d1.stats, 'one set of counters per cluster');
  assert.equal(registry.stats('shop/web:80')!.ejectionsTotal, 1);
  const other = registry.detector('shop/api:80', first);
  assert.equal(other.isEjected(first[0]!, 1000), false, 'clusters do not share state');
  registry.retain(['shop/web:80']);
  assert.equal(registry.size, 1);
  assert.equal(registry.stats('shop/api:80'), undefined);
  // The endpoint that left is forgotten: when it comes back it starts clean.
  const back = registry.detector('shop/web:80', eps(10));
  assert.equal(back.isEjected(back.endpoints[4]!, 1000), false);
  assert.equal(back.isEjected(back.endpoints[0]!, 1000), true);
});
