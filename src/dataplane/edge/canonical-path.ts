// One canonical request path, computed once per request and used both for
// route matching and for the request line sent upstream, so a request can
// never match /public while the backend sees /admin (docs/edge.md,
// security research rule R8).
//
// Input: an origin-form request target, "/path" or "/path?query". Rules, in
// the order they apply:
//
//  1. The target must start with "/" ('not-origin-form'). The path ends at
//     the first "?"; the query is passed through untouched (no decoding, no
//     case change) but its characters are checked like the path's: NUL
//     ('nul'), other control characters ('control-char'), space, "#" and
//     anything outside printable ASCII ('invalid-char') are refused.
//  2. Path characters: RFC 3986 pchar plus the printable characters that
//     real clients send unencoded (" < > ^ ` { | }) are kept. A raw "\" is
//     refused ('backslash'); with `rejectBackslash: false` it is a "/"
//     (what browsers and Windows-minded backends make of it). "#", space,
//     NUL, controls and non-ASCII are refused as in the query.
//  3. Percent escapes must be "%" and two hex digits ('invalid-escape':
//     "%G1", "%4", a trailing "%"). Then, by the decoded octet:
//       unreserved (ALPHA DIGIT - . _ ~)  decoded ("%7E" → "~", "%2e" → ".")
//       00                                 'nul'
//       01-1F, 7F                          'control-char'
//       2F "/"                             'encoded-slash'; with
//                                          `rejectEncodedSlash: false` kept as
//                                          "%2F", never decoded
//       5C "\"                             'backslash'; with `rejectBackslash:
//                                          false` kept as "%5C"
//       anything else (reserved, "%", space, UTF-8 bytes)
//                                          kept encoded, hex in uppercase
//  4. Dot segments ("." and "..", including ones that were "%2E"-encoded)
//     are removed as in RFC 3986 §5.2.4. A ".." that would climb above the
//     root is refused ('dot-segment-above-root'): see "Above the root" below.
//  5. With `mergeSlashes` (the default) empty segments are dropped before
//     dot-segment removal, so "//" is "/" everywhere and "/a//../b" is "/b";
//     a trailing "/" is kept. Without it, empty segments are segments.
//  6. A segment that some backend could still read as a dot segment is
//     refused ('ambiguous-dot-segment'): one whose part before a ";" is "."
//     or ".." ("..;x", ".;", Tomcat/Jetty strip path parameters and then
//     resolve dots, so "/public/..;/admin" reaches /admin there), and, when
//     encoded slashes or backslashes are allowed, one with a "." or ".."
//     piece between "%2F"/"%5C" ("..%2Fadmin": a backend that decodes %2F
//     would climb).
//
// Above the root: RFC 3986 §5.2.4 and Envoy's `normalize_path` (Chromium's
// URL canonicaliser) clamp "/../a" to "/a"; nginx answers 400. Martello
// refuses. Either choice is safe for consistency, because matching and
// forwarding both use the output; refusing is chosen because no conforming
// user agent sends such a path (they resolve dot segments before sending),
// so it is a traversal probe, and a 400 makes it visible instead of
// quietly serving something else.
//
// Cost: the common case (no "%", no "\", no "//", no dot segment, no bad
// character) is a single scan that returns the input string itself, with
// no string built; only the small result object (and the path slice when
// there is a query) is allocated. Everything else takes the slow path.

export interface CanonicalPathOptions {
  /** Collapse "//" into "/" (default true). */
  readonly mergeSlashes: boolean;
  /** Refuse "%2F" (default true); when false, "%2F" is kept encoded and never decoded. */
  readonly rejectEncodedSlash: boolean;
  /** Refuse "\" and "%5C" (default true); when false "\" is a "/" and "%5C" is kept encoded. */
  readonly rejectBackslash: boolean;
}

export const DEFAULT_PATH_OPTIONS: CanonicalPathOptions = Object.freeze({
  mergeSlashes: true,
  rejectEncodedSlash: true,
  rejectBackslash: true,
});

export interface CanonicalTarget {
  /** The canonical path: used for route matching. */
  readonly path: string;
  /** The canonical path plus "?" and the query when there was one: sent upstream. */
  readonly target: string;
  /** False when `target` is the input unchanged. */
  readonly changed: boolean;
}

export type PathRejectionReason =
  | 'not-origin-form'
  | 'invalid-escape'
  | 'encoded-slash'
  | 'backslash'
  | 'nul'
  | 'control-char'
  | 'invalid-char'
  | 'dot-segment-above-root'
  | 'ambiguous-dot-segment';

export interface PathRejection {
  readonly reject: true;
  readonly status: 400;
  readonly reason: PathRejectionReason;
}

const rejection = (reason: PathRejectionReason): PathRejection => Object.freeze({ reject: true, status: 400, reason });

