// Host header and absolute-form authority validation (RFC 9112 §3.2, RFC 3986
// §3.2.2), stricter than the URI grammar on purpose: a name is letters,
// digits, '-', '_' and dots between non-empty labels; an IP literal is a
// bracketed IPv6 address (no zone, no IPvFuture); no userinfo, no empty host,
// a port of 1-5 digits within 1-65535. Anything looser ("a b", "u@a",
// "a/../b", "a:99999") is what lets two components disagree about which
// virtual host a request is for.

import { CLASS, HEX, HOST_NAME } from './tokens.ts';

/** A validated authority: `host` lowercase without one trailing dot (IPv6 keeps its brackets). */
export interface Authority {
  host: string;
  /** undefined when the authority had no port. */
  port: number | undefined;
}

const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/** Parses s[start, end) as host [":" port] into `out`; false when invalid. */
export function parseAuthority(s: string, start: number, end: number, out: Authority): boolean {
  if (start >= end) return false;
  let hostEnd: number;
  let host: string;
  if (s.charCodeAt(start) === 0x5b /* [ */) {
    const close = s.indexOf(']', start);
    if (close === -1 || close >= end || !isIpv6(s, start + 1, close)) return false;
    hostEnd = close + 1;
    host = s.slice(start, hostEnd).toLowerCase();
  } else {
    let i = start;
    let upper = false;
    while (i < end) {
      const c = s.charCodeAt(i);
      if ((CLASS[c]! & HOST_NAME) === 0) break;
      if (c >= 0x41 && c <= 0x5a) upper = true;
      i++;
    }
    hostEnd = i;
    let nameEnd = hostEnd;
    if (nameEnd - start > 1 && s.charCodeAt(nameEnd - 1) === 0x2e) nameEnd--; // one trailing dot: a fully-qualified name
    if (!isHostName(s, start, nameEnd)) return false;
    host = s.slice(start, nameEnd);
    if (upper) host = host.toLowerCase();
  }
  if (hostEnd === end) {
    out.host = host;
    out.port = undefined;
    return true;
  }
  if (s.charCodeAt(hostEnd) !== 0x3a /* : */) return false;
  const port = parsePort(s, hostEnd + 1, end);
  if (port < 0) return false;
  out.host = host;
  out.port = port;
  return true;
}

function isHostName(s: string, start: number, end: number): boolean {
  const length = end - start;
  if (length === 0 || length > MAX_NAME_LENGTH) return false;
  let labelStart = start;
  for (let i = start; i <= end; i++) {
    if (i === end || s.charCodeAt(i) === 0x2e) {
      const label = i - labelStart;
      if (label === 0 || label > MAX_LABEL_LENGTH) return false;
      labelStart = i + 1;
    }
  }
  return true;
}

function parsePort(s: string, start: number, end: number): number {
  const digits = end - start;
  if (digits < 1 || digits > 5) return -1;
  let port = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    port = port * 10 + d;
  }
  return port >= 1 && port <= 65535 ? port : -1;
}

/** RFC 4291 §2.2 text form: up to 8 groups of 1-4 hex digits, one "::" at most, optional trailing IPv4. */
export function isIpv6(s: string, start: number, end: number): boolean {
  let groups = 0;
  let compressed = false;
  let i = start;
  if (i + 1 < end && s.charCodeAt(i) === 0x3a && s.charCodeAt(i + 1) === 0x3a) {
    compressed = true;
    i += 2;
    if (i === end) return true; // "::"
  } else if (i < end && s.charCodeAt(i) === 0x3a) {
    return false;
  }
  for (;;) {
    const groupStart = i;
    while (i < end && (CLASS[s.charCodeAt(i)]! & HEX) !== 0 && i - groupStart < 4) i++;
    if (i === groupStart) return false;
    if (i < end && s.charCodeAt(i) === 0x2e) {
      // dotted IPv4 tail: re-read this group as its first octet
      if (!isIpv4(s, groupStart, end)) return false;
      groups += 2;
      break;
    }
    groups++;
    if (i === end) break;
    if (s.charCodeAt(i) !== 0x3a) return false;
    i++;
    if (i < end && s.charCodeAt(i) === 0x3a) {
      if (compressed) return false;
      compressed = true;
      i++;
      if (i === end) break;
    } else if (i === end) {
      return false; // trailing single ':'
    }
  }
  return compressed ? groups <= 7 : groups === 8;
}

function isIpv4(s: string, start: number, end: number): boolean {
  let octets = 0;
  let i = start;
  for (;;) {
    const octetStart = i;
    let value = 0;
    while (i < end && i - octetStart < 3) {
      const d = s.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) break;
      value = value * 10 + d;
      i++;
    }
    const digits = i - octetStart;
    if (digits === 0 || value > 255 || (digits > 1 && s.charCodeAt(octetStart) === 0x30)) return false;
    octets++;
    if (i === end) return octets === 4;
    if (s.charCodeAt(i) !== 0x2e || octets === 4) return false;
    i++;
  }
}

/** The port a request for `scheme` with this authority really goes to. */
export function effectivePort(port: number | undefined, scheme: 'http' | 'https'): number {
  return port ?? (scheme === 'https' ? 443 : 80);
}
