import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Diagnostic } from '../../../shared/diagnostic.ts';
import { createLogger, silentLogger } from '../../../shared/log.ts';
import type { ResourceEvent, SourceSink } from '../source.ts';
import { DirectorySource } from './directory-source.ts';

const DEADLINE_MS = 5000;

/** Records sink calls; tests await the next call of a kind instead of sleeping. */
class RecordingSink implements SourceSink {
  readonly calls: Array<['events', ResourceEvent[]] | ['problems', Diagnostic[]] | ['synced']> = [];
  #waiters: Array<() => void> = [];

  events(batch: readonly ResourceEvent[]): void {
    this.#record(['events', [...batch]]);
  }
  problems(list: readonly Diagnostic[]): void {
    this.#record(['problems', [...list]]);
  }
  synced(): void {
    this.#record(['synced']);
  }

  /** Resolves with the first call of `kind` made after this point. */
  async next<K extends 'events' | 'problems'>(kind: K): Promise<K extends 'events' ? ResourceEvent[] : Diagnostic[]> {
    const from = this.calls.length;
    const found = (): unknown => this.calls.slice(from).find((c) => c[0] === kind)?.[1];
    await withDeadline(
      new Promise<void>((resolve) => {
        const check = (): void => (found() === undefined ? void this.#waiters.push(check) : resolve());
        check();
      }),
      `next ${kind} call`,
    );
    return found() as K extends 'events' ? ResourceEvent[] : Diagnostic[];
  }

  callsSince(from: number): string[] {
    return this.calls.slice(from).map((c) => c[0]);
  }

  #record(call: RecordingSink['calls'][number]): void {
    this.calls.push(call);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

function eventsAt(sink: RecordingSink, index: number): ResourceEvent[] {
  const call = sink.calls[index];
  assert.equal(call?.[0], 'events', `call ${index} should be events`);
  return call?.[0] === 'events' ? call[1] : [];
}

function problemsAt(sink: RecordingSink, index: number): Diagnostic[] {
  const call = sink.calls[index];
  assert.equal(call?.[0], 'problems', `call ${index} should be problems`);
  return call?.[0] === 'problems' ? call[1] : [];
}

async function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${DEADLINE_MS} ms waiting for ${what}`)), DEADLINE_MS);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Replaces a file atomically. A plain writeFile truncates first, and a
 * loaded machine may apply the empty intermediate file as its own batch,
 * which would make the batch-exact assertions below flaky.
 */
async function put(path: string, text: string): Promise<void> {
  const tmp = join(path, '..', `.${Math.random().toString(36).slice(2)}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, path);
}

const secret = (name: string, value = 'v', namespace = 'default'): string =>
  `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nstringData:\n  k: ${value}\n`;

/** "upsert Secret default/a @file#doc" or "delete Secret default/a": compact, readable expectations. */
function describeEvents(batch: readonly ResourceEvent[]): string[] {
  return batch.map((e) =>
    e.type === 'upsert'
      ? `upsert ${e.object.kind} ${e.object.metadata.namespace}/${e.object.metadata.name} @${e.origin?.file}#${e.origin?.document}`
      : `delete ${e.key.kind} ${e.key.namespace}/${e.key.name}`,
  );
}

function secretValue(batch: readonly ResourceEvent[], name: string): string | undefined {
  const e = batch.find((x) => x.type === 'upsert' && x.object.metadata.name === name);
  return e?.type === 'upsert' && e.object.kind === 'Secret' ? new TextDecoder().decode(e.object.data['k']) : undefined;
}

