// The differential property between our request parser and llhttp, as one
// function shared by the tests and the fuzz script: every message we accept,
// llhttp accepts with the same method, target, raw headers, body and
// trailers, in the same order (so pipelined messages split at the same
// boundaries); and if we read the input to a clean end, llhttp saw no more
// messages and no error. We may reject more than llhttp; never less.
//
// After a message that ends the connection for llhttp (not keep-alive, or an
// upgrade: Connection: upgrade plus an Upgrade header, in any version) llhttp
// reads nothing more, so the comparison stops there: a caller of our parser
// closes (or hands over) the connection at that point too.

import { CONN_UPGRADE, connectionFlags } from '../fields.ts';
import type { RequestHead } from '../message.ts';
import { byteCuts, parseRequests, prng, randomCuts, type RequestRun } from './collect.ts';
import type { OracleEvent } from './llhttp-oracle.ts';

function llhttpUpgrades(head: RequestHead): boolean {
  let connection = 0;
  let upgradeHeader = false;
  head.names.forEach((name, i) => {
    if (name === 'connection') connection |= Math.max(0, connectionFlags(head.headers[2 * i + 1]!));
    if (name === 'upgrade') upgradeHeader = true;
  });
  return upgradeHeader && (connection & CONN_UPGRADE) !== 0;
}

function describeEvent(e: OracleEvent | undefined): string {
  if (e === undefined) return 'nothing';
  if (e.kind === 'rejected') return `rejection (${e.reason})`;
  if (e.kind === 'upgrade') return `upgrade ${e.method} ${JSON.stringify(e.url)}`;
  return `${e.complete ? 'complete' : 'incomplete'} ${e.method} ${JSON.stringify(e.url)}`;
}

/** undefined when the property holds, else what diverged. */
export function compareWithLlhttp(ours: RequestRun, theirs: readonly OracleEvent[]): string | undefined {
  let k = 0;
  for (const m of ours.messages) {
    const t = theirs[k];
    if (t?.kind === 'upgrade') {
      // llhttp handed the connection over after the head: compare the head, then stop.
      if (t.method !== m.head.method || t.url !== m.head.target || JSON.stringify(t.rawHeaders) !== JSON.stringify(m.head.headers)) {
        return `message ${k}: head differs from llhttp's upgrade ${t.method} ${JSON.stringify(t.url)} ${JSON.stringify(t.rawHeaders)}`;
      }
      if (!llhttpUpgrades(m.head)) return `message ${k}: llhttp upgraded a request we do not read as one`;
      return undefined;
    }
    if (t === undefined || t.kind !== 'request' || !t.complete) return `we accepted message ${k} (${m.head.method} ${JSON.stringify(m.head.target)}), llhttp: ${describeEvent(t)}`;
    if (t.method !== m.head.method) return `message ${k}: method ${m.head.method} vs llhttp ${t.method}`;
    if (t.url !== m.head.target) return `message ${k}: target ${JSON.stringify(m.head.target)} vs llhttp ${JSON.stringify(t.url)}`;
    if (JSON.stringify(t.rawHeaders) !== JSON.stringify(m.head.headers)) return `message ${k}: headers ${JSON.stringify(m.head.headers)} vs llhttp ${JSON.stringify(t.rawHeaders)}`;
    if (!t.body.equals(m.body)) return `message ${k}: body ${JSON.stringify(m.body.toString('latin1'))} vs llhttp ${JSON.stringify(t.body.toString('latin1'))}`;
    if (JSON.stringify(t.rawTrailers) !== JSON.stringify(m.trailers)) return `message ${k}: trailers ${JSON.stringify(m.trailers)} vs llhttp ${JSON.stringify(t.rawTrailers)}`;
    k++;
    if (!m.head.keepAlive || llhttpUpgrades(m.head)) return undefined;
  }
  if (ours.outcome === 'clean' && theirs.length > k) return `we read ${k} message(s) to a clean end, llhttp then saw ${describeEvent(theirs[k])}`;
  return undefined;
}

/** undefined when feeding `input` byte by byte and in random pieces gives exactly `whole`. */
export function checkIncremental(input: Buffer, whole: RequestRun, seed: number): string | undefined {
  const same = (run: RequestRun): boolean => {
    if (run.outcome !== whole.outcome || run.error !== whole.error || run.messages.length !== whole.messages.length) return false;
    return run.messages.every((m, i) => {
      const w = whole.messages[i]!;
      return m.end === w.end && m.body.equals(w.body) && JSON.stringify(m.head) === JSON.stringify(w.head) && JSON.stringify(m.trailers) === JSON.stringify(w.trailers);
    });
  };
  if (!same(parseRequests(input, byteCuts(input.length)))) return 'byte-by-byte feeding differs from whole';
  const random = prng(seed);
  for (let k = 0; k < 3; k++) {
    const cuts = randomCuts(input.length, random, 2 + k * 7);
    if (!same(parseRequests(input, cuts))) return `feeding in pieces ${cuts.join(',')} differs from whole`;
  }
  return undefined;
}
