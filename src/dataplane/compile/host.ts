// Host header normalisation, done once per request before the vhost lookup.
// The raw header value may carry any case, a ":port", an IPv6 literal in
// brackets and one trailing dot (a fully-qualified name); the model's hosts
// are lowercase without any of these.

/** "Example.COM.:8080" → "example.com"; "[::1]:80" → "[::1]"; "" stays "". */
export function normaliseHost(hostHeader: string): string {
  let host = hostHeader;
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const close = host.indexOf(']');
    // An unterminated bracket is not a valid host; keep it whole so it matches
    // no exact or wildcard host and falls to "*".
    if (close !== -1) host = host.slice(0, close + 1);
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  if (host.length > 1 && host.charCodeAt(host.length - 1) === 0x2e /* . */) host = host.slice(0, -1);
  return host.toLowerCase();
}

/** The suffix a wildcard "*.example.com" is stored under ("example.com"), or undefined if `host` is not a wildcard. */
export function wildcardSuffix(host: string): string | undefined {
  return host.startsWith('*.') && host.length > 2 ? host.slice(2) : undefined;
}

/**
 * The key to look up among wildcards for a normalised request host: the host
 * without its first label. "a.example.com" → "example.com". undefined when
 * there is no first label to strip (no dot, or an empty first label).
 */
export function parentDomain(host: string): string | undefined {
  const dot = host.indexOf('.');
  return dot > 0 && dot < host.length - 1 ? host.slice(dot + 1) : undefined;
}
