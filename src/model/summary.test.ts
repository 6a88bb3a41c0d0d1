import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RoutingModel } from './model.ts';
import { diffModels, routeLines } from './summary.ts';

const model = (path: string, cluster: string, endpoints: Array<[string, number]>): RoutingModel => ({
  virtualHosts: [{ host: 'a.test', routes: [{ match: { type: 'prefix', path }, target: { cluster, ingress: 'ns/web' } }], fallback: null }],
  defaultBackend: { cluster, ingress: 'ns/web' },
  clusters: [{ id: cluster, namespace: 'ns', service: 's', port: '80', protocol: 'http1', endpoints: endpoints.map(([address, port]) => ({ address, port })) }],
  tlsHosts: [],
  certificates: [],
});

test('routeLines lists routes, then the default, with formatted endpoints', () => {
  const lines = routeLines(model('/api', 'ns/s:80', [['10.0.0.1', 80], ['fd00::1', 81]]));
  assert.deepEqual(lines.map((l) => [l.host, l.match, l.endpoints]), [
    ['a.test', 'prefix /api', ['10.0.0.1:80', '[fd00::1]:81']],
    ['*', 'default', ['10.0.0.1:80', '[fd00::1]:81']],
  ]);
});

test('diffModels names added and removed routes and changed endpoint lists', () => {
  const before = model('/api', 'ns/s:80', [['10.0.0.1', 80]]);
  assert.deepEqual(diffModels(before, before), { routesAdded: [], routesRemoved: [], endpointsChanged: [] });
  const moved = diffModels(before, model('/v2', 'ns/s:80', [['10.0.0.1', 80], ['10.0.0.2', 80]]));
  assert.deepEqual(moved.routesAdded, ['a.test prefix /v2 → ns/s:80']);
  assert.deepEqual(moved.routesRemoved, ['a.test prefix /api → ns/s:80']);
  assert.deepEqual(moved.endpointsChanged, ['ns/s:80 1 → 2 endpoints']);
  const samecount = diffModels(before, model('/api', 'ns/s:80', [['10.0.0.9', 80]]));
  assert.deepEqual(samecount.endpointsChanged, ['ns/s:80 1 → 1 endpoints'], 'a replaced endpoint is a change');
});