describe('DirectorySource', () => {
  let root = '';
  let source: DirectorySource | undefined;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'martello-manifests-'));
  });

  afterEach(async () => {
    await source?.stop();
    source = undefined;
    await rm(root, { recursive: true, force: true });
  });

  async function started(): Promise<RecordingSink> {
    const sink = new RecordingSink();
    source = new DirectorySource({ root, logger: silentLogger, debounceMs: 10 });
    await source.start(sink);
    return sink;
  }

  test('initial load: one batch, then problems, then synced; dotfiles and editor files ignored', async () => {
    await mkdir(join(root, 'apps', 'shop'), { recursive: true });
    await mkdir(join(root, '.git'));
    await writeFile(join(root, 'a.yaml'), `${secret('a')}---\n${secret('b')}`);
    await writeFile(join(root, 'apps', 'shop', 'c.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'c' } }));
    await writeFile(join(root, 'apps', 'bad.yml'), 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: Bad\n');
    await writeFile(join(root, '.git', 'x.yaml'), secret('git'));
    await writeFile(join(root, '.hidden.yaml'), secret('hidden'));
    await writeFile(join(root, 'a.yaml~'), secret('backup'));
    await writeFile(join(root, 'notes.txt'), 'not a manifest');
    const sink = await started();
    assert.deepEqual(sink.callsSince(0), ['events', 'problems', 'synced']);
    assert.deepEqual(describeEvents(eventsAt(sink, 0)), [
      'upsert Secret default/a @a.yaml#1',
      'upsert Secret default/b @a.yaml#2',
      'upsert Secret default/c @apps/shop/c.json#1',
    ]);
    const problems = problemsAt(sink, 1);
    assert.deepEqual(
      problems.map((d) => [d.file, d.document, d.object, d.field, d.code]),
      [['apps/bad.yml', 1, 'Secret default/Bad', 'metadata.name', 'field-invalid']],
    );
  });

  test('a missing root makes start reject, naming the path', async () => {
    const missing = join(root, 'nope');
    source = new DirectorySource({ root: missing, logger: silentLogger });
    await assert.rejects(source.start(new RecordingSink()), (e: Error) => e.message.includes(missing));
    await writeFile(join(root, 'file.yaml'), '');
    const notDir = new DirectorySource({ root: join(root, 'file.yaml'), logger: silentLogger });
    await assert.rejects(notDir.start(new RecordingSink()), /not a directory/);
  });

  test('adding, editing and deleting files emits only the differences', async () => {
    await writeFile(join(root, 'a.yaml'), `${secret('a')}---\n${secret('b')}---\n${secret('c')}`);
    const sink = await started();

    let next = sink.next('events');
    await writeFile(join(root, 'new.yaml'), secret('n'));
    assert.deepEqual(describeEvents(await next), ['upsert Secret default/n @new.yaml#1']);

    next = sink.next('events');
    // a unchanged, b changed, c removed.
    await put(join(root, 'a.yaml'), `${secret('a')}---\n${secret('b', 'changed')}`);
    const edit = await next;
    assert.deepEqual(describeEvents(edit), ['upsert Secret default/b @a.yaml#2', 'delete Secret default/c']);
    assert.equal(secretValue(edit, 'b'), 'changed');

    next = sink.next('events');
    await unlink(join(root, 'a.yaml'));
    assert.deepEqual(describeEvents(await next), ['delete Secret default/a', 'delete Secret default/b']);
  });

  test('reordering keys is not a change; moving an object to another document is', async () => {
    await writeFile(join(root, 'a.yaml'), `${secret('a')}---\n${secret('b')}`);
    const sink = await started();
    const next = sink.next('events');
    const reordered = 'kind: Secret\napiVersion: v1\nstringData: {k: v}\nmetadata: {namespace: default, name: a}\n';
    await put(join(root, 'a.yaml'), `${reordered}---\n# spacer\n---\n${secret('b')}`);
    assert.deepEqual(describeEvents(await next), ['upsert Secret default/b @a.yaml#3']);
  });

  test('a broken file keeps its last good version; fixing it clears the problem', async () => {
    await writeFile(join(root, 'a.yaml'), secret('a'));
    await writeFile(join(root, 'b.yaml'), secret('b'));
    const sink = await started();
    const mark = sink.calls.length;

    let problems = sink.next('problems');
    await put(join(root, 'a.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata: {name: [\n');
    const reported = await problems;
    assert.deepEqual(sink.callsSince(mark), ['problems'], 'no events for the broken file');
    assert.deepEqual(
      reported.map((d) => [d.file, d.code]),
      [
        ['a.yaml', 'file-unreadable-kept-last-good'],
        ['a.yaml', 'yaml-syntax'],
      ],
    );
    assert.match(reported[0]?.message ?? '', /last good version/);

    const events = sink.next('events');
    problems = sink.next('problems');
    await put(join(root, 'a.yaml'), secret('a', 'fixed'));
    assert.equal(secretValue(await events, 'a'), 'fixed');
    assert.deepEqual(await problems, []);
  });

  test('an invalid object keeps its last valid version; valid siblings are applied', async () => {
    await writeFile(join(root, 'a.yaml'), `${secret('a')}---\n${secret('b')}`);
    const sink = await started();
    const events = sink.next('events');
    const problems = sink.next('problems');
    const invalidB = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: b\ndata:\n  k: "%%%"\n';
    await put(join(root, 'a.yaml'), `${secret('a', 'new')}---\n${invalidB}`);
    const batch = await events;
    assert.deepEqual(describeEvents(batch), ['upsert Secret default/a @a.yaml#1']);
    assert.deepEqual(
      (await problems).map((d) => [d.object, d.field, d.code]),
      [
        ['Secret default/b', undefined, 'object-kept-last-valid'],
        ['Secret default/b', 'data["k"]', 'field-invalid'],
      ],
    );
  });

  test('nested directories created later are watched', async () => {
    const sink = await started();
    const next = sink.next('events');
    await mkdir(join(root, 'team', 'svc'), { recursive: true });
    await writeFile(join(root, 'team', 'svc', 'x.yaml'), secret('x'));
    assert.deepEqual(describeEvents(await next), ['upsert Secret default/x @team/svc/x.yaml#1']);

    const gone = sink.next('events');
    await rm(join(root, 'team'), { recursive: true });
    assert.deepEqual(describeEvents(await gone), ['delete Secret default/x']);
  });

  test('a write through a temporary file and rename is picked up', async () => {
    await writeFile(join(root, 'a.yaml'), secret('a'));
    const sink = await started();
    const next = sink.next('events');
    await writeFile(join(root, '.a.yaml.tmp'), secret('a', 'renamed'));
    await rename(join(root, '.a.yaml.tmp'), join(root, 'a.yaml'));
    const batch = await next;
    assert.deepEqual(describeEvents(batch), ['upsert Secret default/a @a.yaml#1']);
    assert.equal(secretValue(batch, 'a'), 'renamed');
  });

  test('dotfiles stay ignored while watching', async () => {
    const sink = await started();
    const next = sink.next('events');
    await writeFile(join(root, '.draft.yaml'), secret('draft'));
    await writeFile(join(root, 'real.yaml'), secret('real'));
    assert.deepEqual(describeEvents(await next), ['upsert Secret default/real @real.yaml#1']);
  });

  test('the same object in two files: the first file wins until it drops it', async () => {
    await writeFile(join(root, 'a.yaml'), `${secret('other')}---\n${secret('shared', 'from-a')}`);
    await writeFile(join(root, 'b.yaml'), secret('shared', 'from-b'));
    const sink = await started();
    assert.equal(secretValue(eventsAt(sink, 0), 'shared'), 'from-a');
    const initialProblems = problemsAt(sink, 1);
    assert.deepEqual(initialProblems.map((d) => [d.file, d.object, d.code]), [['b.yaml', 'Secret default/shared', 'duplicate-object']]);
    assert.match(initialProblems[0]?.message ?? '', /also defined in a\.yaml/);

    const events = sink.next('events');
    const problems = sink.next('problems');
    await put(join(root, 'a.yaml'), secret('other'));
    const batch = await events;
    assert.deepEqual(describeEvents(batch), ['upsert Secret default/shared @b.yaml#1']);
    assert.equal(secretValue(batch, 'shared'), 'from-b');
    assert.deepEqual(await problems, []);
  });

  test('symlinks inside the root are followed, outside it are not', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'martello-outside-'));
    try {
      await writeFile(join(outside, 'o.yaml'), secret('outside'));
      await mkdir(join(root, '..data'));
      await writeFile(join(root, '..data', 'in.yaml'), secret('inside'));
      await symlink(join(root, '..data', 'in.yaml'), join(root, 'in.yaml'));
      await symlink(join(outside, 'o.yaml'), join(root, 'out.yaml'));
      const sink = await started();
      assert.deepEqual(describeEvents(eventsAt(sink, 0)), ['upsert Secret default/inside @in.yaml#1']);
      assert.deepEqual(problemsAt(sink, 1).map((d) => [d.file, d.code]), [['out.yaml', 'symlink-outside-root']]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  test('a ConfigMap-style "..data" swap triggers a rescan', async () => {
    await mkdir(join(root, '..v1'));
    await writeFile(join(root, '..v1', 'in.yaml'), secret('cm', 'one'));
    await symlink('..v1', join(root, '..data'));
    await symlink(join('..data', 'in.yaml'), join(root, 'in.yaml'));
    const sink = await started();
    assert.equal(secretValue(eventsAt(sink, 0), 'cm'), 'one');
    const next = sink.next('events');
    await mkdir(join(root, '..v2'));
    await writeFile(join(root, '..v2', 'in.yaml'), secret('cm', 'two'));
    await symlink('..v2', join(root, '..data_tmp'));
    await rename(join(root, '..data_tmp'), join(root, '..data'));
    assert.equal(secretValue(await next, 'cm'), 'two');
  });

  test('logs one info line per applied batch', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const sink = new RecordingSink();
    source = new DirectorySource({ root, logger, debounceMs: 10 });
    await source.start(sink);
    const next = sink.next('events');
    await writeFile(join(root, 'a.yaml'), `${secret('a')}---\n${secret('b')}`);
    await next;
    const applied = lines.filter((l) => l['msg'] === 'manifest changes applied');
    assert.equal(applied.length, 1);
    assert.equal(applied[0]?.['level'], 'info');
    assert.equal(applied[0]?.['upserted'], 2);
    assert.equal(applied[0]?.['deleted'], 0);
  });

  test('no sink calls after stop', async () => {
    const sink = await started();
    await writeFile(join(root, 'a.yaml'), secret('a'));
    await source?.stop();
    const count = sink.calls.length;
    await writeFile(join(root, 'b.yaml'), secret('b'));
    await source?.flush();
    assert.equal(sink.calls.length, count);
  });

  test('flush applies pending changes without waiting for the debounce', async () => {
    const sink = new RecordingSink();
    source = new DirectorySource({ root, logger: silentLogger, debounceMs: 60_000 });
    await source.start(sink);
    const next = sink.next('events');
    await writeFile(join(root, 'a.yaml'), secret('a'));
    // The watcher reports asynchronously: flush until the change has been seen.
    const poll = setInterval(() => void source?.flush(), 20);
    try {
      assert.deepEqual(describeEvents(await next), ['upsert Secret default/a @a.yaml#1']);
    } finally {
      clearInterval(poll);
    }
  });
});
