// Table swaps under load: no request is lost, later requests use the new
// table, a request in flight keeps the table it started with, and removing
// an endpoint closes its upstream pool gracefully (in-flight requests to it
// complete).

import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { type EchoReply, echo, startBackend, startEcho, type TestBackend } from './test-support/backends.ts';
import { HTTP1_ENGINES, type ModelSpec, type RunningProxy, startProxy, tableFor } from './test-support/harness.ts';

for (const engine of HTTP1_ENGINES) describe(`[${engine}] proxy table swaps`, () => {
  let a: TestBackend;
  let b: TestBackend;
  let held: TestBackend;
  const heldResponses: ServerResponse[] = [];
  let onHeld: (() => void) | undefined;
  let p: RunningProxy;
  let specA: ModelSpec;
  let specB: ModelSpec;
  const agent = new Agent({ connections: 16 });

  before(async () => {
    [a, b] = await Promise.all([startEcho('a'), startEcho('b')]);
    held = await startBackend('held', (req, res, backend) => {
      if ((req.url ?? '').startsWith('/hold')) {
        req.resume();
        heldResponses.push(res);
        onHeld?.();
        return;
      }
      echo(req, res, backend);
    });
    specA = { hosts: [{ host: '*', routes: [{ path: '/', cluster: 'c' }] }], clusters: { c: [a.port] } };
    specB = { hosts: [{ host: '*', routes: [{ path: '/', cluster: 'c' }] }], clusters: { c: [b.port] } };
    p = await startProxy(specA, { engine });
  });

  after(async () => {
    await agent.close();
    await p.close();
    await Promise.all([a, b, held].map((x) => x.close()));
  });

  async function whoAnswers(path = '/who'): Promise<string> {
    const res = await request(`${p.origin}${path}`, { headers: { host: 'x.test' }, dispatcher: agent });
    const text = await res.body.text();
    assert.equal(res.statusCode, 200, text);
    return (JSON.parse(text) as EchoReply).name;
  }

  test('200 sequential and concurrent requests across repeated swaps: none lost, then the new table serves', async () => {
    p.proxy.swap(tableFor(specA));
    let swaps = 0;
    const answers: string[] = [];
    const workers = 10;
    const perWorker = 20;
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        for (let i = 0; i < perWorker; i++) {
          answers.push(await whoAnswers(`/load/${w}/${i}`));
          if (w === 0) {
            p.proxy.swap(tableFor(swaps % 2 === 0 ? specB : specA));
            swaps++;
          }
        }
      }),
    );
    assert.equal(answers.length, workers * perWorker);
    assert.ok(answers.every((n) => n === 'a' || n === 'b'));
    assert.ok(answers.includes('a') && answers.includes('b'), 'both tables served during the run');
    p.proxy.swap(tableFor(specB));
    for (let i = 0; i < 5; i++) assert.equal(await whoAnswers(), 'b');
    assert.ok(!p.proxy.hasUpstreamPool(`127.0.0.1:${a.port}`), 'the pool of an endpoint no table lists is closed');
  });

  test('a request in flight keeps the table it started with', async () => {
    p.proxy.swap(tableFor(specA));
    const bodyGate = Promise.withResolvers<void>();
    const requestsAtA = a.requests;
    async function* slowBody(): AsyncGenerator<Buffer> {
      yield Buffer.from('first part;');
      await bodyGate.promise;
      yield Buffer.from('second part');
    }
    const pending = request(`${p.origin}/inflight`, { method: 'POST', headers: { host: 'x.test' }, body: Readable.from(slowBody()), dispatcher: agent });
    // The request reached backend a (its head was forwarded) before the swap.
    const deadline = Date.now() + 10_000;
    while (a.requests === requestsAtA) {
      if (Date.now() > deadline) throw new Error('request never reached backend a');
      await new Promise((r) => setImmediate(r));
    }
    p.proxy.swap(tableFor(specB));
    bodyGate.resolve();
    const res = await pending;
    const reply = (await res.body.json()) as EchoReply;
    assert.equal(reply.name, 'a');
    assert.equal(reply.bodyLength, 'first part;second part'.length);
    assert.equal(await whoAnswers(), 'b');
  });

  test('removing an endpoint while requests to it are in flight completes them', async () => {
    const specHeld: ModelSpec = { hosts: [{ host: '*', routes: [{ path: '/', cluster: 'c' }] }], clusters: { c: [held.port] } };
    p.proxy.swap(tableFor(specHeld));
    const n = 5;
    const allHeld = new Promise<void>((resolve) => {
      onHeld = () => {
        if (heldResponses.length === n) resolve();
      };
    });
    const pending = Array.from({ length: n }, (_, i) => request(`${p.origin}/hold/${i}`, { headers: { host: 'x.test' }, dispatcher: agent }));
    await allHeld;
    const key = `127.0.0.1:${held.port}`;
    assert.ok(p.proxy.hasUpstreamPool(key));
    // The endpoint disappears from the table; its pool is retired at once.
    p.proxy.swap(tableFor(specB));
    assert.ok(!p.proxy.hasUpstreamPool(key), 'the removed endpoint still has a live pool');
    for (const res of heldResponses) res.end('held-done');
    const results = await Promise.all(pending.map(async (r) => {
      const res = await r;
      return `${res.statusCode} ${await res.body.text()}`;
    }));
    assert.deepEqual(results, Array.from({ length: n }, () => '200 held-done'));
    const heldCount = held.requests;
    assert.equal(await whoAnswers(), 'b');
    assert.equal(held.requests, heldCount, 'the removed endpoint got new traffic');
  });
});
