// Cookie-based session affinity over any balancer (see docs/load-balancing.md).
//
// persistent: the cookie carries the stable identifier of the endpoint that
//   served the session (endpoint-id.ts). While that endpoint exists the
//   session stays on it, however the Service scales. Gone (or unknown
//   value): the balancer picks a new endpoint and a new cookie is set.
// balanced: the cookie carries a session key, and the endpoint is the owner
//   of the key's position on a consistent-hash ring of the current endpoints,
//   as ingress-nginx's balanced mode does with the hash of a random key.
//   Scaling up from n to n+1 endpoints moves about 1/(n+1) of the sessions to
//   the new one; removing an endpoint moves only its sessions, without a new
//   cookie. A new session is placed by the balancer; its key (16 hex digits)
//   is the position of one of that endpoint's ring points (8 digits) and 8
//   random ones, so no search is needed. Any other value (an ingress-nginx
//   cookie during a migration) is positioned by its hash and stays sticky.
//
// A retry (the sticky endpoint is in ctx.exclude) goes to another endpoint
// picked by the balancer; with change-on-failure the cookie is re-pointed to
// it, without it the cookie is left alone and the next request tries the
// sticky endpoint again. Martello never retries on the same endpoint, which
// is where it differs from ingress-nginx's change-on-failure: false.

import type { CookieAffinity, EndpointAddress } from '../../../model/model.ts';
import { formatAffinityCookie } from './affinity-cookie.ts';
import { cookieValue } from './cookie-header.ts';
import { hash32, hex64 } from './hash.ts';
import { allowed, weightOf, type LoadBalancer, type PickContext } from './load-balancer.ts';
import { RingTable } from './ring.ts';
import { Rng } from './rng.ts';
import { tableKey, type TableCache } from './table-cache.ts';

/** The outcome of a selection; the caller owns it and may reuse it for every request. */
export interface Selection<E> {
  /** Where to send the request; undefined: no endpoint (503). */
  endpoint: E | undefined;
  /** A Set-Cookie header value to add to the response, or undefined. */
  setCookie: string | undefined;
}

const SESSION_KEY_SEED = 0x73657373; // "sess"

export interface StickyOptions {
  readonly seed?: number;
  /** Rings shared across compiles. */
  readonly tables?: TableCache;
  /** Wall clock for Expires; default Date.now. */
  readonly now?: () => number;
}

export class StickySessions<E extends EndpointAddress = EndpointAddress> {
  readonly settings: CookieAffinity;
  readonly #endpoints: readonly E[];
  readonly #ids: readonly string[];
  readonly #byId: ReadonlyMap<string, number>;
  readonly #index: ReadonlyMap<E, number>;
  readonly #ring: RingTable | undefined;
  readonly #inner: LoadBalancer<E>;
  readonly #rng: Rng;
  readonly #now: () => number;

  /** `ids`: stable identifiers parallel to `endpoints`; `inner` places new sessions. */
  constructor(endpoints: readonly E[], ids: readonly string[], settings: CookieAffinity, inner: LoadBalancer<E>, options: StickyOptions = {}) {
    this.settings = settings;
    this.#endpoints = endpoints;
    this.#ids = ids;
    this.#byId = new Map(ids.map((id, i) => [id, i]));
    this.#index = new Map(endpoints.map((e, i) => [e, i]));
    const weights = endpoints.map(weightOf);
    const build = (): RingTable => new RingTable(ids, weights);
    this.#ring = settings.mode !== 'balanced' ? undefined : options.tables === undefined ? build() : options.tables.get(tableKey('ring', ids, weights), build);
    this.#inner = inner;
    this.#rng = new Rng((options.seed ?? 0) ^ 0x57c4);
    this.#now = options.now ?? Date.now;
  }

  select(ctx: PickContext<E> | undefined, out: Selection<E>): E | undefined {
    out.setCookie = undefined;
    const list = this.#endpoints;
    if (list.length === 0) return (out.endpoint = undefined);
    const value = ctx === undefined ? undefined : cookieValue(ctx.header('cookie'), this.settings.name);
    const exclude = ctx?.exclude;
    if (value !== undefined && value !== '') {
      const sticky = this.#stickyEndpoint(value);
      if (sticky !== undefined) {
        if (allowed(exclude, sticky)) return (out.endpoint = sticky);
        // A retry away from the sticky endpoint.
        const other = this.#inner.pick(ctx);
        out.endpoint = other;
        if (other !== undefined && this.settings.changeOnFailure) out.setCookie = this.#cookieFor(other, ctx);
        return other;
      }
    }
    const chosen = this.#inner.pick(ctx);
    if (chosen === undefined) return (out.endpoint = undefined);
    return this.#newSession(chosen, ctx, out);
  }

  /** The endpoint a cookie value points at now, if any. */
  #stickyEndpoint(value: string): E | undefined {
    const ring = this.#ring;
    if (ring === undefined) {
      const i = this.#byId.get(value);
      return i === undefined ? undefined : this.#endpoints[i];
    }
    const position = value.length === 16 ? parseHex8(value) : -1;
    return this.#endpoints[ring.lookup(position === -1 ? hash32(value, SESSION_KEY_SEED) : position)];
  }

  #newSession(chosen: E, ctx: PickContext<E> | undefined, out: Selection<E>): E | undefined {
    const ring = this.#ring;
    if (ring === undefined) {
      out.endpoint = chosen;
      out.setCookie = this.#cookieFor(chosen, ctx);
      return chosen;
    }
    const target = this.#index.get(chosen)!;
    let position = ring.positionOf(target, this.#rng.next() / 0x1_0000_0000);
    // Equal point hashes (about one ring in a million) can hand a position to another endpoint: retry.
    for (let tries = 0; tries < 8 && ring.lookup(position) !== target; tries++) position = ring.positionOf(target, this.#rng.next() / 0x1_0000_0000);
    const owned = this.#endpoints[ring.lookup(position)]!;
    const endpoint = owned === chosen || allowed(ctx?.exclude, owned) ? owned : chosen;
    out.endpoint = endpoint;
    out.setCookie = this.#format(hex64(position, this.#rng.next()), ctx);
    return endpoint;
  }

  /** A cookie pointing at `e`: its identifier (persistent) or a key that hashes to it (balanced). */
  #cookieFor(e: E, ctx: PickContext<E> | undefined): string {
    if (this.#ring === undefined) return this.#format(this.#ids[this.#index.get(e)!]!, ctx);
    const scratch: Selection<E> = { endpoint: undefined, setCookie: undefined };
    this.#newSession(e, ctx, scratch);
    return scratch.setCookie!;
  }

  #format(value: string, ctx: PickContext<E> | undefined): string {
    return formatAffinityCookie(this.settings, value, { encrypted: ctx?.encrypted === true, nowMs: this.#now() });
  }

  /** The identifier a persistent cookie carries for `e` (for tests and views). */
  idOf(e: E): string | undefined {
    const i = this.#index.get(e);
    return i === undefined ? undefined : this.#ids[i];
  }
}

/** The first 8 characters of `value` as a lowercase hex number, or -1 when they are not. */
function parseHex8(value: string): number {
  let n = 0;
  for (let i = 0; i < 8; i++) {
    const c = value.charCodeAt(i);
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d === -1) return -1;
    n = n * 16 + d;
  }
  return n;
}
