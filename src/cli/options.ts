// Command-line flags shared by the subcommands, parsed with node:util's
// parseArgs in strict mode (unknown flags are errors, not ignored).

import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { ProxyOptions } from '../dataplane/proxy/options.ts';
import type { LoadBalancingPolicy } from '../model/model.ts';
import { DEFAULT_CONTROLLER_CLASS, DEFAULT_INGRESS_CLASS, KUBERNETES_ENDPOINTSLICE_MANAGERS, type TranslateOptions } from '../translate/options.ts';
import { LOAD_BALANCE_VALUES, policyOfLoadBalance } from '../translate/passes/balancing-settings.ts';
import { parseListenAddress, UsageError, type ListenAddress } from './listen-address.ts';
import { parseCidrSet } from '../dataplane/edge/cidr.ts';
import { parseWorkerUser, type WorkerUser } from './workers/worker-env.ts';

export type FlagSpec = { type: 'string' | 'boolean'; short?: string; default?: string | boolean; multiple?: boolean };

export const CLASS_FLAGS = {
  'controller-class': { type: 'string', default: DEFAULT_CONTROLLER_CLASS },
  'ingress-class': { type: 'string', default: DEFAULT_INGRESS_CLASS },
  'watch-ingress-without-class': { type: 'boolean' },
  /** Merge rules for one host from every namespace (ingress-nginx) instead of giving each host to one namespace. */
  'allow-cross-namespace-hosts': { type: 'boolean' },
  /** Balancing of clusters whose Ingress sets no load-balance annotation (docs/load-balancing.md). */
  'load-balance': { type: 'string', default: 'round_robin' },
} as const satisfies Record<string, FlagSpec>;

export const LISTEN_FLAGS = {
  'listen-http': { type: 'string', default: '0.0.0.0:8080' },
  'listen-https': { type: 'string', default: '0.0.0.0:8443' },
  'listen-admin': { type: 'string', default: '127.0.0.1:10254' },
  workers: { type: 'string' },
  'worker-user': { type: 'string' },
  'shutdown-grace-period': { type: 'string', default: '0' },
  'default-ssl-certificate': { type: 'string' },
  'log-level': { type: 'string', default: 'info' },
  'http1-engine': { type: 'string' },
  'h2-server': { type: 'string' },
} as const satisfies Record<string, FlagSpec>;

/** TLS and protocol behaviour, named after ingress-nginx's ConfigMap keys. */
export const TLS_FLAGS = {
  'ssl-redirect': { type: 'boolean' },
  'https-redirect-port': { type: 'string', default: '443' },
  hsts: { type: 'boolean' },
  'hsts-max-age': { type: 'string', default: '31536000' },
  'hsts-include-subdomains': { type: 'boolean' },
  'hsts-preload': { type: 'boolean' },
  h2c: { type: 'boolean' },
  'path-merge-slashes': { type: 'boolean' },
  'allow-encoded-slashes': { type: 'boolean' },
  'allow-backslashes': { type: 'boolean' },
  'trusted-proxies': { type: 'string' },
  'headers-with-underscores': { type: 'string', default: 'reject' },
} as const satisfies Record<string, FlagSpec>;

export const TLS_HELP = `  --default-ssl-certificate NS/NAME    kubernetes.io/tls Secret served when no Ingress certificate matches
                                   (default: a self-signed certificate generated at start-up)
  --[no-]ssl-redirect              redirect plain HTTP to HTTPS (308) for hosts with TLS (default: yes;
                                   per Ingress: nginx.ingress.kubernetes.io/ssl-redirect)
  --https-redirect-port PORT       port written in those redirects (default 443, left out of the URL)
  --[no-]hsts                      Strict-Transport-Security on HTTPS responses for hosts with TLS (default: yes)
  --hsts-max-age SECONDS           (default 31536000)
  --[no-]hsts-include-subdomains   (default: yes)
  --[no-]hsts-preload              (default: no)
  --h2c                            accept HTTP/2 with prior knowledge on the plain listener (default: no)
  --[no-]path-merge-slashes        treat "//" in request paths as "/" (default: yes; docs/edge.md)
  --allow-encoded-slashes          keep %2F in paths (never decoded) instead of answering 400 (default: no)
  --allow-backslashes              read "\\" in paths as "/" instead of answering 400 (default: no)
  --trusted-proxies CIDRS          load balancers whose X-Forwarded-For/-Proto/-Host/-Port are believed and
                                   extended (e.g. 10.0.0.0/8,fd00::/8); others get them overwritten (default: none)
  --headers-with-underscores reject|drop|allow
                                   request header names with "_" (X_Forwarded_For): 400, removed, or passed on
                                   (default reject; ingress-nginx drops them)
  --load-balance round_robin|least_request|ewma
                                   balancing for Ingresses without a load-balance annotation (default round_robin)
  --http1-engine martello|node     who serves HTTP/1.1 clients and upstreams: Martello's own engine on raw
                                   sockets, or node:http with undici (default: martello)
  --h2-server node|martello        who serves HTTP/2 clients: node:http2, or Martello's own HTTP/2 server
                                   (needs --http1-engine martello; default: martello)
`;

