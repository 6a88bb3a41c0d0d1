// A worker's message handling, driven in-process through a fake channel
// with a real ProxyServer on loopback: it listens only once it has a model,
// acknowledges every generation, answers stats, ignores malformed messages,
// reports a listen failure, and drains on request.

import assert from 'node:assert/strict';
import { createServer as createNetServer, connect, type AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { EMPTY_MODEL } from '../../model/model.ts';
import { createLogger, type LogSink } from '../../shared/log.ts';
import { generateDefaultCertificate } from '../../shared/pki/default-certificate.ts';
import type { InitMessage, WorkerMessage } from './protocol.ts';
import { WorkerRuntime } from './worker.ts';

const FALLBACK = generateDefaultCertificate();

interface Harness {
  readonly runtime: WorkerRuntime;
  readonly sent: WorkerMessage[];
  readonly logs: string[];
  next(type: WorkerMessage['type']): Promise<WorkerMessage>;
  exited: Promise<number>;
}

function harness(): Harness {
  const sent: WorkerMessage[] = [];
  const logs: string[] = [];
  const sink: LogSink = { write: (line: string) => logs.push(line) };
  let waiters: Array<() => void> = [];
  let exit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => {
    exit = resolve;
  });
  const runtime = new WorkerRuntime({
    logger: createLogger(sink, 'debug'),
    logSink: sink,
    exit,
    channel: {
      send(m) {
        sent.push(m);
        const w = waiters;
        waiters = [];
        for (const f of w) f();
      },
    },
  });
  let read = 0;
  const next = async (type: WorkerMessage['type']): Promise<WorkerMessage> => {
    for (;;) {
      while (read < sent.length) {
        const m = sent[read++]!;
        if (m.type === type) return m;
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { runtime, sent, logs, next, exited };
}

function initMessage(httpPort = 0): InitMessage {
  return {
    type: 'init', worker: 3, logLevel: 'debug', proxyOptions: { drainTimeoutMs: 2_000 },
    fallbackCertificate: { certPem: FALLBACK.certPem, keyPem: FALLBACK.keyPem },
    ticketKeys: Buffer.alloc(48, 7).toString('base64'),
    http: { host: '127.0.0.1', port: httpPort }, https: { host: '127.0.0.1', port: 0 },
  };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('worker runtime', () => {
  test('listens after the first model, acknowledges later ones, answers stats and drains', async () => {
    const h = harness();
    h.runtime.hello();
    assert.deepEqual(h.sent[0], { type: 'hello' });
    // A model before init is kept until init arrives.
    h.runtime.handle(JSON.parse(JSON.stringify({ type: 'model', generation: 1, model: EMPTY_MODEL })));
    assert.equal(h.runtime.phase, 'waiting');
    h.runtime.handle(initMessage());
    const listening = await h.next('listening');
    assert.ok(listening.type === 'listening');
    assert.equal(listening.generation, 1);
    assert.ok(listening.http.port > 0 && listening.https.port > 0);
    assert.equal(h.runtime.phase, 'listening');

    const res = await fetch(`http://127.0.0.1:${listening.http.port}/x`, { headers: { host: 'nothing.test' } });
    assert.equal(res.status, 404);
    await res.arrayBuffer();

    h.runtime.handle({ type: 'model', generation: 2, model: EMPTY_MODEL });
    assert.deepEqual(await h.next('applied'), { type: 'applied', generation: 2 });

    h.runtime.handle({ type: 'stats', id: 9 });
    const stats = await h.next('stats');
    assert.ok(stats.type === 'stats');
    assert.equal(stats.id, 9);
    assert.equal(stats.stats.generation, 2);
    assert.equal(stats.stats.requests, 1);
    assert.equal(stats.stats.responsesByClass['4xx'], 1);

    h.runtime.handle({ type: 'model' });
    h.runtime.handle('garbage');
    assert.ok(h.logs.some((l) => l.includes('malformed message')));
    assert.equal(h.runtime.phase, 'listening');

    h.runtime.handle({ type: 'drain' });
    assert.equal(await h.exited, 0);
    assert.ok(await refused(listening.http.port), 'the listener is closed after draining');
    // Log lines carry the worker's slot.
    assert.ok(h.logs.some((l) => JSON.parse(l).worker === 3 && JSON.parse(l).msg === 'worker listening'));
  });

  test('a port it cannot bind is reported as failed, and the worker exits 1', async () => {
    // A listener without SO_REUSEPORT cannot be joined.
    const blocker = createNetServer();
    blocker.on('error', () => {});
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const h = harness();
      h.runtime.handle(initMessage(port));
      h.runtime.handle({ type: 'model', generation: 1, model: EMPTY_MODEL });
      const failed = await h.next('failed');
      assert.ok(failed.type === 'failed');
      assert.match(failed.error, /EADDRINUSE/);
      assert.equal(await h.exited, 1);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
