// The one adapter around @kubernetes/client-node: only its KubeConfig, to
// read kubeconfig files and in-cluster service-account settings and to turn
// them into a server URL, TLS material and auth headers (bearer tokens,
// exec plugins, auth providers, rotated token files). Everything else in the
// Kubernetes client is ours (client.ts). The library is loaded with a
// dynamic import, so standalone mode never pays its start-up cost.

import { access, readFile } from 'node:fs/promises';
import type { RequestOptions } from 'node:https';
import { join } from 'node:path';

/** The service-account directory Kubernetes mounts into every pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Auth headers are reused this long before the credential plugin or token file is consulted again. */
const AUTH_CACHE_MS = 60_000;

export interface TlsMaterial {
  readonly ca: Buffer | undefined;
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
  readonly skipTLSVerify: boolean;
  /** tls-server-name from the kubeconfig, for SNI and certificate checks. */
  readonly servername: string | undefined;
}

export interface ClusterConnection {
  /** API server base URL without a trailing slash, e.g. "https://10.0.0.1:443". */
  readonly server: string;
  /** Where the settings came from: "in-cluster" or the kubeconfig file(s). */
  readonly source: string;
  readonly inCluster: boolean;
  /** The current context's namespace (in-cluster: the service account's namespace). */
  readonly namespace: string | undefined;
  /** TLS material as last loaded; a new object (not a mutated one) when the bytes changed. */
  readonly tls: TlsMaterial;
  /**
   * Headers that authenticate a request (Authorization, Impersonate-User),
   * cached for about a minute. `refresh: true` reloads credentials now: call
   * it after a 401.
   */
  authHeaders(options?: { readonly refresh?: boolean }): Promise<Record<string, string>>;
}

export interface LoadConnectionOptions {
  /** --kubeconfig: wins over everything else. */
  readonly kubeconfigPath?: string;
  /** true: in-cluster only; false: never in-cluster; undefined: in-cluster when the pod environment is present. */
  readonly inCluster?: boolean;
  /** Test hooks: the environment and the service-account directory (default process.env and SERVICE_ACCOUNT_DIR). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly serviceAccountDir?: string;
}

/** The narrow slice of client-node's KubeConfig this adapter uses. */
interface KubeConfigLike {
  loadFromFile(file: string): void;
  loadFromDefault(): void;
  loadFromClusterAndUser(cluster: unknown, user: unknown): void;
  getCurrentCluster(): { readonly server: string; readonly skipTLSVerify?: boolean; readonly tlsServerName?: string } | null;
  getCurrentContext(): string;
  getContextObject(name: string): { readonly namespace?: string } | null;
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
}

type Loader = () => Promise<{ kc: KubeConfigLike; namespace: string | undefined }>;

/** Finds the cluster to talk to: --kubeconfig, else in-cluster, else $KUBECONFIG or ~/.kube/config. */
export async function loadConnection(opts: LoadConnectionOptions = {}): Promise<ClusterConnection> {
  const env = opts.env ?? process.env;
  const saDir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (opts.kubeconfigPath !== undefined) {
    const path = opts.kubeconfigPath;
    return KubeConfigConnection.create(path, false, async () => {
      const kc = await newKubeConfig();
      kc.loadFromFile(path);
      return { kc, namespace: contextNamespace(kc) };
    });
  }
  const inClusterAvailable = opts.inCluster !== false && (await inClusterPresent(env, saDir));
  if (opts.inCluster === true && !inClusterAvailable) {
    throw new Error(`in-cluster configuration requested but not available: KUBERNETES_SERVICE_HOST/PORT and ${join(saDir, 'token')} are needed`);
  }
  if (inClusterAvailable) return KubeConfigConnection.create('in-cluster', true, () => loadInCluster(env, saDir));
  const where = env.KUBECONFIG !== undefined && env.KUBECONFIG !== '' ? env.KUBECONFIG : '~/.kube/config';
  return KubeConfigConnection.create(where, false, async () => {
    const kc = await newKubeConfig();
    kc.loadFromDefault();
    return { kc, namespace: contextNamespace(kc) };
  });
}

/** The controller's own namespace (for its Lease): POD_NAMESPACE, else the service account's, else the kubeconfig context's, else "default". */
export async function resolveControllerNamespace(
  conn: ClusterConnection | undefined,
  options: { readonly env?: Readonly<Record<string, string | undefined>>; readonly serviceAccountDir?: string } = {},
): Promise<string> {
  const env = options.env ?? process.env;
  const fromEnv = env.POD_NAMESPACE?.trim();
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const fromFile = await readOptional(join(options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR, 'namespace'));
  if (fromFile !== undefined && fromFile.trim() !== '') return fromFile.trim();
  const fromContext = conn?.namespace?.trim();
  if (fromContext !== undefined && fromContext !== '') return fromContext;
  return 'default';
}

class KubeConfigConnection implements ClusterConnection {
  readonly server: string;
  readonly source: string;
  readonly inCluster: boolean;
  readonly namespace: string | undefined;
  readonly #load: Loader;
  #kc: KubeConfigLike;
  #tls: TlsMaterial;
  #cached: { readonly headers: Record<string, string>; readonly at: number } | undefined;
  #inflight: Promise<Record<string, string>> | undefined;

