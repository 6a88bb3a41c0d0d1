// Test helpers for the Kubernetes client layer: raw API objects, a
// listener that records what a reflector or source delivered, and waiting
// on conditions with a deadline instead of sleeping.

import type { KubeObject } from '../../../k8s/objects.ts';
import type { Diagnostic } from '../../../shared/diagnostic.ts';
import type { ResourceEvent, SourceSink } from '../../sources/source.ts';

export type Raw = Record<string, unknown>;

export function namespace(name: string): Raw {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function ingress(ns: string, name: string, host = `${name}.example.com`, backend = 'web'): Raw {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { namespace: ns, name },
    spec: {
      ingressClassName: 'martello',
      rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: backend, port: { number: 80 } } } }] } }],
    },
  };
}

export function ingressClass(name: string): Raw {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name }, spec: { controller: 'martello.dev/ingress-controller' } };
}

export function service(ns: string, name: string): Raw {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } };
}

export function endpointSlice(ns: string, name: string, svc: string, ip = '10.0.0.1'): Raw {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true } }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

export function tlsSecret(ns: string, name: string): Raw {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { namespace: ns, name }, type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } };
}

export function opaqueSecret(ns: string, name: string): Raw {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { namespace: ns, name }, type: 'Opaque', data: { password: 'c2VjcmV0' } };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Records what a sink (or reflector listener) was told, and applies it to a map like the real store does. */
export class RecordingSink implements SourceSink {
  readonly batches: ResourceEvent[][] = [];
  problemLists: Array<readonly Diagnostic[]> = [];
  syncedCalls = 0;
  /** Current state by "Kind/namespace/name". */
  readonly objects = new Map<string, KubeObject>();
  readonly #waiters: Array<() => void> = [];

  events(batch: readonly ResourceEvent[]): void {
    this.batches.push([...batch]);
    for (const e of batch) {
      if (e.type === 'upsert') this.objects.set(`${e.object.kind}/${e.object.metadata.namespace}/${e.object.metadata.name}`, e.object);
      else this.objects.delete(`${e.key.kind}/${e.key.namespace}/${e.key.name}`);
    }
    this.#wake();
  }

  problems(list: readonly Diagnostic[]): void {
    this.problemLists.push(list);
    this.#wake();
  }

  synced(): void {
    this.syncedCalls += 1;
    this.#wake();
  }

  get lastProblems(): readonly Diagnostic[] {
    return this.problemLists.at(-1) ?? [];
  }

  names(kind: string): string[] {
    return [...this.objects.values()]
      .filter((o) => o.kind === kind)
      .map((o) => (o.metadata.namespace === '' ? o.metadata.name : `${o.metadata.namespace}/${o.metadata.name}`))
      .sort();
  }

  /** Resolves once `until` holds (checked after every delivery), or rejects after `timeoutMs`. */
  async waitFor(until: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (until()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`)), timeoutMs);
      const check = (): void => {
        if (until()) {
          clearTimeout(timer);
          resolve();
        } else this.#waiters.push(check);
      };
      this.#waiters.push(check);
    });
  }

  #wake(): void {
    const waiting = this.#waiters.splice(0);
    for (const w of waiting) w();
  }
}
