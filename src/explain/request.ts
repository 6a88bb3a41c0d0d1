// The request to explain, as a user writes it (a URL, headers, an SNI name)
// turned into what the proxy's routing decision reads: the Host header,
// the origin-form target, whether the connection is TLS and its SNI. The
// URL is split by hand rather than with WHATWG URL, which would resolve
// dot segments and re-encode characters that the proxy matches as sent.

export interface ExplainRequest {
  /** "http://host[:port]/path?query" or "https://..."; without a scheme, http (as curl does). */
  readonly url: string;
  /** Default GET. Routing does not depend on it; it is shown. */
  readonly method?: string;
  /** Extra request headers in order; a Host header replaces the URL's authority. */
  readonly headers?: ReadonlyArray<readonly [string, string]>;
  /** HTTPS only: the SNI name; default the URL's host (none for IP literals, as TLS clients do); "" sends none. */
  readonly sni?: string;
}

export interface ParsedRequest {
  /** The URL as given. */
  readonly url: string;
  readonly method: string;
  readonly scheme: 'http' | 'https';
  /** The Host header value the request carries. */
  readonly authority: string;
  /** Origin-form target: path and query. */
  readonly target: string;
  readonly path: string;
  readonly sni: string | null;
  readonly port: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** rawHeaders as node delivers them: Host first (unless given explicitly), then the given headers. */
  readonly rawHeaders: readonly string[];
}

export type ParseOutcome = { readonly ok: true; readonly request: ParsedRequest } | { readonly ok: false; readonly error: string };

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET = /^[\x21-\x7e]*$/;

export function parseExplainRequest(input: ExplainRequest): ParseOutcome {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(input.url);
  const scheme = m === null ? 'http' : m[1]!.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return fail(`unsupported scheme "${scheme}": use http:// or https://`);
  const rest = m === null ? input.url : m[2]!;
  const end = firstOf(rest, '/?#');
  let authority = rest.slice(0, end);
  let target = rest.slice(end);
  const hash = target.indexOf('#');
  if (hash !== -1) target = target.slice(0, hash);
  if (target === '' || target.startsWith('?')) target = `/${target}`;
  if (!TARGET.test(target)) return fail('the URL path has spaces or control characters: percent-encode them as a client would');
  const at = authority.lastIndexOf('@');
  if (at !== -1) authority = authority.slice(at + 1); // user:password is never sent in Host
  const split = splitAuthority(authority);
  if (split === undefined) return fail(`"${authority}" is not a host[:port]`);
  const port = split.port ?? (scheme === 'https' ? 443 : 80);

  const headers: Array<readonly [string, string]> = [];
  let explicitHost = false;
  for (const [name, value] of input.headers ?? []) {
    if (!TOKEN.test(name)) return fail(`"${name}" is not a valid header name`);
    if (!FIELD_VALUE.test(value)) return fail(`the value of header "${name}" has control characters`);
    if (name.toLowerCase() === 'host') explicitHost = true;
    headers.push([name, value.trim()]);
  }
  const firstHost = headers.find(([n]) => n.toLowerCase() === 'host');
  const hostValue = firstHost?.[1] ?? authority;
  const rawHeaders = explicitHost ? headers.flat() : ['Host', authority, ...headers.flat()];

  let sni: string | null = null;
  if (scheme === 'https') {
    if (input.sni !== undefined) sni = input.sni === '' ? null : input.sni;
    else sni = isIpLiteral(split.host) ? null : split.host;
  } else if (input.sni !== undefined && input.sni !== '') {
    return fail('an SNI name only applies to https:// URLs');
  }
  const method = (input.method ?? 'GET').toUpperCase();
  if (!TOKEN.test(method)) return fail(`"${input.method}" is not a valid method`);
  const q = target.indexOf('?');
  return {
    ok: true,
    request: {
      url: input.url,
      method,
      scheme,
      authority: hostValue,
      target,
      path: q === -1 ? target : target.slice(0, q),
      sni,
      port,
      headers,
      rawHeaders,
    },
  };
}

function fail(error: string): ParseOutcome {
  return { ok: false, error };
}

function firstOf(s: string, chars: string): number {
  for (let i = 0; i < s.length; i++) if (chars.includes(s[i]!)) return i;
  return s.length;
}

/** "host", "host:port", "[v6]" or "[v6]:port"; undefined when malformed or empty. */
function splitAuthority(authority: string): { host: string; port: number | undefined } | undefined {
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close === -1) return undefined;
    host = authority.slice(0, close + 1);
    const after = authority.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return undefined;
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colon = authority.lastIndexOf(':');
    host = colon === -1 ? authority : authority.slice(0, colon);
    portText = colon === -1 ? undefined : authority.slice(colon + 1);
  }
  if (host === '' || !/^[A-Za-z0-9._~%!$&'()*+,;=:[\]-]+$/.test(host)) return undefined;
  if (portText === undefined || portText === '') return { host, port: undefined };
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return undefined;
  return { host, port: Number(portText) };
}

function isIpLiteral(host: string): boolean {
  return host.startsWith('[') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

/** "Name: value" (as curl's -H takes it) → [name, value]; a string is the error. */
export function parseHeaderLine(line: string): readonly [string, string] | string {
  const colon = line.indexOf(':');
  if (colon <= 0) return `"${line}" is not a header: expected "Name: value"`;
  return [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
}
