import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RoutingModel } from '../model/model.ts';
import { sameData, sameModel } from './model-equal.ts';

const model = (endpoints: string[], host = 'a.example'): RoutingModel => ({
  virtualHosts: [{ host, routes: [{ match: { type: 'prefix', path: '/' }, target: { cluster: 'ns/s:80', ingress: 'ns/i' } }], fallback: null }],
  defaultBackend: null,
  clusters: [{ id: 'ns/s:80', namespace: 'ns', service: 's', port: '80', protocol: 'http1', endpoints: endpoints.map((address) => ({ address, port: 8080 })) }],
  tlsHosts: [],
  certificates: [],
});

test('equal models built separately are the same', () => {
  assert.equal(sameModel(model(['10.0.0.1', '10.0.0.2']), model(['10.0.0.1', '10.0.0.2'])), true);
});

test('any difference in hosts, endpoints or their order is a change', () => {
  assert.equal(sameModel(model(['10.0.0.1']), model(['10.0.0.2'])), false);
  assert.equal(sameModel(model(['10.0.0.1']), model(['10.0.0.1', '10.0.0.2'])), false);
  assert.equal(sameModel(model(['10.0.0.1', '10.0.0.2']), model(['10.0.0.2', '10.0.0.1'])), false);
  assert.equal(sameModel(model(['10.0.0.1']), model(['10.0.0.1'], 'b.example')), false);
});

test('agrees with comparing JSON serialisations, except for key order', () => {
  const cases: Array<[unknown, unknown]> = [
    [{ a: 1 }, { a: 1, b: undefined }],
    [{ a: 1 }, { a: 1, b: null }],
    [{ a: [1, 2] }, { a: [1, 2] }],
    [{ a: [1, 2] }, { a: { 0: 1, 1: 2 } }],
    [[], {}],
    [null, {}],
    ['1', 1],
    [{ a: { b: 'x' } }, { a: { b: 'y' } }],
    [{ a: 1, p: undefined }, { a: 1, p: 'no-endpoints' }],
  ];
  for (const [x, y] of cases) assert.equal(sameData(x, y), JSON.stringify(x) === JSON.stringify(y), `${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  assert.equal(sameData({ a: 1, b: 2 }, { b: 2, a: 1 }), true, 'key order carries no meaning');
});
