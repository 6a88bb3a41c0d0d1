// Finding one cookie in a request's Cookie header without splitting it into
// arrays or objects (RFC 6265 section 5.4 syntax: "a=1; b=2"). Names match
// case-sensitively; the first cookie with the name wins, which is the one
// with the most specific path when a browser sends several. A value in
// double quotes is returned without them.

const EQ = 0x3d;
const SP = 0x20;
const TAB = 0x09;
const DQUOTE = 0x22;

/**
 * Where `name`'s value starts in `header`, or -1 when the cookie is absent.
 * cookieValueEnd(header, start) gives where it ends.
 */
export function cookieValueStart(header: string, name: string): number {
  const len = header.length;
  let i = 0;
  while (i < len) {
    while (i < len && (header.charCodeAt(i) === SP || header.charCodeAt(i) === TAB)) i++;
    if (header.startsWith(name, i) && header.charCodeAt(i + name.length) === EQ) {
      const start = i + name.length + 1;
      return header.charCodeAt(start) === DQUOTE ? start + 1 : start;
    }
    const semi = header.indexOf(';', i);
    if (semi === -1) return -1;
    i = semi + 1;
  }
  return -1;
}

/** End (exclusive) of the value starting at `start`: the next ";", trailing blanks and a closing quote removed. */
export function cookieValueEnd(header: string, start: number): number {
  let end = header.indexOf(';', start);
  if (end === -1) end = header.length;
  while (end > start && (header.charCodeAt(end - 1) === SP || header.charCodeAt(end - 1) === TAB)) end--;
  if (end > start && header.charCodeAt(end - 1) === DQUOTE && start > 0 && header.charCodeAt(start - 1) === DQUOTE) end--;
  return end;
}

/** The value of cookie `name`, or undefined (one string allocation when found). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const start = cookieValueStart(header, name);
  if (start === -1) return undefined;
  return header.slice(start, cookieValueEnd(header, start));
}
