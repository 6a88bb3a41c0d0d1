// gRPC through the HTTP/2 forwarder with the real @grpc/grpc-js on both
// ends: a grpc-js server (insecure, i.e. h2c) as the backend, a grpc-js
// client pointed at the front server (test-support/h2-front.ts). The
// service is defined without .proto files, with JSON messages. Covered: the
// four call kinds, response metadata in headers and trailers, an error
// status passed through unchanged, client cancellation and deadlines
// reaching the server, and Martello's own Trailers-Only answers when the
// backend is down (UNAVAILABLE) or too slow (DEADLINE_EXCEEDED).

import assert from 'node:assert/strict';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ClientWritableStream,
  credentials,
  makeGenericClientConstructor,
  Metadata,
  type MethodDefinition,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceError,
  type StatusObject,
  status,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { jsonMethod, type Msg } from '../../../test/support/grpc-json.ts';
import { toUpstreamEndpoint } from '../compile/cluster.ts';
import { grpcMessageForHttpStatus } from './grpc-status.ts';
import { type H2Front, startH2Front } from './test-support/h2-front.ts';

const method = (name: string, requestStream: boolean, responseStream: boolean): MethodDefinition<Msg, Msg> =>
  jsonMethod('martello.test.Echo', name, requestStream, responseStream);

const SERVICE = {
  Unary: method('Unary', false, false),
  ServerStream: method('ServerStream', false, true),
  ClientStream: method('ClientStream', true, false),
  Bidi: method('Bidi', true, true),
  Fail: method('Fail', false, false),
  Hang: method('Hang', false, false),
};

type UnaryCallback = (err: ServiceError | null, value?: Msg) => void;

/** The generic client's methods, typed for this test. */
interface EchoClient extends Client {
  Unary(req: Msg, md: Metadata, cb: UnaryCallback): ClientUnaryCall;
  Unary(req: Msg, md: Metadata, options: { deadline: number }, cb: UnaryCallback): ClientUnaryCall;
  ServerStream(req: Msg, md?: Metadata): ClientReadableStream<Msg>;
  ClientStream(cb: UnaryCallback): ClientWritableStream<Msg>;
  Bidi(): ClientDuplexStream<Msg, Msg>;
  Fail(req: Msg, cb: UnaryCallback): ClientUnaryCall;
  Hang(req: Msg, md: Metadata, options: { deadline: number }, cb: UnaryCallback): ClientUnaryCall;
  Hang(req: Msg, cb: UnaryCallback): ClientUnaryCall;
}

const EchoClientCtor = makeGenericClientConstructor(SERVICE, 'Echo');

const FAIL_DETAILS = 'no such thing: café 100% (ünïcode)';

interface UnaryResult {
  value: Msg | undefined;
  err: ServiceError | null;
  status: StatusObject;
  headers: Metadata;
}

/** Start a unary call; `result` settles once both the callback and the 'status' event have fired. */
function startUnary(call: (cb: UnaryCallback) => ClientUnaryCall): { call: ClientUnaryCall; result: Promise<UnaryResult> } {
  let c: ClientUnaryCall | undefined;
  const result = new Promise<UnaryResult>((resolve) => {
    let value: Msg | undefined;
    let err: ServiceError | null = null;
    let headers = new Metadata();
    let settled = 0;
    let st: StatusObject | undefined;
    const done = (): void => {
      if (++settled === 2) resolve({ value, err, status: st!, headers });
    };
    c = call((e, v) => {
      err = e;
      value = v;
      done();
    });
    c.on('metadata', (md: Metadata) => (headers = md));
    c.on('status', (s: StatusObject) => {
      st = s;
      done();
    });
  });
  return { call: c!, result };
}

function unaryResult(call: (cb: UnaryCallback) => ClientUnaryCall): Promise<UnaryResult> {
  return startUnary(call).result;
}

