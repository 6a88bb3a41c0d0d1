// Raw-socket helpers for the engine tests: a backend that answers with
// exactly the bytes a test gives it (to play a broken or hostile upstream)
// and counts connections and requests, and a client that writes bytes and
// reads until the proxy closes the connection or a number of complete
// responses has arrived (parsed with the codec's own ResponseParser).

import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ResponseParser, type ResponseHead } from '../../http1/index.ts';

export interface RawBackend {
  readonly port: number;
  /** Connections accepted so far. */
  connections: number;
  /** Everything received, per connection, as latin1. */
  readonly received: string[];
  close(): Promise<void>;
}

/**
 * `respond(connectionIndex, receivedSoFar, socket)` is called on every read
 * of a connection; it writes what it wants (and may end the socket).
 */
export async function startRawBackend(respond: (index: number, received: string, socket: Socket) => void): Promise<RawBackend> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const index = backend.connections++;
    backend.received.push('');
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.on('end', () => socket.end());
    socket.on('data', (d: Buffer) => {
      backend.received[index] += d.toString('latin1');
      respond(index, backend.received[index]!, socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const backend: RawBackend = {
    port: (server.address() as AddressInfo).port,
    connections: 0,
    received: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return backend;
}

/** Requests (complete heads) in a received string: counts request lines. */
export function countRequests(received: string): number {
  return (received.match(/^(GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH) \S+ HTTP\/1\.1\r\n/gm) ?? []).length;
}

export interface ParsedResponse {
  readonly head: ResponseHead;
  readonly body: Buffer;
  readonly trailers: string[];
}

export interface RawResult {
  readonly responses: ParsedResponse[];
  /** Everything received, latin1. */
  readonly text: string;
  /** The proxy closed the connection (as opposed to: enough responses arrived). */
  readonly closed: boolean;
  /** Bytes that followed the last complete response (should be none). */
  readonly leftover: number;
}

/**
 * Writes `payload` and collects responses until `expect` have arrived (or,
 * with `untilClose`, until the proxy closes the connection; 10 s at most).
 * `methods` are the request methods in order (HEAD responses have no body).
 */
export function rawRequest(port: number, payload: string | Buffer, expect: number, methods: readonly string[] = [], untilClose = false): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const responses: ParsedResponse[] = [];
    let head: ResponseHead | undefined;
    let body: Buffer[] = [];
    let trailers: string[] = [];
    let text = '';
    let leftover = 0;
    let settled = false;
    const parser = new ResponseParser({
      onInformational: () => {},
      onHead: (h) => {
        head = h;
      },
      onBody: (d, s, e) => body.push(Buffer.from(d.subarray(s, e))),
      onTrailers: (t) => {
        trailers = t;
      },
      onMessageComplete: () => {
        responses.push({ head: head!, body: Buffer.concat(body), trailers });
        body = [];
        trailers = [];
      },
    });
    const next = (): void => {
      if (responses.length < expect) parser.expectResponse(methods[responses.length] ?? 'GET');
    };
    next();
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ responses, text, closed, leftover });
    };
    const timer = setTimeout(() => {
      settled = true;
      socket.destroy();
      reject(new Error(`raw request timed out with ${responses.length}/${expect} responses; received: ${JSON.stringify(text.slice(0, 2000))}`));
    }, 10_000);
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      let pos = 0;
      while (pos < d.length) {
        if (responses.length >= expect) {
          leftover += d.length - pos;
          break;
        }
        const out = parser.execute(d, pos);
        if (out.kind === 'complete') {
          pos += out.consumed;
          next();
          if (responses.length >= expect && !untilClose) {
            clearTimeout(timer);
            finish(false);
            return;
          }
        } else if (out.kind === 'need-more') {
          pos = d.length;
        } else {
          leftover += d.length - pos;
          break;
        }
      }
    });
    socket.on('end', () => {
      parser.endOfStream();
      clearTimeout(timer);
      finish(true);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      finish(true);
    });
    socket.write(payload);
  });
}

/** The value of a response header (first, case-insensitive). */
export function header(head: ResponseHead, name: string): string | undefined {
  const i = head.names.indexOf(name);
  return i === -1 ? undefined : head.headers[2 * i + 1];
}
