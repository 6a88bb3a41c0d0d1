// Golden tests for translation: every testdata/ingress/<case>.in.yaml is read
// the way `martello serve` reads a manifest file, translated, and compared
// with <case>.out.yaml (model, statuses, diagnostics). `npm run golden:update`
// rewrites the outputs and deletes orphaned ones; without it a missing or
// different output fails.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { parseManifestFile } from '../controlplane/sources/files/manifest-file.ts';
import { redactModel } from '../model/summary.ts';
import { formatDiagnostic } from '../shared/diagnostic.ts';
import { DEFAULT_TRANSLATE_OPTIONS, type TranslateOptions } from './options.ts';
import { buildSnapshot } from './snapshot.ts';
import { translate } from './translate.ts';

const dir = join(import.meta.dirname, 'testdata', 'ingress');
const update = process.env['UPDATE_GOLDEN'] === '1';
const files = readdirSync(dir);
const inputs = files.filter((f) => f.endsWith('.in.yaml')).sort();

for (const input of inputs) {
  const name = input.slice(0, -'.in.yaml'.length);
  test(`translate golden: ${name}`, () => {
    const text = readFileSync(join(dir, input), 'utf8');
    const actual = run(input, text);
    const outPath = join(dir, `${name}.out.yaml`);
    if (update) {
      writeFileSync(outPath, stringify(actual, { lineWidth: 0 }));
      return;
    }
    let expected: unknown;
    try {
      expected = parse(readFileSync(outPath, 'utf8'));
    } catch {
      assert.fail(`missing ${name}.out.yaml: run \`npm run golden:update\` and review the new file`);
    }
    assert.deepEqual(actual, expected, `${name}: translation differs from ${name}.out.yaml (npm run golden:update rewrites it)`);
  });
}

test('translate golden: no orphaned outputs', () => {
  const orphans = files.filter((f) => f.endsWith('.out.yaml') && !files.includes(f.replace(/\.out\.yaml$/, '.in.yaml')));
  if (update) for (const f of orphans) rmSync(join(dir, f));
  else assert.deepEqual(orphans, [], 'outputs without an input: delete them or run `npm run golden:update`');
});

test('translate golden: there are cases', () => {
  assert.ok(inputs.length >= 5, `expected golden cases in ${dir}`);
});

function run(file: string, text: string): unknown {
  const opts = testOptions(text);
  const parsed = parseManifestFile(file, text);
  const result = translate(buildSnapshot(parsed.objects.map((o) => o.object)), opts, { now: GOLDEN_NOW });
  // Round-trip through JSON so the comparison sees plain data, as the YAML file does.
  return JSON.parse(JSON.stringify({
    model: redactModel(result.model),
    statuses: result.statuses,
    diagnostics: [...parsed.problems, ...result.diagnostics].map(formatDiagnostic),
  }));
}

/** The clock for certificate validity in every case: test certificates are valid 2026-01-01 to 2126. */
const GOLDEN_NOW = Date.parse('2026-06-01T00:00:00Z');

/** An optional first document `kind: TestOptions` overrides translate options for the case. */
function testOptions(text: string): TranslateOptions {
  const first = parseAllDocuments(text)[0];
  const value: unknown = Array.isArray(first) ? undefined : first?.toJS();
  if (typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'TestOptions') {
    const { kind: _kind, ...overrides } = value as Record<string, unknown>;
    return { ...DEFAULT_TRANSLATE_OPTIONS, ...(overrides as Partial<TranslateOptions>) };
  }
  return DEFAULT_TRANSLATE_OPTIONS;
}
