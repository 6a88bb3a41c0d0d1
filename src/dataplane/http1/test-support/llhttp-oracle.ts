// The reference side of the differential tests: a real node:http server
// (llhttp underneath) on 127.0.0.1 that records, per connection, what it saw
// for a stream of raw bytes: each request's method, url, raw headers, body
// and raw trailers, or a rejection (parser error, 417). Test code only.
//
// Each run opens one connection, writes the bytes, half-closes and waits for
// the server side of that connection to close; with httpAllowHalfOpen the
// server answers every complete request before it closes, so nothing is lost
// to a race with our FIN, and an incomplete message at FIN is a parse error
// (llhttp's finish), exactly like a rejection.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';

export interface OracleRequest {
  readonly kind: 'request';
  method: string;
  url: string;
  rawHeaders: string[];
  rawTrailers: string[];
  body: Buffer;
  /** llhttp reached the end of this message. */
  complete: boolean;
}

/** A request llhttp handed over as an upgrade: it reads nothing after the head. */
export interface OracleUpgrade {
  readonly kind: 'upgrade';
  method: string;
  url: string;
  rawHeaders: string[];
}

export interface OracleRejection {
  readonly kind: 'rejected';
  /** llhttp's error code (HPE_…), 'expectation-failed' or 'timeout'. */
  reason: string;
}

export type OracleEvent = OracleRequest | OracleUpgrade | OracleRejection;

interface ConnectionRecord {
  events: OracleEvent[];
  closed: Promise<void>;
}

/** How long one run may take before it counts as a harness failure. */
const RUN_TIMEOUT_MS = 5000;

export class LlhttpOracle {
  readonly #server: Server;
  readonly #port: number;
  readonly #records = new Map<number, ConnectionRecord>();
  readonly #waiting = new Map<number, (record: ConnectionRecord) => void>();

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.#port = port;
  }

  static async start(): Promise<LlhttpOracle> {
    // Larger than our own limits so that size limits never make llhttp the
    // stricter side: the property is about syntax, limits are configuration.
    const server = createServer({ maxHeaderSize: 64 * 1024, keepAliveTimeout: 60_000 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const oracle = new LlhttpOracle(server, (server.address() as AddressInfo).port);
    oracle.#install();
    return oracle;
  }

  #install(): void {
    const server = this.#server;
    // Answer every request before closing after the client's FIN (see header).
    (server as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    server.on('connection', (socket: Socket) => {
      let done!: () => void;
      const record: ConnectionRecord = { events: [], closed: new Promise<void>((resolve) => (done = resolve)) };
      socket.on('close', () => done());
      const port = socket.remotePort ?? -1;
      this.#records.set(port, record);
      const waiter = this.#waiting.get(port);
      if (waiter !== undefined) {
        this.#waiting.delete(port);
        waiter(record);
      }
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const record = this.#records.get(req.socket.remotePort ?? -1);
      const entry: OracleRequest = { kind: 'request', method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, rawTrailers: [], body: Buffer.alloc(0), complete: false };
      record?.events.push(entry);
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('error', () => {});
      res.on('error', () => {});
      req.on('end', () => {
        entry.complete = req.complete;
        entry.body = Buffer.concat(chunks);
        entry.rawTrailers = req.rawTrailers;
        res.writeHead(200, { 'content-length': '0' });
        res.end();
      });
    });
    // Without an 'upgrade' listener node treats an upgrade request as an
    // ordinary one but then never closes after our FIN; with one, llhttp
    // stops at the head, which is what the comparison needs.
    server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
      this.#records.get(req.socket.remotePort ?? -1)?.events.push({ kind: 'upgrade', method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders });
      socket.destroy();
    });
    server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
      this.#records.get(req.socket.remotePort ?? -1)?.events.push({ kind: 'rejected', reason: 'expectation-failed' });
      req.resume();
      req.on('error', () => {});
      res.on('error', () => {});
      res.writeHead(417, { 'content-length': '0' });
      res.end();
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      this.#records.get(socket.remotePort ?? -1)?.events.push({ kind: 'rejected', reason: err.code ?? err.message });
      socket.destroy();
    });
  }

  #record(port: number): Promise<ConnectionRecord> {
    const record = this.#records.get(port);
    if (record !== undefined) return Promise.resolve(record);
    return new Promise((resolve) => this.#waiting.set(port, resolve));
  }

  /** Sends `bytes` on a fresh connection and returns what the server saw, in order. */
  async run(bytes: Buffer): Promise<OracleEvent[]> {
    const socket = connect(this.#port, '127.0.0.1');
    socket.on('error', () => {});
    socket.on('data', () => {});
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const port = socket.localPort ?? -1;
    socket.end(bytes);
    const record = await this.#record(port);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      record.closed.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), RUN_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    socket.destroy();
    this.#records.delete(port);
    if (timedOut) record.events.push({ kind: 'rejected', reason: 'timeout' });
    return record.events;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