  private constructor(source: string, inCluster: boolean, load: Loader, kc: KubeConfigLike, namespace: string | undefined, server: string) {
    this.source = source;
    this.inCluster = inCluster;
    this.#load = load;
    this.#kc = kc;
    this.namespace = namespace;
    this.server = server;
    this.#tls = { ca: undefined, cert: undefined, key: undefined, skipTLSVerify: false, servername: undefined };
  }

  static async create(source: string, inCluster: boolean, load: Loader): Promise<KubeConfigConnection> {
    const { kc, namespace } = await load();
    const cluster = kc.getCurrentCluster();
    if (cluster === null || cluster.server === '') throw new Error(`kubeconfig ${source}: no current cluster (set current-context or pass --kubeconfig)`);
    const conn = new KubeConfigConnection(source, inCluster, load, kc, namespace, cluster.server.replace(/\/+$/, ''));
    // Reads credentials once now, so a broken kubeconfig fails at start-up, not at the first watch.
    await conn.authHeaders();
    return conn;
  }

  get tls(): TlsMaterial {
    return this.#tls;
  }

  authHeaders(options: { readonly refresh?: boolean } = {}): Promise<Record<string, string>> {
    const cached = this.#cached;
    if (options.refresh !== true && cached !== undefined && Date.now() - cached.at < AUTH_CACHE_MS) return Promise.resolve(cached.headers);
    // Single flight: concurrent requests at expiry share one plugin run.
    this.#inflight ??= this.#reload(options.refresh === true).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #reload(fresh: boolean): Promise<Record<string, string>> {
    // A fresh KubeConfig has fresh authenticators: the token file is re-read
    // and exec plugins run again instead of answering from their caches.
    if (fresh) this.#kc = (await this.#load()).kc;
    const opts: RequestOptions = {};
    try {
      await this.#kc.applyToHTTPSOptions(opts);
    } catch (error) {
      throw new Error(`kubeconfig ${this.source}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(opts.headers ?? {})) {
      if (value === undefined) continue;
      // Token files often end with a newline, which is not allowed in a header.
      headers[name] = (Array.isArray(value) ? value.join(', ') : String(value)).trim();
    }
    if (typeof opts.auth === 'string' && opts.auth !== '' && headers.Authorization === undefined) {
      headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    }
    this.#updateTls(opts);
    this.#cached = { headers, at: Date.now() };
    return headers;
  }

  #updateTls(opts: RequestOptions): void {
    const cluster = this.#kc.getCurrentCluster();
    const next: TlsMaterial = {
      ca: toBuffer(opts.ca),
      cert: toBuffer(opts.cert),
      key: toBuffer(opts.key),
      skipTLSVerify: cluster?.skipTLSVerify === true || opts.rejectUnauthorized === false,
      servername: typeof opts.servername === 'string' && opts.servername !== '' ? opts.servername : undefined,
    };
    const cur = this.#tls;
    const same =
      sameBytes(cur.ca, next.ca) && sameBytes(cur.cert, next.cert) && sameBytes(cur.key, next.key) && cur.skipTLSVerify === next.skipTLSVerify && cur.servername === next.servername;
    if (!same) this.#tls = next;
  }
}

async function newKubeConfig(): Promise<KubeConfigLike> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  return new KubeConfig() as unknown as KubeConfigLike;
}

async function inClusterPresent(env: Readonly<Record<string, string | undefined>>, saDir: string): Promise<boolean> {
  if (env.KUBERNETES_SERVICE_HOST === undefined || env.KUBERNETES_SERVICE_HOST === '' || env.KUBERNETES_SERVICE_PORT === undefined) return false;
  try {
    await access(join(saDir, 'token'));
    return true;
  } catch {
    return false;
  }
}

/**
 * client-node's loadFromCluster reads the process environment and a fixed
 * path; this builds the same configuration from the given ones (which also
 * makes it testable): CA file, a token file re-read for rotation, the
 * namespace file.
 */
async function loadInCluster(env: Readonly<Record<string, string | undefined>>, saDir: string): Promise<{ kc: KubeConfigLike; namespace: string | undefined }> {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const kc = await newKubeConfig();
  kc.loadFromClusterAndUser(
    { name: 'inCluster', server: `${scheme}://${bracketed}:${port}`, caFile: join(saDir, 'ca.crt'), skipTLSVerify: false },
    { name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: join(saDir, 'token') } } },
  );
  const namespace = (await readOptional(join(saDir, 'namespace')))?.trim();
  return { kc, namespace: namespace === '' ? undefined : namespace };
}

function contextNamespace(kc: KubeConfigLike): string | undefined {
  const ns = kc.getContextObject(kc.getCurrentContext())?.namespace;
  return ns === undefined || ns === '' ? undefined : ns;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

function toBuffer(value: unknown): Buffer | undefined {
  if (value === undefined || value === null) return undefined;
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value);
  if (Array.isArray(value)) return Buffer.concat(value.map((v) => toBuffer(v) ?? Buffer.alloc(0)));
  return undefined;
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}
