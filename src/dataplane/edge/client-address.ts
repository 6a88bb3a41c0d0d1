// Which address is the client? The socket peer, unless the peer is a proxy
// we trust, in which case X-Forwarded-For tells us who connected to it.
//
// The rule (nginx's realip module with `real_ip_recursive on`, Envoy's
// `xff_trusted_cidrs`, ingress-nginx's `proxy-real-ip-cidr`):
//   1. If the peer is not in the trusted set, the peer is the client: a
//      client's own X-Forwarded-For is never believed.
//   2. Otherwise walk X-Forwarded-For from the right (the entry the nearest
//      proxy appended first). A trusted entry is one more proxy: keep going.
//      The first untrusted entry is the client.
//   3. If every entry is trusted, the leftmost one is the client (it is the
//      furthest address anyone we trust vouched for).
//   4. An entry that is not an address ("unknown", "1.2.3.4:80",
//      "[2001:db8::1]", "010.0.0.1", obfuscated identifiers, garbage) stops
//      the walk, and the answer is the last address we did trust: the proxy
//      that handed us the unparsable entry (the peer when the very last
//      entry is bad). Nothing to the left of garbage is ever used, because
//      once the chain is unreadable we cannot tell which part a trusted
//      proxy wrote and which part the client made up.
//
// Several X-Forwarded-For field lines are one list in order (RFC 9110
// §5.3), so the walk starts at the end of the last line. Empty list
// elements ("a, , b", trailing commas) are skipped (RFC 9110 §5.6.1);
// spaces and tabs around elements are optional whitespace.
//
// The source is X-Forwarded-For only. `Forwarded` (RFC 7239) and
// `X-Real-IP` are not read: accepting two sources invites an attacker to
// pick whichever one the trusted proxy does not overwrite.
//
// The result is the peer string exactly as given when the peer is the
// answer (Node's form, which may be "::ffff:a.b.c.d"), and the canonical
// text (RFC 5952 for IPv6) when it comes from X-Forwarded-For. No
// allocation unless an X-Forwarded-For entry is the answer.

import { type CidrSet, canonicalAddress } from './cidr.ts';

const COMMA = 0x2c;

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * The client address for a request that arrived from `peer` with the given
 * X-Forwarded-For field line(s) (undefined when absent).
 */
export function clientAddress(peer: string, trusted: CidrSet, xForwardedFor: string | readonly string[] | undefined): string {
  if (xForwardedFor === undefined || trusted.size === 0 || !trusted.contains(peer)) return peer;
  // The last trusted address seen: the peer, then XFF entries (as line, start, end).
  let lastLine: string | undefined;
  let lastStart = 0;
  let lastEnd = 0;
  const lineCount = typeof xForwardedFor === 'string' ? 1 : xForwardedFor.length;
  for (let l = lineCount - 1; l >= 0; l--) {
    const line = typeof xForwardedFor === 'string' ? xForwardedFor : xForwardedFor[l]!;
    let end = line.length;
    while (end > 0) {
      let start = end;
      while (start > 0 && line.charCodeAt(start - 1) !== COMMA) start--;
      const next = start - 1; // the comma before this element, or -1
      let a = start;
      let b = end;
      while (a < b && isOws(line.charCodeAt(a))) a++;
      while (b > a && isOws(line.charCodeAt(b - 1))) b--;
      if (a < b) {
        const verdict = trusted.classify(line, a, b);
        if (verdict === 'outside') return canonicalAddress(line, a, b)!;
        if (verdict === 'invalid') return lastLine === undefined ? peer : canonicalAddress(lastLine, lastStart, lastEnd)!;
        lastLine = line;
        lastStart = a;
        lastEnd = b;
      }
      end = next;
    }
  }
  return lastLine === undefined ? peer : canonicalAddress(lastLine, lastStart, lastEnd)!;
}
