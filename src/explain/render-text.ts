// The human-readable form of an ExplainResult, as `martello explain` prints
// it: the outcome first, then each step (virtual host, route, the routes
// and rules that did not serve, backend, TLS) with its reason. Works from
// the JSON alone, so `explain --admin` renders what a running instance sent.

import type { ExplainedCertificate, ExplainResult, RuleSource } from './result.ts';

export function renderExplainText(r: ExplainResult): string {
  const out: string[] = [];
  const q = r.request;
  const extra = q.headers.length === 0 ? '' : `  ${q.headers.map(([n, v]) => `${n}: ${v}`).join('; ')}`;
  out.push(`${q.method} ${q.url}${q.scheme === 'https' ? `  (SNI ${q.sni ?? 'none'})` : ''}${extra}`);
  if (r.generation !== null) out.push(`configuration generation ${r.generation}`);
  out.push(`=> ${r.decision.summary}`);
  out.push('');

  const vh = r.virtualHost;
  out.push(vh.selected === null ? `Virtual host: none: ${vh.reason}` : `Virtual host: ${vh.selected.host} (${vh.selected.kind}): ${vh.reason}`);
  for (const c of vh.considered) {
    if (vh.selected !== null && c.host === vh.selected.host) continue;
    out.push(`  ${c.host}: ${c.selected ? 'chosen' : 'not chosen'}, ${c.reason}`);
  }

  out.push('');
  const route = r.route;
  if (route === null) {
    out.push(vh.selected === null
      ? 'Route: none: no virtual host, and no Ingress provides a catch-all default backend'
      : `Route: none: no path of ${vh.selected.host} matches, and neither the host nor the catch-all has a default backend`);
  } else if (route.kind === 'route') {
    out.push(`Route: ${route.match?.type} ${route.match?.path} from ${source(route.source, route.ingress)}`);
    out.push(`  ${route.reason}`);
  } else {
    out.push(`Route: ${route.kind === 'fallback' ? 'the host\'s default backend' : 'the catch-all default backend'} from ${source(route.source, route.ingress)}`);
    out.push(`  ${route.reason}`);
  }
  const others = r.routes.filter((c) => c.verdict !== 'selected');
  if (others.length > 0) {
    out.push(`Other routes of ${vh.selected?.host}:`);
    const width = Math.max(...others.map((c) => `${c.match.type} ${c.match.path}`.length));
    for (const c of others) out.push(`  ${`${c.match.type} ${c.match.path}`.padEnd(width)}  ${source(c.source, c.ingress)}: ${c.reason}`);
  }
  if (r.notServed.length > 0) {
    out.push('Ingress rules that match but do not serve this request:');
    for (const n of r.notServed) out.push(`  ${source(n.source, n.source.ingress)} (host ${n.host}): ${n.reason} [${n.code}]`);
  }

  out.push('');
  const b = r.backend;
  const status = r.decision.status;
  const unreached = r.decision.action === 'local' && status !== 503 ? ` (not reached: Martello answers ${status} first)` : '';
  if (b === null) {
    out.push('Backend: none (Martello answers 404 itself)');
  } else {
    out.push(`Backend${unreached}: ${b.cluster} (Service ${b.namespace}/${b.service} port ${b.port}), upstream protocol ${b.protocol}`);
    if (b.upstreamTls !== undefined) {
      out.push(`  upstream TLS: ${b.upstreamTls.verify ? 'verified' : 'not verified'}, SNI ${b.upstreamTls.serverName ?? 'none'}${b.upstreamTls.caBundle ? ', CA bundle from a Secret' : ''}`);
    }
    if (b.problem === undefined) out.push(`  endpoints (${b.endpoints.length}, ${b.balancing}${b.affinity === undefined ? '' : `, ${b.affinity}`}): ${b.endpoints.join(', ')}`);
    else {
      out.push(`  no endpoints: ${b.problem}`);
      for (const d of b.problemDetails) out.push(`    ${d}`);
    }
  }

  out.push('');
  const t = r.tls;
  out.push(`TLS: ${t.hostHasTls ? `host ${q.host} has TLS` : `host ${q.host} has no TLS`}`);
  const forName = t.certificateFor === null ? 'without SNI' : `for ${t.certificateFor}`;
  out.push(`  certificate ${forName}: ${certificate(t.certificate)}`);
  out.push(`    ${t.certificateReason}`);
  for (const p of t.problems) out.push(`    ${p}`);
  if (t.sniCheck !== null) {
    out.push(t.sniCheck.misdirected
      ? `  SNI and Host select different virtual hosts (${t.sniCheck.sniVirtualHost ?? 'none'} and ${t.sniCheck.hostVirtualHost ?? 'none'}): 421`
      : `  SNI and Host select the same virtual host (${t.sniCheck.hostVirtualHost ?? 'none'}): no 421`);
  }
  if (t.redirect !== null) out.push(`  redirect to HTTPS: ${t.redirect.applies ? 'yes' : 'no'}, ${t.redirect.reason}`);
  out.push(`  HSTS: ${r.decision.hsts ?? 'none'}, ${t.hstsReason}`);

  if (r.decision.action === 'forward' && r.decision.upstreamHeaders !== undefined) {
    out.push('');
    const h2 = r.backend?.protocol === 'h2c' || r.backend?.protocol === 'h2';
    out.push(`Upstream request: ${q.method} ${r.decision.upstreamTarget}${h2 ? ' over HTTP/2 (Host becomes :authority; gRPC requests get te: trailers)' : ''}`);
    for (const [n, v] of r.decision.upstreamHeaders) out.push(`  ${n}: ${v}`);
  }
  return out.join('\n') + '\n';
}

function source(s: RuleSource | null, ingress: string): string {
  if (s === null) return `Ingress ${ingress}`;
  const path = s.pathType === undefined ? '' : ` (${s.pathType} ${s.path})`;
  return `Ingress ${s.ingress} ${s.field}${path}`;
}

function certificate(c: ExplainedCertificate): string {
  if (c.source === 'generated') return 'the self-signed certificate generated at start-up (CN=Martello Default Certificate)';
  const what = c.source === 'default' ? `the default certificate, Secret ${c.id}` : `Secret ${c.id}`;
  return `${what}, names ${(c.names ?? []).join(', ')}, valid until ${c.notAfter}, SHA-256 ${c.fingerprint}`;
}
