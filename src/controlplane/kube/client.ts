// The KubeClient on undici: one keep-alive connection pool per cluster (so
// TLS is negotiated once, not per request), JSON in and out, API-server
// Status bodies turned into KubeApiError, one credential refresh and retry
// after a 401, and watches streamed as newline-delimited JSON events.

import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import { KubeApiError, type KubeClient, type KubeRequest, type WatchEvent, type WatchHooks } from './api.ts';
import type { ClusterConnection, TlsMaterial } from './kubeconfig.ts';
import { MAX_WATCH_LINE_BYTES, watchEvents } from './watch-lines.ts';

export interface KubeClientOptions {
  /** Time to wait for response headers (default 30 s). */
  readonly headersTimeoutMs?: number;
  /** Longest silence inside a non-watch response body (default 60 s); watches have none (the reflector's watchdog covers them). */
  readonly bodyTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this long (default 60 s). */
  readonly keepAliveTimeoutMs?: number;
  /** Longest watch line accepted. */
  readonly maxWatchLineBytes?: number;
  readonly userAgent?: string;
}

/** Error bodies longer than this are cut before being quoted in messages. */
const MAX_ERROR_BODY = 64 * 1024;

/** Reasons the API server would have put in a Status, for answers without one (a proxy's 502, say). */
const DEFAULT_REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function createKubeClient(conn: ClusterConnection, opts: KubeClientOptions = {}): KubeClient {
  return new UndiciKubeClient(conn, opts);
}

interface Opened {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Dispatcher.ResponseData['body'];
}

class UndiciKubeClient implements KubeClient {
  readonly #conn: ClusterConnection;
  readonly #origin: string;
  /** Path prefix of the server URL (e.g. Rancher's "/k8s/clusters/c-x"), "" normally. */
  readonly #prefix: string;
  readonly #headersTimeout: number;
  readonly #bodyTimeout: number;
  readonly #keepAliveTimeout: number;
  readonly #maxLine: number;
  readonly #userAgent: string;
  #agent: Agent;
  #agentTls: TlsMaterial;
  #closed = false;

  constructor(conn: ClusterConnection, opts: KubeClientOptions) {
    this.#conn = conn;
    const url = new URL(conn.server);
    this.#origin = url.origin;
    this.#prefix = url.pathname.replace(/\/+$/, '');
    this.#headersTimeout = opts.headersTimeoutMs ?? 30_000;
    this.#bodyTimeout = opts.bodyTimeoutMs ?? 60_000;
    this.#keepAliveTimeout = opts.keepAliveTimeoutMs ?? 60_000;
    this.#maxLine = opts.maxWatchLineBytes ?? MAX_WATCH_LINE_BYTES;
    this.#userAgent = opts.userAgent ?? 'martello';
    this.#agentTls = conn.tls;
    this.#agent = this.#newAgent(conn.tls);
  }

