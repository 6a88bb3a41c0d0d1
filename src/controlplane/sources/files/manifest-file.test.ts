import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_MANIFEST_BYTES, parseManifestFile } from './manifest-file.ts';

const service = (name: string): string => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  ports:
    - port: 80
`;

const ingress = (name: string, pathType = 'Prefix'): string => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: shop
spec:
  rules:
    - host: shop.example.com
      http:
        paths:
          - path: /
            pathType: ${pathType}
            backend:
              service:
                name: web
                port:
                  number: 80
`;

function keys(result: ReturnType<typeof parseManifestFile>): string[] {
  return result.objects.map((o) => `${o.object.kind} ${o.object.metadata.namespace}/${o.object.metadata.name} #${o.origin.document}`);
}

describe('parseManifestFile', () => {
  test('multi-document YAML: a broken object does not take the good ones down', () => {
    const text = [service('web'), ingress('broken', 'Regex'), service('api')].join('---\n');
    const result = parseManifestFile('apps/shop.yaml', text);
    assert.deepEqual(keys(result), ['Service default/web #1', 'Service default/api #3']);
    assert.equal(result.unreadable, false);
    assert.deepEqual(result.problems, [
      {
        severity: 'error',
        code: 'field-not-supported',
        message: 'Unsupported value "Regex": supported values: "Exact", "Prefix", "ImplementationSpecific"',
        file: 'apps/shop.yaml',
        document: 2,
        object: 'Ingress shop/broken',
        field: 'spec.rules[0].http.paths[0].pathType',
      },
    ]);
    assert.deepEqual(result.invalid, [{ key: { kind: 'Ingress', namespace: 'shop', name: 'broken' }, document: 2 }]);
    assert.deepEqual(result.objects[0]?.origin, { file: 'apps/shop.yaml', document: 1 });
  });

  test('YAML syntax error: file unreadable, position in the message', () => {
    const text = `${service('web')}---\napiVersion: v1\nkind: Service\nmetadata: {name: [oops\n`;
    const result = parseManifestFile('a.yaml', text);
    assert.equal(result.unreadable, true);
    assert.deepEqual(result.objects, []);
    assert.ok(result.problems.length >= 1);
    const first = result.problems[0]!;
    assert.equal(first.code, 'yaml-syntax');
    assert.equal(first.file, 'a.yaml');
    assert.equal(first.document, 2);
    assert.match(first.message, /at line \d+, column \d+/);
  });

  test('duplicate keys are errors', () => {
    const result = parseManifestFile('a.yaml', 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  name: b\n');
    assert.equal(result.unreadable, true);
    assert.equal(result.problems[0]?.code, 'yaml-duplicate-key');
    assert.match(result.problems[0]?.message ?? '', /line 5, column 3/);
    const json = parseManifestFile('a.json', '{"apiVersion":"v1","kind":"Secret",\n"metadata":{"name":"a"},\n"kind":"Secret"}');
    assert.equal(json.unreadable, true);
    assert.equal(json.problems[0]?.code, 'json-duplicate-key');
    assert.match(json.problems[0]?.message ?? '', /line 3/);
  });

  test('JSON file, including a List', () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a' }, stringData: { x: 'y' } },
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'b' }, data: { x: '!!' } },
      ],
    };
    const result = parseManifestFile('all.json', JSON.stringify(list));
    assert.deepEqual(keys(result), ['Secret default/a #1']);
    assert.deepEqual(
      result.problems.map((p) => [p.document, p.object, p.field, p.code]),
      [[1, 'Secret default/b', 'items[1].data["x"]', 'field-invalid']],
    );
  });

  test('JSON syntax error', () => {
    const result = parseManifestFile('bad.json', '{\n  "kind": "Secret",\n  "apiVersion": }\n');
    assert.equal(result.unreadable, true);
    assert.equal(result.problems[0]?.code, 'json-syntax');
    assert.match(result.problems[0]?.message ?? '', /^invalid JSON.*Unexpected token/);
    const missingComma = parseManifestFile('bad.json', '{\n  "kind": "Secret"\n  "apiVersion": "v1"}\n');
    assert.match(missingComma.problems[0]?.message ?? '', /line 3/);
  });

  test('the second definition of an object in a file is an error', () => {
    const result = parseManifestFile('a.yml', [service('web'), service('web')].join('---\n'));
    assert.deepEqual(keys(result), ['Service default/web #1']);
    assert.deepEqual(
      result.problems.map((p) => [p.code, p.document, p.object]),
      [['duplicate-object', 2, 'Service default/web']],
    );
  });

  test('empty documents are skipped but still counted', () => {
    const text = `---\n# nothing here\n---\n${service('web')}---\n---\n`;
    const result = parseManifestFile('a.yaml', text);
    assert.deepEqual(keys(result), ['Service default/web #2']);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(parseManifestFile('empty.yaml', '').objects, []);
  });

  test('other kinds are skipped silently', () => {
    const text = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec: {}\n---\n${service('web')}`;
    const result = parseManifestFile('a.yaml', text);
    assert.deepEqual(keys(result), ['Service default/web #2']);
    assert.deepEqual(result.problems, []);
  });

  test('a scalar document is reported', () => {
    const result = parseManifestFile('a.yaml', 'just a string\n');
    assert.deepEqual(result.problems.map((p) => [p.code, p.document, p.field]), [['field-invalid-type', 1, undefined]]);
  });

  test('merge keys work, an alias bomb is refused', () => {
    const merged = `base: &base\n  apiVersion: v1\n  kind: Secret\n---\n<<: *base\nmetadata:\n  name: m\n`;
    // Aliases do not cross documents in YAML, so use one document.
    const one = `apiVersion: v1\nkind: Secret\nmetadata: &meta\n  name: m\nstringData:\n  <<: {a: b}\n`;
    assert.deepEqual(keys(parseManifestFile('m.yaml', one)), ['Secret default/m #1']);
    assert.equal(parseManifestFile('m.yaml', merged).unreadable, true, 'an alias to another document is an error');
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      levels.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const bomb = parseManifestFile('bomb.yaml', `${levels.join('\n')}\n`);
    assert.equal(bomb.unreadable, true);
    assert.deepEqual(bomb.problems.map((p) => [p.code, p.document]), [['yaml-alias-limit', 1]]);
  });

  test('a file over the size limit is refused with one diagnostic', () => {
    const result = parseManifestFile('big.yaml', `# ${'x'.repeat(MAX_MANIFEST_BYTES)}\n`);
    assert.equal(result.unreadable, true);
    assert.deepEqual(result.problems.map((p) => [p.code, p.file]), [['file-too-large', 'big.yaml']]);
  });
});