type TlsFlagValues = {
  'http1-engine'?: string;
  'h2-server'?: string;
  'ssl-redirect'?: boolean;
  'https-redirect-port'?: string;
  hsts?: boolean;
  'hsts-max-age'?: string;
  'hsts-include-subdomains'?: boolean;
  'hsts-preload'?: boolean;
  h2c?: boolean;
  'path-merge-slashes'?: boolean;
  'allow-encoded-slashes'?: boolean;
  'allow-backslashes'?: boolean;
  'trusted-proxies'?: string;
  'headers-with-underscores'?: string;
};

/** The proxy options the TLS flags set. */
export function proxyOptionsFrom(values: TlsFlagValues): Partial<ProxyOptions> {
  const port = Number(values['https-redirect-port'] ?? '443');
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`--https-redirect-port: expected a port number, got "${values['https-redirect-port']}"`);
  }
  const maxAge = values['hsts-max-age'] ?? '31536000';
  if (!/^\d{1,10}$/.test(maxAge)) throw new UsageError(`--hsts-max-age: expected a number of seconds, got "${maxAge}"`);
  let hsts: string | null = null;
  if (values.hsts !== false) {
    hsts = `max-age=${Number(maxAge)}`;
    if (values['hsts-include-subdomains'] !== false) hsts += '; includeSubDomains';
    if (values['hsts-preload'] === true) hsts += '; preload';
  }
  const engine = values['http1-engine'];
  if (engine !== undefined && engine !== 'node' && engine !== 'martello') {
    throw new UsageError(`--http1-engine: expected node or martello, got "${engine}"`);
  }
  const h2Server = values['h2-server'];
  if (h2Server !== undefined && h2Server !== 'node' && h2Server !== 'martello') {
    throw new UsageError(`--h2-server: expected node or martello, got "${h2Server}"`);
  }
  const path = {
    mergeSlashes: values['path-merge-slashes'] !== false,
    rejectEncodedSlash: values['allow-encoded-slashes'] !== true,
    rejectBackslash: values['allow-backslashes'] !== true,
  };
  const trusted = values['trusted-proxies'] ?? '';
  if (trusted !== '') {
    try {
      parseCidrSet(trusted);
    } catch (err) {
      throw new UsageError(`--trusted-proxies: ${(err as Error).message}`);
    }
  }
  const underscores = values['headers-with-underscores'] ?? 'reject';
  if (underscores !== 'reject' && underscores !== 'drop' && underscores !== 'allow') {
    throw new UsageError(`--headers-with-underscores: expected reject, drop or allow, got "${underscores}"`);
  }
  return { hsts, httpsRedirectPort: port, h2c: values.h2c === true, path, trustedProxyCidrs: trusted, headersWithUnderscores: underscores, ...(engine === undefined ? {} : { engine }), ...(h2Server === undefined ? {} : { h2Server }) };
}

/** "namespace/name" of --default-ssl-certificate, validated. */
export function defaultCertificateFrom(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(value)) {
    throw new UsageError(`--default-ssl-certificate: expected NAMESPACE/NAME of a Secret, got "${value}"`);
  }
  return value;
}

export const HELP_FLAG = { help: { type: 'boolean', short: 'h' } } as const satisfies Record<string, FlagSpec>;

