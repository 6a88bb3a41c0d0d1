import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CookieAffinity, EndpointAddress } from '../../../model/model.ts';
import { ClusterBalancer } from './cluster-balancer.ts';
import { endpointId } from './endpoint-id.ts';
import { contextOf, endpointsOf } from './load-balancer.contract.ts';
import type { Selection } from './sticky-sessions.ts';

const SERVICE = 'shop/web';
const NOW = Date.parse('2026-06-01T00:00:00Z');

function affinity(mode: 'balanced' | 'persistent', extra: Partial<CookieAffinity> = {}): CookieAffinity {
  return { kind: 'cookie', mode, name: 'INGRESSCOOKIE', changeOnFailure: false, ...extra };
}

function cluster(eps: readonly EndpointAddress[], a: CookieAffinity, seed = 0): ClusterBalancer {
  return new ClusterBalancer(eps, undefined, a, { service: SERVICE, seed, now: () => NOW });
}

function selection(): Selection<EndpointAddress> {
  return { endpoint: undefined, setCookie: undefined };
}

/** The cookie value a Set-Cookie header carries. */
function valueOf(setCookie: string | undefined): string {
  assert.ok(setCookie !== undefined, 'expected a Set-Cookie');
  const m = /^INGRESSCOOKIE=([^;]*);/.exec(setCookie);
  assert.ok(m?.[1] !== undefined, setCookie);
  return m[1];
}

function withCookie(value: string, exclude?: ReadonlySet<EndpointAddress>) {
  return contextOf({ headers: { cookie: `a=b; INGRESSCOOKIE=${value}` }, ...(exclude === undefined ? {} : { exclude }) });
}

for (const mode of ['persistent', 'balanced'] as const) {
  test(`affinity (${mode}): a new session gets a cookie, then sticks to its endpoint`, () => {
    const eps = endpointsOf(5);
    const lb = cluster(eps, affinity(mode));
    for (let s = 0; s < 20; s++) {
      const out = selection();
      const first = lb.select(contextOf({}), out);
      assert.ok(first !== undefined && first === out.endpoint);
      const value = valueOf(out.setCookie);
      assert.match(value, /^[0-9a-f]{16}$/);
      for (let i = 0; i < 5; i++) {
        const again = selection();
        assert.equal(lb.select(withCookie(value), again), first);
        assert.equal(again.setCookie, undefined, 'no new cookie while the session holds');
      }
    }
  });

  test(`affinity (${mode}): new sessions are placed by the balancer (round-robin spreads them)`, () => {
    const eps = endpointsOf(4);
    const lb = cluster(eps, affinity(mode));
    const counts = new Map<EndpointAddress, number>();
    for (let i = 0; i < 400; i++) {
      const e = lb.select(contextOf({}), selection())!;
      counts.set(e, (counts.get(e) ?? 0) + 1);
    }
    for (const e of eps) assert.equal(counts.get(e), 100);
  });

  test(`affinity (${mode}): sessions hold across compiles and replicas`, () => {
    const eps = endpointsOf(6);
    const a = cluster(eps, affinity(mode), 1);
    const b = cluster(eps.map((e) => ({ ...e })), affinity(mode), 42); // another replica: other objects, other seed
    for (let s = 0; s < 30; s++) {
      const out = selection();
      const e = a.select(contextOf({}), out)!;
      const other = b.select(withCookie(valueOf(out.setCookie)), selection())!;
      assert.equal(`${other.address}:${other.port}`, `${e.address}:${e.port}`);
    }
  });

  test(`affinity (${mode}): a retry goes elsewhere; the cookie moves only with change-on-failure`, () => {
    for (const changeOnFailure of [false, true]) {
      const eps = endpointsOf(4);
      const lb = cluster(eps, affinity(mode, { changeOnFailure }));
      const out = selection();
      const sticky = lb.select(contextOf({}), out)!;
      const value = valueOf(out.setCookie);
      const retry = selection();
      const other = lb.select(withCookie(value, new Set([sticky])), retry);
      assert.ok(other !== undefined && other !== sticky);
      if (!changeOnFailure) {
        assert.equal(retry.setCookie, undefined);
        assert.equal(lb.select(withCookie(value), selection()), sticky, 'the next request tries the sticky endpoint again');
      } else {
        const moved = valueOf(retry.setCookie);
        assert.equal(lb.select(withCookie(moved), selection()), other, 'the new cookie points at the endpoint that served the retry');
      }
    }
  });
}

