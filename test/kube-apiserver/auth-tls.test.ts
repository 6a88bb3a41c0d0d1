import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'undici';
import { parse } from 'yaml';
import { startTestApiServer, type TestApiServer } from './index.ts';
import { call, INGRESSES, openWatch } from './test-client.ts';

describe('test API server: bearer token', () => {
  let server: TestApiServer;
  before(async () => {
    server = await startTestApiServer({ token: 's3cret' });
  });
  after(() => server.close());

  it('answers 401 Status without the right token', async () => {
    for (const token of [undefined, 'wrong']) {
      const res = await call(server.url, 'GET', INGRESSES, token === undefined ? {} : { token });
      assert.equal(res.status, 401);
      assert.deepEqual(res.json, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    }
    assert.equal((await call(server.url, 'GET', INGRESSES, { token: 's3cret' })).status, 200);
  });

  it('puts the token into the kubeconfig', () => {
    const kc = parse(server.kubeconfig({ namespace: 'demo' })) as {
      users: Array<{ user: { token: string } }>; clusters: Array<{ cluster: Record<string, unknown> }>; contexts: Array<{ context: { namespace: string } }>;
    };
    assert.equal(kc.users[0]!.user.token, 's3cret');
    assert.equal(kc.clusters[0]!.cluster['server'], server.url);
    assert.equal(kc.clusters[0]!.cluster['insecure-skip-tls-verify'], true, 'plain http needs this for client-node');
    assert.equal(kc.contexts[0]!.context.namespace, 'demo');
  });
});

describe('test API server: https', () => {
  let server: TestApiServer;
  let agent: Agent;
  before(async () => {
    server = await startTestApiServer({ https: true, token: 't' });
    agent = new Agent({ connect: { ca: server.caPem! } });
  });
  after(async () => {
    await agent.close();
    await server.close();
  });

  it('serves TLS with a certificate for 127.0.0.1 signed by its test CA', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await call(server.url, 'GET', INGRESSES, { token: 't', dispatcher: agent });
    assert.equal(res.status, 200);
    const w = await openWatch(server.url, INGRESSES, { resourceVersion: '0' }, agent, 't');
    assert.equal(w.status, 200);
    w.close();
  });

  it('is refused by a client that does not trust the CA', async () => {
    const untrusting = new Agent();
    try {
      await assert.rejects(call(server.url, 'GET', '/version', { dispatcher: untrusting }));
    } finally {
      await untrusting.close();
    }
  });

  it('puts the CA into the kubeconfig', () => {
    const kc = parse(server.kubeconfig()) as { clusters: Array<{ cluster: Record<string, string> }> };
    const data = kc.clusters[0]!.cluster['certificate-authority-data']!;
    assert.equal(Buffer.from(data, 'base64').toString('utf8'), server.caPem);
    assert.equal(kc.clusters[0]!.cluster['insecure-skip-tls-verify'], undefined);
  });
});
