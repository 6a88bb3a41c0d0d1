// Models reach worker processes as JSON over IPC: every model the golden
// translation cases produce must survive a JSON round trip unchanged (no
// Map, Set, undefined-in-array, Infinity or Date in the contract) and
// compile on the other side to a table with the same routes.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseManifestFile } from '../../controlplane/sources/files/manifest-file.ts';
import { compile } from '../../dataplane/compile/route-table.ts';
import type { RoutingModel } from '../../model/model.ts';
import { DEFAULT_TRANSLATE_OPTIONS } from '../../translate/options.ts';
import { buildSnapshot } from '../../translate/snapshot.ts';
import { translate } from '../../translate/translate.ts';

const dir = join(import.meta.dirname, '..', '..', 'translate', 'testdata', 'ingress');
const NOW = Date.parse('2026-06-01T00:00:00Z');

test('every golden model survives the JSON round trip to a worker and compiles there', () => {
  const inputs = readdirSync(dir).filter((f) => f.endsWith('.in.yaml')).sort();
  assert.ok(inputs.length >= 5, `golden cases in ${dir}`);
  for (const input of inputs) {
    const parsed = parseManifestFile(input, readFileSync(join(dir, input), 'utf8'));
    const model = translate(buildSnapshot(parsed.objects.map((o) => o.object)), DEFAULT_TRANSLATE_OPTIONS, { now: NOW }).model;
    const received = JSON.parse(JSON.stringify({ type: 'model', generation: 3, model })).model as RoutingModel;
    assert.deepEqual(received, model, `${input}: the model is plain JSON data`);
    const table = compile(received, 3);
    assert.equal(table.generation, 3);
  }
});
