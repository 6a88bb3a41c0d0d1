// The admin listener (default 127.0.0.1:10254): health, readiness, metrics
// and the "what does the controller think" JSON view. It only reads state
// handed to it by the composition root; it never changes anything.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../shared/log.ts';

export interface AdminView {
  /** Ready once the first complete configuration serves traffic. */
  ready(): boolean;
  /** Prometheus text exposition format (asynchronous when worker processes are asked for their counters). */
  metrics(): string | Promise<string>;
  /** JSON-serialisable view of generation, routes, endpoints, problems and workers. */
  debugConfig(): unknown;
  /** GET /debug/explain?url=...: what the running configuration does with that request (docs/explain.md). */
  explain(query: URLSearchParams): { status: number; body: unknown };
}

export class AdminServer {
  readonly #view: AdminView;
  readonly #logger: Logger;
  readonly #server: Server;

  constructor(view: AdminView, logger: Logger) {
    this.#view = view;
    this.#logger = logger;
    this.#server = createServer({ requireHostHeader: false }, (req, res) => void this.#handle(req, res));
    this.#server.on('clientError', (_err, socket) => socket.destroy());
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on('error', () => {});
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
    const path = (req.url ?? '/').split('?')[0];
    try {
      switch (path) {
        case '/healthz':
          return send(res, 200, 'text/plain', 'ok\n');
        case '/readyz':
          return this.#view.ready() ? send(res, 200, 'text/plain', 'ready\n') : send(res, 503, 'text/plain', 'not ready\n');
        case '/metrics':
          return send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', await this.#view.metrics());
        case '/debug/config':
          return send(res, 200, 'application/json', JSON.stringify(await this.#view.debugConfig(), null, 2) + '\n');
        case '/debug/explain': {
          const answer = this.#view.explain(new URL(req.url ?? '/', 'http://admin').searchParams);
          return send(res, answer.status, 'application/json', JSON.stringify(answer.body, null, 2) + '\n');
        }
        default:
          return send(res, 404, 'text/plain', 'not found: try /healthz, /readyz, /metrics, /debug/config, /debug/explain?url=...\n');
      }
    } catch (err) {
      this.#logger.error('admin request failed', { path, err });
      return send(res, 500, 'text/plain', 'internal error\n');
    }
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}
