// Golden tests for explain: every testdata/<case>.in.yaml holds manifests
// (read the way `martello serve` reads a manifest file), an optional
// `kind: TestOptions` document (translate options and `hsts`), and one or
// more `kind: ExplainRequest` documents (url, method, headers as
// "Name: value" strings, sni). Each request is explained against the
// translated model and compared with <case>.out.txt (the text rendering,
// requests separated by a line of dashes) and <case>.out.json (the admin
// JSON). `npm run golden:update` (UPDATE_GOLDEN=1) rewrites both.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parseManifestFile } from '../controlplane/sources/files/manifest-file.ts';
import type { Ingress } from '../k8s/objects.ts';
import { DEFAULT_TRANSLATE_OPTIONS, type TranslateOptions } from '../translate/options.ts';
import { buildSnapshot } from '../translate/snapshot.ts';
import { translate } from '../translate/translate.ts';
import { explainRequest } from './explain.ts';
import { renderExplainText } from './render-text.ts';
import { parseExplainRequest, type ExplainRequest } from './request.ts';

const dir = join(import.meta.dirname, 'testdata');
const update = process.env['UPDATE_GOLDEN'] === '1';
const files = readdirSync(dir);
const inputs = files.filter((f) => f.endsWith('.in.yaml')).sort();

/** The clock for certificate validity: test certificates are valid 2026-01-01 to 2126. */
const GOLDEN_NOW = Date.parse('2026-06-01T00:00:00Z');
const SEPARATOR = '-'.repeat(72) + '\n';

for (const input of inputs) {
  const name = input.slice(0, -'.in.yaml'.length);
  test(`explain golden: ${name}`, () => {
    const { text, json, requests } = run(input, readFileSync(join(dir, input), 'utf8'));
    assert.ok(requests > 0, `${input} has no kind: ExplainRequest document`);
    const txtPath = join(dir, `${name}.out.txt`);
    const jsonPath = join(dir, `${name}.out.json`);
    if (update) {
      writeFileSync(txtPath, text);
      writeFileSync(jsonPath, json);
      return;
    }
    let expectedText: string;
    let expectedJson: string;
    try {
      expectedText = readFileSync(txtPath, 'utf8');
      expectedJson = readFileSync(jsonPath, 'utf8');
    } catch {
      assert.fail(`missing ${name}.out.txt or .out.json: run \`npm run golden:update\` and review the new files`);
    }
    assert.equal(text, expectedText, `${name}: text differs from ${name}.out.txt (npm run golden:update rewrites it)`);
    assert.deepEqual(JSON.parse(json), JSON.parse(expectedJson), `${name}: JSON differs from ${name}.out.json (npm run golden:update rewrites it)`);
  });
}

test('explain golden: no orphaned outputs', () => {
  const orphans = files.filter((f) => /\.out\.(txt|json)$/.test(f) && !files.includes(f.replace(/\.out\.(txt|json)$/, '.in.yaml')));
  if (update) for (const f of orphans) rmSync(join(dir, f));
  else assert.deepEqual(orphans, [], 'outputs without an input: delete them or run `npm run golden:update`');
});

test('explain golden: there are cases', () => {
  assert.ok(inputs.length >= 8, `expected golden cases in ${dir}`);
});

interface CaseDocs {
  readonly options: TranslateOptions;
  readonly hsts: string | null | undefined;
  readonly requests: ExplainRequest[];
}

function run(file: string, text: string): { text: string; json: string; requests: number } {
  const docs = caseDocs(text);
  const parsed = parseManifestFile(file, text);
  const objects = parsed.objects.map((o) => o.object);
  const result = translate(buildSnapshot(objects), docs.options, { now: GOLDEN_NOW });
  const ingresses = objects.filter((o): o is Ingress => o.kind === 'Ingress');
  const texts: string[] = [];
  const results: unknown[] = [];
  for (const req of docs.requests) {
    const outcome = parseExplainRequest(req);
    if (!outcome.ok) assert.fail(`${file}: ${req.url}: ${outcome.error}`);
    const explained = explainRequest({
      model: result.model,
      generation: 1,
      statuses: result.statuses,
      diagnostics: [...parsed.problems, ...result.diagnostics],
      ingresses,
      ...(docs.hsts === undefined ? {} : { settings: { hsts: docs.hsts } }),
    }, outcome.request);
    texts.push(renderExplainText(explained));
    results.push(explained);
  }
  return { text: texts.join(SEPARATOR), json: JSON.stringify(results, null, 2) + '\n', requests: docs.requests.length };
}

function caseDocs(text: string): CaseDocs {
  let options = DEFAULT_TRANSLATE_OPTIONS;
  let hsts: string | null | undefined;
  const requests: ExplainRequest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (Array.isArray(doc)) continue;
    const value: unknown = doc.toJS();
    if (typeof value !== 'object' || value === null) continue;
    const v = value as Record<string, unknown>;
    if (v['kind'] === 'TestOptions') {
      const { kind: _kind, hsts: h, ...overrides } = v;
      options = { ...DEFAULT_TRANSLATE_OPTIONS, ...(overrides as Partial<TranslateOptions>) };
      if (h !== undefined) hsts = h as string | null;
    } else if (v['kind'] === 'ExplainRequest') {
      const headers = ((v['headers'] ?? []) as string[]).map((h): [string, string] => {
        const colon = h.indexOf(':');
        return [h.slice(0, colon).trim(), h.slice(colon + 1).trim()];
      });
      requests.push({
        url: String(v['url']),
        ...(v['method'] === undefined ? {} : { method: String(v['method']) }),
        ...(headers.length === 0 ? {} : { headers }),
        ...(v['sni'] === undefined ? {} : { sni: String(v['sni']) }),
      });
    }
  }
  return { options, hsts, requests };
}
