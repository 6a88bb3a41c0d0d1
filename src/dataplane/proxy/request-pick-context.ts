// What a balancer may ask about a request (lb/load-balancer.ts PickContext):
// the client address, the target, a header by name. Built only for clusters
// whose balancer needs it (consistent hashing, cookie affinity), so ordinary
// requests allocate nothing for balancing.

import type { UpstreamEndpoint } from '../compile/cluster.ts';
import type { PickContext } from '../compile/lb/load-balancer.ts';

export class RequestPickContext implements PickContext<UpstreamEndpoint> {
  readonly clientAddress: string;
  readonly uri: string;
  readonly encrypted: boolean;
  readonly exclude: ReadonlySet<UpstreamEndpoint> | undefined;
  /** The scanned request headers, [name, value, ...] (HTTP/2 cookies already joined). */
  readonly #headers: readonly string[];

  constructor(headers: readonly string[], clientAddress: string, uri: string, encrypted: boolean, exclude?: ReadonlySet<UpstreamEndpoint>) {
    this.#headers = headers;
    this.clientAddress = clientAddress;
    this.uri = uri;
    this.encrypted = encrypted;
    this.exclude = exclude;
  }

  /** Repeated fields joined as HTTP says: Cookie with "; ", others with ", ". */
  header(name: string): string | undefined {
    const h = this.#headers;
    let value: string | undefined;
    for (let i = 0; i + 1 < h.length; i += 2) {
      const n = h[i]!;
      if (n.length !== name.length || n.toLowerCase() !== name) continue;
      value = value === undefined ? h[i + 1]! : `${value}${name === 'cookie' ? '; ' : ', '}${h[i + 1]!}`;
    }
    return value;
  }
}
