// Response-side attacks (security.md R6, R7): an upstream that frames its
// response ambiguously, sends malformed heads, floods 1xx, or sends more than
// it framed. The client gets 502 when the anomaly is in the head, a cut
// connection when it comes after the head was relayed, and never a second,
// smuggled response: a raw client pipelines two requests and checks that
// the second answer is the genuine one (or that the connection was closed).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HTTP1_ENGINES, type RunningProxy, startProxy } from '../../src/dataplane/proxy/test-support/harness.ts';
import { type RawBackend, rawSend, req, startRawBackend } from './support.ts';

const SMUGGLED_RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Smuggled: yes\r\n\r\nsmuggled';
const FINE = 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfine';

/** Upstream answers by request path. */
const SCRIPTS: Record<string, string> = {
  '/ok': FINE,
  '/cl-te': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' + SMUGGLED_RESPONSE,
  '/te-cl': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 50\r\n\r\n0\r\n\r\n' + SMUGGLED_RESPONSE,
  '/two-cl': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 60\r\n\r\nok' + SMUGGLED_RESPONSE,
  '/cl-list': 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok',
  '/bad-te': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\nok',
  '/bare-lf': 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok',
  '/bare-lf-mixed': 'HTTP/1.1 200 OK\r\nX-A: b\nContent-Length: 2\r\n\r\nok',
  '/obs-fold': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: a\r\n Transfer-Encoding: chunked\r\n\r\nok',
  '/space-before-colon': 'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok',
  '/cr-in-value': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: a=b\rX-Injected: yes\r\n\r\nok',
  '/nul-in-value': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: a\x00b\r\n\r\nok',
  '/bad-name': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX A: b\r\n\r\nok',
  '/bad-status': 'HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok',
  '/http09': 'ok',
  '/te-204': 'HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  '/neg-cl': 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok',
  '/1xx-flood': `${'HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n'.repeat(2000)}${FINE}`,
  '/longer-than-cl': 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' + SMUGGLED_RESPONSE,
  '/answered-twice': FINE + SMUGGLED_RESPONSE,
  '/bad-chunk-after-head': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n' + SMUGGLED_RESPONSE,
};

/** Scripts whose answer closes the upstream connection right after. */
const CLOSE_AFTER = new Set(['/http09', '/shorter-than-cl']);
SCRIPTS['/shorter-than-cl'] = 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-part';

interface Case {
  readonly path: string;
  readonly what: string;
  /**
   * 502: refused before the head; 'cut': the connection is closed with no
   * complete response (the head may have been relayed, the body never looks
   * complete); 'stall': head relayed, the body never ends (the connection
   * hangs until a deadline); a status: relayed with it.
   */
  readonly expect: Outcome;
  readonly node?: Outcome;
}

type Outcome = 502 | 'cut' | 'stall' | 200 | 204;

const CASES: readonly Case[] = [
  { path: '/cl-te', what: 'Content-Length and Transfer-Encoding together', expect: 502 },
  { path: '/te-cl', what: 'Transfer-Encoding then Content-Length', expect: 502 },
  { path: '/two-cl', what: 'two different Content-Lengths', expect: 502 },
  { path: '/cl-list', what: 'Content-Length "2, 2"', expect: 502 },
  { path: '/bad-te', what: 'Transfer-Encoding "chunked, identity"', expect: 502, node: 'stall' },
  { path: '/bare-lf', what: 'bare-LF head', expect: 502 },
  { path: '/bare-lf-mixed', what: 'one bare LF inside the head', expect: 502 },
  { path: '/obs-fold', what: 'obs-fold hiding Transfer-Encoding', expect: 502 },
  { path: '/space-before-colon', what: 'whitespace before the colon', expect: 502 },
  { path: '/cr-in-value', what: 'bare CR in a header value (header injection)', expect: 502 },
  { path: '/nul-in-value', what: 'NUL in a header value', expect: 502 },
  { path: '/bad-name', what: 'space inside a header name', expect: 502 },
  { path: '/bad-status', what: 'four-digit status', expect: 502 },
  { path: '/http09', what: 'HTTP/0.9-style answer without a status line', expect: 502 },
  { path: '/te-204', what: 'Transfer-Encoding on a 204', expect: 502, node: 204 },
  { path: '/neg-cl', what: 'Content-Length -1', expect: 502 },
  { path: '/1xx-flood', what: '2000 interim 103 responses, then 200', expect: 200, node: 'cut' },
  { path: '/longer-than-cl', what: 'a body longer than its Content-Length (a response smuggled behind it)', expect: 200 },
  { path: '/answered-twice', what: 'two responses to one request', expect: 200 },
  { path: '/bad-chunk-after-head', what: 'a malformed chunk after the head was relayed', expect: 'cut' },
  { path: '/shorter-than-cl', what: 'a close before Content-Length bytes', expect: 'cut' },
];

