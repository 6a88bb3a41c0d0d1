// The contract every Kubernetes-facing component of the control plane uses:
// a small typed client over the API server's REST interface. One
// implementation talks to a real API server over one keep-alive connection
// pool (client.ts); tests run it against the in-repo test API server.
// Raw JSON in, raw JSON out: no client-library model types anywhere.

/** Identifies a resource collection, e.g. { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', namespaced: true }. */
export interface ResourceType {
  /** "" for the core group. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

export interface KubeRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute API path, e.g. "/apis/networking.k8s.io/v1/namespaces/default/ingresses/web/status". */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  /** JSON-serialisable body. */
  readonly body?: unknown;
  /** Defaults to application/json; PATCH callers name the patch type, e.g. "application/merge-patch+json". */
  readonly contentType?: string;
  readonly signal?: AbortSignal;
}

/** One line of a watch stream. `object` is raw JSON (a Status for ERROR). */
export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: Record<string, unknown>;
}

/** Optional callbacks of a watch, for connection-state reporting. */
export interface WatchHooks {
  /** The server accepted the watch (2xx headers arrived), before any event. */
  readonly onOpen?: () => void;
}

export interface KubeClient {
  /** Sends one request; resolves with the parsed JSON body; rejects with KubeApiError for non-2xx answers. */
  request<T = Record<string, unknown>>(req: KubeRequest): Promise<T>;
  /**
   * Opens a watch (the path of a collection; `watch=1` is added) and yields
   * its events until the server closes the stream, the signal aborts, or
   * the connection fails (then the iterator throws).
   */
  watch(path: string, query: Readonly<Record<string, string>>, signal: AbortSignal, hooks?: WatchHooks): AsyncIterable<WatchEvent>;
  /** Closes the connection pool. */
  close(): Promise<void>;
}

/** A non-2xx answer from the API server, carrying its Status body. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  readonly status: number;
  /** Status.reason, e.g. "Conflict", "NotFound", "Expired", "Gone", "TooManyRequests". */
  readonly reason: string;
  /** Seconds from a Retry-After header or Status.details.retryAfterSeconds, when given. */
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, reason: string, message: string, retryAfterSeconds?: number) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  get isConflict(): boolean {
    return this.status === 409 && this.reason === 'Conflict';
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }

  /** The resourceVersion asked for is too old: relist. */
  get isExpired(): boolean {
    return this.status === 410 || this.reason === 'Expired' || this.reason === 'Gone';
  }
}

/** The resource types Martello reads and writes. */
export const RESOURCES = {
  ingresses: { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', kind: 'Ingress', namespaced: true },
  ingressClasses: { group: 'networking.k8s.io', version: 'v1', plural: 'ingressclasses', kind: 'IngressClass', namespaced: false },
  services: { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true },
  endpointSlices: { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice', namespaced: true },
  secrets: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  configMaps: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  events: { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
} as const satisfies Record<string, ResourceType>;

/**
 * The path of a collection (name undefined) or one object; namespace
 * undefined means all namespaces for namespaced types. `subresource`, e.g.
 * "status", needs a name.
 */
export function resourcePath(type: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  const base = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const ns = type.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const obj = name === undefined ? '' : `/${encodeURIComponent(name)}${subresource === undefined ? '' : `/${subresource}`}`;
  return `${base}${ns}/${type.plural}${obj}`;
}
