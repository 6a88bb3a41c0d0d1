import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RoutingModel } from '../../../model/model.ts';
import { compile } from '../route-table.ts';
import { TableCache, tableKey } from './table-cache.ts';

test('table cache: a table is built once while consecutive compiles use it, then dropped', () => {
  const cache = new TableCache();
  let builds = 0;
  const build = (): object => ({ built: ++builds });
  const key = tableKey('ring', ['a', 'b'], [1, 1]);
  const first = cache.get(key, build);
  assert.equal(cache.get(key, build), first);
  cache.endGeneration();
  assert.equal(cache.get(key, build), first, 'the next compile reuses it');
  cache.endGeneration();
  cache.endGeneration(); // a compile that did not use it
  assert.notEqual(cache.get(key, build), first);
  assert.equal(builds, 2);
  assert.notEqual(tableKey('ring', ['a', 'b'], [1, 1]), tableKey('ring', ['a', 'b'], [1, 2]));
  assert.notEqual(tableKey('ring', ['a,b'], [1]), tableKey('ring', ['a', 'b'], [1]));
});

function hashCluster(id: string, kind: 'maglev' | 'ring') {
  return {
    id, namespace: 'ns', service: id, port: '80', protocol: 'http1' as const,
    endpoints: [{ address: '10.0.0.1', port: 80 }, { address: '10.0.0.2', port: 80 }],
    loadBalancing: { kind: 'hash' as const, key: { source: 'uri' as const }, table: kind },
  };
}

function modelOf(ids: string[]): RoutingModel {
  return {
    virtualHosts: [], defaultBackend: null, tlsHosts: [], certificates: [],
    clusters: ids.map((id, i) => hashCluster(id, i % 2 === 0 ? 'maglev' : 'ring')),
  };
}

test('table cache: compile keeps exactly the tables the latest route table uses', () => {
  const tables = new TableCache();
  compile(modelOf(['a', 'b']), 1, { tables });
  assert.equal(tables.size, 2);
  compile(modelOf(['a']), 2, { tables });
  compile(modelOf(['a']), 3, { tables });
  assert.equal(tables.size, 1);
});
