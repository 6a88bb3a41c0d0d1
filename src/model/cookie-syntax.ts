// The syntax of the cookie parts Martello writes in Set-Cookie (RFC 6265
// section 4.1.1). Translation validates annotations with these, and the
// data plane's cookie formatter checks again, so a value that could split a
// header or add an attribute never reaches the wire (security.md R1/R2).

/** cookie-name = token (RFC 9110 tchar): letters, digits and !#$%&'*+-.^_`|~. At most 128 characters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;

/** cookie-value characters: printable ASCII except space, DQUOTE, comma, semicolon and backslash. */
const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{1,256}$/;

/** path-value: printable ASCII except ";" (and, by Martello's choice, space, comma and backslash), starting with "/". */
const PATH_VALUE = /^\/[\x21-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{0,255}$/;

/** A DNS name, lowercase, with an optional leading dot (which browsers ignore). */
const DOMAIN_VALUE = /^\.?(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

export function isCookieName(value: string): boolean {
  return TOKEN.test(value);
}

export function isCookieValue(value: string): boolean {
  return COOKIE_VALUE.test(value);
}

export function isCookiePath(value: string): boolean {
  return PATH_VALUE.test(value);
}

export function isCookieDomain(value: string): boolean {
  return DOMAIN_VALUE.test(value);
}

/** The longest Max-Age or Expires offset accepted: 400 days, the cap browsers apply (RFC 6265bis). */
export const MAX_COOKIE_LIFETIME_SECONDS = 400 * 24 * 3600;
