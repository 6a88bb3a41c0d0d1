// The contract every configuration source implements: the manifests directory
// today, the Kubernetes API tomorrow. A source turns its inputs into decoded
// objects and reports changes as batches of events; the store does the rest.
// Translation and the proxy never know which source an object came from.

import type { ObjectKey } from '../../k8s/keys.ts';
import type { KubeObject } from '../../k8s/objects.ts';
import type { Diagnostic } from '../../shared/diagnostic.ts';

/** Where an object was read from, so later diagnostics can point at the file. */
export interface Origin {
  /** Path relative to the source root, with "/" separators. */
  readonly file: string;
  /** 1-based YAML document index within the file. */
  readonly document: number;
}

export type ResourceEvent =
  | { readonly type: 'upsert'; readonly object: KubeObject; readonly origin?: Origin }
  | { readonly type: 'delete'; readonly key: ObjectKey };

export interface SourceSink {
  /** A batch of changes; the store applies it as one step, so a rebuild never sees half a file. */
  events(batch: readonly ResourceEvent[]): void;
  /** The source's current list of input problems; replaces the list it reported before. */
  problems(list: readonly Diagnostic[]): void;
  /** The source has delivered its complete initial state (called once). */
  synced(): void;
}

export interface Source {
  /** Short name for logs, e.g. "manifests". */
  readonly name: string;
  /** Delivers the initial state (then calls `synced`) and keeps delivering changes until stopped. */
  start(sink: SourceSink): Promise<void>;
  stop(): Promise<void>;
}
