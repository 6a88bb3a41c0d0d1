// Connection admission at accept time (security.md §7 "Global / per-IP
// connections"; issue 7 part 4, issue 6 part 6): one process-wide count and
// one count per client address. A connection over either cap is refused
// before any byte of it is parsed, so a single address cannot hold every
// connection slot (and every upstream connection behind them) of a worker.
//
// The address is the client's: the socket peer, or the source address a
// load balancer wrote in the PROXY protocol header. Peers in
// --trusted-proxies are exempt from the per-address cap (a fronting proxy
// multiplexes many clients onto its few addresses), not from the global one.
//
// Pure bookkeeping: admit() and release() must be paired by the caller (on
// the socket's 'close').

import type { CidrSet } from './cidr.ts';

export interface ConnectionLimitSettings {
  /** Connections open at once in this process; 0: no cap. */
  readonly maxConnections: number;
  /** Connections open at once from one client address; 0: no cap. */
  readonly maxConnectionsPerAddress: number;
}

/** Why a connection was refused (the label of martello_connections_rejected_total). */
export type RejectReason = 'max_connections' | 'max_connections_per_ip';

/** Envoy's edge example caps a listener at 50 000; 512 per address is security.md's starting point. */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimitSettings = Object.freeze({
  maxConnections: 50_000,
  maxConnectionsPerAddress: 512,
});

export class ConnectionLimits {
  readonly #settings: ConnectionLimitSettings;
  readonly #exempt: CidrSet | undefined;
  readonly #byAddress = new Map<string, number>();
  #open = 0;

  constructor(settings: ConnectionLimitSettings, exempt?: CidrSet) {
    this.#settings = settings;
    this.#exempt = exempt !== undefined && exempt.size > 0 ? exempt : undefined;
  }

  /** Connections admitted and not yet released. */
  get open(): number {
    return this.#open;
  }

  /** Addresses with at least one admitted connection (bounded by `open`). */
  get addresses(): number {
    return this.#byAddress.size;
  }

  /** Connections admitted from `address` and not yet released. */
  openFrom(address: string): number {
    return this.#byAddress.get(addressKey(address)) ?? 0;
  }

  /**
   * Admit a connection from `address` (undefined when the socket no longer
   * knows its peer: counted globally only). Returns null when admitted,
   * else why not; an admitted connection must be released exactly once.
   */
  admit(address: string | undefined): RejectReason | null {
    const s = this.#settings;
    if (s.maxConnections > 0 && this.#open >= s.maxConnections) return 'max_connections';
    if (address !== undefined && s.maxConnectionsPerAddress > 0 && !this.#isExempt(address)) {
      const key = addressKey(address);
      const count = this.#byAddress.get(key) ?? 0;
      if (count >= s.maxConnectionsPerAddress) return 'max_connections_per_ip';
      this.#byAddress.set(key, count + 1);
    }
    this.#open++;
    return null;
  }

  /** The connection admitted with `address` closed. */
  release(address: string | undefined): void {
    this.#open--;
    if (address === undefined || this.#settings.maxConnectionsPerAddress <= 0 || this.#isExempt(address)) return;
    const key = addressKey(address);
    const count = this.#byAddress.get(key);
    if (count === undefined) return;
    if (count <= 1) this.#byAddress.delete(key);
    else this.#byAddress.set(key, count - 1);
  }

  #isExempt(address: string): boolean {
    return this.#exempt !== undefined && this.#exempt.contains(address);
  }
}

/** One key per client: IPv4 peers on a dual-stack socket ("::ffff:192.0.2.1") count as their IPv4 address. */
function addressKey(address: string): string {
  return address.length > 7 && address.charCodeAt(0) === 0x3a && address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