const R_NOT_ORIGIN = rejection('not-origin-form');
const R_ESCAPE = rejection('invalid-escape');
const R_ENCODED_SLASH = rejection('encoded-slash');
const R_BACKSLASH = rejection('backslash');
const R_NUL = rejection('nul');
const R_CONTROL = rejection('control-char');
const R_INVALID = rejection('invalid-char');
const R_ABOVE_ROOT = rejection('dot-segment-above-root');
const R_AMBIGUOUS = rejection('ambiguous-dot-segment');

/** True for a `PathRejection`. */
export function isPathRejection(r: CanonicalTarget | PathRejection): r is PathRejection {
  return (r as PathRejection).reject === true;
}

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const QUESTION = 0x3f;
const SEMICOLON = 0x3b;
const BACKSLASH = 0x5c;

// Character classes (ASCII only; everything >= 0x80 is invalid).
const C_INVALID = 0; // space, '#', DEL handled separately, non-ASCII
const C_PLAIN = 1; // kept as is in a path
const C_QUERY_ONLY = 2; // fine in a query, special in a path ('?', '\')
const C_CONTROL = 3;
const C_NUL = 4;

const CLASS = new Uint8Array(128);
const UNRESERVED = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  const digit = c >= 0x30 && c <= 0x39;
  if (alpha || digit || c === 0x2d || c === DOT || c === 0x5f || c === 0x7e) UNRESERVED[c] = 1;
  if (c === 0) CLASS[c] = C_NUL;
  else if (c < 0x20 || c === 0x7f) CLASS[c] = C_CONTROL;
  else if (c === 0x20 || c === 0x23 /* # */) CLASS[c] = C_INVALID;
  else if (c === QUESTION || c === BACKSLASH) CLASS[c] = C_QUERY_ONLY;
  else CLASS[c] = C_PLAIN; // includes '/', '%', ';' which the path scans look at first
}

// Characters the fast path passes without a second look: C_PLAIN minus '/' and '%'.
const FAST = new Uint8Array(128);
for (let c = 0; c < 128; c++) if (CLASS[c] === C_PLAIN && c !== SLASH && c !== PERCENT) FAST[c] = 1;

const ESCAPED: string[] = [];
for (let v = 0; v < 256; v++) ESCAPED.push(`%${v.toString(16).toUpperCase().padStart(2, '0')}`);

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** The rejection for a raw character that is not allowed, by class. */
function badChar(c: number): PathRejection {
  if (c === 0) return R_NUL;
  if (c < 0x20 || c === 0x7f) return R_CONTROL;
  return R_INVALID;
}

/** Checks target[from, end) as a query; undefined when fine. */
function checkQuery(target: string, from: number): PathRejection | undefined {
  for (let i = from; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c >= 128) return R_INVALID;
    const k = CLASS[c]!;
    if (k === C_PLAIN || k === C_QUERY_ONLY) continue;
    return badChar(c);
  }
  return undefined;
}

/** True when the character at `i` ends a segment for the fast path's dot test (or is past the end). */
function endsSegment(target: string, i: number): boolean {
  if (i >= target.length) return true;
  const c = target.charCodeAt(i);
  return c === SLASH || c === QUESTION || c === SEMICOLON;
}

/**
 * Canonicalises an origin-form request target (see the rules at the top of
 * this file). The result's `path` is for matching, its `target` for the
 * upstream request line.
 */
export function canonicalizeTarget(target: string, options: CanonicalPathOptions = DEFAULT_PATH_OPTIONS): CanonicalTarget | PathRejection {
  const len = target.length;
  if (len === 0 || target.charCodeAt(0) !== SLASH) return R_NOT_ORIGIN;
  const merge = options.mergeSlashes;
  let i = 0;
  for (; i < len; i++) {
    const c = target.charCodeAt(i);
    if (c < 128 && FAST[c] === 1) continue;
    if (c === SLASH) {
      const n = target.charCodeAt(i + 1); // NaN past the end
      if (n === SLASH) {
        if (merge) return slowPath(target, options);
      } else if (n === DOT) {
        if (endsSegment(target, i + 2)) return slowPath(target, options);
        if (target.charCodeAt(i + 2) === DOT && endsSegment(target, i + 3)) return slowPath(target, options);
      }
      continue;
    }
    if (c === QUESTION) break;
    return slowPath(target, options);
  }
  if (i < len) {
    const bad = checkQuery(target, i + 1);
    if (bad !== undefined) return bad;
    return { path: target.slice(0, i), target, changed: false };
  }
  return { path: target, target, changed: false };
}

