// A longer differential fuzz run of the HTTP/1.1 request parser against
// llhttp (the property of src/dataplane/http1/test-support/differential.ts
// plus the incrementality check), for when CI's few hundred cases are not
// enough: after a change to the codec, or to look for new divergences.
//
//   node scripts/fuzz-http1.ts [--runs N] [--seed S] [--time-limit SECONDS]
//
// Defaults: 20000 runs, a random seed, 300 s. Prints a summary; on a
// divergence prints the shrunk counterexample (the bytes, what differed and
// how to replay it) and exits 1. Everything runs on 127.0.0.1.

import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { parseRequests } from '../src/dataplane/http1/test-support/collect.ts';
import { checkIncremental, compareWithLlhttp } from '../src/dataplane/http1/test-support/differential.ts';
import { renderStream, streamArb } from '../src/dataplane/http1/test-support/generators.ts';
import { LlhttpOracle } from '../src/dataplane/http1/test-support/llhttp-oracle.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20000' },
    seed: { type: 'string' },
    'time-limit': { type: 'string', default: '300' },
  },
});
const runs = Number(values.runs);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const timeLimitMs = Number(values['time-limit']) * 1000;
if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(seed) || !(timeLimitMs > 0)) {
  console.error('usage: node scripts/fuzz-http1.ts [--runs N] [--seed S] [--time-limit SECONDS]');
  process.exit(2);
}

const stats = {
  cases: 0,
  bothAcceptedAll: 0,
  weRejected: 0,
  weRejectedLlhttpAccepted: 0,
  messagesAccepted: 0,
  errorCodes: new Map<string, number>(),
};

const oracle = await LlhttpOracle.start();
const started = performance.now();
let failure = '';
const details = await fc.check(
  fc.asyncProperty(streamArb, async (c) => {
    const input = Buffer.from(renderStream(c), 'latin1');
    const ours = parseRequests(input);
    const incremental = checkIncremental(input, ours, c.cutSeed);
    if (incremental !== undefined) {
      failure = incremental;
      return false;
    }
    const theirs = await oracle.run(input);
    const divergence = compareWithLlhttp(ours, theirs);
    if (divergence !== undefined) {
      failure = divergence;
      return false;
    }
    stats.cases++;
    stats.messagesAccepted += ours.messages.length;
    if (ours.outcome === 'error') {
      stats.weRejected++;
      const code = `${ours.error?.status} ${ours.error?.code}`;
      stats.errorCodes.set(code, (stats.errorCodes.get(code) ?? 0) + 1);
      const theyAccepted = theirs.filter((e) => e.kind !== 'rejected' && (e.kind === 'upgrade' || e.complete)).length;
      if (theyAccepted > ours.messages.length) stats.weRejectedLlhttpAccepted++;
    } else if (ours.outcome === 'clean') {
      stats.bothAcceptedAll++;
    }
    return true;
  }),
  { numRuns: runs, seed, interruptAfterTimeLimit: timeLimitMs, markInterruptAsFailure: false },
);
await oracle.close();

const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`http1 differential fuzz: seed ${seed}, ${details.numRuns} runs in ${seconds} s${details.interrupted ? ' (time limit reached)' : ''}`);
console.log(`  streams read to a clean end by both:      ${stats.bothAcceptedAll}`);
console.log(`  streams we rejected:                      ${stats.weRejected} (llhttp accepted more of ${stats.weRejectedLlhttpAccepted})`);
console.log(`  messages we accepted (all matched llhttp): ${stats.messagesAccepted}`);
const codes = [...stats.errorCodes.entries()].sort((a, b) => b[1] - a[1]);
console.log(`  our rejections by code: ${codes.map(([code, n]) => `${code}: ${n}`).join(', ')}`);

if (details.failed) {
  const counterexample = details.counterexample?.[0];
  console.log('\nDIVERGENCE');
  console.log(`  what:   ${failure}`);
  if (counterexample !== undefined) {
    console.log(`  bytes:  ${JSON.stringify(renderStream(counterexample))}`);
    console.log(`  case:   ${JSON.stringify(counterexample)}`);
  }
  if (details.errorInstance !== undefined && details.errorInstance !== null) console.log(`  error:  ${String(details.errorInstance)}`);
  console.log(`  replay: node scripts/fuzz-http1.ts --seed ${seed} --runs ${runs}  (fast-check path ${details.counterexamplePath})`);
  process.exit(1);
}
