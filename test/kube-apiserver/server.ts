// startTestApiServer: the in-process test Kubernetes API server. Owns the
// listener (http or https on 127.0.0.1, port 0), the open sockets and
// watches (for the fault switches), the journal, and the in-process
// seeding API that writes through the same registry code as HTTP.

import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHandler, type FaultState, type InjectedStatus, type JournalEntry } from './handler.ts';
import { renderKubeconfig } from './kubeconfig.ts';
import { createObject, deleteObject, patchObject, toApi, updateObject } from './registry.ts';
import { findByKind, type KubeObject, type ResourceDef } from './resources.ts';
import { metaOf, Store } from './store.ts';
import { generateTestPki, type TestPki } from './tls.ts';
import type { OpenWatch, WatchSettings } from './watch.ts';

export interface TestApiServerOptions {
  /** Serve TLS with a freshly generated test CA (needs the openssl CLI). */
  https?: boolean;
  /** Require `Authorization: Bearer <token>`; anything else gets a 401 Status. */
  token?: string;
  /** Period of watch bookmarks (the real server: 60 s). Default 1000. */
  bookmarkIntervalMs?: number;
  /** Changes kept for watch resumes and continue tokens. Default 1000. */
  historySize?: number;
  /** false: refuse sendInitialEvents with 422, as with the WatchList gate off. Default true. */
  watchList?: boolean;
  /** Port on 127.0.0.1; default 0 (any free port). Only the CLI should set it. */
  port?: number;
}

export interface TestApiServerFaults {
  /** Clean end of every open watch stream (like a server-side timeout). */
  closeWatches(): void;
  /** Destroys every socket, mid-stream or idle. */
  destroyConnections(): void;
  /** Drops the watch history: resumes from any earlier revision get 410, continue tokens expire. */
  compact(): void;
  /** The next `n` requests fail with this status (429 TooManyRequests, 500, 503, 504 ResourceVersionTooLarge). */
  failNext(n: number, status: InjectedStatus, opts?: { retryAfterSeconds?: number }): void;
  /** Delays every response head by `ms` (0 turns it off). */
  delay(ms: number): void;
  suppressBookmarks(on: boolean): void;
  /** on: every open and new watch stays connected but sends nothing, ever (a silent stall). */
  stall(on: boolean): void;
  /** Keeps the store, drops all connections, refuses connections for `downMs`, then listens on the same port. */
  restart(downMs: number): Promise<void>;
}

export interface TestApiServer {
  readonly url: string;
  readonly port: number;
  /** The test CA (https mode only). */
  readonly caPem?: string;
  readonly certPem?: string;
  readonly keyPem?: string;
  /** YAML text of a kubeconfig for this server (token and CA included). */
  kubeconfig(opts?: { namespace?: string }): string;
  /** Creates an object (apiVersion/kind pick the resource; namespace defaults to "default"); returns what was stored. */
  create(obj: KubeObject): KubeObject;
  /** PUT semantics: conditional if metadata.resourceVersion is set. */
  update(obj: KubeObject): KubeObject;
  /** PUT on /status. */
  updateStatus(obj: KubeObject): KubeObject;
  /** Merge patch (or another patch type) on the object. */
  patch(apiVersion: string, kind: string, namespace: string | undefined, name: string, patch: unknown, contentType?: string): KubeObject;
  /** Merge patch on /status. */
  patchStatus(apiVersion: string, kind: string, namespace: string | undefined, name: string, patch: unknown): KubeObject;
  delete(apiVersion: string, kind: string, namespace: string | undefined, name: string): void;
  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(apiVersion: string, kind: string, namespace?: string): KubeObject[];
  /** The current global resourceVersion. */
  readonly resourceVersion: string;
  /** Every request so far, oldest first. */
  readonly journal: JournalEntry[];
  readonly faults: TestApiServerFaults;
  close(): Promise<void>;
}

function defFor(apiVersion: string, kind: string): ResourceDef {
  const def = findByKind(apiVersion, kind);
  if (def === undefined) throw new Error(`test API server: no resource for ${apiVersion} ${kind}`);
  return def;
}