describe('gRPC through H2Forwarder (grpc-js client → HTTP/2 front → grpc-js server)', () => {
  let server: Server;
  let front: H2Front;
  let client: EchoClient;
  let onHang: ((call: ServerUnaryCall<Msg, Msg>) => void) | undefined;

  before(async () => {
    server = new Server();
    server.addService(SERVICE, {
      Unary(call: ServerUnaryCall<Msg, Msg>, cb: sendUnaryData<Msg>) {
        const headers = new Metadata();
        headers.set('x-response-header', 'h');
        call.sendMetadata(headers);
        const trailers = new Metadata();
        trailers.set('x-response-trailer', `t-${call.request.text ?? ''}`);
        trailers.set('x-bin', Buffer.from([0, 1, 2, 255]));
        const seen = call.metadata.get('x-client-md')[0];
        cb(null, { text: `echo ${call.request.text ?? ''} md=${String(seen)}` }, trailers);
      },
      ServerStream(call: ServerWritableStream<Msg, Msg>) {
        for (let i = 0; i < (call.request.n ?? 0); i++) call.write({ n: i });
        const trailers = new Metadata();
        trailers.set('x-count', String(call.request.n ?? 0));
        call.end(trailers);
      },
      ClientStream(call: ServerReadableStream<Msg, Msg>, cb: sendUnaryData<Msg>) {
        const texts: string[] = [];
        call.on('data', (m: Msg) => texts.push(m.text ?? ''));
        call.on('end', () => cb(null, { text: texts.join(','), n: texts.length }));
      },
      Bidi(call: ServerDuplexStream<Msg, Msg>) {
        call.on('data', (m: Msg) => call.write({ text: `pong ${m.text ?? ''}` }));
        call.on('end', () => call.end());
      },
      Fail(_call: ServerUnaryCall<Msg, Msg>, cb: sendUnaryData<Msg>) {
        const md = new Metadata();
        md.set('x-error-detail', 'missing');
        cb({ code: status.NOT_FOUND, details: FAIL_DETAILS, metadata: md });
      },
      Hang(call: ServerUnaryCall<Msg, Msg>) {
        onHang?.(call);
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err === null ? resolve(p) : reject(err))),
    );
    front = await startH2Front(toUpstreamEndpoint({ address: '127.0.0.1', port }, 'h2c'), 'h2c');
    client = new EchoClientCtor(`127.0.0.1:${front.port}`, credentials.createInsecure()) as unknown as EchoClient;
  });

  after(async () => {
    client.close();
    await front.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  test('unary: request metadata up, response headers and trailers (text and binary) down', async () => {
    const md = new Metadata();
    md.set('x-client-md', 'from-client');
    const r = await unaryResult((cb) => client.Unary({ text: 'hi' }, md, cb));
    assert.equal(r.err, null);
    assert.deepEqual(r.value, { text: 'echo hi md=from-client' });
    assert.deepEqual(r.headers.get('x-response-header'), ['h']);
    assert.equal(r.status.code, status.OK);
    assert.deepEqual(r.status.metadata.get('x-response-trailer'), ['t-hi']);
    assert.deepEqual(r.status.metadata.get('x-bin'), [Buffer.from([0, 1, 2, 255])]);
  });

  test('server streaming: every message, then OK with custom trailers', async () => {
    const call = client.ServerStream({ n: 5 });
    const got: number[] = [];
    call.on('data', (m: Msg) => got.push(m.n ?? -1));
    const st = await new Promise<StatusObject>((resolve) => call.on('status', resolve));
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
    assert.equal(st.code, status.OK);
    assert.deepEqual(st.metadata.get('x-count'), ['5']);
  });

  test('client streaming: the server sees every message and the end of the stream', async () => {
    const result = new Promise<Msg | undefined>((resolve, reject) => {
      const call = client.ClientStream((err, value) => (err === null ? resolve(value) : reject(err)));
      for (const t of ['a', 'b', 'c']) call.write({ text: t });
      call.end();
    });
    assert.deepEqual(await result, { text: 'a,b,c', n: 3 });
  });

  test('bidirectional streaming: ping-pong, message by message', async () => {
    const call = client.Bidi();
    const replies: string[] = [];
    for (const t of ['1', '2', '3']) {
      const next = new Promise<Msg>((resolve) => call.once('data', resolve));
      call.write({ text: t });
      // Each answer arrives before the next request is sent: nothing is held back.
      replies.push((await next).text ?? '');
    }
    call.end();
    const st = await new Promise<StatusObject>((resolve) => call.on('status', resolve));
    assert.deepEqual(replies, ['pong 1', 'pong 2', 'pong 3']);
    assert.equal(st.code, status.OK);
  });

  test('an error status from the server reaches the client unchanged (code, message, metadata)', async () => {
    const r = await unaryResult((cb) => client.Fail({}, cb));
    assert.equal(r.err?.code, status.NOT_FOUND);
    assert.equal(r.err?.details, FAIL_DETAILS);
    assert.deepEqual(r.status.metadata.get('x-error-detail'), ['missing']);
  });

  test('client cancellation reaches the server handler', async () => {
    const seen = new Promise<ServerUnaryCall<Msg, Msg>>((resolve) => (onHang = resolve));
    const { call, result } = startUnary((cb) => client.Hang({}, cb));
    const serverCall = await seen;
    const cancelled = new Promise<void>((resolve) => serverCall.on('cancelled', () => resolve()));
    call.cancel();
    await cancelled;
    assert.equal((await result).err?.code, status.CANCELLED);
    assert.equal(serverCall.cancelled, true);
    onHang = undefined;
  });

  test('a client deadline reaches the server (grpc-timeout) and the client gets DEADLINE_EXCEEDED', async () => {
    const seen = new Promise<ServerUnaryCall<Msg, Msg>>((resolve) => (onHang = resolve));
    const deadline = Date.now() + 400;
    const result = unaryResult((cb) => client.Hang({}, new Metadata(), { deadline }, cb));
    const serverCall = await seen;
    const d = serverCall.getDeadline();
    const serverDeadline = d instanceof Date ? d.getTime() : Number(d);
    const cancelled = new Promise<void>((resolve) => serverCall.on('cancelled', () => resolve()));
    const r = await result;
    await cancelled;
    assert.equal(r.err?.code, status.DEADLINE_EXCEEDED);
    assert.ok(Number.isFinite(serverDeadline), 'the server must see a finite deadline');
    assert.ok(Math.abs(serverDeadline - deadline) < 1_000, `server deadline ${serverDeadline} vs client ${deadline}`);
    onHang = undefined;
  });
});

describe('gRPC answers Martello makes itself', () => {
  test('backend down → UNAVAILABLE in a Trailers-Only response', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createTcpServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const front = await startH2Front(toUpstreamEndpoint({ address: '127.0.0.1', port }, 'h2c'), 'h2c');
    const client = new EchoClientCtor(`127.0.0.1:${front.port}`, credentials.createInsecure()) as unknown as EchoClient;
    try {
      const r = await unaryResult((cb) => client.Unary({ text: 'x' }, new Metadata(), cb));
      assert.equal(r.err?.code, status.UNAVAILABLE);
      assert.equal(r.err?.details, grpcMessageForHttpStatus(502));
      assert.deepEqual(r.status.metadata.get('x-request-id'), [front.requestIds[0]]);
      assert.deepEqual(front.host.errors, [{ status: 502, grpc: true }]);
    } finally {
      client.close();
      await front.close();
    }
  });

  test('no response head within the deadline → DEADLINE_EXCEEDED from Martello', async () => {
    const server = new Server();
    server.addService(SERVICE, { Hang() {} });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err === null ? resolve(p) : reject(err))),
    );
    const front = await startH2Front(toUpstreamEndpoint({ address: '127.0.0.1', port }, 'h2c'), 'h2c', { options: { responseHeaderTimeoutMs: 150 } });
    const client = new EchoClientCtor(`127.0.0.1:${front.port}`, credentials.createInsecure()) as unknown as EchoClient;
    try {
      const r = await unaryResult((cb) => client.Hang({}, cb));
      assert.equal(r.err?.code, status.DEADLINE_EXCEEDED);
      assert.equal(r.err?.details, grpcMessageForHttpStatus(504));
    } finally {
      client.close();
      await front.close();
      server.forceShutdown();
    }
  });
});