  async request<T = Record<string, unknown>>(req: KubeRequest): Promise<T> {
    const res = await this.#open(req.method, req.path, req.query, req.body, req.contentType, req.signal, false);
    const text = await res.body.text();
    if (text === '') return {} as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`${req.method} ${req.path}: the API server answered ${res.statusCode} with a body that is not JSON`);
    }
  }

  async *watch(path: string, query: Readonly<Record<string, string>>, signal: AbortSignal, hooks?: WatchHooks): AsyncGenerator<WatchEvent> {
    let res: Opened;
    try {
      res = await this.#open('GET', path, { ...query, watch: 'true' }, undefined, undefined, signal, true);
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
    try {
      hooks?.onOpen?.();
      yield* watchEvents(res.body, this.#maxLine);
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    } finally {
      // Leaving early (break, abort, error) must release the connection.
      if (!res.body.destroyed) res.body.destroy();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Watches never finish on their own: do not wait for them.
    await this.#agent.destroy();
  }

  /** Sends a request; resolves with a 2xx response whose body is still to be read; rejects with KubeApiError otherwise. */
  async #open(
    method: KubeRequest['method'],
    path: string,
    query: Readonly<Record<string, string>> | undefined,
    body: unknown,
    contentType: string | undefined,
    signal: AbortSignal | undefined,
    watch: boolean,
  ): Promise<Opened> {
    if (this.#closed) throw new Error('the Kubernetes client is closed');
    const payload = body === undefined ? undefined : JSON.stringify(body);
    let refreshed = false;
    for (;;) {
      const auth = await this.#conn.authHeaders(refreshed ? { refresh: true } : undefined);
      const headers: Record<string, string> = { ...auth, accept: 'application/json', 'user-agent': this.#userAgent };
      if (payload !== undefined) headers['content-type'] = contentType ?? 'application/json';
      const res = await this.#dispatcher().request({
        origin: this.#origin,
        path: this.#prefix + withQuery(path, query),
        method,
        headers,
        body: payload ?? null,
        signal: signal ?? null,
        headersTimeout: this.#headersTimeout,
        bodyTimeout: watch ? 0 : this.#bodyTimeout,
      });
      if (res.statusCode >= 200 && res.statusCode < 300) return res;
      const error = await toApiError(method, path, res);
      // Credentials may have rotated (projected token, expired exec credential): reload them once.
      if (res.statusCode === 401 && !refreshed) {
        refreshed = true;
        continue;
      }
      throw error;
    }
  }

  /** The pool; rebuilt (and the old one drained) when the CA or client certificate changed on disk. */
  #dispatcher(): Agent {
    const tls = this.#conn.tls;
    if (tls !== this.#agentTls) {
      const old = this.#agent;
      this.#agentTls = tls;
      this.#agent = this.#newAgent(tls);
      void old.close().catch(() => {});
    }
    return this.#agent;
  }

  #newAgent(tls: TlsMaterial): Agent {
    return new Agent({
      keepAliveTimeout: this.#keepAliveTimeout,
      headersTimeout: this.#headersTimeout,
      bodyTimeout: this.#bodyTimeout,
      connect: {
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        ...(tls.cert === undefined ? {} : { cert: tls.cert }),
        ...(tls.key === undefined ? {} : { key: tls.key }),
        ...(tls.servername === undefined ? {} : { servername: tls.servername }),
        rejectUnauthorized: !tls.skipTLSVerify,
        keepAlive: true,
        keepAliveInitialDelay: 30_000,
      },
    });
  }
}

function withQuery(path: string, query: Readonly<Record<string, string>> | undefined): string {
  if (query === undefined) return path;
  const qs = new URLSearchParams(Object.entries(query)).toString();
  return qs === '' ? path : `${path}?${qs}`;
}

/** Builds the error for a non-2xx answer from its Status body (or whatever body it has). */
async function toApiError(method: string, path: string, res: Opened): Promise<KubeApiError> {
  let text = '';
  try {
    text = await res.body.text();
  } catch {
    // The body is only for the message.
  }
  let status: { reason?: unknown; message?: unknown; details?: { retryAfterSeconds?: unknown } } | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && (parsed as { kind?: unknown }).kind === 'Status') status = parsed as typeof status;
  } catch {
    // Not JSON: a proxy or load balancer answered.
  }
  const reason = typeof status?.reason === 'string' && status.reason !== '' ? status.reason : (DEFAULT_REASONS[res.statusCode] ?? '');
  const message =
    typeof status?.message === 'string' && status.message !== ''
      ? status.message
      : `${method} ${path}: HTTP ${res.statusCode}${text === '' ? '' : `: ${text.slice(0, MAX_ERROR_BODY).trim().slice(0, 200)}`}`;
  const retryAfter = parseRetryAfter(res.headers['retry-after']) ?? positiveNumber(status?.details?.retryAfterSeconds);
  return new KubeApiError(res.statusCode, reason, message, retryAfter);
}

/** Retry-After as seconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

function positiveNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}
