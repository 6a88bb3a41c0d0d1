// Keeps the status writer's published addresses current: a fixed list
// (--publish-status-address), or the addresses of the Service that fronts
// the controller (--publish-service), re-read periodically because a cloud
// load balancer's address appears some time after the Service is created.
// A GET every few seconds on one object is cheaper and simpler than one more
// watch, and works even when --watch-namespace excludes that namespace.

import { decodeObject } from '../../k8s/decode.ts';
import type { Logger } from '../../shared/log.ts';
import { KubeApiError, RESOURCES, resourcePath, type KubeClient } from './api.ts';
import { parsePublishService, parseStatusAddresses, serviceAddresses, entriesKey, type ParsedAddresses } from './publish-address.ts';
import type { IngressStatusWriter } from './status-writer.ts';

export interface AddressPublisherOptions {
  readonly client: KubeClient;
  readonly writer: IngressStatusWriter;
  readonly logger: Logger;
  readonly publishService?: string | undefined;
  readonly publishStatusAddress?: string | undefined;
  /** How often the published Service is re-read (default 10 s). */
  readonly intervalMs?: number;
}

export class AddressPublisher {
  readonly #opts: AddressPublisherOptions;
  readonly #service: { namespace: string; name: string } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastKey = '';
  #stopped = false;

  /** Throws an Error with a usage message when a flag value is malformed. */
  constructor(opts: AddressPublisherOptions) {
    this.#opts = opts;
    if (opts.publishService !== undefined) {
      const parsed = parsePublishService(opts.publishService);
      if (typeof parsed === 'string') throw new Error(parsed);
      this.#service = parsed;
    }
    if (opts.publishStatusAddress !== undefined) {
      const parsed = parseStatusAddresses(opts.publishStatusAddress);
      if (parsed.problems.length > 0) throw new Error(`--publish-status-address: ${parsed.problems.join('; ')}`);
    }
  }

  start(): void {
    const { publishStatusAddress, logger } = this.#opts;
    if (publishStatusAddress !== undefined) {
      this.#publish(parseStatusAddresses(publishStatusAddress));
    } else if (this.#service !== undefined) {
      void this.#poll();
    } else {
      logger.info('no --publish-service or --publish-status-address: Ingress status is left alone');
    }
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #poll(): Promise<void> {
    const svc = this.#service!;
    try {
      const raw = await this.#opts.client.request({ method: 'GET', path: resourcePath(RESOURCES.services, svc.namespace, svc.name) });
      const decoded = decodeObject({ apiVersion: 'v1', kind: 'Service', ...raw });
      if (decoded.ok === true && decoded.object.kind === 'Service') this.#publish(serviceAddresses(decoded.object));
      else this.#opts.logger.warn('published Service could not be read', { service: `${svc.namespace}/${svc.name}` });
    } catch (err) {
      const missing = err instanceof KubeApiError && err.isNotFound;
      this.#opts.logger.warn(missing ? 'published Service not found' : 'reading the published Service failed', { service: `${svc.namespace}/${svc.name}`, err });
    }
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#poll(), this.#opts.intervalMs ?? 10_000);
  }

  #publish(parsed: ParsedAddresses): void {
    const key = entriesKey(parsed.entries);
    if (key === this.#lastKey) return;
    this.#lastKey = key;
    for (const p of parsed.problems) this.#opts.logger.warn('address not published', { problem: p });
    this.#opts.logger.info('publishing load-balancer address in Ingress status', { addresses: parsed.entries });
    this.#opts.writer.setAddresses(parsed.entries);
  }
}
