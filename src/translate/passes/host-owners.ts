// Pass 1b: which namespace owns each host. A host name (exact, a wildcard such
// as "*.example.com" by its own string, or "*" for rules without a host) is
// owned by the namespace of the oldest Ingress we serve that has a rule for
// it; rules and TLS entries for that host from other namespaces are refused,
// so one team cannot add paths under (or serve certificates for) another
// team's host. `hostSharing: 'merge'` restores ingress-nginx's behaviour:
// every namespace merges into every host. See docs/kubernetes.md, "Host
// ownership across namespaces".

import type { Ingress } from '../../k8s/objects.ts';
import type { TranslateOptions } from '../options.ts';

/** The owner of a host: its namespace, and the Ingress ("namespace/name") whose rule claimed it first. */
export interface HostOwner {
  readonly namespace: string;
  readonly ingress: string;
}

/** The any-host virtual host: rules without a host. */
const ANY_HOST = '*';

export class HostOwners {
  readonly #owners: ReadonlyMap<string, HostOwner>;

  constructor(owners: ReadonlyMap<string, HostOwner>) {
    this.#owners = owners;
  }

  /** The owner of the virtual host named exactly `host` ("*" for rules without a host); undefined when unowned or when hosts are shared. */
  ownerOf(host: string): HostOwner | undefined {
    return this.#owners.get(host);
  }

  /** The owner when it is another namespace than `namespace`, else undefined (the rule may be merged). */
  refuses(host: string, namespace: string): HostOwner | undefined {
    const owner = this.#owners.get(host);
    return owner !== undefined && owner.namespace !== namespace ? owner : undefined;
  }

  /**
   * For a TLS host: the owner of the virtual host that requests for that
   * server name reach (the exact host, else the one-label wildcard, else
   * "*"), when it is another namespace: a certificate is only served for
   * traffic the namespace itself routes.
   */
  refusesTls(host: string, namespace: string): HostOwner | undefined {
    let owner = this.#owners.get(host);
    if (owner === undefined && !host.startsWith('*.')) {
      const dot = host.indexOf('.');
      if (dot > 0) owner = this.#owners.get(`*${host.slice(dot)}`);
    }
    owner ??= this.#owners.get(ANY_HOST);
    return owner !== undefined && owner.namespace !== namespace ? owner : undefined;
  }
}

/** `owned` must be oldest first (as selectOwnedIngresses returns them): the first rule seen for a host claims it. */
export function findHostOwners(owned: readonly Ingress[], opts: Pick<TranslateOptions, 'hostSharing'>): HostOwners {
  const owners = new Map<string, HostOwner>();
  if (opts.hostSharing === 'merge') return new HostOwners(owners);
  for (const ing of owned) {
    for (const rule of ing.spec.rules) {
      const host = rule.host ?? ANY_HOST;
      if (!owners.has(host)) owners.set(host, { namespace: ing.metadata.namespace, ingress: `${ing.metadata.namespace}/${ing.metadata.name}` });
    }
  }
  return new HostOwners(owners);
}

/** The sentence every refusal ends with, so operators learn about the opt-out. */
export function ownershipHint(owner: HostOwner): string {
  return `it is owned by namespace ${owner.namespace} (Ingress ${owner.ingress} claimed it first: oldest creationTimestamp, then namespace/name)`;
}
