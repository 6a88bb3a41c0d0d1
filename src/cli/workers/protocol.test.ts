// The IPC envelope checks: what each side accepts from the other, and that
// anything else is refused (undefined) rather than trusted.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EMPTY_MODEL } from '../../model/model.ts';
import { parsePrimaryMessage, parseWorkerMessage } from './protocol.ts';

const STATS = { requests: 3, responsesByClass: { '1xx': 0, '2xx': 2, '3xx': 0, '4xx': 1, '5xx': 0 }, activeConnections: 1, upstreamErrors: 0, generation: 4 };
const ADDRESS = { host: '127.0.0.1', port: 8080 };

describe('worker protocol', () => {
  test('worker messages: every kind round-trips through JSON', () => {
    const messages = [
      { type: 'hello' },
      { type: 'listening', generation: 2, http: ADDRESS, https: { host: '127.0.0.1', port: 8443 } },
      { type: 'applied', generation: 3 },
      { type: 'apply-failed', generation: 3, error: 'boom' },
      { type: 'stats', id: 7, stats: STATS },
      { type: 'failed', error: 'listen EADDRINUSE' },
    ];
    for (const m of messages) assert.deepEqual(parseWorkerMessage(JSON.parse(JSON.stringify(m))), m);
  });

  test('worker messages: malformed ones are refused', () => {
    const bad: unknown[] = [
      null, 'hello', [], { type: 'nope' },
      { type: 'applied' }, { type: 'applied', generation: -1 }, { type: 'applied', generation: 1.5 }, { type: 'applied', generation: '2' },
      { type: 'listening', generation: 1, http: ADDRESS },
      { type: 'listening', generation: 1, http: ADDRESS, https: { host: '127.0.0.1', port: 70000 } },
      { type: 'stats', id: 1, stats: { ...STATS, requests: 'many' } },
      { type: 'stats', id: 1, stats: { ...STATS, responsesByClass: { '2xx': -1 } } },
      { type: 'failed' },
    ];
    for (const b of bad) assert.equal(parseWorkerMessage(b), undefined, JSON.stringify(b));
  });

  test('primary messages: init, model, stats and drain are accepted; a bad envelope is not', () => {
    const init = {
      type: 'init', worker: 2, logLevel: 'info', proxyOptions: { h2c: true },
      fallbackCertificate: { certPem: 'C', keyPem: 'K' }, ticketKeys: 'AAAA', http: ADDRESS, https: ADDRESS,
    };
    assert.deepEqual(parsePrimaryMessage(init), init);
    assert.equal(parsePrimaryMessage({ ...init, logLevel: 'loud' }), undefined);
    assert.equal(parsePrimaryMessage({ ...init, fallbackCertificate: { certPem: 'C' } }), undefined);
    assert.equal(parsePrimaryMessage({ ...init, ticketKeys: 12 }), undefined);
    const model = { type: 'model', generation: 5, model: EMPTY_MODEL };
    assert.deepEqual(parsePrimaryMessage(JSON.parse(JSON.stringify(model))), JSON.parse(JSON.stringify(model)));
    assert.equal(parsePrimaryMessage({ type: 'model', generation: 5 }), undefined);
    assert.deepEqual(parsePrimaryMessage({ type: 'stats', id: 1 }), { type: 'stats', id: 1 });
    assert.deepEqual(parsePrimaryMessage({ type: 'drain', extra: true }), { type: 'drain' });
    assert.equal(parsePrimaryMessage({ type: 'exit' }), undefined);
  });
});
