// A minimal undici client for the test server's own tests: one call helper
// returning status + parsed JSON, and a watch reader that splits the
// stream into events and lets a test await them one by one.

import { request, type Dispatcher } from 'undici';

export interface CallOptions {
  readonly body?: unknown;
  readonly contentType?: string;
  readonly query?: Record<string, string>;
  readonly token?: string;
  readonly dispatcher?: Dispatcher;
}

export interface CallResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly json: Record<string, unknown>;
}

function withQuery(path: string, query?: Record<string, string>): string {
  if (query === undefined || Object.keys(query).length === 0) return path;
  return `${path}?${new URLSearchParams(query).toString()}`;
}

export async function call(baseUrl: string, method: Dispatcher.HttpMethod, path: string, opts: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;
  const res = await request(`${baseUrl}${withQuery(path, opts.query)}`, {
    method,
    headers,
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
    ...(opts.dispatcher === undefined ? {} : { dispatcher: opts.dispatcher }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: text === '' ? {} : JSON.parse(text) as Record<string, unknown> };
}

export interface WatchEvent {
  readonly type: string;
  readonly object: Record<string, unknown> & { metadata: Record<string, unknown> };
}

export interface WatchReader {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The next event; undefined once the stream ended; rejects after `timeoutMs` without one. */
  next(timeoutMs?: number): Promise<WatchEvent | undefined>;
  /** Resolves when the server ends the stream; rejects if the connection fails. */
  readonly ended: Promise<void>;
  close(): void;
}

export async function openWatch(baseUrl: string, path: string, query: Record<string, string>, dispatcher?: Dispatcher, token?: string): Promise<WatchReader> {
  const controller = new AbortController();
  const res = await request(`${baseUrl}${withQuery(path, { watch: '1', ...query })}`, {
    signal: controller.signal,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    ...(dispatcher === undefined ? {} : { dispatcher }),
  });
  const queue: WatchEvent[] = [];
  const waiters: Array<() => void> = [];
  const state = { done: false };
  let buffer = '';
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  const ended = (async () => {
    try {
      for await (const chunk of res.body) {
        buffer += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.trim() !== '') queue.push(JSON.parse(line) as WatchEvent);
        }
        wake();
      }
    } finally {
      state.done = true;
      wake();
    }
  })();
  ended.catch(() => {});
  return {
    status: res.statusCode,
    headers: res.headers,
    ended,
    close: () => controller.abort(),
    next: async (timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs;
      // state.done flips in the reader loop above while this one awaits.
      while (queue.length === 0 && !state.done) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no watch event within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return queue.shift();
    },
  };
}

/** Reads events until one satisfies `pred` (skipping bookmarks etc.). */
export async function nextMatching(w: WatchReader, pred: (e: WatchEvent) => boolean, timeoutMs = 5000): Promise<WatchEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = await w.next(Math.max(1, deadline - Date.now()));
    if (e === undefined) throw new Error('watch ended before the expected event');
    if (pred(e)) return e;
  }
}

export const INGRESSES = '/apis/networking.k8s.io/v1/namespaces/default/ingresses';

export function ingress(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: 'default', ...(extra['metadata'] as object | undefined) },
    spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'metadata')),
  };
}
