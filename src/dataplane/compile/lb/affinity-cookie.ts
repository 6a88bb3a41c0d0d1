// The Set-Cookie value for session affinity, built from validated parts
// only. Translation has validated the settings already; checking again here
// means a bug elsewhere can never put a ";" or a line break into a response
// header (security.md R1/R2).
//
// Attributes: Path (default "/"), Domain, Max-Age, Expires (now + seconds,
// as an IMF-fixdate), Secure (when the settings ask for it or the request
// came over TLS, as ingress-nginx does), HttpOnly (always: scripts have no
// business with it), SameSite.

import { isCookieDomain, isCookieName, isCookiePath, isCookieValue, MAX_COOKIE_LIFETIME_SECONDS } from '../../../model/cookie-syntax.ts';
import type { CookieAffinity } from '../../../model/model.ts';

export interface CookieFormatOptions {
  /** The request came over TLS. */
  readonly encrypted: boolean;
  /** Wall-clock time in ms, for Expires. */
  readonly nowMs: number;
}

export class CookieSyntaxError extends Error {}

export function formatAffinityCookie(settings: CookieAffinity, value: string, opts: CookieFormatOptions): string {
  if (!isCookieName(settings.name)) throw new CookieSyntaxError(`invalid cookie name ${JSON.stringify(settings.name)}`);
  if (!isCookieValue(value)) throw new CookieSyntaxError(`invalid cookie value ${JSON.stringify(value)}`);
  const path = settings.path ?? '/';
  if (!isCookiePath(path)) throw new CookieSyntaxError(`invalid cookie path ${JSON.stringify(path)}`);
  let out = `${settings.name}=${value}; Path=${path}`;
  if (settings.domain !== undefined) {
    if (!isCookieDomain(settings.domain)) throw new CookieSyntaxError(`invalid cookie domain ${JSON.stringify(settings.domain)}`);
    out += `; Domain=${settings.domain}`;
  }
  if (settings.maxAgeSeconds !== undefined) out += `; Max-Age=${seconds(settings.maxAgeSeconds)}`;
  if (settings.expiresSeconds !== undefined) {
    out += `; Expires=${new Date(opts.nowMs + seconds(settings.expiresSeconds) * 1000).toUTCString()}`;
  }
  if (settings.secure === true || opts.encrypted) out += '; Secure';
  out += '; HttpOnly';
  if (settings.sameSite !== undefined) {
    if (settings.sameSite !== 'Strict' && settings.sameSite !== 'Lax' && settings.sameSite !== 'None') {
      throw new CookieSyntaxError(`invalid SameSite ${JSON.stringify(settings.sameSite)}`);
    }
    out += `; SameSite=${settings.sameSite}`;
  }
  return out;
}

function seconds(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_COOKIE_LIFETIME_SECONDS) throw new CookieSyntaxError(`invalid cookie lifetime ${n}`);
  return n;
}
