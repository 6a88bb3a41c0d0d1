import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RoutingModel } from '../../model/model.ts';
import { compile } from './route-table.ts';

const model: RoutingModel = {
  virtualHosts: [
    { host: 'a.test', routes: [{ match: { type: 'prefix', path: '/' }, target: { cluster: 'ns/a:80', ingress: 'ns/ing' } }], fallback: null },
    { host: 'b.test', routes: [{ match: { type: 'exact', path: '/x' }, target: { cluster: 'ns/ghost:80', ingress: 'ns/ing' } }], fallback: null },
  ],
  defaultBackend: null,
  clusters: [
    { id: 'ns/a:80', namespace: 'ns', service: 'a', port: '80', protocol: 'http1', endpoints: [{ address: '10.0.0.1', port: 8080 }, { address: 'fd00::1', port: 8080 }] },
  ],
  tlsHosts: [],
  certificates: [],
};

test('compile: generation, endpoint keys, origins and a stand-in for a missing cluster', () => {
  const table = compile(model, 42);
  assert.equal(table.generation, 42);
  assert.deepEqual([...table.endpointKeys].sort(), ['10.0.0.1:8080', 'fd00::1:8080']);
  assert.deepEqual(table.clusters.get('ns/a:80')!.balancer.endpoints.map((e) => e.origin), ['http://10.0.0.1:8080', 'http://[fd00::1]:8080']);
  const ghost = table.match('b.test', '/x');
  assert.equal(ghost.kind, 'route');
  assert.equal(ghost.kind === 'route' && ghost.cluster.problem, 'cluster-not-found');
  assert.equal(ghost.kind === 'route' && ghost.cluster.balancer.pick(), undefined);
});

test('match returns prebuilt answers: no allocation per request beyond the host string', () => {
  const table = compile(model, 1);
  assert.equal(table.match('a.test', '/p/q'), table.match('A.TEST:80', '/'));
  assert.equal(table.match('zzz', '/'), table.match('yyy', '/x'));
  assert.equal(table.match('zzz', '/').kind, 'not-found');
  assert.equal(table.match('a.test', '/').vhost?.host, 'a.test');
});

test('compile does not mutate or depend on the model after the fact', () => {
  const frozen = structuredClone(model);
  compile(model, 1);
  assert.deepEqual(model, frozen);
});
