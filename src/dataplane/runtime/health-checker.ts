// Active HTTP health checks: for every endpoint of every cluster whose
// Ingress asks for them (Cluster.healthCheck), an HTTP/1.1 GET of the path
// every interval, on a connection of its own (Connection: close). A 2xx or
// 3xx response head within the timeout passes (kubelet's rule); anything
// else fails. Results go to the ActiveHealthRegistry, which balancers read
// (lb/endpoint-health.ts): an endpoint's first check decides at once, then
// `unhealthyThreshold` failures in a row take it out and
// `healthyThreshold` passes bring it back. Each process that serves traffic
// runs its own checker over its own table (as each Envoy instance does).
// Timers are unref'd, probes in flight are bounded, and close() stops all.

import http from 'node:http';
import https from 'node:https';
import type { HealthCheckPolicy } from '../../model/model.ts';
import type { UpstreamEndpoint } from '../compile/cluster.ts';
import type { ActiveHealthRegistry, ActiveState } from '../compile/lb/endpoint-health.ts';
import type { RouteTable } from '../compile/route-table.ts';

export interface HealthCheckerOptions {
  /** Probes in flight at once, over all clusters; default 32. */
  readonly maxConcurrent?: number;
  /** Told when an endpoint's state changes (logging, tests). */
  readonly onChange?: (clusterId: string, endpoint: UpstreamEndpoint, state: ActiveState) => void;
}

const USER_AGENT = 'Martello-HealthCheck';

function ignore(): void {}

interface Target {
  readonly id: string;
  readonly clusterId: string;
  readonly endpoint: UpstreamEndpoint;
  readonly policy: HealthCheckPolicy;
  timer: NodeJS.Timeout | undefined;
  /** The probe in flight, if any. */
  request: http.ClientRequest | undefined;
  queued: boolean;
  removed: boolean;
}

export class HealthChecker {
  readonly #registry: ActiveHealthRegistry;
  readonly #maxConcurrent: number;
  readonly #onChange: HealthCheckerOptions['onChange'];
  /** By cluster id, "\0", endpoint key. */
  readonly #targets = new Map<string, Target>();
  readonly #queue: Target[] = [];
  #inFlight = 0;
  #closed = false;
  /** Probes completed so far (tests and debugging). */
  probes = 0;

  constructor(registry: ActiveHealthRegistry, options: HealthCheckerOptions = {}) {
    this.#registry = registry;
    this.#maxConcurrent = Math.max(1, options.maxConcurrent ?? 32);
    this.#onChange = options.onChange;
  }

  /** Endpoints being checked. */
  get size(): number {
    return this.#targets.size;
  }

  /** Checks the health-checked endpoints of `table` from now on: new ones at once, removed ones no more. */
  update(table: RouteTable): void {
    if (this.#closed) return;
    const seen = new Set<string>();
    for (const c of table.clusters.values()) {
      const policy = c.source.healthCheck;
      if (policy === undefined || c.balancer.health === undefined || !checkable(c.source.protocol)) continue;
      for (const endpoint of c.balancer.endpoints) {
        const id = `${c.id}\u0000${endpoint.key}`;
        if (seen.has(id)) continue;
        seen.add(id);
        const existing = this.#targets.get(id);
        if (existing !== undefined && samePolicy(existing.policy, policy)) continue;
        if (existing !== undefined) this.#remove(existing);
        const target: Target = { id, clusterId: c.id, endpoint, policy, timer: undefined, request: undefined, queued: false, removed: false };
        this.#targets.set(id, target);
        this.#enqueue(target);
      }
    }
    for (const [id, target] of this.#targets) if (!seen.has(id)) this.#remove(target);
  }

  /** Stops every timer and probe; update() does nothing afterwards. */
  close(): void {
    this.#closed = true;
    for (const target of this.#targets.values()) this.#remove(target);
    this.#queue.length = 0;
  }

  #remove(target: Target): void {
    target.removed = true;
    if (target.timer !== undefined) clearTimeout(target.timer);
    target.timer = undefined;
    target.request?.destroy();
    this.#targets.delete(target.id);
  }

  #enqueue(target: Target): void {
    if (target.removed || target.queued) return;
    if (this.#inFlight < this.#maxConcurrent) {
      this.#probe(target);
      return;
    }
    target.queued = true;
    this.#queue.push(target);
  }

  #next(): void {
    while (this.#inFlight < this.#maxConcurrent && this.#queue.length > 0) {
      const target = this.#queue.shift()!;
      target.queued = false;
      if (!target.removed) this.#probe(target);
    }
  }

  #probe(target: Target): void {
    this.#inFlight++;
    const started = Date.now();
    const { endpoint, policy } = target;
    let settled = false;
    let req: http.ClientRequest | undefined;
    const deadline = setTimeout(() => {
      req?.destroy();
      finish(false);
    }, policy.timeoutMs);
    deadline.unref();
    const finish = (passed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      target.request = undefined;
      this.#inFlight--;
      this.probes++;
      if (!target.removed && !this.#closed) {
        const state = this.#registry.report(target.clusterId, endpoint.key, passed, policy);
        if (state !== undefined) this.#onChange?.(target.clusterId, endpoint, state);
        // The next check one interval after this one started (at least a tenth of it from now).
        const wait = Math.max(policy.intervalMs / 10, policy.intervalMs - (Date.now() - started));
        target.timer = setTimeout(() => {
          target.timer = undefined;
          this.#enqueue(target);
        }, wait);
        target.timer.unref();
      }
      this.#next();
    };
    const tls = endpoint.tls;
    const options: https.RequestOptions = {
      host: endpoint.address,
      port: endpoint.port,
      method: 'GET',
      path: policy.path,
      agent: false,
      headers: { host: endpoint.hostPort, 'user-agent': USER_AGENT, accept: '*/*', connection: 'close' },
    };
    try {
      req = tls === null
        ? http.request(options)
        : https.request({
          ...options,
          rejectUnauthorized: tls.verify,
          ...(tls.caPem === null ? {} : { ca: tls.caPem }),
          ...(tls.serverName === null ? {} : { servername: tls.serverName }),
        });
    } catch {
      finish(false);
      return;
    }
    target.request = req;
    const probe = req;
    req.on('socket', (socket) => {
      socket.on('error', ignore);
    });
    req.on('error', () => finish(false));
    req.on('response', (res) => {
      res.on('error', ignore);
      const status = res.statusCode ?? 0;
      finish(status >= 200 && status < 400);
      // The body is not wanted: read it to the end (the server closes the connection) or stop at the deadline.
      res.resume();
      const bodyDeadline = setTimeout(() => probe.destroy(), policy.timeoutMs);
      bodyDeadline.unref();
      res.on('close', () => clearTimeout(bodyDeadline));
    });
    req.end();
  }
}

/** HTTP/1.1 endpoints, in clear text or TLS; HTTP/2-only endpoints (h2c, h2) are not checked. */
export function checkable(protocol: string): boolean {
  return protocol === 'http1' || protocol === 'https';
}

function samePolicy(a: HealthCheckPolicy, b: HealthCheckPolicy): boolean {
  return a.path === b.path && a.intervalMs === b.intervalMs && a.timeoutMs === b.timeoutMs
    && a.healthyThreshold === b.healthyThreshold && a.unhealthyThreshold === b.unhealthyThreshold;
}
