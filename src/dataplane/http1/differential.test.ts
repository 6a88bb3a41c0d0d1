// Differential tests against llhttp (Node's own parser, behind a real
// node:http server on 127.0.0.1): generated requests, valid and mutated, and
// pipelined streams of them, must never be accepted by us when llhttp
// rejects them, and when both accept they must agree on method, target,
// headers, body and trailers and on where each message ends
// (test-support/differential.ts states the property). The hand-written
// corpus is held to the same property, and the cases where llhttp is laxer
// than we are are listed as diagnostics.
//
// Bounded for CI (a few hundred cases with a fixed seed);
// `node scripts/fuzz-http1.ts` runs the same property for longer with any seed.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { parseRequests } from './test-support/collect.ts';
import { checkIncremental, compareWithLlhttp } from './test-support/differential.ts';
import { renderStream, requestArb, renderRequest, streamArb } from './test-support/generators.ts';
import { LlhttpOracle } from './test-support/llhttp-oracle.ts';
import { REQUEST_CORPUS } from './testdata/request-corpus.ts';

const SEED = Number(process.env['HTTP1_DIFF_SEED'] ?? 20261124);
const VALID_RUNS = 200;
const STREAM_RUNS = 600;

describe('differential against llhttp', () => {
  let oracle: LlhttpOracle;
  before(async () => {
    oracle = await LlhttpOracle.start();
  });
  after(async () => {
    await oracle.close();
  });

  test('corpus: nothing we accept is rejected or read differently by llhttp', async (t) => {
    const laxer: string[] = [];
    for (const c of REQUEST_CORPUS) {
      if (c.limits !== undefined) continue; // our limits are configuration, llhttp's differ
      const input = Buffer.from(c.raw, 'latin1');
      const ours = parseRequests(input);
      const theirs = await oracle.run(input);
      const divergence = compareWithLlhttp(ours, theirs);
      assert.equal(divergence, undefined, `${c.name}: ${divergence}`);
      const llhttpAccepted = theirs.filter((e) => e.kind === 'request' && e.complete).length;
      if (ours.outcome === 'error' && llhttpAccepted > ours.messages.length) laxer.push(`${c.name} (we: ${ours.error?.status} ${ours.error?.code})`);
    }
    t.diagnostic(`llhttp accepts ${laxer.length} corpus cases that we reject: ${laxer.join('; ')}`);
  });

  test('generated requests agree with llhttp wherever we accept them', async (t) => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        const input = Buffer.from(renderRequest(r), 'latin1');
        const ours = parseRequests(input);
        const divergence = compareWithLlhttp(ours, await oracle.run(input));
        assert.equal(divergence, undefined, divergence ?? '');
        if (ours.outcome === 'clean') accepted++;
      }),
      { numRuns: VALID_RUNS, seed: SEED },
    );
    t.diagnostic(`${accepted} of ${VALID_RUNS} generated requests accepted`);
    // Unmutated requests are mostly valid (the rest use '*' or a method we refuse); if
    // this drops, the generator broke and the property below went vacuous.
    assert.ok(accepted > VALID_RUNS * 0.6, `only ${accepted} of ${VALID_RUNS} generated requests accepted`);
  });

  test('mutated and pipelined streams: we never accept what llhttp rejects', async (t) => {
    let withMessages = 0;
    await fc.assert(
      fc.asyncProperty(streamArb, async (c) => {
        const input = Buffer.from(renderStream(c), 'latin1');
        const ours = parseRequests(input);
        const incremental = checkIncremental(input, ours, c.cutSeed);
        assert.equal(incremental, undefined, incremental ?? '');
        const divergence = compareWithLlhttp(ours, await oracle.run(input));
        assert.equal(divergence, undefined, divergence ?? '');
        if (ours.messages.length > 0) withMessages++;
      }),
      { numRuns: STREAM_RUNS, seed: SEED + 1 },
    );
    t.diagnostic(`${withMessages} of ${STREAM_RUNS} streams had at least one message accepted`);
    assert.ok(withMessages > STREAM_RUNS * 0.2, `only ${withMessages} of ${STREAM_RUNS} streams had an accepted message`);
  });
});
