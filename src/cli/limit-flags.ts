// Flags for the edge limits that an operator tunes (docs/edge.md "Limits"):
// connection caps, the PROXY protocol, request body size and the overload
// manager. Validated here so that a bad value stops the start with a usage
// error instead of reaching a worker.

import { DEFAULT_MAX_BODY_SIZE, DEFAULT_PROXY_OPTIONS, type ProxyOptions } from '../dataplane/proxy/options.ts';
import { DEFAULT_CONNECTION_LIMITS } from '../dataplane/edge/connection-limits.ts';
import { DEFAULT_OVERLOAD_SETTINGS } from '../dataplane/edge/overload-policy.ts';
import { formatByteSize, parseByteSize } from '../shared/byte-size.ts';
import { UsageError } from './listen-address.ts';
import type { FlagSpec } from './options.ts';

export const LIMIT_FLAGS = {
  'max-connections': { type: 'string', default: String(DEFAULT_CONNECTION_LIMITS.maxConnections) },
  'max-connections-per-ip': { type: 'string', default: String(DEFAULT_CONNECTION_LIMITS.maxConnectionsPerAddress) },
  'proxy-protocol': { type: 'boolean' },
  'max-body-size': { type: 'string', default: formatByteSize(DEFAULT_MAX_BODY_SIZE) },
  'overload-event-loop-delay': { type: 'string', default: String(DEFAULT_OVERLOAD_SETTINGS.eventLoopDelayMs) },
  'overload-heap-percent': { type: 'string', default: String(DEFAULT_OVERLOAD_SETTINGS.heapPercent) },
  'drain-timeout': { type: 'string', default: String(DEFAULT_PROXY_OPTIONS.drainTimeoutMs / 1000) },
  'keep-alive-requests': { type: 'string', default: String(DEFAULT_PROXY_OPTIONS.maxRequestsPerSocket) },
} as const satisfies Record<string, FlagSpec>;

export const LIMIT_HELP = `  --max-connections N              client connections per process; more are closed at accept (default ${DEFAULT_CONNECTION_LIMITS.maxConnections}, 0: none)
  --max-connections-per-ip N       client connections per client address per process; --trusted-proxies are exempt
                                   (default ${DEFAULT_CONNECTION_LIMITS.maxConnectionsPerAddress}, 0: none)
  --proxy-protocol                 every connection starts with a PROXY protocol v1/v2 header (from a load balancer);
                                   its source address is the client's (default: no)
  --max-body-size SIZE             largest request body, e.g. 512k, 10m, 1g (default ${formatByteSize(DEFAULT_MAX_BODY_SIZE)}, 0: none; per Ingress:
                                   nginx.ingress.kubernetes.io/proxy-body-size); larger: 413
  --overload-event-loop-delay MS   answer 503 while the p99 event-loop delay is over this (default ${DEFAULT_OVERLOAD_SETTINGS.eventLoopDelayMs}, 0: off)
  --overload-heap-percent P        answer 503 while the heap is over P% of its limit (default ${DEFAULT_OVERLOAD_SETTINGS.heapPercent}, 0: off)
  --keep-alive-requests N          requests on one HTTP/1.1 client connection, then it is closed (ingress-nginx's
                                   keep-alive-requests; default ${DEFAULT_PROXY_OPTIONS.maxRequestsPerSocket}, 0: no limit)
  --drain-timeout SECONDS          on shutdown, how long requests and WebSockets in flight may take before they are
                                   cut (WebSockets get a close frame 1001); after --shutdown-grace-period (default ${DEFAULT_PROXY_OPTIONS.drainTimeoutMs / 1000})
`;

type Values = {
  'max-connections'?: string;
  'max-connections-per-ip'?: string;
  'proxy-protocol'?: boolean;
  'max-body-size'?: string;
  'overload-event-loop-delay'?: string;
  'overload-heap-percent'?: string;
  'drain-timeout'?: string;
  'keep-alive-requests'?: string;
};

type LimitOptions = Pick<
  ProxyOptions,
  'maxConnections' | 'maxConnectionsPerIp' | 'proxyProtocol' | 'maxBodySize' | 'overloadEventLoopDelayMs' | 'overloadHeapPercent' | 'drainTimeoutMs' | 'maxRequestsPerSocket'
>;

export function limitsFrom(values: Values): LimitOptions {
  const size = values['max-body-size'] ?? formatByteSize(DEFAULT_MAX_BODY_SIZE);
  const maxBodySize = parseByteSize(size);
  if (maxBodySize === undefined) throw new UsageError(`--max-body-size: expected a size such as 512k, 10m or 0, got "${size}"`);
  const heapText = values['overload-heap-percent'] ?? String(DEFAULT_OVERLOAD_SETTINGS.heapPercent);
  const heap = Number(heapText);
  if (!/^\d{1,3}(\.\d{1,2})?$/.test(heapText) || heap > 100) throw new UsageError(`--overload-heap-percent: expected a percentage from 0 to 100, got "${heapText}"`);
  return {
    maxConnections: count(values, 'max-connections', DEFAULT_CONNECTION_LIMITS.maxConnections),
    maxConnectionsPerIp: count(values, 'max-connections-per-ip', DEFAULT_CONNECTION_LIMITS.maxConnectionsPerAddress),
    proxyProtocol: values['proxy-protocol'] === true,
    maxBodySize,
    overloadEventLoopDelayMs: count(values, 'overload-event-loop-delay', DEFAULT_OVERLOAD_SETTINGS.eventLoopDelayMs),
    overloadHeapPercent: heap,
    drainTimeoutMs: drainTimeoutMs(values['drain-timeout']),
    maxRequestsPerSocket: count(values, 'keep-alive-requests', DEFAULT_PROXY_OPTIONS.maxRequestsPerSocket),
  };
}

function drainTimeoutMs(text: string | undefined): number {
  if (text === undefined) return DEFAULT_PROXY_OPTIONS.drainTimeoutMs;
  if (!/^\d{1,5}(\.\d{1,3})?$/.test(text)) throw new UsageError(`--drain-timeout: expected a number of seconds, got "${text}"`);
  return Math.round(Number(text) * 1000);
}

function count(values: Values, flag: 'max-connections' | 'max-connections-per-ip' | 'overload-event-loop-delay' | 'keep-alive-requests', fallback: number): number {
  const text = values[flag];
  if (text === undefined) return fallback;
  if (!/^\d{1,9}$/.test(text)) throw new UsageError(`--${flag}: expected a whole number, got "${text}"`);
  return Number(text);
}
