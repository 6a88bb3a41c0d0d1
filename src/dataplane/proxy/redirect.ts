// The HTTP → HTTPS redirect (ingress-nginx's ssl-redirect: 308, so methods
// and bodies are kept) and its one exception: ACME HTTP-01 challenges must
// be answered over plain HTTP, or cert-manager could never issue the first
// certificate through Martello (ingress-nginx's no-tls-redirect-locations).

const ACME_PREFIX = '/.well-known/acme-challenge/';

export function isAcmeChallenge(path: string): boolean {
  return path.startsWith(ACME_PREFIX);
}

/**
 * `https://host[:port]/target`. The host comes from the request (its port,
 * which is the plain listener's, is dropped); `port` 443 is left out. The
 * target is the request's own origin-form target, already validated to start
 * with "/", so the Location cannot point at another origin.
 */
export function redirectLocation(hostHeader: string, target: string, port: number): string | undefined {
  const host = hostOnly(hostHeader);
  if (host === '' || !HOST_CHARS.test(host)) return undefined;
  return port === 443 ? `https://${host}${target}` : `https://${host}:${port}${target}`;
}

/** A DNS name, IPv4 or bracketed IPv6 literal: nothing that could change the URL's structure ("/", "@", "\\", ...). */
const HOST_CHARS = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])$/;

function hostOnly(hostHeader: string): string {
  if (hostHeader.charCodeAt(0) === 0x5b /* [ */) {
    const close = hostHeader.indexOf(']');
    return close === -1 ? hostHeader : hostHeader.slice(0, close + 1);
  }
  const colon = hostHeader.indexOf(':');
  return colon === -1 ? hostHeader : hostHeader.slice(0, colon);
}
