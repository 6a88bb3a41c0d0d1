import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeApiError, RESOURCES, resourcePath, type WatchEvent } from './api.ts';
import { createKubeClient, parseRetryAfter } from './client.ts';
import { loadConnection } from './kubeconfig.ts';
import { startHarness, type Harness } from './test-support/api-server.ts';
import { ingress, namespace, service } from './test-support/fixtures.ts';

/** Counts new TCP/TLS connections undici opens while `fn` runs. */
async function countConnections(fn: () => Promise<void>): Promise<number> {
  let n = 0;
  const onConnect = (): void => {
    n += 1;
  };
  subscribe('undici:client:connected', onConnect);
  try {
    await fn();
  } finally {
    unsubscribe('undici:client:connected', onConnect);
  }
  return n;
}

async function rejection(p: Promise<unknown>): Promise<KubeApiError> {
  try {
    await p;
  } catch (error) {
    assert.ok(error instanceof KubeApiError, `expected KubeApiError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('KubeClient over plain http', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  it('sends JSON and parses JSON answers', async () => {
    await h.client.request({ method: 'POST', path: resourcePath({ group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false }), body: namespace('apps') });
    const created = await h.client.request<{ metadata: { name: string; resourceVersion: string } }>({
      method: 'POST',
      path: resourcePath(RESOURCES.ingresses, 'apps'),
      body: ingress('apps', 'web'),
    });
    assert.equal(created.metadata.name, 'web');
    assert.match(created.metadata.resourceVersion, /^\d+$/);
    const post = h.server.journal.find((e) => e.method === 'POST' && e.path === '/apis/networking.k8s.io/v1/namespaces/apps/ingresses');
    assert.equal(post?.contentType, 'application/json');
    const got = await h.client.request<{ spec: { rules: Array<{ host: string }> } }>({ method: 'GET', path: resourcePath(RESOURCES.ingresses, 'apps', 'web') });
    assert.equal(got.spec.rules[0]?.host, 'web.example.com');
    const patched = await h.client.request<{ metadata: { labels?: Record<string, string> } }>({
      method: 'PATCH',
      path: resourcePath(RESOURCES.ingresses, 'apps', 'web'),
      body: { metadata: { labels: { team: 'a' } } },
      contentType: 'application/merge-patch+json',
    });
    assert.deepEqual(patched.metadata.labels, { team: 'a' });
    const list = await h.client.request<{ items: unknown[] }>({ method: 'GET', path: resourcePath(RESOURCES.ingresses), query: { labelSelector: 'team=a' } });
    assert.equal(list.items.length, 1);
  });

  it('turns Status answers into KubeApiError: 404, 409 conflict, 410 expired', async () => {
    const notFound = await rejection(h.client.request({ method: 'GET', path: resourcePath(RESOURCES.ingresses, 'apps', 'missing') }));
    assert.equal(notFound.status, 404);
    assert.equal(notFound.reason, 'NotFound');
    assert.ok(notFound.isNotFound);
    assert.match(notFound.message, /ingresses.networking.k8s.io "missing" not found/);

    const exists = await rejection(h.client.request({ method: 'POST', path: resourcePath(RESOURCES.ingresses, 'apps'), body: ingress('apps', 'web') }));
    assert.equal(exists.status, 409);
    assert.equal(exists.reason, 'AlreadyExists');
    assert.equal(exists.isConflict, false);

    const current = h.server.get('networking.k8s.io/v1', 'Ingress', 'apps', 'web');
    assert.ok(current !== undefined);
    const stale = { ...ingress('apps', 'web', 'other.example.com'), metadata: { namespace: 'apps', name: 'web', resourceVersion: '1' } };
    const conflict = await rejection(h.client.request({ method: 'PUT', path: resourcePath(RESOURCES.ingresses, 'apps', 'web'), body: stale }));
    assert.equal(conflict.status, 409);
    assert.equal(conflict.reason, 'Conflict');
    assert.ok(conflict.isConflict);
    assert.match(conflict.message, /the object has been modified/);

    // A continue token from before a compaction has expired.
    const page = await h.client.request<{ metadata: { continue?: string } }>({ method: 'GET', path: '/api/v1/namespaces', query: { limit: '1' } });
    assert.ok(page.metadata.continue !== undefined);
    await h.client.request({ method: 'POST', path: '/api/v1/namespaces', body: namespace('later') });
    h.server.faults.compact();
    const expired = await rejection(h.client.request({ method: 'GET', path: '/api/v1/namespaces', query: { limit: '1', continue: page.metadata.continue } }));
    assert.equal(expired.status, 410);
    assert.equal(expired.reason, 'Expired');
    assert.ok(expired.isExpired);
  });

  it('reads Retry-After from a 429', async () => {
    h.server.faults.failNext(1, 429, { retryAfterSeconds: 7 });
    const limited = await rejection(h.client.request({ method: 'GET', path: '/api/v1/namespaces' }));
    assert.equal(limited.status, 429);
    assert.equal(limited.reason, 'TooManyRequests');
    assert.equal(limited.retryAfterSeconds, 7);
    h.server.faults.failNext(1, 500);
    const internal = await rejection(h.client.request({ method: 'GET', path: '/api/v1/namespaces' }));
    assert.equal(internal.status, 500);
    assert.equal(internal.retryAfterSeconds, undefined);
  });

  it('reuses keep-alive connections instead of opening one per request', async () => {
    const fresh = createKubeClient(h.conn);
    try {
      const opened = await countConnections(async () => {
        for (let i = 0; i < 30; i++) await fresh.request({ method: 'GET', path: resourcePath(RESOURCES.services, 'default') });
      });
      // undici can dispatch the next request in the same tick the previous
      // one completes, before the first connection is marked idle, and then
      // opens one more; after that both are reused. Never one per request.
      assert.ok(opened >= 1 && opened <= 2, `opened ${opened} connections for 30 requests`);
    } finally {
      await fresh.close();
    }
  });

  it('streams watch events, including lines split across chunks, until aborted', async () => {
    const ctrl = new AbortController();
    const seen: WatchEvent[] = [];
    const rv = h.server.resourceVersion;
    let opened = false;
    const done = (async () => {
      for await (const event of h.client.watch(resourcePath(RESOURCES.services, 'default'), { resourceVersion: rv }, ctrl.signal, { onOpen: () => (opened = true) })) {
        seen.push(event);
        if (seen.length === 2) ctrl.abort();
      }
    })();
    // A big object makes the line span several socket chunks.
    const big = { ...service('default', 'big'), metadata: { namespace: 'default', name: 'big', annotations: { filler: 'x'.repeat(200_000) } } };
    await waitUntil(() => opened);
    h.server.create(service('default', 'small'));
    h.server.create(big);
    await done;
    assert.deepEqual(seen.map((e) => [e.type, (e.object.metadata as { name: string }).name]), [['ADDED', 'small'], ['ADDED', 'big']]);
    const watch = h.server.journal.findLast((e) => e.path === '/api/v1/namespaces/default/services' && e.query.watch !== undefined);
    assert.equal(watch?.query.watch, 'true');
  });

  it('ends a watch cleanly when the server closes it', async () => {
    const ctrl = new AbortController();
    let opened = false;
    const done = (async () => {
      const events: WatchEvent[] = [];
      for await (const e of h.client.watch('/api/v1/services', { resourceVersion: h.server.resourceVersion }, ctrl.signal, { onOpen: () => (opened = true) })) events.push(e);
      return events;
    })();
    await waitUntil(() => opened);
    h.server.faults.closeWatches();
    assert.deepEqual(await done, []);
  });

  it('throws from a watch whose connection breaks', async () => {
    const ctrl = new AbortController();
    let opened = false;
    const done = (async () => {
      for await (const _ of h.client.watch('/api/v1/services', { resourceVersion: h.server.resourceVersion }, ctrl.signal, { onOpen: () => (opened = true) })) {
        // nothing expected
      }
    })();
    await waitUntil(() => opened);
    h.server.faults.destroyConnections();
    await assert.rejects(done);
  });
});

describe('KubeClient over https with a bearer token', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ https: true, token: 's3cret' });
  });
  after(async () => {
    await h.close();
  });

  it('verifies the server with the kubeconfig CA and sends the token', async () => {
    assert.ok(h.conn.server.startsWith('https://'));
    assert.ok(h.conn.tls.ca !== undefined);
    assert.equal(h.conn.tls.skipTLSVerify, false);
    const opened = await countConnections(async () => {
      for (let i = 0; i < 20; i++) await h.client.request({ method: 'GET', path: '/api/v1/namespaces' });
    });
    assert.ok(opened <= 2, `opened ${opened} TLS connections for 20 requests`);
    assert.ok(h.server.journal.slice(-20).every((e) => e.status === 200));
  });

  it('is refused (401) with a wrong token, and refuses a server whose CA it does not know', async () => {
    const path = join(h.dir, 'wrong.yaml');
    await writeFile(path, h.server.kubeconfig().replace('s3cret', 'wrong'));
    const wrong = createKubeClient(await loadConnection({ kubeconfigPath: path }));
    try {
      const denied = await rejection(wrong.request({ method: 'GET', path: '/api/v1/namespaces' }));
      assert.equal(denied.status, 401);
      assert.equal(denied.reason, 'Unauthorized');
    } finally {
      await wrong.close();
    }
    const noCa = join(h.dir, 'no-ca.yaml');
    await writeFile(noCa, h.server.kubeconfig().replace(/certificate-authority-data: .*/, 'certificate-authority-data: ""'));
    const untrusting = createKubeClient(await loadConnection({ kubeconfigPath: noCa }));
    try {
      await assert.rejects(untrusting.request({ method: 'GET', path: '/api/v1/namespaces' }), (e: unknown) => !(e instanceof KubeApiError));
    } finally {
      await untrusting.close();
    }
  });

  it('after a 401 reloads the credentials once and retries', async () => {
    // The token lives in a file that is rotated after the client cached the old one.
    const tokenFile = join(h.dir, 'token');
    await writeFile(tokenFile, 'expired-token');
    const path = join(h.dir, 'rotating.yaml');
    await writeFile(path, h.server.kubeconfig().replace(/token: s3cret/, `token-file: ${tokenFile}`));
    const conn = await loadConnection({ kubeconfigPath: path });
    const client = createKubeClient(conn);
    try {
      await writeFile(tokenFile, 's3cret');
      const mark = h.server.journal.length;
      const list = await client.request<{ items: unknown[] }>({ method: 'GET', path: '/api/v1/namespaces', query: { limit: '2' } });
      assert.equal(list.items.length, 2);
      assert.deepEqual(h.server.journal.slice(mark).map((e) => e.status), [401, 200]);
      // Still wrong after the refresh: one retry only, then the 401 surfaces.
      await writeFile(tokenFile, 'wrong-again');
      const again = await loadConnection({ kubeconfigPath: path });
      const failing = createKubeClient(again);
      try {
        const start = h.server.journal.length;
        const denied = await rejection(failing.request({ method: 'GET', path: '/api/v1/namespaces' }));
        assert.equal(denied.status, 401);
        assert.deepEqual(h.server.journal.slice(start).map((e) => e.status), [401, 401]);
      } finally {
        await failing.close();
      }
    } finally {
      await client.close();
    }
  });
});

describe('parseRetryAfter', () => {
  it('accepts delta-seconds and HTTP dates', () => {
    assert.equal(parseRetryAfter('3'), 3);
    assert.equal(parseRetryAfter(['5']), 5);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
