// Path tricks (security.md R8, docs/edge.md): with `/public` → backend A and
// `/admin` → backend B, no request for one route ever reaches the other's
// backend, and what the backend receives is exactly the canonical path the
// route was matched on. Encoded dots are decoded once, never twice;
// overlong UTF-8 stays encoded; ambiguous forms are refused with 400.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HTTP1_ENGINES, type RunningProxy, startProxy } from '../../src/dataplane/proxy/test-support/harness.ts';
import { type CountingBackend, rawSend, req, startCountingBackend } from './support.ts';

interface Case {
  readonly target: string;
  /** 'A' / 'B': forwarded there with `url`; a number: answered by the proxy. */
  readonly to: 'A' | 'B' | 400 | 404;
  readonly url?: string;
}

const CASES: readonly Case[] = [
  { target: '/public/x', to: 'A', url: '/public/x' },
  { target: '/admin/x', to: 'B', url: '/admin/x' },
  // dot segments: resolved before matching, and the backend gets the result
  { target: '/public/../admin', to: 'B', url: '/admin' },
  { target: '/public/../admin/secret', to: 'B', url: '/admin/secret' },
  { target: '/public/./../admin', to: 'B', url: '/admin' },
  { target: '/admin/../public/x', to: 'A', url: '/public/x' },
  { target: '/public/%2e%2e/admin', to: 'B', url: '/admin' },
  { target: '/public/%2E%2E/admin', to: 'B', url: '/admin' },
  { target: '/public/.%2e/admin', to: 'B', url: '/admin' },
  { target: '/%2e%2e/admin', to: 400 },
  { target: '/..', to: 400 },
  { target: '/public/../../admin', to: 400 },
  // encoded slash and backslash
  { target: '/public%2F..%2Fadmin', to: 400 },
  { target: '/public/..%2Fadmin', to: 400 },
  { target: '/public/..%2fadmin', to: 400 },
  { target: '/admin%2Fx', to: 400 },
  { target: '/public\\..\\admin', to: 400 },
  { target: '/public/..\\admin', to: 400 },
  { target: '/public%5C..%5Cadmin', to: 400 },
  // path parameters (servlet backends drop ";..." before resolving)
  { target: '/public/..;/admin', to: 400 },
  { target: '/public/.;/x', to: 400 },
  { target: '/admin;jsessionid=1/secret', to: 'B', url: '/admin;jsessionid=1/secret' },
  { target: '/admin;x', to: 'B', url: '/admin;x' },
  { target: '/public;x/../admin', to: 'B', url: '/admin' },
  // double encoding: decoded once, never twice
  { target: '/public/%252e%252e/admin', to: 'A', url: '/public/%252e%252e/admin' },
  { target: '/public/%252E%252E%252Fadmin', to: 'A', url: '/public/%252E%252E%252Fadmin' },
  { target: '/public/%2561dmin', to: 'A', url: '/public/%2561dmin' },
  // overlong UTF-8 for "." and "/" stays encoded (uppercase hex), never becomes a dot segment
  { target: '/public/%c0%ae%c0%ae/admin', to: 'A', url: '/public/%C0%AE%C0%AE/admin' },
  { target: '/public/%c0%af..%c0%afadmin', to: 'A', url: '/public/%C0%AF..%C0%AFadmin' },
  { target: '/public/%e0%80%ae%e0%80%ae/admin', to: 'A', url: '/public/%E0%80%AE%E0%80%AE/admin' },
  // unreserved characters are decoded, so encoded names cannot dodge a route
  { target: '/%61dmin', to: 'B', url: '/admin' },
  { target: '/%61%64%6d%69%6e/x', to: 'B', url: '/admin/x' },
  { target: '/public%2Fx', to: 400 },
  // slashes merged
  { target: '//admin', to: 'B', url: '/admin' },
  { target: '/public//..//admin', to: 'B', url: '/admin' },
  // NUL and controls
  { target: '/public/%00', to: 400 },
  { target: '/public/%0d%0aX-Injected:%20yes', to: 400 },
  { target: '/public/%G1', to: 400 },
  // the query is opaque: never decoded, never resolved
  { target: '/public?x=/../admin', to: 'A', url: '/public?x=/../admin' },
  { target: '/public?x=%2e%2e%2Fadmin', to: 'A', url: '/public?x=%2e%2e%2Fadmin' },
  // element-wise prefixes, case-sensitive
  { target: '/publicity', to: 404 },
  { target: '/Admin', to: 404 },
  { target: '/adminx', to: 404 },
];

function startsWithElement(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix};`);
}

for (const engine of HTTP1_ENGINES) {
  describe(`[${engine}] attacks: path tricks`, () => {
    let a: CountingBackend;
    let b: CountingBackend;
    let p: RunningProxy;

    before(async () => {
      [a, b] = await Promise.all([startCountingBackend('A'), startCountingBackend('B')]);
      p = await startProxy(
        {
          hosts: [
            {
              host: 'a.test',
              routes: [
                { path: '/public', cluster: 'A' },
                { path: '/admin', cluster: 'B' },
              ],
            },
          ],
          clusters: { A: [a.port], B: [b.port] },
        },
        { engine },
      );
    });
    after(async () => {
      await p.close();
      await Promise.all([a.close(), b.close()]);
      // The invariant over everything sent above: no /admin request on A, no /public request on B.
      for (const s of a.seen) assert.ok(!startsWithElement(s.url.split('?')[0]!, '/admin'), `A saw ${s.url}`);
      for (const s of b.seen) assert.ok(!startsWithElement(s.url.split('?')[0]!, '/public'), `B saw ${s.url}`);
    });

    for (const c of CASES) {
      const to = c.to;
      test(`${JSON.stringify(c.target)} → ${typeof to === 'number' ? to : `${to} ${c.url}`}`, async () => {
        const beforeA = a.seen.length;
        const beforeB = b.seen.length;
        // Refusals must close by themselves; the others ask for a close so the test need not wait.
        const head = to === 400 ? req(`GET ${c.target} HTTP/1.1`, 'Host: a.test') : req(`GET ${c.target} HTTP/1.1`, 'Host: a.test', 'Connection: close');
        const r = await rawSend(p.port, head, { settleMs: 2000 });
        const newA = a.seen.slice(beforeA).map((s) => s.url);
        const newB = b.seen.slice(beforeB).map((s) => s.url);
        if (typeof to === 'number') {
          assert.deepEqual(r.statuses, [to], r.raw.slice(0, 200));
          assert.equal(r.closed, true, 'closed');
          assert.deepEqual([newA, newB], [[], []], 'no backend saw it');
        } else {
          assert.deepEqual(r.statuses, [200], r.raw.slice(0, 200));
          assert.deepEqual(to === 'A' ? [newA, newB] : [newB, newA], [[c.url], []], 'exactly the right backend, with the canonical path');
          assert.ok(r.responses[0]!.body.startsWith(`backend ${to} `));
        }
      });
    }
  });
}
