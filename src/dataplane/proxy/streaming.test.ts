// Bodies stream in both directions with backpressure and are never
// buffered whole: an 8 MiB upload (with and without Content-Length) arrives
// intact; a 32 MiB chunked download to a client that stops reading makes the
// backend's own writes block (the proxy paused the upstream instead of
// buffering), then completes intact; and the upstream connection that was
// paused goes back to the pool usable (the stall trap of perf-calibration §6).

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Client, request } from 'undici';
import { type EchoReply, echo, sha256, startBackend, type TestBackend } from './test-support/backends.ts';
import { HTTP1_ENGINES } from './options.ts';
import { type RunningProxy, startProxy } from './test-support/harness.ts';

const MiB = 1024 * 1024;
const block = randomBytes(MiB);

interface DownloadState {
  written: number;
  blocked: boolean;
  onBlocked: (() => void) | undefined;
}

for (const engine of HTTP1_ENGINES) describe(`[${engine}] proxy streaming`, () => {
  let backend: TestBackend;
  let p: RunningProxy;
  const download: DownloadState = { written: 0, blocked: false, onBlocked: undefined };

  before(async () => {
    backend = await startBackend('stream', (req, res, b) => {
      const url = req.url ?? '';
      if (url.startsWith('/download/')) {
        const total = Number(url.slice('/download/'.length)) * MiB;
        download.written = 0;
        download.blocked = false;
        // No Content-Length: node sends it chunked, the proxy must stream it on.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const pump = (): void => {
          while (download.written < total) {
            download.written += block.length;
            if (!res.write(block)) {
              download.blocked = true;
              download.onBlocked?.();
              return;
            }
          }
          res.end();
        };
        res.on('drain', pump);
        req.resume();
        pump();
        return;
      }
      echo(req, res, b);
    });
    p = await startProxy({ hosts: [{ host: '*', routes: [{ path: '/', cluster: 's' }] }], clusters: { s: [backend.port] } }, { engine, upstreamMaxConnections: 1 });
  });

  after(async () => {
    await p.close();
    await backend.close();
  });

  test('8 MiB request body with Content-Length streams upstream intact', async () => {
    const body = Buffer.concat(Array.from({ length: 8 }, () => block));
    const res = await request(`${p.origin}/upload`, { method: 'PUT', headers: { host: 's.test', 'content-length': String(body.length) }, body });
    const reply = (await res.body.json()) as EchoReply;
    assert.equal(reply.bodyLength, body.length);
    assert.equal(reply.bodySha256, sha256(body));
    assert.equal(reply.headers['content-length'], String(body.length));
  });

  test('8 MiB chunked request body streams upstream intact', async () => {
    const hash = createHash('sha256');
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 8 * 16; i++) {
        const piece = block.subarray((i % 16) * 65536, (i % 16 + 1) * 65536);
        hash.update(piece);
        yield piece;
      }
    }
    const res = await request(`${p.origin}/upload`, { method: 'POST', headers: { host: 's.test' }, body: Readable.from(chunks()) });
    const reply = (await res.body.json()) as EchoReply;
    assert.equal(res.statusCode, 200);
    assert.equal(reply.bodyLength, 8 * MiB);
    assert.equal(reply.bodySha256, hash.digest('hex'));
    assert.equal(reply.headers['transfer-encoding'], 'chunked');
  });

  test('32 MiB chunked response to a client that stops reading: upstream is paused, transfer completes intact', async () => {
    const total = 32;
    const expected = createHash('sha256');
    for (let i = 0; i < total; i++) expected.update(block);
    const blocked = new Promise<void>((resolve) => (download.onBlocked = resolve));

    const res = await request(`${p.origin}/download/${total}`, { headers: { host: 's.test' }, highWaterMark: 64 * 1024 });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], undefined);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    // Do not read: the body stream stays paused, so backpressure must reach
    // the backend through the proxy.
    await blocked;
    // Give every layer many event-loop turns to buffer more if it would.
    for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
    const inFlight = download.written;
    assert.ok(inFlight < 20 * MiB, `backend wrote ${inFlight / MiB} MiB while the client read nothing: the proxy is buffering`);
    assert.equal(download.blocked, true);

    const got = createHash('sha256');
    let length = 0;
    for await (const chunk of res.body) {
      got.update(chunk as Buffer);
      length += (chunk as Buffer).length;
    }
    assert.equal(length, total * MiB);
    assert.equal(got.digest('hex'), expected.digest('hex'));
  });

  test('after a paused response, the single pooled upstream connection still serves (no stall)', async () => {
    // upstreamMaxConnections is 1: any stalled connection in the pool would
    // hang every following request.
    const client = new Client(p.origin, { headersTimeout: 10_000, bodyTimeout: 10_000 });
    try {
      for (let i = 0; i < 5; i++) {
        const res = await client.request({ path: `/after/${i}`, method: 'GET', headers: { host: 's.test' } });
        assert.equal(((await res.body.json()) as EchoReply).url, `/after/${i}`);
      }
      // A burst of paused-then-resumed downloads followed by small requests.
      const results = await Promise.all(
        Array.from({ length: 4 }, async () => {
          const res = await request(`${p.origin}/download/2`, { headers: { host: 's.test' }, headersTimeout: 20_000, bodyTimeout: 20_000 });
          return (await res.body.arrayBuffer()).byteLength;
        }),
      );
      assert.deepEqual(results, [2 * MiB, 2 * MiB, 2 * MiB, 2 * MiB]);
      const last = await client.request({ path: '/last', method: 'GET', headers: { host: 's.test' } });
      assert.equal(((await last.body.json()) as EchoReply).url, '/last');
    } finally {
      await client.close();
    }
  });
});