test('affinity (persistent): the cookie is the endpoint identifier, the same on every compile', () => {
  const eps = endpointsOf(3);
  const lb = cluster(eps, affinity('persistent'));
  const out = selection();
  const e = lb.select(contextOf({}), out)!;
  assert.equal(valueOf(out.setCookie), endpointId(SERVICE, e));
  assert.equal(endpointId(SERVICE, e), endpointId(SERVICE, { address: e.address, port: e.port }));
  assert.notEqual(endpointId(SERVICE, e), endpointId('shop/other', e), 'keyed by Service');
  assert.notEqual(endpointId(SERVICE, e), endpointId(SERVICE, { address: e.address, port: e.port + 1 }));
});

test('affinity (persistent): scaling keeps every session whose endpoint remains; a lost one gets a new cookie', () => {
  const eps = endpointsOf(10);
  const before = cluster(eps, affinity('persistent'));
  const sessions: Array<{ value: string; endpoint: EndpointAddress }> = [];
  for (let s = 0; s < 200; s++) {
    const out = selection();
    sessions.push({ endpoint: before.select(contextOf({}), out)!, value: valueOf(out.setCookie) });
  }
  const scaled = [...eps.filter((e) => e !== eps[3]), ...endpointsOf(14).slice(10)]; // one gone, four new
  const after = cluster(scaled, affinity('persistent'), 5);
  for (const { value, endpoint } of sessions) {
    const out = selection();
    const now = after.select(withCookie(value), out)!;
    if (endpoint === eps[3]) {
      assert.ok(scaled.includes(now));
      assert.equal(valueOf(out.setCookie), endpointId(SERVICE, now), 'moved session gets a cookie for its new endpoint');
    } else {
      assert.equal(now, endpoint, 'persistent sessions never move while their endpoint exists');
      assert.equal(out.setCookie, undefined);
    }
  }
});

test('affinity (balanced): scaling from 10 to 11 endpoints moves about 1/11 of sessions, all to the new one', () => {
  const eps = endpointsOf(11);
  const before = cluster(eps.slice(0, 10), affinity('balanced'));
  const after = cluster(eps, affinity('balanced'));
  let moved = 0;
  for (let s = 0; s < 5000; s++) {
    const out = selection();
    const e = before.select(contextOf({}), out)!;
    const value = valueOf(out.setCookie);
    const later = selection();
    const now = after.select(withCookie(value), later)!;
    assert.equal(later.setCookie, undefined, 'balanced sessions move without a new cookie');
    if (now !== e) {
      moved++;
      assert.equal(now, eps[10], 'sessions move only to the new endpoint');
    }
  }
  assert.ok(Math.abs(moved - 5000 / 11) <= 120, `moved ${moved} of 5000, expected about 455`);
});

test('affinity (balanced): removing an endpoint moves only its sessions, without new cookies', () => {
  const eps = endpointsOf(5);
  const before = cluster(eps, affinity('balanced'));
  const after = cluster(eps.filter((e) => e !== eps[2]), affinity('balanced'));
  for (let s = 0; s < 500; s++) {
    const out = selection();
    const e = before.select(contextOf({}), out)!;
    const later = selection();
    const now = after.select(withCookie(valueOf(out.setCookie)), later)!;
    if (e !== eps[2]) assert.equal(now, e);
    else assert.notEqual(now, eps[2]);
    assert.equal(later.setCookie, undefined);
  }
});

test('affinity (balanced): foreign cookie values (ingress-nginx keys) are sticky too', () => {
  const eps = endpointsOf(4);
  const lb = cluster(eps, affinity('balanced'));
  const value = '1717200000.123.456789';
  const first = selection();
  const e = lb.select(withCookie(value), first);
  assert.equal(first.setCookie, undefined);
  for (let i = 0; i < 5; i++) assert.equal(lb.select(withCookie(value), selection()), e);
});

test('affinity: without a context, pick() still balances (no cookie decision)', () => {
  const eps = endpointsOf(3);
  const lb = cluster(eps, affinity('persistent'));
  const seen = new Set([lb.pick(), lb.pick(), lb.pick()]);
  assert.equal(seen.size, 3);
});

test('affinity: Secure follows the request or the setting; Expires uses the clock', () => {
  const eps = endpointsOf(2);
  const plain = selection();
  cluster(eps, affinity('persistent', { expiresSeconds: 3600 })).select(contextOf({ encrypted: false }), plain);
  assert.match(plain.setCookie!, /^INGRESSCOOKIE=[0-9a-f]{16}; Path=\/; Expires=Mon, 01 Jun 2026 01:00:00 GMT; HttpOnly$/);
  const tls = selection();
  cluster(eps, affinity('persistent')).select(contextOf({ encrypted: true }), tls);
  assert.match(tls.setCookie!, /; Secure; HttpOnly$/);
});

test('affinity: no endpoints selects nothing and sets no cookie', () => {
  const lb = cluster([], affinity('balanced'));
  const out = selection();
  assert.equal(lb.select(withCookie('abc'), out), undefined);
  assert.equal(out.endpoint, undefined);
  assert.equal(out.setCookie, undefined);
});
