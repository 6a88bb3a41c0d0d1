// HTTPS to the Pod (backend-protocol HTTPS / appProtocol https): encrypted
// always, verified only when the cluster asks for it (proxy-ssl-verify),
// against the given CA and server name (proxy-ssl-secret, proxy-ssl-name).
// Real node:https backends with certificates from a throwaway CA.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { request } from 'undici';
import type { RoutingModel, UpstreamTls } from '../../model/model.ts';
import { silentLogger } from '../../shared/log.ts';
import { createTestCa, type TestCa } from '../../../test/support/pki.ts';
import { compile } from '../compile/route-table.ts';
import { ProxyServer } from './proxy-server.ts';
import { buildModel, HTTP1_ENGINES } from './test-support/harness.ts';

interface HttpsBackend {
  readonly port: number;
  /** SNI names the backend saw, in order. */
  readonly servernames: Array<string | false>;
  /** TLS connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

async function startHttpsBackend(pem: { certPem: string; keyPem: string }): Promise<HttpsBackend> {
  const servernames: Array<string | false> = [];
  const server: Server = createServer({ cert: pem.certPem, key: pem.keyPem }, (req, res) => {
    servernames.push((req.socket as TLSSocket).servername ?? false);
    res.end(`secure ${req.url}`);
  });
  let connections = 0;
  server.on('secureConnection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    servernames,
    connections: () => connections,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

for (const engine of HTTP1_ENGINES) describe(`[${engine}] HTTPS upstreams`, () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let backend: HttpsBackend;
  let proxy: ProxyServer;
  let origin: string;

  before(async () => {
    ca = createTestCa();
    otherCa = createTestCa({ commonName: 'Someone Else CA' });
    backend = await startHttpsBackend(ca.issue(['web.shop.svc']));
    const base = buildModel({
      hosts: [
        { host: 'noverify.test', routes: [{ path: '/', cluster: 'noverify' }] },
        { host: 'also-noverify.test', routes: [{ path: '/', cluster: 'noverify' }] },
        { host: 'verified.test', routes: [{ path: '/', cluster: 'verified' }] },
        { host: 'wrongca.test', routes: [{ path: '/', cluster: 'wrongca' }] },
        { host: 'wrongname.test', routes: [{ path: '/', cluster: 'wrongname' }] },
      ],
      clusters: { noverify: [backend.port], verified: [backend.port], wrongca: [backend.port], wrongname: [backend.port] },
    });
    const tlsFor: Record<string, UpstreamTls> = {
      noverify: { verify: false, caPem: null, serverName: null },
      verified: { verify: true, caPem: ca.certPem, serverName: 'web.shop.svc' },
      wrongca: { verify: true, caPem: otherCa.certPem, serverName: 'web.shop.svc' },
      wrongname: { verify: true, caPem: ca.certPem, serverName: 'other.shop.svc' },
    };
    const model: RoutingModel = { ...base, clusters: base.clusters.map((c) => ({ ...c, protocol: 'https' as const, upstreamTls: tlsFor[c.id]! })) };
    proxy = new ProxyServer({ logger: silentLogger, table: compile(model, 1, { seed: 0 }), options: { engine } });
    origin = `http://127.0.0.1:${(await proxy.listen('127.0.0.1', 0)).port}`;
  });

  after(async () => {
    await proxy.close();
    await backend.close();
  });

  const get = async (host: string): Promise<{ status: number; body: string }> => {
    const res = await request(`${origin}/p`, { headers: { host } });
    return { status: res.statusCode, body: await res.body.text() };
  };

  test('without verification: encrypted, no SNI (endpoints are IP addresses)', async () => {
    const mark = backend.servernames.length;
    const r = await get('noverify.test');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'secure /p');
    assert.deepEqual(backend.servernames.slice(mark), [false]);
  });

  test('with verification against the given CA and name: served, with that name as SNI', async () => {
    const mark = backend.servernames.length;
    const r = await get('verified.test');
    assert.equal(r.status, 200);
    assert.deepEqual(backend.servernames.slice(mark), ['web.shop.svc']);
  });

  test('verification failures are 502s and reach no handler: wrong CA, wrong name', async () => {
    const mark = backend.servernames.length;
    assert.equal((await get('wrongca.test')).status, 502);
    assert.equal((await get('wrongname.test')).status, 502);
    assert.equal(backend.servernames.length, mark, 'no request got through');
  });

  test('requests for different hosts share the pooled TLS connection (the Host never becomes the SNI)', async () => {
    await get('noverify.test');
    const mark = backend.connections();
    for (const host of ['also-noverify.test', 'noverify.test', 'also-noverify.test']) assert.equal((await get(host)).status, 200);
    assert.equal(backend.connections(), mark, 'no new upstream connection');
  });

  test('each TLS setting has its own pool for the same address', () => {
    assert.equal(proxy.upstreamPools, 4);
  });
});