/** Removes dot segments, merges slashes, decodes what may be decoded; builds new strings. */
function slowPath(target: string, options: CanonicalPathOptions): CanonicalTarget | PathRejection {
  const merge = options.mergeSlashes;
  const rejectEncodedSlash = options.rejectEncodedSlash;
  const rejectBackslash = options.rejectBackslash;
  let end = target.indexOf('?');
  if (end < 0) end = target.length;
  const segments: string[] = [];
  let segment = '';
  let plainFrom = 1;
  let ambiguous = false; // the segment has ';' or a kept %2F/%5C
  for (let i = 1; i <= end; i++) {
    const c = i < end ? target.charCodeAt(i) : SLASH;
    if (c === SLASH || (c === BACKSLASH && !rejectBackslash)) {
      segment += target.slice(plainFrom, i);
      const last = i === end;
      if (segment === '.') {
        if (last) segments.push('');
      } else if (segment === '..') {
        if (segments.length === 0) return R_ABOVE_ROOT;
        segments.pop();
        if (last) segments.push('');
      } else if (segment === '') {
        if (last || !merge) segments.push('');
      } else {
        if (ambiguous && hasDotPiece(segment)) return R_AMBIGUOUS;
        segments.push(segment);
      }
      segment = '';
      ambiguous = false;
      plainFrom = i + 1;
      continue;
    }
    if (c === PERCENT) {
      const h = i + 2 < end ? hexDigit(target.charCodeAt(i + 1)) : -1;
      const l = h >= 0 ? hexDigit(target.charCodeAt(i + 2)) : -1;
      if (l < 0) return R_ESCAPE;
      const v = (h << 4) | l;
      segment += target.slice(plainFrom, i);
      if (v < 128 && UNRESERVED[v] === 1) {
        segment += String.fromCharCode(v);
      } else if (v === 0) {
        return R_NUL;
      } else if (v < 0x20 || v === 0x7f) {
        return R_CONTROL;
      } else if (v === SLASH) {
        if (rejectEncodedSlash) return R_ENCODED_SLASH;
        segment += '%2F';
        ambiguous = true;
      } else if (v === BACKSLASH) {
        if (rejectBackslash) return R_BACKSLASH;
        segment += '%5C';
        ambiguous = true;
      } else {
        segment += ESCAPED[v]!;
      }
      i += 2;
      plainFrom = i + 1;
      continue;
    }
    if (c === SEMICOLON) {
      ambiguous = true;
      continue;
    }
    if (c < 128 && CLASS[c] === C_PLAIN) continue;
    if (c === BACKSLASH) return R_BACKSLASH;
    return badChar(c);
  }
  if (end < target.length) {
    const bad = checkQuery(target, end + 1);
    if (bad !== undefined) return bad;
  }
  const path = `/${segments.join('/')}`;
  const canonical = end < target.length ? path + target.slice(end) : path;
  if (canonical === target) return { path: end < target.length ? target.slice(0, end) : target, target, changed: false };
  return { path, target: canonical, changed: true };
}

/**
 * True when `segment` (decoded, with ";" or a kept "%2F"/"%5C" in it) could
 * be a dot segment to a backend that decodes "%2F"/"%5C" into separators or
 * drops path parameters: some piece between separators, cut at its first
 * ";", is "." or "..".
 */
function hasDotPiece(segment: string): boolean {
  const n = segment.length;
  let start = 0;
  let cut = -1;
  for (let k = 0; k <= n; k++) {
    const separator = k < n && segment.charCodeAt(k) === PERCENT && (segment.startsWith('%2F', k) || segment.startsWith('%5C', k));
    if (k === n || separator) {
      const pieceEnd = cut >= 0 ? cut : k;
      const length = pieceEnd - start;
      if ((length === 1 || length === 2) && segment.charCodeAt(start) === DOT && segment.charCodeAt(pieceEnd - 1) === DOT) return true;
      start = k + 3;
      cut = -1;
      k += 2;
    } else if (cut < 0 && segment.charCodeAt(k) === SEMICOLON) {
      cut = k;
    }
  }
  return false;
}

/**
 * The path routes are matched on: the canonical path with path parameters
 * (";..." up to the end of each segment) removed, so "/admin;jsessionid=1"
 * matches the routes of "/admin". Servlet containers (Tomcat, Jetty) drop
 * them before dispatching; matching on the path with them would let
 * "/admin;x" miss a Prefix /admin rule, fall through to "/" and reach the
 * backend's /admin without that route's policy. The request still goes
 * upstream with its parameters (the canonical target). Paths without ";"
 * (nearly all) are returned as they are, after one scan.
 */
export function matchPathOf(path: string): string {
  if (path.indexOf(';') === -1) return path;
  const segments = path.split('/');
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const semi = seg.indexOf(';');
    const bare = semi === -1 ? seg : seg.slice(0, semi);
    // A segment that was only parameters ("/a/;x/b") disappears, as "//" does.
    if (bare === '' && semi !== -1 && i < segments.length - 1) continue;
    out.push(bare);
  }
  const joined = out.join('/');
  return joined === '' ? '/' : joined;
}
