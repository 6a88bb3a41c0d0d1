// The container image has no bin/ directory, so its ENTRYPOINT spells out
// bin/martello's V8 flags a second time. This keeps the two copies equal:
// a flag added to (or dropped from) one and not the other fails here.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** The flags bin/martello passes to node: those of its exec line, with $gc as its default value. */
async function scriptFlags(): Promise<string[]> {
  const script = await readFile(join(REPO_ROOT, 'bin', 'martello'), 'utf8');
  const gc = /^gc="([^"]*)"$/m.exec(script)?.[1];
  const exec = /^exec "\$node" (.*) "\$root\/src\/cli\/main\.ts" "\$@"$/m.exec(script)?.[1];
  assert.ok(gc !== undefined && exec !== undefined, 'bin/martello has its gc= default and its exec line');
  return exec.split(/\s+/).flatMap((word) => (word === '$gc' ? gc.split(/\s+/) : [word]));
}

/** The flags of the Dockerfile's ENTRYPOINT: between "node" and the script. */
async function imageFlags(): Promise<string[]> {
  const dockerfile = await readFile(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
  assert.ok(entry !== undefined, 'the Dockerfile has an exec-form ENTRYPOINT');
  const argv = JSON.parse(entry) as string[];
  assert.equal(argv[0], 'node');
  assert.equal(argv.at(-1), '/app/src/cli/main.ts');
  return argv.slice(1, -1);
}

test("the image's entrypoint starts node with exactly bin/martello's flags", async () => {
  const fromScript = await scriptFlags();
  assert.ok(fromScript.includes('--single-threaded'), `parsed bin/martello's flags: ${fromScript.join(' ')}`);
  assert.deepEqual([...(await imageFlags())].sort(), [...fromScript].sort());
});
