// A test-only front server for the WebSocket tunnel: node:http with a
// shouldUpgradeCallback and an 'upgrade' listener that do what the proxy
// server does (validate, build the upstream headers, hand the socket to a
// TunnelRegistry), without routing. Ordinary requests (including refused
// upgrades such as h2c) get a JSON echo of the headers that would go upstream.

import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { UpstreamEndpoint } from '../../compile/cluster.ts';
import { addForwardingHeaders, scanRequestHeaders } from '../request-headers.ts';
import { isAcceptableRequestId, newRequestId } from '../request-id.ts';
import { TunnelRegistry, type TunnelOptions } from '../upgrade-tunnel.ts';
import { SUPPORTED_VERSION_HEADERS, checkWebSocketUpgrade } from '../websocket-upgrade.ts';

export interface PlainReply {
  readonly url: string;
  /** The header list the proxy would send upstream. */
  readonly upstreamHeaders: string[];
}

export interface UpgradeFront {
  readonly server: Server;
  readonly port: number;
  readonly registry: TunnelRegistry;
  /** Where upgrades go; tests may point it elsewhere between connections. */
  endpoint: UpstreamEndpoint;
  /** Every status the registry reported, in order. */
  readonly statuses: number[];
  upstreamErrors: number;
  /** Stops listening, drains the registry with `deadlineMs` (default 0), closes remaining connections. */
  close(deadlineMs?: number): Promise<void>;
}

export const TEST_TUNNEL_OPTIONS: TunnelOptions = Object.freeze({
  connectTimeoutMs: 2_000,
  responseHeaderTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
});

/** `tls`: serve HTTPS (wss://) with this key and certificate instead of clear HTTP. */
export async function startUpgradeFront(
  endpoint: UpstreamEndpoint,
  options: Partial<TunnelOptions> = {},
  tls?: { readonly key: string; readonly cert: string },
): Promise<UpgradeFront> {
  const serverOptions: ServerOptions = {
    // Only WebSocket attempts become 'upgrade' events; h2c and the like are
    // ordinary requests whose Upgrade header is dropped as hop-by-hop.
    shouldUpgradeCallback: (req) => checkWebSocketUpgrade(req.rawHeaders, req.method ?? '', req.httpVersion).kind !== 'not-websocket',
  };
  const server: Server = tls === undefined ? createServer(serverOptions) : createTlsServer({ ...serverOptions, key: tls.key, cert: tls.cert });
  const statuses: number[] = [];
  const front: UpgradeFront = {
    server,
    port: 0,
    registry: new TunnelRegistry({ ...TEST_TUNNEL_OPTIONS, ...options }, {
      countStatus: (status) => statuses.push(status),
      countUpstreamError: () => {
        front.upstreamErrors++;
      },
    }),
    endpoint,
    statuses,
    upstreamErrors: 0,
    close: async (deadlineMs = 0) => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await front.registry.close(deadlineMs);
      await stopped;
    },
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const scan = scanRequestHeaders(req.rawHeaders);
    const reply: PlainReply = { url: req.url ?? '', upstreamHeaders: scan.headers };
    const body = JSON.stringify(reply);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const scan = scanRequestHeaders(req.rawHeaders);
    const clientId = scan.clientRequestId;
    const requestId = clientId !== undefined && isAcceptableRequestId(clientId) ? clientId : newRequestId();
    const check = checkWebSocketUpgrade(req.rawHeaders, req.method ?? '', req.httpVersion);
    if (check.kind === 'reject') {
      front.registry.refuse(socket, check.status, requestId, check.status === 426 ? SUPPORTED_VERSION_HEADERS : []);
      return;
    }
    if (check.kind === 'not-websocket') {
      // Unreachable with the callback above; a proxy would answer 400 too.
      front.registry.refuse(socket, 400, requestId);
      return;
    }
    addForwardingHeaders(scan.headers, {
      proto: tls === undefined ? 'http' : 'https',
      peerAddress: (socket as Socket).remoteAddress ?? '',
      clientAddress: (socket as Socket).remoteAddress ?? '',
      host: scan.host,
      listenerPort: String(front.port),
      requestId,
      trusted: undefined,
    });
    front.registry.open({
      clientSocket: socket,
      head,
      endpoint: front.endpoint,
      method: req.method ?? '',
      target: req.url ?? '',
      headers: scan.headers,
      requestId,
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (front as { port: number }).port = (server.address() as AddressInfo).port;
  return front;
}
