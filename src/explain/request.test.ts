// The request as a user writes it → what the routing decision reads, and
// the admin query → the same request.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMPTY_MODEL } from '../model/model.ts';
import { answerExplainQuery, explainRequestFromQuery } from './http-query.ts';
import { parseExplainRequest, parseHeaderLine } from './request.ts';

function ok(input: Parameters<typeof parseExplainRequest>[0]) {
  const r = parseExplainRequest(input);
  if (!r.ok) assert.fail(r.error);
  return r.request;
}

describe('parseExplainRequest', () => {
  it('splits the URL without normalising the path, and sends the authority as Host', () => {
    const r = ok({ url: 'http://App.Example.com:8080/a/../b%2f?x=1#frag' });
    assert.equal(r.scheme, 'http');
    assert.equal(r.authority, 'App.Example.com:8080');
    assert.equal(r.target, '/a/../b%2f?x=1');
    assert.equal(r.path, '/a/../b%2f');
    assert.equal(r.port, 8080);
    assert.equal(r.sni, null);
    assert.deepEqual(r.rawHeaders, ['Host', 'App.Example.com:8080']);
  });

  it('defaults: GET, http without a scheme, "/" without a path, default ports, user info dropped', () => {
    const r = ok({ url: 'app.example.com?q' });
    assert.deepEqual([r.method, r.scheme, r.target, r.port], ['GET', 'http', '/?q', 80]);
    const s = ok({ url: 'https://user:pw@app.example.com' });
    assert.deepEqual([s.authority, s.port, s.sni], ['app.example.com', 443, 'app.example.com']);
  });

  it('an explicit Host header replaces the URL authority; SNI stays the URL host', () => {
    const r = ok({ url: 'https://a.example.com/', headers: [['Host', 'b.example.com'], ['X-A', ' 1 ']] });
    assert.equal(r.authority, 'b.example.com');
    assert.equal(r.sni, 'a.example.com');
    assert.deepEqual(r.rawHeaders, ['Host', 'b.example.com', 'X-A', '1']);
  });

  it('no SNI for IP literals or when asked, an explicit one otherwise', () => {
    assert.equal(ok({ url: 'https://127.0.0.1:8443/' }).sni, null);
    assert.equal(ok({ url: 'https://[::1]:8443/' }).sni, null);
    assert.equal(ok({ url: 'https://a.example.com/', sni: '' }).sni, null);
    assert.equal(ok({ url: 'https://a.example.com/', sni: 'c.example.com' }).sni, 'c.example.com');
    assert.equal(ok({ url: 'https://[::1]:8443/' }).authority, '[::1]:8443');
  });

  it('refuses what no client would send', () => {
    for (const [input, message] of [
      [{ url: 'ftp://x/' }, /unsupported scheme/],
      [{ url: 'http:///path' }, /not a host/],
      [{ url: 'http://x:99999/' }, /not a host/],
      [{ url: 'http://x/a b' }, /spaces or control/],
      [{ url: 'http://x/', sni: 'y' }, /only applies to https/],
      [{ url: 'http://x/', headers: [['Bad Name', 'v']] }, /not a valid header name/],
      [{ url: 'http://x/', method: 'GE T' }, /not a valid method/],
    ] as const) {
      const r = parseExplainRequest(input);
      assert.equal(r.ok, false, JSON.stringify(input));
      if (!r.ok) assert.match(r.error, message);
    }
  });
});

describe('the admin query', () => {
  it('parseHeaderLine takes curl -H syntax', () => {
    assert.deepEqual(parseHeaderLine('X-Name:  a: b '), ['X-Name', 'a: b']);
    assert.match(String(parseHeaderLine('nocolon')), /Name: value/);
  });

  it('url, repeated header, sni and method become one request', () => {
    const q = new URLSearchParams([['url', 'https://a.example.com/x'], ['header', 'Host: b.example.com'], ['header', 'X-A: 1'], ['sni', 'a.example.com'], ['method', 'post']]);
    assert.deepEqual(explainRequestFromQuery(q), {
      url: 'https://a.example.com/x', headers: [['Host', 'b.example.com'], ['X-A', '1']], sni: 'a.example.com', method: 'post',
    });
  });

  it('answers 400 with an error for a bad query, 200 with the explanation otherwise', () => {
    assert.equal(answerExplainQuery(new URLSearchParams(), { model: EMPTY_MODEL }).status, 400);
    assert.equal(answerExplainQuery(new URLSearchParams({ url: 'gopher://x' }), { model: EMPTY_MODEL }).status, 400);
    const a = answerExplainQuery(new URLSearchParams({ url: 'http://x.example.com/' }), { model: EMPTY_MODEL, generation: 7 });
    assert.equal(a.status, 200);
    if (a.status === 200) {
      assert.equal(a.body.decision.status, 404);
      assert.equal(a.body.generation, 7);
    }
  });
});
