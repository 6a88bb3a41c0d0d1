// explainRequest: what Martello does with one request, and why. The decision
// is the proxy's own (routeRequest on a route table compiled from the same
// model), so explain cannot disagree with what the data plane does; the rest
// of the answer puts each step into words: the virtual host, the routes of
// that host that did and did not match, the Ingress rules that would match
// but are not served (class, conflicts), the cluster and its endpoints, and
// TLS. Pure: no I/O, and the table it compiles is its own, so explaining
// never moves a live load balancer's round-robin cursor.

import { normaliseHost } from '../dataplane/compile/host.ts';
import { compile } from '../dataplane/compile/route-table.ts';
import type { ForwardMatch, RouteMatch } from '../dataplane/compile/route-match.ts';
import type { CompiledVirtualHost } from '../dataplane/compile/virtual-host.ts';
import { DEFAULT_HSTS } from '../dataplane/proxy/options.ts';
import { routeRequest, type RouteDecision, type RouteSettings } from '../dataplane/proxy/route-request.ts';
import type { Ingress } from '../k8s/objects.ts';
import type { RoutingModel } from '../model/model.ts';
import type { Diagnostic } from '../shared/diagnostic.ts';
import type { IngressStatus } from '../translate/status.ts';
import { describeAffinity, describeBalancing } from './balancing.ts';
import { explainVirtualHost } from './hosts.ts';
import { findNotServed } from './not-served.ts';
import { pathMatches, whyLost, whyNoMatch, whyWon } from './paths.ts';
import type { ParsedRequest } from './request.ts';
import type { ExplainedBackend, ExplainedCandidate, ExplainedDecision, ExplainedRoute, ExplainResult } from './result.ts';
import { SourceIndex } from './sources.ts';
import { explainTls } from './tls.ts';

export interface ExplainContext {
  /** The routing model to explain (the one applied, for a running instance). */
  readonly model: RoutingModel;
  readonly generation?: number;
  /** Per-Ingress ownership from translate: why an Ingress is not ours. */
  readonly statuses?: readonly IngressStatus[];
  /** Translation diagnostics: conflicts lost, missing Services, TLS problems. */
  readonly diagnostics?: readonly Diagnostic[];
  /** Every Ingress, ours or not: rule indexes and the rules that are not served. */
  readonly ingresses?: readonly Ingress[];
  /** HSTS value (null: --no-hsts) and the redirect port, as the proxy is configured. */
  readonly settings?: Partial<RouteSettings>;
}

export function explainRequest(ctx: ExplainContext, request: ParsedRequest): ExplainResult {
  const settings: RouteSettings = { hsts: ctx.settings?.hsts === undefined ? DEFAULT_HSTS : ctx.settings.hsts, httpsRedirectPort: ctx.settings?.httpsRedirectPort ?? 443 };
  const table = compile(ctx.model, ctx.generation ?? 0);
  const decision = routeRequest(table, {
    rawHeaders: request.rawHeaders,
    http2: false,
    target: request.target,
    encrypted: request.scheme === 'https',
    servername: request.sni ?? undefined,
    remoteAddress: CLIENT_PLACEHOLDER,
    localPort: request.port,
  }, settings);
  const diagnostics = ctx.diagnostics ?? [];
  const ingresses = ctx.ingresses ?? [];
  const sources = new SourceIndex(ingresses);
  const vhost = table.virtualHostFor(request.authority);
  // Routes are matched on the canonical path ("//a/./b" is "/a/b"), as the proxy does.
  const path = decision.path === '' ? request.path : decision.path;
  const match = table.match(request.authority, path);
  const served = match.kind === 'not-found' ? undefined : match;

  const routes = vhost === undefined ? [] : explainCandidates(vhost, match, path, sources);
  const route = explainRoute(match, sources, routes.find((r) => r.verdict === 'selected')?.reason ?? '');
  const backend = served === undefined ? null : explainBackend(served, diagnostics);
  const tls = explainTls({
    table, request, match: served, hsts: decisionHsts(decision), hstsSetting: settings.hsts,
    ingresses: new Map(ingresses.map((i) => [`${i.metadata.namespace}/${i.metadata.name}`, i])), diagnostics,
  });
  const notServed = findNotServed({
    ingresses,
    statuses: ctx.statuses,
    diagnostics,
    host: hostOf(request),
    path,
    selectedHost: vhost?.host ?? null,
    served: route?.source ?? null,
    matchKind: match.kind,
  });
  return {
    request: {
      url: request.url,
      method: request.method,
      scheme: request.scheme,
      authority: request.authority,
      host: hostOf(request),
      target: request.target,
      path: request.path,
      sni: request.sni,
      headers: request.headers,
    },
    generation: ctx.generation ?? null,
    decision: explainDecision(decision, served, backend, tls.sniCheck, request),
    virtualHost: explainVirtualHost(table, request.authority),
    route,
    routes,
    notServed,
    backend,
    tls,
  };
}