for (const engine of HTTP1_ENGINES) {
  describe(`[${engine}] attacks: response side`, () => {
    let up: RawBackend;
    let p: RunningProxy;

    before(async () => {
      up = await startRawBackend((head) => {
        const path = head.split(' ')[1] ?? '';
        return { bytes: SCRIPTS[path] ?? FINE, close: CLOSE_AFTER.has(path) };
      });
      p = await startProxy({ hosts: [{ host: 'a.test', routes: [{ path: '/', cluster: 'up' }] }], clusters: { up: [up.port] } }, { engine });
    });
    after(async () => {
      await p.close();
      await up.close();
    });

    for (const c of CASES) {
      const expect = engine === 'node' && c.node !== undefined ? c.node : c.expect;
      const weaker = engine === 'node' && c.node !== undefined ? ' (node engine: WEAKER)' : '';
      test(`${c.what} → ${expect}${weaker}; a pipelined second request never gets a smuggled response`, async () => {
        up.clear();
        const pipelined = req(`GET ${c.path} HTTP/1.1`, 'Host: a.test') + req('GET /ok HTTP/1.1', 'Host: a.test', 'Connection: close');
        const r = await rawSend(p.port, pipelined, expect === 'stall' ? { settleMs: 800, timeoutMs: 1000 } : { settleMs: 2000 });
        assert.ok(!r.raw.includes('smuggled') && !r.raw.includes('X-Smuggled') && !r.raw.toLowerCase().includes('x-injected'), `smuggled bytes reached the client: ${JSON.stringify(r.raw.slice(0, 400))}`);
        assert.ok(!r.responses.some((x) => x.status >= 100 && x.status < 200), 'no interim response relayed');
        const first = r.responses[0];
        if (expect === 'cut' || expect === 'stall') {
          // Either nothing at all, or one head whose body never completes.
          assert.ok(r.responses.length <= 1, 'nothing after a cut');
          if (first !== undefined) {
            assert.equal(first.status, 200);
            assert.equal(first.truncated, true, 'the cut body must not look complete');
          }
          assert.equal(r.closed, expect === 'cut');
          return;
        }
        assert.ok(first !== undefined, `no response at all: ${JSON.stringify(r.raw.slice(0, 200))}`);
        assert.equal(first.status, expect, JSON.stringify(r.raw.slice(0, 300)));
        if (expect === 200) assert.ok(first.body === 'fine' || first.body === 'ok', `body ${JSON.stringify(first.body)}`);
        if (expect === 204) assert.equal(first.body, '');
        // The second answer, if the connection carried one, is the genuine /ok.
        if (r.responses.length > 1) {
          assert.equal(r.responses.length, 2);
          assert.equal(r.responses[1]!.status, 200);
          assert.equal(r.responses[1]!.body, 'fine');
        } else {
          assert.equal(r.closed, true, 'one answer only: the connection must be closed');
        }
        assert.equal(r.closed, true);
      });
    }

    test('after every anomaly the upstream connection is not reused for the next request', async () => {
      up.clear();
      const r1 = await rawSend(p.port, req('GET /longer-than-cl HTTP/1.1', 'Host: a.test', 'Connection: close'), { settleMs: 2000 });
      assert.deepEqual(r1.statuses, [200]);
      const r2 = await rawSend(p.port, req('GET /ok HTTP/1.1', 'Host: a.test', 'Connection: close'), { settleMs: 2000 });
      assert.deepEqual(r2.statuses, [200]);
      assert.equal(r2.responses[0]!.body, 'fine', 'the next request got its own answer, not the leftover');
      assert.equal(up.connections, 2, 'the poisoned upstream connection was discarded');
    });
  });
}
