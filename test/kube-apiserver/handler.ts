// The HTTP front: journal, injected faults, bearer-token check, body
// decoding, then dispatch to discovery, list/watch or the registry. Every
// failure leaves as a full Status body with the matching HTTP code.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from './discovery.ts';
import { listObjects } from './list.ts';
import { createObject, deleteObject, patchObject, toApi, updateObject, type DeleteOptions } from './registry.ts';
import { parseRoute, type Route } from './routes.ts';
import type { Store } from './store.ts';
import {
  badRequest, failure, methodNotAllowed, notFound, resourceVersionTooLarge, StatusError, unauthorized, unknownPath, unsupportedMediaType,
} from './status.ts';
import { serveWatch, type OpenWatch, type WatchSettings } from './watch.ts';

export interface JournalEntry {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly contentType?: string;
  /** Parsed JSON body (or the raw text when it was not JSON). */
  body?: unknown;
  /** HTTP status of the answer; 0 while no head was sent. */
  status: number;
}

export type InjectedStatus = 429 | 500 | 503 | 504;

export interface FaultState {
  failures: Array<{ status: InjectedStatus; retryAfterSeconds?: number }>;
  delayMs: number;
}

export interface HandlerContext {
  readonly store: Store;
  readonly settings: WatchSettings;
  readonly watches: Set<OpenWatch>;
  readonly journal: JournalEntry[];
  readonly faults: FaultState;
  readonly token: string | undefined;
  /** host:port for APIVersions.serverAddressByClientCIDRs. */
  serverAddress(): string;
}

const MAX_BODY = 8 * 1024 * 1024;

function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', ...headers, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendStatusError(res: ServerResponse, err: StatusError): void {
  const headers = { ...err.headers };
  delete headers['x-rejected-content-type'];
  sendJson(res, err.code, err.body, headers);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new StatusError(failure(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 8388608'));
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function injectedFailure(f: { status: InjectedStatus; retryAfterSeconds?: number }, store: Store): StatusError {
  const headers: Record<string, string> = f.retryAfterSeconds === undefined ? {} : { 'retry-after': String(f.retryAfterSeconds) };
  const retry = f.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: f.retryAfterSeconds };
  switch (f.status) {
    case 429: {
      const seconds = f.retryAfterSeconds ?? 1;
      return new StatusError(failure(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: seconds }), { 'retry-after': String(seconds) });
    }
    case 500:
      return new StatusError(failure(500, 'InternalError', 'Internal error occurred: injected by the test API server', { causes: [{ reason: '', message: 'injected by the test API server' }], ...retry }), headers);
    case 503:
      return new StatusError(failure(503, 'ServiceUnavailable', 'the server is currently unable to handle the request', { ...retry }), headers);
    case 504: {
      const err = resourceVersionTooLarge(String(store.resourceVersion + 1), String(store.resourceVersion));
      return new StatusError(err.body, { ...err.headers, ...headers });
    }
  }
}

/** Media type without parameters, lower-cased. */
function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

export function createHandler(ctx: HandlerContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void handle(ctx, req, res).catch((err: unknown) => {
      if (err instanceof StatusError) sendStatusError(res, err);
      else sendJson(res, 500, failure(500, 'InternalError', `Internal error occurred: ${String(err)}`, {}));
    });
  };
}

async function handle(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://test.invalid');
  const query = Object.fromEntries(url.searchParams.entries());
  const method = req.method ?? 'GET';
  const contentType = req.headers['content-type'];
  const entry: JournalEntry = { method, path: url.pathname, query, status: 0, ...(contentType === undefined ? {} : { contentType }) };
  ctx.journal.push(entry);
  const record = (): void => {
    if (res.headersSent && entry.status === 0) entry.status = res.statusCode;
  };
  res.on('finish', record);
  res.on('close', record);

  const text = method === 'GET' || method === 'HEAD' ? '' : await readBody(req);
  let body: unknown;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    entry.body = body;
  }

  try {
    if (ctx.faults.delayMs > 0) await sleep(ctx.faults.delayMs);
    const injected = ctx.faults.failures.shift();
    if (injected !== undefined) throw injectedFailure(injected, ctx.store);
    if (ctx.token !== undefined && req.headers.authorization !== `Bearer ${ctx.token}`) throw unauthorized();
    if (text !== '' && typeof body === 'string') {
      throw badRequest(`couldn't get version/kind; json parse error: invalid JSON in the request body`);
    }
    dispatch(ctx, req, res, parseRoute(url.pathname), method, query, mediaType(contentType), body);
  } catch (err) {
    if (err instanceof StatusError) sendStatusError(res, err);
    else throw err;
  } finally {
    record();
  }
}

