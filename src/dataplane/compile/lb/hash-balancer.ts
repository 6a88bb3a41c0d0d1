// Consistent hashing on a request key: a header, a cookie, the client's IP
// address or the request URI, over a Maglev table (default) or a ring. The
// same key reaches the same endpoint on every replica while the endpoint set
// is unchanged, and a change moves few keys (about 1/n for one endpoint).
// Requests without the key are spread by weighted round-robin, as Envoy
// spreads requests for which no hash could be computed.
// A retry that excludes the key's endpoint walks on to the next slot or ring
// point, so it too lands consistently.

import type { EndpointAddress, HashKey, HashTableKind } from '../../../model/model.ts';
import { cookieValueEnd, cookieValueStart } from './cookie-header.ts';
import type { BalancerOptions } from './endpoint-load.ts';
import { hash32 } from './hash.ts';
import { allowed, allExcluded, weightOf, type LoadBalancer, type PickContext } from './load-balancer.ts';
import { MaglevTable } from './maglev.ts';
import { RingTable } from './ring.ts';
import { RoundRobin } from './round-robin.ts';
import { tableKey } from './table-cache.ts';

/** Key hashes use their own seed, distinct from the tables' internal ones. */
const KEY_SEED = 0x6b657921; // "key!"

/** The hash of the request's key, or -1 when the request has none. */
export function hashRequestKey<E extends EndpointAddress>(key: HashKey, ctx: PickContext<E>): number {
  switch (key.source) {
    case 'client-ip':
      return ctx.clientAddress === '' ? -1 : hash32(ctx.clientAddress, KEY_SEED);
    case 'uri':
      return hash32(ctx.uri, KEY_SEED);
    case 'header': {
      const v = ctx.header(key.name);
      return v === undefined ? -1 : hash32(v, KEY_SEED);
    }
    case 'cookie': {
      const header = ctx.header('cookie');
      if (header === undefined) return -1;
      const start = cookieValueStart(header, key.name);
      return start === -1 ? -1 : hash32(header, KEY_SEED, start, cookieValueEnd(header, start));
    }
  }
}

export class HashBalancer<E extends EndpointAddress = EndpointAddress> implements LoadBalancer<E> {
  readonly endpoints: readonly E[];
  readonly #key: HashKey;
  readonly #maglev: MaglevTable | undefined;
  readonly #ring: RingTable | undefined;
  /** For requests without a key, and for the in-flight bookkeeping. */
  readonly #fallback: RoundRobin<E>;

  /** `ids`: stable endpoint identifiers parallel to `endpoints` (endpoint-id.ts). */
  constructor(endpoints: readonly E[], ids: readonly string[], key: HashKey, table: HashTableKind, options: BalancerOptions = {}) {
    this.endpoints = endpoints;
    this.#key = key;
    const weights = endpoints.map(weightOf);
    const cache = options.tables;
    const build = <T>(kind: string, make: () => T): T => (cache === undefined ? make() : cache.get(tableKey(kind, ids, weights), make));
    this.#maglev = table === 'maglev' ? build('maglev', () => new MaglevTable(ids, weights)) : undefined;
    this.#ring = table === 'ring' ? build('ring', () => new RingTable(ids, weights)) : undefined;
    this.#fallback = new RoundRobin(endpoints, options);
  }

  pick(ctx?: PickContext<E>): E | undefined {
    const list = this.endpoints;
    if (list.length === 0) return undefined;
    const hash = ctx === undefined ? -1 : hashRequestKey(this.#key, ctx);
    if (hash === -1) return this.#fallback.pick(ctx);
    return this.pickByHash(hash, ctx?.exclude);
  }

  /** The endpoint owning `hash` (a 32-bit unsigned integer), walking past excluded ones. */
  pickByHash(hash: number, exclude: ReadonlySet<E> | undefined): E | undefined {
    const list = this.endpoints;
    const maglev = this.#maglev;
    if (maglev !== undefined) {
      const first = list[maglev.lookup(hash)]!;
      if (allowed(exclude, first)) return first;
      if (allExcluded(list, exclude)) return undefined;
      const m = maglev.size;
      let slot = hash % m;
      for (let k = 1; k < m; k++) {
        slot = slot + 1 === m ? 0 : slot + 1;
        const e = list[maglev.at(slot)]!;
        if (allowed(exclude, e)) return e;
      }
      return undefined;
    }
    const ring = this.#ring!;
    const point = ring.pointOf(hash);
    const first = list[ring.at(point)]!;
    if (allowed(exclude, first)) return first;
    if (allExcluded(list, exclude)) return undefined;
    const size = ring.size;
    for (let k = 1; k < size; k++) {
      const e = list[ring.at((point + k) % size)]!;
      if (allowed(exclude, e)) return e;
    }
    return undefined;
  }

  onStart(endpoint: E): void {
    this.#fallback.onStart(endpoint);
  }

  onEnd(endpoint: E, latencyMs: number, ok: boolean): void {
    this.#fallback.onEnd(endpoint, latencyMs, ok);
  }
}
