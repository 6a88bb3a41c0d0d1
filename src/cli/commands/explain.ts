// `martello explain URL`: what Martello would do with one request (which
// virtual host and route, why the others did not match, which Ingresses are
// not served and why, the backend and its endpoints, the certificate, the
// redirect and HSTS), against a manifests directory, a cluster, or the
// admin listener of a running instance (GET /debug/explain).

import { parseArgs } from 'node:util';
import { request } from 'undici';
import { explainRequest } from '../../explain/explain.ts';
import { EXPLAIN_PATH } from '../../explain/http-query.ts';
import { renderExplainText } from '../../explain/render-text.ts';
import { parseExplainRequest, parseHeaderLine, type ExplainRequest } from '../../explain/request.ts';
import type { ExplainResult } from '../../explain/result.ts';
import type { Ingress } from '../../k8s/objects.ts';
import { buildSnapshot } from '../../translate/snapshot.ts';
import { translate } from '../../translate/translate.ts';
import { UsageError } from '../listen-address.ts';
import { loadObjects, SOURCE_FLAGS, SOURCE_HELP, sourceKind, sourceTranslateOptions } from '../load-source.ts';
import { CLASS_FLAGS, HELP_FLAG, proxyOptionsFrom, TLS_FLAGS } from '../options.ts';

export const EXPLAIN_HELP = `Usage: martello explain URL [options] (--manifests DIR | --kubeconfig FILE | --admin URL)

Explains what Martello does with one request: the virtual host and route it
selects and why the other routes of that host do not match, the Ingress
rules that would match but are not served (another IngressClass, a lost
conflict, another virtual host), the Service, its endpoints and upstream
protocol, the TLS certificate the SNI name gets, the 421 SNI/Host check, the
HTTP to HTTPS redirect and HSTS. The decision is the proxy's own routing
function run on the same configuration. See docs/explain.md.

URL is http://HOST[:PORT]/PATH?QUERY or https://...; the Host header is the
URL's authority unless --header 'Host: ...' is given; an https:// URL sends
the URL's host as SNI (none for an IP address) unless --sni is given.

Options:
  -H, --header 'Name: value'       a request header (repeatable), as curl -H
  --sni NAME                       SNI name of the TLS connection ('' for none)
  -X, --method METHOD              request method (default GET; shown, routing does not depend on it)
  --admin URL                      ask a running instance's admin listener, e.g. http://127.0.0.1:10254
${SOURCE_HELP}  --output text|json               text for people (default), json as the admin listener's /debug/explain
  --json                           same as --output json
  --controller-class NAME, --ingress-class NAME, --[no-]watch-ingress-without-class, --allow-cross-namespace-hosts,
  --default-ssl-certificate NS/NAME, --[no-]ssl-redirect, --https-redirect-port PORT,
  --[no-]hsts, --hsts-max-age SECONDS, --[no-]hsts-include-subdomains, --[no-]hsts-preload,
  --load-balance POLICY            as for 'serve' and 'controller' (without --admin)

Exit status: 0 when the request would be forwarded to an endpoint; 1 when
Martello would answer it itself (308, 400, 404, 421, 503) or the
configuration could not be read; 2 for usage errors.
`;

const EXPLAIN_FLAGS = {
  header: { type: 'string', short: 'H', multiple: true },
  sni: { type: 'string' },
  method: { type: 'string', short: 'X' },
  admin: { type: 'string' },
  output: { type: 'string', default: 'text' },
  json: { type: 'boolean' },
  'default-ssl-certificate': { type: 'string' },
} as const;

export async function runExplain(args: string[], out: NodeJS.WritableStream): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...EXPLAIN_FLAGS, ...SOURCE_FLAGS, ...CLASS_FLAGS, ...TLS_FLAGS, ...HELP_FLAG },
      strict: true,
      allowPositionals: true,
      allowNegative: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const flags = parsed.values;
  if (flags.help === true) {
    out.write(EXPLAIN_HELP);
    return 0;
  }
  if (parsed.positionals.length !== 1) throw new UsageError(parsed.positionals.length === 0 ? 'the URL to explain is required' : `one URL at a time (got ${parsed.positionals.length})`);
  const output = flags.json === true ? 'json' : flags.output;
  if (output !== 'text' && output !== 'json') throw new UsageError(`--output: expected text or json, got "${output}"`);
  const headers = (flags.header ?? []).map((line) => {
    const h = parseHeaderLine(line);
    if (typeof h === 'string') throw new UsageError(`--header: ${h}`);
    return h;
  });
  const req: ExplainRequest = {
    url: parsed.positionals[0]!,
    headers,
    ...(flags.sni === undefined ? {} : { sni: flags.sni }),
    ...(flags.method === undefined ? {} : { method: flags.method }),
  };
  const parsedRequest = parseExplainRequest(req);
  if (!parsedRequest.ok) throw new UsageError(parsedRequest.error);

  let result: ExplainResult;
  if (sourceKind(flags, { admin: flags.admin }) === 'admin') {
    result = await explainViaAdmin(flags.admin!, req);
  } else {
    const settings = proxyOptionsFrom(flags);
    const loaded = await loadObjects(flags);
    const translated = translate(buildSnapshot(loaded.objects), sourceTranslateOptions(flags, loaded), { now: Date.now() });
    result = explainRequest({
      model: translated.model,
      statuses: translated.statuses,
      diagnostics: [...loaded.problems, ...translated.diagnostics],
      ingresses: loaded.objects.filter((o): o is Ingress => o.kind === 'Ingress'),
      settings: { hsts: settings.hsts ?? null, ...(settings.httpsRedirectPort === undefined ? {} : { httpsRedirectPort: settings.httpsRedirectPort }) },
    }, parsedRequest.request);
  }
  out.write(output === 'json' ? JSON.stringify(result, null, 2) + '\n' : renderExplainText(result));
  return result.decision.action === 'forward' ? 0 : 1;
}

/** GET ADMIN/debug/explain?url=...: the running instance explains with its applied configuration. */
async function explainViaAdmin(admin: string, req: ExplainRequest): Promise<ExplainResult> {
  let base: URL;
  try {
    base = new URL(admin);
  } catch {
    throw new UsageError(`--admin: expected the admin listener's URL, e.g. http://127.0.0.1:10254, got "${admin}"`);
  }
  // Relative to the given URL, so an admin listener behind a path prefix (a proxy) works too.
  const url = new URL(EXPLAIN_PATH.slice(1), base.href.endsWith('/') ? base : new URL(`${base.href}/`));
  url.searchParams.set('url', req.url);
  for (const [name, value] of req.headers ?? []) url.searchParams.append('header', `${name}: ${value}`);
  if (req.sni !== undefined) url.searchParams.set('sni', req.sni);
  if (req.method !== undefined) url.searchParams.set('method', req.method);
  const res = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  const body = await res.body.text();
  if (res.statusCode === 404) throw new Error(`${url.href.split('?')[0]} not found: ${base.href} has no ${EXPLAIN_PATH}; is it a Martello admin listener of this version?`);
  if (res.statusCode === 400) throw new UsageError(errorOf(body));
  if (res.statusCode !== 200) throw new Error(`${url.href.split('?')[0]} answered ${res.statusCode}: ${body.slice(0, 200)}`);
  return JSON.parse(body) as ExplainResult;
}

function errorOf(body: string): string {
  try {
    return (JSON.parse(body) as { error?: string }).error ?? body;
  } catch {
    return body;
  }
}
