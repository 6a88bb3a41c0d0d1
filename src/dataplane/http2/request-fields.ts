// Checks a decoded HTTP/2 request header list (RFC 9113 §8.2, §8.3.1)
// before anything reads it: a request that breaks a rule is malformed, and
// the server resets its stream with PROTOCOL_ERROR. As strict as the
// HTTP/1.1 codec: lowercase token names, no connection-specific fields, TE
// only "trailers", values without control characters (HTAB aside) and
// without leading or trailing whitespace, one Content-Length of digits,
// pseudo-fields first, each once, and :path an origin-form path (or "*"
// for OPTIONS). Pure: no I/O.

/** What the server needs from a request's pseudo-fields. */
export interface RequestPseudo {
  method: string;
  path: string;
  /** Content-Length, or -1 when absent. */
  contentLength: number;
}

// Token characters (RFC 9110 §5.6.2) except uppercase letters: HTTP/2 names are lowercase.
const NAME_CHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") NAME_CHAR[c.charCodeAt(0)] = 1;
const METHOD_CHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") METHOD_CHAR[c.charCodeAt(0)] = 1;

const CONNECTION_SPECIFIC = new Set(['connection', 'proxy-connection', 'keep-alive', 'transfer-encoding', 'upgrade']);
const DIGITS = /^\d{1,15}$/;

/**
 * Checks `fields` ([name, value, ...]) and fills `out`; returns null when the
 * request is well-formed, else what is wrong (for logs and tests).
 */
export function checkRequestFields(fields: readonly string[], out: RequestPseudo): string | null {
  let method = '';
  let path = '';
  let scheme = '';
  let seenPseudo = 0;
  let regular = false;
  let contentLength = -1;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (name.length === 0) return 'empty field name';
    if (!validValue(value)) return `invalid value of ${name}`;
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return `pseudo-field ${name} after a regular field`;
      let bit: number;
      switch (name) {
        case ':method':
          bit = 1;
          method = value;
          break;
        case ':scheme':
          bit = 2;
          scheme = value;
          break;
        case ':authority':
          bit = 4;
          break;
        case ':path':
          bit = 8;
          path = value;
          break;
        default:
          return `unknown pseudo-field ${name}`;
      }
      if ((seenPseudo & bit) !== 0) return `repeated ${name}`;
      seenPseudo |= bit;
      continue;
    }
    regular = true;
    for (let j = 0; j < name.length; j++) {
      const c = name.charCodeAt(j);
      if (c >= 128 || NAME_CHAR[c] !== 1) return `invalid field name ${JSON.stringify(name)}`;
    }
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
    if (name === 'te' && value !== 'trailers') return 'te other than "trailers"';
    if (name === 'content-length') {
      if (contentLength !== -1 || !DIGITS.test(value)) return 'invalid or repeated content-length';
      contentLength = Number(value);
    }
  }
  if ((seenPseudo & 1) === 0 || method.length === 0) return 'no :method';
  for (let j = 0; j < method.length; j++) {
    const c = method.charCodeAt(j);
    if (c >= 128 || METHOD_CHAR[c] !== 1) return 'invalid :method';
  }
  out.method = method;
  out.contentLength = contentLength;
  if (method === 'CONNECT') {
    // Plain CONNECT (§8.5): :authority and no :scheme or :path; the server refuses it.
    if ((seenPseudo & (2 | 8)) !== 0) return 'CONNECT with :scheme or :path';
    if ((seenPseudo & 4) === 0) return 'CONNECT without :authority';
    out.path = '';
    return null;
  }
  if ((seenPseudo & 2) === 0 || scheme.length === 0) return 'no :scheme';
  if ((seenPseudo & 8) === 0 || path.length === 0) return 'no :path';
  if (path === '*') {
    if (method !== 'OPTIONS') return '":path *" without OPTIONS';
  } else if (path.charCodeAt(0) !== 0x2f) {
    return ':path not starting with "/"';
  }
  for (let j = 0; j < path.length; j++) {
    const c = path.charCodeAt(j);
    if (c <= 0x20 || c >= 0x7f) return 'invalid character in :path';
  }
  out.path = path;
  return null;
}

/**
 * Checks a request's trailers (§8.1): no pseudo-fields, and the same name
 * and value rules as the head. Returns null when they are well-formed.
 */
export function checkTrailerFields(fields: readonly string[]): string | null {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (name.length === 0) return 'empty field name';
    if (name.charCodeAt(0) === 0x3a) return `pseudo-field ${name} in trailers`;
    for (let j = 0; j < name.length; j++) {
      const c = name.charCodeAt(j);
      if (c >= 128 || NAME_CHAR[c] !== 1) return `invalid field name ${JSON.stringify(name)}`;
    }
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
    if (name === 'te' && value !== 'trailers') return 'te other than "trailers"';
    if (!validValue(value)) return `invalid value of ${name}`;
  }
  return null;
}

/** No control character but HTAB, no leading or trailing SP/HTAB (RFC 9113 §8.2.1, RFC 9110 §5.5). */
function validValue(value: string): boolean {
  const n = value.length;
  if (n === 0) return true;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(n - 1);
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}