function scopeOf(def: ResourceDef, namespace: string | undefined): string | undefined {
  return def.namespaced ? (namespace === undefined || namespace === '' ? 'default' : namespace) : undefined;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function stopListening(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startTestApiServer(options: TestApiServerOptions = {}): Promise<TestApiServer> {
  const store = new Store(options.historySize ?? 1000);
  const settings: WatchSettings = {
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1000,
    suppressBookmarks: false,
    stall: false,
    watchList: options.watchList ?? true,
  };
  const watches = new Set<OpenWatch>();
  const journal: JournalEntry[] = [];
  const faultState: FaultState = { failures: [], delayMs: 0 };
  const sockets = new Set<Socket>();
  const pki: TestPki | undefined = options.https ? generateTestPki() : undefined;
  let port = 0;

  const handler = createHandler({
    store, settings, watches, journal, faults: faultState, token: options.token,
    serverAddress: () => `127.0.0.1:${port}`,
  });
  const server: Server = pki === undefined
    ? createHttpServer(handler)
    : createHttpsServer({ cert: pki.certPem, key: pki.keyPem }, handler);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  port = await listen(server, options.port ?? 0);

  for (const ns of ['default', 'kube-system', 'kube-public']) {
    createObject(store, defFor('v1', 'Namespace'), undefined, { metadata: { name: ns } });
  }

  const destroyAll = (): void => {
    for (const s of sockets) s.destroy();
  };
  const scheme = pki === undefined ? 'http' : 'https';
  const url = `${scheme}://127.0.0.1:${port}`;

  const faults: TestApiServerFaults = {
    closeWatches: () => {
      for (const w of watches) w.end();
    },
    destroyConnections: destroyAll,
    compact: () => store.compact(),
    failNext: (n, status, opts) => {
      for (let i = 0; i < n; i++) {
        faultState.failures.push(opts?.retryAfterSeconds === undefined ? { status } : { status, retryAfterSeconds: opts.retryAfterSeconds });
      }
    },
    delay: (ms) => {
      faultState.delayMs = ms;
    },
    suppressBookmarks: (on) => {
      settings.suppressBookmarks = on;
    },
    stall: (on) => {
      settings.stall = on;
      if (on) for (const w of watches) w.silence();
    },
    restart: async (downMs) => {
      for (const w of watches) w.end();
      destroyAll();
      await stopListening(server);
      await sleep(downMs);
      await listen(server, port);
    },
  };

  return {
    url,
    port,
    ...(pki === undefined ? {} : { caPem: pki.caPem, certPem: pki.certPem, keyPem: pki.keyPem }),
    kubeconfig: (opts) => renderKubeconfig({
      url,
      ...(pki === undefined ? {} : { caPem: pki.caPem }),
      ...(options.token === undefined ? {} : { token: options.token }),
      ...(opts?.namespace === undefined ? {} : { namespace: opts.namespace }),
    }),
    create: (obj) => {
      const def = defFor(String(obj['apiVersion']), String(obj['kind']));
      const meta = (obj['metadata'] ?? {}) as Record<string, unknown>;
      return createObject(store, def, scopeOf(def, meta['namespace'] as string | undefined), obj);
    },
    update: (obj) => {
      const def = defFor(String(obj['apiVersion']), String(obj['kind']));
      const meta = metaOf(obj);
      return updateObject(store, def, scopeOf(def, meta['namespace'] as string | undefined), String(meta['name']), obj);
    },
    updateStatus: (obj) => {
      const def = defFor(String(obj['apiVersion']), String(obj['kind']));
      const meta = metaOf(obj);
      return updateObject(store, def, scopeOf(def, meta['namespace'] as string | undefined), String(meta['name']), obj, { subresource: 'status' });
    },
    patch: (apiVersion, kind, namespace, name, patch, contentType = 'application/merge-patch+json') => {
      const def = defFor(apiVersion, kind);
      return patchObject(store, def, scopeOf(def, namespace), name, contentType, patch);
    },
    patchStatus: (apiVersion, kind, namespace, name, patch) => {
      const def = defFor(apiVersion, kind);
      return patchObject(store, def, scopeOf(def, namespace), name, 'application/merge-patch+json', patch, { subresource: 'status' });
    },
    delete: (apiVersion, kind, namespace, name) => {
      const def = defFor(apiVersion, kind);
      deleteObject(store, def, scopeOf(def, namespace), name);
    },
    get: (apiVersion, kind, namespace, name) => {
      const def = defFor(apiVersion, kind);
      const stored = store.get(def.storage, scopeOf(def, namespace), name);
      return stored === undefined ? undefined : toApi(def, stored);
    },
    list: (apiVersion, kind, namespace) => {
      const def = defFor(apiVersion, kind);
      return store.list(def.storage, def.namespaced ? namespace : undefined).map((o) => toApi(def, o));
    },
    get resourceVersion() {
      return String(store.resourceVersion);
    },
    journal,
    faults,
    close: async () => {
      for (const w of watches) w.end();
      destroyAll();
      if (server.listening) await stopListening(server);
    },
  };
}
