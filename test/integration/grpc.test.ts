// gRPC end to end through the real `martello serve` process: a grpc-js
// client over TLS (ALPN h2) → Martello → a grpc-js server in clear text
// (h2c, chosen by the Service port's appProtocol). Unary and streaming
// calls, trailers (status and metadata), a bidi stream that stays open
// across routing changes, and UNAVAILABLE from Martello when the backend
// is gone. Waits on /debug/config generations, never on sleeps.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  credentials,
  makeGenericClientConstructor,
  Metadata,
  type MethodDefinition,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceError,
  status,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { jsonMethod, type Msg } from '../support/grpc-json.ts';
import { serviceYaml } from '../support/manifests.ts';
import { startMartello, type MartelloProcess } from '../support/martello-process.ts';
import { createTestCa, tlsSecretManifest } from '../support/pki.ts';

const method = (name: string, requestStream: boolean, responseStream: boolean): MethodDefinition<Msg, Msg> =>
  jsonMethod('martello.it.Echo', name, requestStream, responseStream);

const SERVICE = {
  Unary: method('Unary', false, false),
  Count: method('Count', false, true),
  Chat: method('Chat', true, true),
};

interface EchoClient extends Client {
  Unary(req: Msg, md: Metadata, cb: (err: ServiceError | null, value?: Msg) => void): unknown;
  Count(req: Msg): ClientReadableStream<Msg>;
  Chat(): ClientDuplexStream<Msg, Msg>;
}

const Ctor = makeGenericClientConstructor(SERVICE, 'Echo') as unknown as new (target: string, creds: ReturnType<typeof credentials.createSsl>, options: object) => EchoClient;

async function startGrpcBackend(name: string): Promise<{ port: number; server: Server }> {
  const server = new Server();
  server.addService(SERVICE, {
    Unary(call: ServerUnaryCall<Msg, Msg>, cb: sendUnaryData<Msg>) {
      if (call.request.text === 'fail') {
        cb({ code: status.NOT_FOUND, details: 'no such thing' });
        return;
      }
      const trailer = new Metadata();
      trailer.set('x-served-by', name);
      cb(null, { text: `${name}:${call.request.text}` }, trailer);
    },
    Count(call: ServerWritableStream<Msg, Msg>) {
      for (let i = 0; i < (call.request.n ?? 0); i++) call.write({ n: i });
      call.end();
    },
    Chat(call: ServerDuplexStream<Msg, Msg>) {
      call.on('data', (m: Msg) => call.write({ text: `${name}:${m.text}` }));
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err === null ? resolve(p) : reject(err)));
  });
  return { port, server };
}

const ingress = (extraHost: string): string => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: grpc, namespace: default }
spec:
  tls:
    - { hosts: [grpc.test], secretName: grpc-cert }
  rules:
    - host: grpc.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: echo, port: { number: 80 } } } }] }
    - host: ${extraHost}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: echo, port: { number: 80 } } } }] }
`;

describe('martello serve: gRPC over HTTP/2', () => {
  let dir: string;
  let backend: { port: number; server: Server };
  let martello: MartelloProcess;
  let client: EchoClient;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'martello-grpc-'));
    const ca = createTestCa();
    backend = await startGrpcBackend('b1');
    await writeFile(join(dir, 'secret.yaml'), tlsSecretManifest({ namespace: 'default', name: 'grpc-cert', ...ca.issue(['grpc.test']) }));
    await writeFile(join(dir, 'service.yaml'), serviceYaml({ name: 'echo', endpointPorts: [backend.port], appProtocol: 'kubernetes.io/h2c' }));
    await writeFile(join(dir, 'ingress.yaml'), ingress('extra-0.test'));
    martello = await startMartello(dir);
    await martello.waitFor((c) => c.generation >= 1 && c.routes.length === 2);
    client = new Ctor(`127.0.0.1:${martello.httpsPort}`, credentials.createSsl(Buffer.from(ca.certPem)), {
      'grpc.ssl_target_name_override': 'grpc.test',
      'grpc.default_authority': 'grpc.test',
    });
  });

  after(async () => {
    client?.close();
    const code = await martello?.stop();
    backend?.server.forceShutdown();
    await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0);
  });

  /** Resolves once both the reply (or error) and the final status with its trailers have arrived. */
  const unary = (text: string): Promise<{ value?: Msg; err?: ServiceError; trailers?: Metadata }> => new Promise((resolve) => {
    let reply: { value?: Msg; err?: ServiceError } | undefined;
    let trailers: Metadata | undefined;
    const settle = (): void => {
      if (reply !== undefined && trailers !== undefined) resolve({ ...reply, trailers });
    };
    const call = client.Unary({ text }, new Metadata(), (err, value) => {
      reply = err === null ? { value } : { err };
      settle();
    }) as { on(e: 'status', f: (s: { metadata: Metadata }) => void): void };
    call.on('status', (s) => {
      trailers = s.metadata;
      settle();
    });
  });

  test('unary calls with trailers; an application error status passes through unchanged', async () => {
    const ok = await unary('hello');
    assert.equal(ok.value?.text, 'b1:hello');
    assert.deepEqual(ok.trailers?.get('x-served-by'), ['b1'], 'custom trailer metadata arrives');
    const fail = await unary('fail');
    assert.equal(fail.err?.code, status.NOT_FOUND);
    assert.equal(fail.err?.details, 'no such thing');
  });

  test('server streaming delivers every message in order', async () => {
    const got: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = client.Count({ n: 200 });
      call.on('data', (m: Msg) => got.push(m.n!));
      call.on('error', reject);
      call.on('end', () => resolve());
    });
    assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => i));
  });

  test('a bidi stream stays open across three routing changes', async () => {
    const chat = client.Chat();
    const replies: string[] = [];
    let waiting: (() => void) | undefined;
    chat.on('data', (m: Msg) => {
      replies.push(m.text!);
      waiting?.();
    });
    const ended = new Promise<void>((resolve, reject) => {
      chat.on('end', () => resolve());
      chat.on('error', reject);
    });
    const say = (text: string): Promise<void> => new Promise((resolve) => {
      const count = replies.length;
      waiting = () => {
        if (replies.length > count) resolve();
      };
      chat.write({ text });
    });
    await say('m0');
    for (let i = 1; i <= 3; i++) {
      const gen = (await martello.debugConfig()).generation;
      await writeFile(join(dir, 'ingress.yaml'), ingress(`extra-${i}.test`));
      await martello.waitFor((c) => c.generation > gen);
      await say(`m${i}`);
    }
    chat.end();
    await ended;
    assert.deepEqual(replies, ['b1:m0', 'b1:m1', 'b1:m2', 'b1:m3']);
  });

  test('a backend that is gone is reported as UNAVAILABLE by Martello', async () => {
    const gen = (await martello.debugConfig()).generation;
    backend.server.forceShutdown();
    // The endpoint stays listed (as during a rollout before the EndpointSlice
    // changes): Martello's connect fails and it answers with a gRPC status.
    const res = await unary('anyone?');
    assert.equal(res.err?.code, status.UNAVAILABLE, `${res.err?.code} ${res.err?.details}`);
    assert.equal((await martello.debugConfig()).generation, gen);
  });
});