const CLIENT_PLACEHOLDER = '<client address>';

/** The Host header as virtual hosts are matched on it (lowercase, no port, no trailing dot). */
function hostOf(request: ParsedRequest): string {
  return normaliseHost(request.authority);
}

function explainRoute(match: RouteMatch, sources: SourceIndex, routeReason: string): ExplainedRoute | null {
  switch (match.kind) {
    case 'not-found':
      return null;
    case 'route':
      return {
        kind: 'route',
        host: match.vhost.host,
        match: { type: match.match.type, path: match.match.path },
        ingress: match.target.ingress,
        source: sources.route(match.target.ingress, match.vhost.host, match.match),
        reason: routeReason,
      };
    case 'fallback':
      return {
        kind: 'fallback',
        host: match.vhost.host,
        ingress: match.target.ingress,
        source: sources.defaultBackend(match.target.ingress),
        reason: `no path of host ${match.vhost.host} matches; its unmatched paths go to the defaultBackend of Ingress ${match.target.ingress}`,
      };
    case 'default':
      return {
        kind: 'default',
        host: match.vhost?.host ?? null,
        ingress: match.target.ingress,
        source: sources.defaultBackend(match.target.ingress),
        reason: match.vhost === null
          ? `no virtual host serves this host; the catch-all default backend (the oldest Ingress with a defaultBackend: ${match.target.ingress}) answers`
          : `no path of host ${match.vhost.host} matches and the host has no defaultBackend of its own; the catch-all default backend of Ingress ${match.target.ingress} answers`,
      };
  }
}

function explainCandidates(vhost: CompiledVirtualHost, match: RouteMatch, path: string, sources: SourceIndex): ExplainedCandidate[] {
  const winner = match.kind === 'route' ? match : undefined;
  const matching = vhost.routes.filter((r) => r !== winner && pathMatches(r.match, path)).map((r) => r.match);
  return vhost.routes.map((r): ExplainedCandidate => {
    const base = {
      match: { type: r.match.type, path: r.match.path },
      ingress: r.target.ingress,
      source: sources.route(r.target.ingress, vhost.host, r.match),
      cluster: r.target.cluster,
    };
    if (r === winner) return { ...base, verdict: 'selected', reason: whyWon(r.match, matching) };
    if (winner !== undefined && pathMatches(r.match, path)) return { ...base, verdict: 'matches', reason: whyLost(winner.match, r.match) };
    return { ...base, verdict: 'no-match', reason: whyNoMatch(r.match, path) };
  });
}

