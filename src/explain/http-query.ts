// The admin listener's side of explain: GET /debug/explain?url=...&header=
// Name:%20value&sni=...&method=... answered with the ExplainResult as JSON.
// The listener only routes the request here with the current state; parsing
// the query and choosing the status are done once, in this module.

import { explainRequest, type ExplainContext } from './explain.ts';
import { parseExplainRequest, parseHeaderLine, type ExplainRequest } from './request.ts';
import type { ExplainResult } from './result.ts';

export const EXPLAIN_PATH = '/debug/explain';

/** The query parameters as an ExplainRequest, or the usage error to answer 400 with. */
export function explainRequestFromQuery(params: URLSearchParams): ExplainRequest | string {
  const url = params.get('url');
  if (url === null || url === '') return 'the url parameter is required, e.g. /debug/explain?url=https://app.example.com/path&header=X-Name:%20value';
  const headers: Array<readonly [string, string]> = [];
  for (const line of params.getAll('header')) {
    const h = parseHeaderLine(line);
    if (typeof h === 'string') return h;
    headers.push(h);
  }
  const sni = params.get('sni');
  const method = params.get('method');
  return { url, headers, ...(sni === null ? {} : { sni }), ...(method === null ? {} : { method }) };
}

export type ExplainHttpAnswer = { readonly status: 200; readonly body: ExplainResult } | { readonly status: 400; readonly body: { readonly error: string } };

/** What GET /debug/explain answers: 200 with the explanation, or 400 with { error } for a bad query. */
export function answerExplainQuery(params: URLSearchParams, ctx: ExplainContext): ExplainHttpAnswer {
  const req = explainRequestFromQuery(params);
  if (typeof req === 'string') return { status: 400, body: { error: req } };
  const parsed = parseExplainRequest(req);
  if (!parsed.ok) return { status: 400, body: { error: parsed.error } };
  return { status: 200, body: explainRequest(ctx, parsed.request) };
}
