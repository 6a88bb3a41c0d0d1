// The seam between a compiled cluster and how it spreads requests over its
// endpoints. Every algorithm (weighted round-robin, least-request, peak-EWMA,
// Maglev and ring hashing) implements LoadBalancer and passes the shared
// contract suite (load-balancer.contract.ts). See docs/load-balancing.md.
//
// Hot-path rules for implementations: pick() allocates nothing (no closures,
// arrays or objects per call); everything that can be is precomputed when
// the route table is compiled.

import type { EndpointAddress } from '../../../model/model.ts';

/**
 * What a pick may look at. The data path fills one per request (or reuses
 * one); every field is read only during the call.
 */
export interface PickContext<E extends EndpointAddress = EndpointAddress> {
  /** The client's IP address as text, without port; "" when unknown. */
  readonly clientAddress: string;
  /** The request-target as received: path and query. */
  readonly uri: string;
  /**
   * A request header's value by lowercase name; undefined when absent.
   * Repeated headers joined as HTTP says (Cookie with "; ", others with ", ").
   */
  header(name: string): string | undefined;
  /**
   * Endpoints already tried for this request (retries, failed sticky
   * endpoint). Never returned while another endpoint is available; a
   * balancer whose every endpoint is excluded returns undefined.
   */
  readonly exclude: ReadonlySet<E> | undefined;
  /** The request came over TLS (the affinity cookie then gets Secure). */
  readonly encrypted: boolean;
}

export interface LoadBalancer<E extends EndpointAddress = EndpointAddress> {
  /**
   * The endpoint for this request; undefined when there is none (or all are
   * excluded). Without a context: no hash key, nothing excluded (hash
   * balancers then spread round-robin).
   */
  pick(ctx?: PickContext<E>): E | undefined;
  /** A request was sent to `endpoint` (it counts as in flight until onEnd). */
  onStart(endpoint: E): void;
  /**
   * The request to `endpoint` finished: `latencyMs` from sending the request
   * to the end of the response headers (or to the failure), `ok` false for
   * connect failures, resets, timeouts and 5xx. Called exactly once per onStart.
   */
  onEnd(endpoint: E, latencyMs: number, ok: boolean): void;
  /** Every endpoint this balancer can return, in model order. */
  readonly endpoints: readonly E[];
}

/** A monotonic-enough clock in milliseconds; Date.now unless a test injects one. */
export type Clock = () => number;

/** Endpoint weight as the balancers use it: a positive integer, 1 when absent or invalid. */
export function weightOf(e: EndpointAddress): number {
  const w = e.weight;
  return w !== undefined && Number.isInteger(w) && w > 0 ? Math.min(w, MAX_WEIGHT) : 1;
}

/** Weights above this are clamped (keeps hash tables and schedules bounded). */
export const MAX_WEIGHT = 1000;

/** True when `e` may be returned under `exclude`. */
export function allowed<E>(exclude: ReadonlySet<E> | undefined, e: E): boolean {
  return exclude === undefined || exclude.size === 0 || !exclude.has(e);
}

/** Whether every endpoint of `list` is excluded (an O(n) check, only done on retries). */
export function allExcluded<E>(list: readonly E[], exclude: ReadonlySet<E> | undefined): boolean {
  if (exclude === undefined || exclude.size === 0) return list.length === 0;
  for (let i = 0; i < list.length; i++) if (!exclude.has(list[i]!)) return false;
  return true;
}