function explainBackend(match: ForwardMatch, diagnostics: readonly Diagnostic[]): ExplainedBackend {
  const c = match.cluster;
  const src = c.source;
  const upstreamTls = src.upstreamTls === undefined
    ? undefined
    : { verify: src.upstreamTls.verify, serverName: src.upstreamTls.serverName, caBundle: src.upstreamTls.caPem !== null };
  const endpoints = c.balancer.endpoints.map((e) => (e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`));
  const affinity = describeAffinity(src);
  const base = {
    cluster: c.id,
    namespace: src.namespace,
    service: src.service,
    port: src.port,
    protocol: src.protocol,
    ...(upstreamTls === undefined ? {} : { upstreamTls }),
    balancing: describeBalancing(src),
    ...(affinity === undefined ? {} : { affinity }),
    endpoints,
  };
  if (c.problem === undefined) return { ...base, problemDetails: [] };
  const object = `Ingress ${match.target.ingress}`;
  const details = [...new Set(diagnostics.filter((d) => d.object === object && d.code === c.problem).map((d) => d.message))];
  return { ...base, problem: c.problem, problemDetails: details };
}

function decisionHsts(d: RouteDecision): string | null {
  if (d.kind === 'forward') return d.hsts;
  const h = d.headers;
  if (h === undefined) return null;
  for (let i = 0; i + 1 < h.length; i += 2) if (h[i] === 'strict-transport-security') return h[i + 1]!;
  return null;
}

function explainDecision(
  d: RouteDecision,
  served: ForwardMatch | undefined,
  backend: ExplainedBackend | null,
  sniCheck: { readonly sniVirtualHost: string | null; readonly hostVirtualHost: string | null; readonly misdirected: boolean } | null,
  request: ParsedRequest,
): ExplainedDecision {
  const hsts = decisionHsts(d);
  if (d.kind === 'forward') {
    const n = backend?.endpoints.length ?? 0;
    const headers: Array<readonly [string, string]> = [];
    const clientId = request.headers.find(([name]) => name.toLowerCase() === 'x-request-id')?.[1];
    for (let i = 0; i + 1 < d.headers.length; i += 2) {
      const name = d.headers[i]!;
      let value = d.headers[i + 1]!;
      if (name === 'x-request-id' && value !== clientId) value = '<generated>';
      else if (name === 'x-forwarded-port') value = '<listener port>';
      headers.push([name, value]);
    }
    return {
      action: 'forward',
      status: null,
      summary: `forwarded to ${served?.cluster.id} over ${backend?.protocol} (${n === 1 ? 'its only endpoint' : `one of ${n} endpoints, ${backend?.balancing}`})`,
      hsts,
      grpc: d.grpc,
      upstreamTarget: d.target,
      upstreamHeaders: headers,
    };
  }
  const grpc = d.grpc ? ' (sent as a gRPC status)' : '';
  let summary: string;
  switch (d.status) {
    case 421:
      summary = `421 Misdirected Request: SNI "${request.sni}" selects virtual host ${sniCheck?.sniVirtualHost ?? '(none)'}, but Host "${request.authority}" selects ${sniCheck?.hostVirtualHost ?? '(none)'}`;
      break;
    case 404:
      summary = `404 Not Found${grpc}: no route matches and there is no default backend`;
      break;
    case 308:
      summary = `308 Permanent Redirect to ${location(d.headers)}`;
      break;
    case 503:
      summary = `503 Service Unavailable${grpc}: backend ${served?.cluster.id} has no endpoint to send to (${backend?.problem ?? 'no-endpoints'})`;
      break;
    case 400:
      summary = served?.target.httpsRedirect === true && request.scheme === 'http'
        ? '400 Bad Request: the Host header has characters that cannot go into the HTTPS redirect URL'
        : '400 Bad Request: the request is malformed (more than one Host header)';
      break;
    default:
      summary = `${d.status}`;
  }
  const loc = location(d.headers);
  return {
    action: 'local',
    status: d.status,
    summary,
    ...(loc === undefined ? {} : { location: loc }),
    hsts,
    grpc: d.grpc,
  };
}

function location(headers: readonly string[] | undefined): string | undefined {
  if (headers === undefined) return undefined;
  for (let i = 0; i + 1 < headers.length; i += 2) if (headers[i] === 'location') return headers[i + 1];
  return undefined;
}
