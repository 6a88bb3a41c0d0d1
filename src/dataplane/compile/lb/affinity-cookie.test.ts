import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CookieAffinity } from '../../../model/model.ts';
import { CookieSyntaxError, formatAffinityCookie } from './affinity-cookie.ts';
import { cookieValue } from './cookie-header.ts';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const BASE: CookieAffinity = { kind: 'cookie', mode: 'persistent', name: 'INGRESSCOOKIE', changeOnFailure: false };

test('affinity cookie: defaults are Path=/ and HttpOnly', () => {
  assert.equal(formatAffinityCookie(BASE, '0123456789abcdef', { encrypted: false, nowMs: NOW }), 'INGRESSCOOKIE=0123456789abcdef; Path=/; HttpOnly');
});

test('affinity cookie: every attribute, in a fixed order', () => {
  const settings: CookieAffinity = {
    ...BASE,
    name: 'route',
    path: '/app',
    domain: 'example.com',
    sameSite: 'None',
    secure: true,
    maxAgeSeconds: 172800,
    expiresSeconds: 86400,
  };
  assert.equal(
    formatAffinityCookie(settings, 'v', { encrypted: false, nowMs: NOW }),
    'route=v; Path=/app; Domain=example.com; Max-Age=172800; Expires=Tue, 02 Jun 2026 00:00:00 GMT; Secure; HttpOnly; SameSite=None',
  );
});

test('affinity cookie: Secure on TLS requests even when not configured', () => {
  assert.equal(formatAffinityCookie({ ...BASE, sameSite: 'Lax' }, 'v', { encrypted: true, nowMs: NOW }), 'INGRESSCOOKIE=v; Path=/; Secure; HttpOnly; SameSite=Lax');
});

test('affinity cookie: anything that could split the header or add an attribute is refused', () => {
  const bad: Array<[Partial<CookieAffinity>, string]> = [
    [{ name: 'a b' }, 'v'],
    [{ name: 'a;b' }, 'v'],
    [{ name: '' }, 'v'],
    [{ name: 'a=b' }, 'v'],
    [{}, 'v; Domain=evil.example'],
    [{}, 'v\r\nSet-Cookie: x=y'],
    [{}, '"quoted"'],
    [{}, ''],
    [{ path: 'no-slash' }, 'v'],
    [{ path: '/a;b' }, 'v'],
    [{ path: '/a\nb' }, 'v'],
    [{ domain: 'exa mple.com' }, 'v'],
    [{ domain: 'example.com;secure' }, 'v'],
    [{ maxAgeSeconds: -1 }, 'v'],
    [{ expiresSeconds: 1.5 }, 'v'],
    [{ sameSite: 'Sometimes' as 'Lax' }, 'v'],
  ];
  for (const [override, value] of bad) {
    assert.throws(() => formatAffinityCookie({ ...BASE, ...override }, value, { encrypted: false, nowMs: NOW }), CookieSyntaxError, JSON.stringify(override) + value);
  }
});

test('cookie header: finds a cookie by exact name, first wins, quotes and blanks stripped', () => {
  assert.equal(cookieValue('a=1; b=2; c=3', 'b'), '2');
  assert.equal(cookieValue('a=1;b=2', 'b'), '2');
  assert.equal(cookieValue('ab=1; b=2', 'b'), '2');
  assert.equal(cookieValue('b=first; b=second', 'b'), 'first');
  assert.equal(cookieValue('B=1', 'b'), undefined);
  assert.equal(cookieValue('a=1; b="quoted" ; c=3', 'b'), 'quoted');
  assert.equal(cookieValue('a=1; b=', 'b'), '');
  assert.equal(cookieValue('a=1; b', 'b'), undefined);
  assert.equal(cookieValue('xb=1', 'b'), undefined);
  assert.equal(cookieValue('a=x b=1', 'b'), undefined);
  assert.equal(cookieValue(undefined, 'b'), undefined);
  assert.equal(cookieValue('', 'b'), undefined);
});
