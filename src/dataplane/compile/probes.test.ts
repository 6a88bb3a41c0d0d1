// Probe tests for route matching: every testdata/probes/<case>.yaml holds a
// `model:` and a list of `probes:` ({ host, path, expect }). The expectation
// is one of
//   "<cluster> exact <path>" / "<cluster> prefix <path>"  a route matched
//   "fallback <cluster>"                                    the host's fallback
//   "default <cluster>"                                     the model's default backend
//   "404"                                                   nothing serves
// `UPDATE_GOLDEN=1 node --test src/dataplane/compile/probes.test.ts` rewrites
// every `expect` from the actual results (comments and layout are kept);
// without it a mismatch fails.
//
// To keep cases short the model may omit what does not affect matching:
// `clusters` (derived from the targets, one endpoint each), cluster fields
// other than `id`, a target's `ingress`, a vhost's `fallback` and the
// model's `defaultBackend`. A target may be written as a bare cluster id.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDocument } from 'yaml';
import type { Cluster, RoutingModel, Target, VirtualHost } from '../../model/model.ts';
import type { RouteMatch } from './route-match.ts';
import { compile } from './route-table.ts';

const dir = join(import.meta.dirname, 'testdata', 'probes');
const update = process.env['UPDATE_GOLDEN'] === '1';
const cases = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

interface Probe {
  host: string;
  path: string;
  expect?: string;
}

test('probes: there are cases', () => {
  assert.ok(cases.length >= 10, `expected probe cases in ${dir}`);
});

for (const file of cases) {
  test(`probes: ${file}`, () => {
    const path = join(dir, file);
    const doc = parseDocument(readFileSync(path, 'utf8'));
    assert.equal(doc.errors.length, 0, `${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const data = doc.toJS() as { model?: unknown; probes?: Probe[] };
    assert.ok(Array.isArray(data.probes) && data.probes.length > 0, `${file}: no probes`);
    const table = compile(expandModel(data.model), 1);
    const failures: string[] = [];
    data.probes.forEach((probe, i) => {
      const actual = describe(table.match(String(probe.host), String(probe.path)));
      if (update) doc.setIn(['probes', i, 'expect'], actual);
      else if (actual !== probe.expect) failures.push(`host ${JSON.stringify(probe.host)} path ${JSON.stringify(probe.path)}: expected ${JSON.stringify(probe.expect)}, got ${JSON.stringify(actual)}`);
    });
    if (update) writeFileSync(path, doc.toString({ lineWidth: 0 }));
    else assert.deepEqual(failures, [], `${file} (UPDATE_GOLDEN=1 rewrites the expectations):\n  ${failures.join('\n  ')}`);
  });
}

function describe(m: RouteMatch): string {
  switch (m.kind) {
    case 'route':
      return `${m.cluster.id} ${m.match.type} ${m.match.path}`;
    case 'fallback':
      return `fallback ${m.cluster.id}`;
    case 'default':
      return `default ${m.cluster.id}`;
    case 'not-found':
      return '404';
  }
}

function expandModel(raw: unknown): RoutingModel {
  const m = (raw ?? {}) as { virtualHosts?: unknown[]; defaultBackend?: unknown; clusters?: Partial<Cluster>[] };
  const referenced = new Set<string>();
  const target = (t: unknown): Target => {
    const tt: Target = typeof t === 'string' ? { cluster: t, ingress: 'default/test' } : { ...(t as Target), ingress: (t as Partial<Target>).ingress ?? 'default/test' };
    referenced.add(tt.cluster);
    return tt;
  };
  const virtualHosts: VirtualHost[] = (m.virtualHosts ?? []).map((v) => {
    const vh = v as { host: string; routes?: { match: { type: 'exact' | 'prefix'; path: string }; target: unknown }[]; fallback?: unknown };
    return {
      host: vh.host,
      routes: (vh.routes ?? []).map((r) => ({ match: r.match, target: target(r.target) })),
      fallback: vh.fallback === undefined || vh.fallback === null ? null : target(vh.fallback),
    };
  });
  const defaultBackend = m.defaultBackend === undefined || m.defaultBackend === null ? null : target(m.defaultBackend);
  const rawClusters: Partial<Cluster>[] = m.clusters ?? [...referenced].sort().map((id) => ({ id }));
  const clusters: Cluster[] = rawClusters.map((c, i) => ({
    id: String(c.id),
    namespace: c.namespace ?? 'default',
    service: c.service ?? String(c.id),
    port: c.port ?? '80',
    protocol: 'http1',
    endpoints: c.endpoints ?? [{ address: `10.0.0.${i + 1}`, port: 8080 }],
    ...(c.problem === undefined ? {} : { problem: c.problem }),
  }));
  return { virtualHosts, defaultBackend, clusters, tlsHosts: [], certificates: [] };
}