function dispatch(
  ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, route: Route, method: string,
  query: Record<string, string>, contentType: string, body: unknown,
): void {
  if (route.kind !== 'resource') {
    if (method !== 'GET') throw methodNotAllowed();
    switch (route.kind) {
      case 'version': return sendJson(res, 200, SERVER_VERSION);
      case 'health':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('ok');
        return;
      case 'api': return sendJson(res, 200, apiVersions(ctx.serverAddress()));
      case 'apis': return sendJson(res, 200, apiGroupList());
      case 'group': {
        const group = (apiGroupList()['groups'] as Array<Record<string, unknown>>).find((g) => g['name'] === route.group);
        if (group === undefined) throw unknownPath();
        return sendJson(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...group });
      }
      case 'resources': {
        const list = apiResourceList(route.group, route.version);
        if (list === undefined) throw unknownPath();
        return sendJson(res, 200, list);
      }
      case 'unknown': throw unknownPath();
    }
  }

  const { def, namespace, name, subresource } = route;
  const dryRun = query['dryRun'] === 'All';
  if (query['dryRun'] !== undefined && !dryRun) throw badRequest(`dryRun: Unsupported value: "${query['dryRun']}": supported values: "All"`);

  if (name === undefined) {
    if (method === 'GET') {
      if (query['watch'] === '1' || query['watch'] === 'true') {
        serveWatch(req, res, ctx.store, def, namespace, query, ctx.settings, ctx.watches);
        return;
      }
      return sendJson(res, 200, listObjects(ctx.store, def, namespace, query));
    }
    if (method === 'POST') {
      if (def.namespaced && namespace === undefined) throw methodNotAllowed();
      requireJson(contentType);
      return sendJson(res, 201, createObject(ctx.store, def, namespace, body, { dryRun }));
    }
    throw methodNotAllowed();
  }

  const statusOnly = subresource === 'status' ? { subresource: 'status' as const } : {};
  switch (method) {
    case 'GET': {
      const stored = ctx.store.get(def.storage, namespace, name);
      if (stored === undefined) throw notFound(def, name);
      return sendJson(res, 200, toApi(def, stored));
    }
    case 'PUT':
      requireJson(contentType);
      return sendJson(res, 200, updateObject(ctx.store, def, namespace, name, body, { dryRun, ...statusOnly }));
    case 'PATCH':
      return sendJson(res, 200, patchObject(ctx.store, def, namespace, name, contentType, body, { dryRun, ...statusOnly }));
    case 'DELETE': {
      if (subresource !== undefined) throw methodNotAllowed();
      const result = deleteObject(ctx.store, def, namespace, name, { dryRun, ...deleteOptions(body) });
      return sendJson(res, 200, result);
    }
    default:
      throw methodNotAllowed();
  }
}

function requireJson(contentType: string): void {
  if (contentType !== '' && contentType !== 'application/json') {
    throw unsupportedMediaType(contentType, ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf']);
  }
}

/** DeleteOptions body: only preconditions matter here. */
function deleteOptions(body: unknown): Pick<DeleteOptions, 'preconditions'> {
  if (body === null || typeof body !== 'object') return {};
  const pre = (body as { preconditions?: unknown }).preconditions;
  if (pre === null || typeof pre !== 'object') return {};
  const { uid, resourceVersion } = pre as { uid?: unknown; resourceVersion?: unknown };
  return {
    preconditions: {
      ...(typeof uid === 'string' ? { uid } : {}),
      ...(typeof resourceVersion === 'string' ? { resourceVersion } : {}),
    },
  };
}
