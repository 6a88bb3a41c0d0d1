// explain agrees with the route table: for random routes and request paths,
// each route's verdict ("no-match", "matches", "selected") is what the
// compiled matcher says for that route alone, and the selected route beats
// every other matching one.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compile } from '../dataplane/compile/route-table.ts';
import type { Cluster, PathMatch, Route, RoutingModel } from '../model/model.ts';
import { explainRequest } from './explain.ts';
import { parseExplainRequest } from './request.ts';
import { canonicalizeTarget, DEFAULT_PATH_OPTIONS, isPathRejection, matchPathOf } from '../dataplane/edge/canonical-path.ts';

const HOST = 'app.example.com';

function modelOf(matches: readonly PathMatch[]): RoutingModel {
  const clusters: Cluster[] = matches.map((_, i) => ({
    id: `ns/svc${i}:80`, namespace: 'ns', service: `svc${i}`, port: '80', protocol: 'http1', endpoints: [{ address: `10.0.0.${i + 1}`, port: 8080 }],
  }));
  const routes: Route[] = matches.map((match, i) => ({ match, target: { cluster: `ns/svc${i}:80`, ingress: 'ns/ing' } }));
  // The model lists routes in precedence order: longest first, exact before prefix.
  routes.sort((a, b) => b.match.path.length - a.match.path.length || (a.match.type === b.match.type ? 0 : a.match.type === 'exact' ? -1 : 1));
  return { virtualHosts: [{ host: HOST, routes, fallback: null }], defaultBackend: null, clusters, tlsHosts: [], certificates: [] };
}

function explain(model: RoutingModel, path: string) {
  const r = parseExplainRequest({ url: `http://${HOST}${path}` });
  if (!r.ok) throw new Error(r.error);
  return explainRequest({ model }, r.request);
}

const segment = fc.constantFrom('a', 'ab', 'b', 'A', '');
const path = fc.array(segment, { minLength: 0, maxLength: 4 }).map((s) => `/${s.join('/')}`);
const match = fc.record({ type: fc.constantFrom('exact' as const, 'prefix' as const), path }).map((m): PathMatch => {
  if (m.type === 'exact') return m;
  let p = m.path;
  while (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return { type: 'prefix', path: p };
});
/** Distinct matches, as translation guarantees (the first claim on a type and path wins). */
const matches = fc.uniqueArray(match, { minLength: 1, maxLength: 6, selector: (m) => `${m.type} ${m.path}` });

describe('explain agrees with the route table', () => {
  it('every route verdict is what the compiled matcher says for that route alone', () => {
    fc.assert(fc.property(matches, fc.array(segment, { maxLength: 5 }).map((s) => `/${s.join('/')}`), (ms, requestPath) => {
      const model = modelOf(ms);
      const result = explain(model, requestPath);
      // The proxy matches the canonical path ("//a" is "/a"); so must the comparison.
      const canonical = canonicalizeTarget(requestPath, DEFAULT_PATH_OPTIONS);
      assert.ok(!isPathRejection(canonical));
      const matchPath = matchPathOf(canonical.path);
      const tableMatch = compile(model, 0).match(HOST, matchPath);
      const selected = result.routes.filter((r) => r.verdict === 'selected');
      assert.equal(selected.length, tableMatch.kind === 'route' ? 1 : 0);
      for (const cand of result.routes) {
        const alone = compile(modelOf([cand.match]), 0).match(HOST, matchPath).kind === 'route';
        assert.equal(cand.verdict !== 'no-match', alone, `${cand.match.type} ${cand.match.path} vs ${requestPath}: ${cand.verdict}`);
      }
      if (tableMatch.kind === 'route') {
        const winner = selected[0]!;
        assert.deepEqual(winner.match, tableMatch.match);
        for (const other of result.routes.filter((r) => r.verdict === 'matches')) {
          const longer = winner.match.path.length > other.match.path.length;
          const exactFirst = winner.match.path.length === other.match.path.length && winner.match.type === 'exact';
          assert.ok(longer || exactFirst, `${winner.match.path} should beat ${other.match.path}`);
        }
      }
      assert.equal(result.decision.action, tableMatch.kind === 'route' ? 'forward' : 'local');
    }), { numRuns: 500 });
  });
});
