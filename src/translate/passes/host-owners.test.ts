// Host ownership across namespaces over time: the golden case
// host-ownership-across-namespaces pins one snapshot; these tests translate
// several in a row, as the reconcile loop does when objects come and go.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeObject } from '../../k8s/decode.ts';
import type { KubeObject } from '../../k8s/objects.ts';
import type { VirtualHost } from '../../model/model.ts';
import { DEFAULT_TRANSLATE_OPTIONS, type TranslateOptions } from '../options.ts';
import { buildSnapshot } from '../snapshot.ts';
import { translate } from '../translate.ts';

function ingress(namespace: string, name: string, created: string, host: string | undefined, path: string, tlsHosts: string[] = []): KubeObject {
  const decoded = decodeObject({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { namespace, name, creationTimestamp: created },
    spec: {
      ...(tlsHosts.length > 0 ? { tls: [{ hosts: tlsHosts }] } : {}),
      rules: [{ ...(host === undefined ? {} : { host }), http: { paths: [{ path, pathType: 'Prefix', backend: { service: { name: 'svc', port: { number: 80 } } } }] } }],
    },
  });
  assert.equal(decoded.ok, true, JSON.stringify(decoded));
  return (decoded as { object: KubeObject }).object;
}

function run(objects: KubeObject[], opts: Partial<TranslateOptions> = {}) {
  return translate(buildSnapshot(objects), { ...DEFAULT_TRANSLATE_OPTIONS, ...opts });
}

/** "path → ingress" of each route of `host`. */
function routesOf(host: string, virtualHosts: readonly VirtualHost[]): string[] {
  return virtualHosts.find((v) => v.host === host)?.routes.map((r) => `${r.match.path} → ${r.target.ingress}`) ?? [];
}

const oldest = ingress('team-a', 'web', '2025-01-01T00:00:00Z', 'app.test', '/', ['app.test']);
const second = ingress('team-b', 'web', '2025-02-01T00:00:00Z', 'app.test', '/b', ['app.test']);
const third = ingress('team-c', 'web', '2025-03-01T00:00:00Z', 'app.test', '/c');

test('deleting the owner hands the host to the next-oldest namespace, at the next translation', () => {
  const before = run([oldest, second, third]);
  assert.deepEqual(routesOf('app.test', before.model.virtualHosts), ['/ → team-a/web']);
  assert.deepEqual(before.model.tlsHosts.map((h) => h.ingress), ['team-a/web']);
  assert.deepEqual(before.diagnostics.filter((d) => d.code === 'host-owned-by-other-namespace').map((d) => `${d.object} ${d.field}`), [
    'Ingress team-b/web spec.rules[0].host',
    'Ingress team-b/web spec.tls[0].hosts[0]',
    'Ingress team-c/web spec.rules[0].host',
  ]);

  const after = run([second, third]);
  assert.deepEqual(routesOf('app.test', after.model.virtualHosts), ['/b → team-b/web']);
  assert.deepEqual(after.model.tlsHosts.map((h) => h.ingress), ['team-b/web']);
  const refused = after.diagnostics.filter((d) => d.code === 'host-owned-by-other-namespace');
  assert.deepEqual(refused.map((d) => d.object), ['Ingress team-c/web']);
  assert.match(refused[0]!.message, /owned by namespace team-b \(Ingress team-b\/web/);

  // Re-creating the first Ingress gives it a new, younger timestamp: team-b keeps the host.
  const recreated = ingress('team-a', 'web', '2026-01-01T00:00:00Z', 'app.test', '/', ['app.test']);
  assert.deepEqual(routesOf('app.test', run([recreated, second, third]).model.virtualHosts), ['/b → team-b/web']);
});

test('hostSharing merge: every namespace merges into the host, oldest claim per path wins', () => {
  const result = run([oldest, second, third], { hostSharing: 'merge' });
  assert.deepEqual(routesOf('app.test', result.model.virtualHosts), ['/b → team-b/web', '/c → team-c/web', '/ → team-a/web']);
  assert.deepEqual(result.diagnostics.filter((d) => d.code === 'host-owned-by-other-namespace'), []);
  const tlsConflict = result.diagnostics.filter((d) => d.code === 'tls-host-conflict').map((d) => d.object);
  assert.deepEqual(tlsConflict, ['Ingress team-b/web']);
});

test('an exact host and the wildcard above it are owned separately; the wildcard never takes the exact host', () => {
  const wild = ingress('wild', 'star', '2024-01-01T00:00:00Z', '*.apps.test', '/');
  const exact = ingress('team-x', 'x', '2026-01-01T00:00:00Z', 'x.apps.test', '/x');
  const result = run([wild, exact]);
  assert.deepEqual(routesOf('*.apps.test', result.model.virtualHosts), ['/ → wild/star']);
  assert.deepEqual(routesOf('x.apps.test', result.model.virtualHosts), ['/x → team-x/x']);
  assert.deepEqual(result.diagnostics.filter((d) => d.code === 'host-owned-by-other-namespace'), []);
});

test('a TLS host without a rule of its own follows the virtual host its requests reach', () => {
  const catchAll = ingress('edge', 'catch', '2024-01-01T00:00:00Z', undefined, '/');
  const tlsOnly = ingress('team-t', 'tls', '2025-01-01T00:00:00Z', 't.test', '/', ['t.test', 'elsewhere.test']);
  const result = run([catchAll, tlsOnly]);
  // t.test has its own rule (team-t owns it); elsewhere.test would be served by edge's "*" rules.
  assert.deepEqual(result.model.tlsHosts.map((h) => h.host), ['t.test']);
  const refused = result.diagnostics.filter((d) => d.code === 'host-owned-by-other-namespace');
  assert.deepEqual(refused.map((d) => `${d.object} ${d.field}`), ['Ingress team-t/tls spec.tls[0].hosts[1]']);
  // Without the "*" rules nobody routes elsewhere.test: the TLS entry is accepted as before.
  assert.deepEqual(run([tlsOnly]).model.tlsHosts.map((h) => h.host), ['elsewhere.test', 't.test']);
});