export function parseFlags<T extends Record<string, FlagSpec>>(args: string[], spec: T) {
  try {
    return parseArgs({ args, options: spec, strict: true, allowPositionals: false, allowNegative: true }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function translateOptionsFrom(
  values: {
    'controller-class'?: string;
    'ingress-class'?: string;
    'watch-ingress-without-class'?: boolean;
    'allow-cross-namespace-hosts'?: boolean;
    'ssl-redirect'?: boolean;
    'default-ssl-certificate'?: string;
    'load-balance'?: string;
  },
  mode: { standalone: boolean },
): TranslateOptions {
  const defaultCertificate = defaultCertificateFrom(values['default-ssl-certificate']);
  const loadBalancing = loadBalancingFrom(values['load-balance']);
  return {
    ...(loadBalancing.kind === 'round-robin' ? {} : { loadBalancing }),
    sslRedirect: values['ssl-redirect'] !== false,
    ...(defaultCertificate === undefined ? {} : { defaultCertificate }),
    // docs/kubernetes.md, "Host ownership across namespaces".
    hostSharing: values['allow-cross-namespace-hosts'] === true ? 'merge' : 'namespace',
    controllerClass: values['controller-class'] ?? DEFAULT_CONTROLLER_CLASS,
    ingressClass: values['ingress-class'] ?? DEFAULT_INGRESS_CLASS,
    // Standalone mode serves class-less Ingresses unless told not to (--no-watch-ingress-without-class).
    watchIngressWithoutClass: values['watch-ingress-without-class'] ?? mode.standalone,
    // Loopback endpoints are how standalone mode reaches local backends.
    allowLoopbackEndpoints: mode.standalone,
  };
}

/** --load-balance: the values of the load-balance annotation. */
export function loadBalancingFrom(value: string | undefined): LoadBalancingPolicy {
  const v = value ?? 'round_robin';
  const known = LOAD_BALANCE_VALUES.find((x) => x === v);
  if (known === undefined) throw new UsageError(`--load-balance: expected ${LOAD_BALANCE_VALUES.join(', ')}, got "${v}"`);
  return policyOfLoadBalance(known);
}

export interface ListenFlags {
  readonly http: ListenAddress;
  readonly https: ListenAddress;
  readonly admin: ListenAddress;
  readonly workers: number;
  /** After SIGTERM, keep serving this long (readiness already false) before the drain starts. */
  readonly shutdownGraceMs: number;
  /** --worker-user: the data plane runs in worker processes of this user, even with --workers 1 (docs/security.md). */
  readonly workerUser?: WorkerUser;
}

export function listenFlagsFrom(values: { 'listen-http'?: string; 'listen-https'?: string; 'listen-admin'?: string; workers?: string; 'shutdown-grace-period'?: string; 'worker-user'?: string }): ListenFlags {
  const workers = workersFrom(values.workers);
  const workerUser = values['worker-user'] === undefined ? undefined : parseWorkerUser(values['worker-user']);
  if (typeof workerUser === 'string') throw new UsageError(`--worker-user: ${workerUser}`);
  const grace = values['shutdown-grace-period'] ?? '0';
  if (!/^\d{1,5}(\.\d{1,3})?$/.test(grace)) throw new UsageError(`--shutdown-grace-period: expected a number of seconds, got "${grace}"`);
  return {
    shutdownGraceMs: Math.round(Number(grace) * 1000),
    http: parseListenAddress('--listen-http', values['listen-http'] ?? '0.0.0.0:8080'),
    https: parseListenAddress('--listen-https', values['listen-https'] ?? '0.0.0.0:8443'),
    admin: parseListenAddress('--listen-admin', values['listen-admin'] ?? '127.0.0.1:10254'),
    workers,
    ...(workerUser === undefined ? {} : { workerUser }),
  };
}

/** Upper bound for --workers: far above any useful value, low enough to stop a typo forking thousands of processes. */
export const MAX_WORKERS = 1024;

/** --workers N: data-plane processes; default one per CPU this process may run on. 1 serves in this process, without forking. */
export function workersFrom(value: string | undefined): number {
  if (value === undefined) return availableParallelism();
  const workers = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
    throw new UsageError(`--workers: expected a number of processes from 1 to ${MAX_WORKERS}, got "${value}"`);
  }
  return workers;
}

export function requireManifests(values: { manifests?: string }): string {
  if (values.manifests === undefined || values.manifests === '') throw new UsageError('--manifests DIR is required');
  return values.manifests;
}

export function logLevelFrom(value: string | undefined): 'debug' | 'info' | 'warn' | 'error' {
  const v = value ?? 'info';
  if (v === 'debug' || v === 'info' || v === 'warn' || v === 'error') return v;
  throw new UsageError(`--log-level: expected debug, info, warn or error, got "${v}"`);
}

/**
 * --endpointslice-managers: a comma-separated list of managed-by values, or
 * "any" (every slice is used). Absent: the cluster's own controllers.
 */
export function endpointSliceManagersFrom(value: string | undefined): readonly string[] | undefined {
  if (value === undefined) return KUBERNETES_ENDPOINTSLICE_MANAGERS;
  if (value === 'any') return undefined;
  const list = value.split(',').map((v) => v.trim());
  for (const v of list) {
    // A label value: at most 63 characters, alphanumerics with -_. inside.
    if (!/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(v)) throw new UsageError(`--endpointslice-managers: "${v}" is not a label value (or use "any")`);
  }
  return list;
}
