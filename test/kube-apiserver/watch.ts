// Watch streams (kubernetes-api.md §2.4–§2.6): headers flushed at once,
// newline-delimited JSON events, resume from a resourceVersion through the
// bounded history, 410 as an ERROR event inside a 200 stream, bookmarks,
// timeoutSeconds, selector transitions, and sendInitialEvents streaming
// lists. Changes are delivered synchronously from the store's commit, so a
// bookmark's resourceVersion never runs ahead of an undelivered event.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { toApi } from './registry.ts';
import { apiVersionOf, type KubeObject, type ResourceDef } from './resources.ts';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { metaOf, type Change, type Store } from './store.ts';
import { parseRv } from './list.ts';
import { failure, invalid, type FieldError } from './status.ts';

export interface WatchSettings {
  bookmarkIntervalMs: number;
  suppressBookmarks: boolean;
  /** New watches start silent (and stay so): the stall fault. */
  stall: boolean;
  /** false: sendInitialEvents is refused with 422 as with the WatchList gate off. */
  watchList: boolean;
}

/** One open watch, as the fault switches see it. */
export interface OpenWatch {
  /** Clean end of stream, like a server-side timeout. */
  end(): void;
  /** Stop sending anything while keeping the connection open. */
  silence(): void;
}

export interface WatchEventLine {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

/** Checks the query before the 200 goes out; throws StatusError for 400/422/504. */
function checkWatchQuery(def: ResourceDef, query: Readonly<Record<string, string>>, settings: WatchSettings): void {
  const sendInitial = query['sendInitialEvents'];
  const match = query['resourceVersionMatch'];
  const errors: FieldError[] = [];
  if (sendInitial !== undefined) {
    if (!settings.watchList) {
      errors.push({ type: 'FieldValueForbidden', field: 'sendInitialEvents', detail: 'Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled' });
    } else {
      if (match !== 'NotOlderThan') errors.push({ type: 'FieldValueForbidden', field: 'resourceVersionMatch', detail: 'Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan' });
      if (query['allowWatchBookmarks'] !== 'true') errors.push({ type: 'FieldValueForbidden', field: 'allowWatchBookmarks', detail: 'Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true' });
    }
  } else if (match !== undefined && match !== '') {
    errors.push({ type: 'FieldValueForbidden', field: 'resourceVersionMatch', detail: 'Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided' });
  }
  if (errors.length > 0) throw invalid('ListOptions', 'meta.k8s.io', '', errors);
  void def;
}

export function serveWatch(
  req: IncomingMessage, res: ServerResponse, store: Store, def: ResourceDef, namespace: string | undefined,
  query: Readonly<Record<string, string>>, settings: WatchSettings, registry: Set<OpenWatch>,
): void {
  checkWatchQuery(def, query, settings);
  const labels = parseLabelSelector(query['labelSelector']);
  const fields = parseFieldSelector(query['fieldSelector'], def);
  const sendInitial = query['sendInitialEvents'] === 'true';
  const rv = parseRv(query['resourceVersion'] ?? '', store);
  const bookmarks = query['allowWatchBookmarks'] === 'true';
  const timeoutText = query['timeoutSeconds'];
  const timeoutMs = timeoutText === undefined || timeoutText === '' ? 0 : Number(timeoutText) * 1000;

  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
  res.flushHeaders();

  let silent = settings.stall;
  let closed = false;
  let bookmarkTimer: NodeJS.Timeout | undefined;
  let deadlineTimer: NodeJS.Timeout | undefined;
  const subscription: { stop?: () => void } = {};

  const send = (line: WatchEventLine): void => {
    if (closed || silent) return;
    res.write(`${JSON.stringify(line)}\n`);
  };
  const finish = (): void => {
    if (closed) return;
    closed = true;
    cleanup();
    res.end();
  };
  const cleanup = (): void => {
    subscription.stop?.();
    clearTimeout(bookmarkTimer);
    clearTimeout(deadlineTimer);
    registry.delete(handle);
  };
  const handle: OpenWatch = { end: finish, silence: () => { silent = true; } };
  registry.add(handle);
  res.on('close', () => {
    closed = true;
    cleanup();
  });

  const bookmark = (annotations?: Record<string, string>): void => {
    if (settings.suppressBookmarks) return;
    const metadata: Record<string, unknown> = { resourceVersion: String(store.resourceVersion) };
    if (annotations !== undefined) metadata['annotations'] = annotations;
    send({ type: 'BOOKMARK', object: { kind: def.kind, apiVersion: apiVersionOf(def), metadata } });
  };

  const inScope = (obj: KubeObject): boolean => namespace === undefined || metaOf(obj)['namespace'] === namespace;
  const selected = (api: KubeObject): boolean => labels(api) && fields(api);

  const deliver = (change: Change): void => {
    if (change.storage !== def.storage || !inScope(change.object)) return;
    const now = toApi(def, change.object);
    if (change.type === 'ADDED') {
      if (selected(now)) send({ type: 'ADDED', object: now });
      return;
    }
    if (change.type === 'DELETED') {
      if (selected(now)) send({ type: 'DELETED', object: now });
      return;
    }
    const before = change.previous === undefined ? undefined : toApi(def, change.previous);
    const wasIn = before !== undefined && selected(before);
    const isIn = selected(now);
    if (isIn && wasIn) send({ type: 'MODIFIED', object: now });
    else if (isIn) send({ type: 'ADDED', object: now });
    else if (wasIn) {
      // Leaving the selection: the old state, stamped with this change's revision.
      const gone = structuredClone(before);
      metaOf(gone)['resourceVersion'] = String(change.rv);
      send({ type: 'DELETED', object: gone });
    }
  };

  if (rv === undefined || sendInitial) {
    // "" / "0" / streaming list: the current state as synthetic ADDED events.
    for (const obj of store.list(def.storage, namespace)) {
      const api = toApi(def, obj);
      if (selected(api)) send({ type: 'ADDED', object: api });
    }
    if (sendInitial) bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    const missed = store.changesSince(rv);
    if (missed === undefined) {
      // Too old: 200, one ERROR event with the 410 Status, end of stream.
      send({ type: 'ERROR', object: failure(410, 'Expired', `too old resource version: ${rv} (${store.historyStart + 1})`) as unknown as KubeObject });
      finish();
      return;
    }
    for (const change of missed) deliver(change);
  }
  subscription.stop = store.subscribe(deliver);

  if (bookmarks && settings.bookmarkIntervalMs > 0) {
    const tick = (): void => {
      bookmark();
      bookmarkTimer = setTimeout(tick, settings.bookmarkIntervalMs);
    };
    bookmarkTimer = setTimeout(tick, settings.bookmarkIntervalMs);
  }
  if (timeoutMs > 0) {
    deadlineTimer = setTimeout(() => {
      // The real cacher sends a last bookmark just before the deadline.
      if (bookmarks) bookmark();
      finish();
    }, timeoutMs);
  }
  void req;
}
