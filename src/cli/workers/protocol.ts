// The IPC protocol between the primary process (control plane, admin) and
// its data-plane workers. Messages travel as JSON over the channel
// child_process.fork opens; each side validates what it receives, because a
// malformed message must be logged and ignored, never crash a worker.
//
// The conversation, in order:
//   worker → hello                      (its message handler is installed)
//   primary → init, model               (settings, then the latest model)
//   worker → listening                  (first model applied, listeners bound)
//   primary → model …  worker → applied (every new generation, acknowledged)
//   primary → stats    worker → stats   (when /metrics or /debug/config is read)
//   primary → drain    worker exits 0   (shutdown: in-flight requests finish)
// A worker that cannot start sends `failed` and exits 1.
//
// Models and the fallback certificate contain private keys: they go over
// this channel only, and nothing here logs a message body.

import type { RoutingModel } from '../../model/model.ts';
import type { ProxyOptions } from '../../dataplane/proxy/options.ts';
import type { ProxyStats } from '../../dataplane/proxy/proxy-server.ts';
import { isMetricSnapshot } from '../../observability/metrics/snapshot.ts';
import type { LogLevel } from '../../shared/log.ts';

/** Environment variable carrying a worker's slot number (for its logs before init arrives). */
export const WORKER_SLOT_ENV = 'MARTELLO_WORKER_SLOT';

export interface Address {
  readonly host: string;
  readonly port: number;
}

export interface InitMessage {
  readonly type: 'init';
  /** Slot number (1…N), shown in logs and views; a replacement keeps the slot of the worker it replaces. */
  readonly worker: number;
  readonly logLevel: LogLevel;
  readonly proxyOptions: Partial<ProxyOptions>;
  /** Shared by every worker so all present the same certificate when none is configured. */
  readonly fallbackCertificate: { readonly certPem: string; readonly keyPem: string };
  /** 48 bytes, base64: shared so a TLS session ticket issued by one worker resumes on another. */
  readonly ticketKeys: string;
  readonly http: Address;
  readonly https: Address;
}

export interface ModelMessage {
  readonly type: 'model';
  readonly generation: number;
  readonly model: RoutingModel;
}

export interface StatsRequest {
  readonly type: 'stats';
  readonly id: number;
}

export interface DrainMessage {
  readonly type: 'drain';
}

export type PrimaryMessage = InitMessage | ModelMessage | StatsRequest | DrainMessage;

export interface HelloMessage {
  readonly type: 'hello';
}

export interface ListeningMessage {
  readonly type: 'listening';
  /** The generation applied before the listeners opened. */
  readonly generation: number;
  readonly http: Address;
  readonly https: Address;
}

export interface AppliedMessage {
  readonly type: 'applied';
  readonly generation: number;
}

export interface ApplyFailedMessage {
  readonly type: 'apply-failed';
  readonly generation: number;
  readonly error: string;
}

export interface StatsReply {
  readonly type: 'stats';
  readonly id: number;
  readonly stats: ProxyStats;
}

export interface FailedMessage {
  readonly type: 'failed';
  readonly error: string;
}

export type WorkerMessage = HelloMessage | ListeningMessage | AppliedMessage | ApplyFailedMessage | StatsReply | FailedMessage;

type Json = Record<string, unknown>;

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isAddress(v: unknown): v is Address {
  return isObject(v) && typeof v['host'] === 'string' && isCount(v['port']) && v['port'] <= 65535;
}

function isStats(v: unknown): v is ProxyStats {
  if (!isObject(v)) return false;
  const classes = v['responsesByClass'];
  return isCount(v['requests']) && isCount(v['activeConnections']) && isCount(v['upstreamErrors']) && isCount(v['generation'])
    && isObject(classes) && Object.values(classes).every(isCount)
    && (v['metrics'] === undefined || isMetricSnapshot(v['metrics']));
}

/** What a worker sent, or undefined if it is not a message of this protocol. */
export function parseWorkerMessage(v: unknown): WorkerMessage | undefined {
  if (!isObject(v)) return undefined;
  switch (v['type']) {
    case 'hello':
      return { type: 'hello' };
    case 'listening':
      return isCount(v['generation']) && isAddress(v['http']) && isAddress(v['https'])
        ? { type: 'listening', generation: v['generation'], http: v['http'], https: v['https'] }
        : undefined;
    case 'applied':
      return isCount(v['generation']) ? { type: 'applied', generation: v['generation'] } : undefined;
    case 'apply-failed':
      return isCount(v['generation']) && typeof v['error'] === 'string' ? { type: 'apply-failed', generation: v['generation'], error: v['error'] } : undefined;
    case 'stats':
      return isCount(v['id']) && isStats(v['stats']) ? { type: 'stats', id: v['id'], stats: v['stats'] } : undefined;
    case 'failed':
      return typeof v['error'] === 'string' ? { type: 'failed', error: v['error'] } : undefined;
    default:
      return undefined;
  }
}

/**
 * What the primary sent, or undefined. The model itself is trusted (the
 * primary built it); only the envelope is checked here.
 */
export function parsePrimaryMessage(v: unknown): PrimaryMessage | undefined {
  if (!isObject(v)) return undefined;
  switch (v['type']) {
    case 'init': {
      const cert = v['fallbackCertificate'];
      const ok = isCount(v['worker']) && LOG_LEVELS.includes(v['logLevel'] as LogLevel) && isObject(v['proxyOptions'])
        && isObject(cert) && typeof cert['certPem'] === 'string' && typeof cert['keyPem'] === 'string'
        && typeof v['ticketKeys'] === 'string' && isAddress(v['http']) && isAddress(v['https']);
      return ok ? (v as unknown as InitMessage) : undefined;
    }
    case 'model':
      return isCount(v['generation']) && isObject(v['model']) ? (v as unknown as ModelMessage) : undefined;
    case 'stats':
      return isCount(v['id']) ? { type: 'stats', id: v['id'] } : undefined;
    case 'drain':
      return { type: 'drain' };
    default:
      return undefined;
  }
}
