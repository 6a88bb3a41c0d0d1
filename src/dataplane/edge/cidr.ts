// IP address parsing and CIDR sets for `--trusted-proxies`, written by hand
// (no node:net) so that the hot path can test an address given as a range of
// a larger string (an X-Forwarded-For element) without slicing it.
//
// Address syntax is strict, because two components that read one address
// differently are a spoofing hole:
//   IPv4   exactly four decimal numbers 0-255 separated by single dots, no
//          leading zeros ("010.1.1.1" is refused: some parsers read it as
//          octal), no signs, no whitespace.
//   IPv6   RFC 4291 §2.2 text: up to eight groups of 1-4 hex digits (either
//          case), at most one "::", optionally ending in a dotted IPv4 part
//          for the last 32 bits. No brackets, no zone ("fe80::1%eth0"), no port.
// IPv4-mapped IPv6 addresses ("::ffff:10.1.2.3", which is how Node reports
// IPv4 peers on dual-stack sockets) are the IPv4 address for every match.
//
// CIDR syntax: ADDRESS "/" PREFIX, PREFIX decimal without leading zeros and
// at most 32 (IPv4) or 128 (IPv6); a bare ADDRESS means /32 or /128. Bits
// after the prefix must be zero ("10.0.0.1/8" is refused with the network it
// probably meant): a typo must not silently widen or shift a trust boundary.
// A list is comma-separated; spaces around entries are allowed, empty
// entries are not. An empty string is the empty set (no trusted proxies).

/** Thrown by `parseCidrSet`; `entry` is the offending list element as written. */
export class CidrSyntaxError extends Error {
  readonly entry: string;
  constructor(entry: string, problem: string) {
    super(`invalid CIDR "${entry}": ${problem}`);
    this.name = 'CidrSyntaxError';
    this.entry = entry;
  }
}

/** What `CidrSet.classify` says about a piece of text. */
export type AddressClass = 'invalid' | 'outside' | 'inside';

// Scratch for IPv6 parsing: hot-path calls never allocate.
const groups = new Uint16Array(8);
const words = new Uint32Array(4);

const DOT = 0x2e;
const COLON = 0x3a;

/**
 * Parses s[start, end) as a dotted-quad IPv4 address; returns it as an
 * unsigned 32-bit number, or -1 when the text is not exactly that.
 */
export function parseIpv4(s: string, start = 0, end = s.length): number {
  if (end - start < 7 || end - start > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let first = 0;
  let parts = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      if (digits === 0) first = c;
      else if (first === 0x30) return -1; // leading zero
      part = part * 10 + (c - 0x30);
      if (++digits > 3 || part > 255) return -1;
    } else if (c === DOT) {
      if (digits === 0 || parts === 3) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (digits === 0 || parts !== 3) return -1;
  return value * 256 + part;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * Parses s[start, end) as an IPv6 address into `out` (four 32-bit words,
 * most significant first). False when the text is not a valid address.
 */
export function parseIpv6(s: string, start: number, end: number, out: Uint32Array): boolean {
  if (end - start < 2 || end - start > 45) return false;
  let i = start;
  let n = 0;
  let gap = -1;
  if (s.charCodeAt(i) === COLON) {
    if (s.charCodeAt(i + 1) !== COLON) return false;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    const groupStart = i;
    let value = 0;
    let digits = 0;
    while (i < end) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      value = (value << 4) | h;
      digits++;
      i++;
    }
    if (digits === 0) return false;
    if (i < end && s.charCodeAt(i) === DOT) {
      // The last 32 bits in dotted form.
      if (n > 6) return false;
      const v4 = parseIpv4(s, groupStart, end);
      if (v4 < 0) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (digits > 4 || n === 8) return false;
    groups[n++] = value;
    if (i === end) break;
    if (s.charCodeAt(i) !== COLON) return false;
    i++;
    if (i < end && s.charCodeAt(i) === COLON) {
      if (gap !== -1) return false;
      gap = n;
      i++;
    } else if (i === end) {
      return false; // a single trailing ':'
    }
  }
  if (gap === -1) {
    if (n !== 8) return false;
  } else {
    if (n > 7) return false; // "::" stands for at least one group
    const tail = n - gap;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[n - 1 - k]!;
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  }
  out[0] = ((groups[0]! << 16) | groups[1]!) >>> 0;
  out[1] = ((groups[2]! << 16) | groups[3]!) >>> 0;
  out[2] = ((groups[4]! << 16) | groups[5]!) >>> 0;
  out[3] = ((groups[6]! << 16) | groups[7]!) >>> 0;
  return true;
}

/** Dotted-quad text of an unsigned 32-bit IPv4 address. */
export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

/**
 * RFC 5952 text of an IPv6 address given as four 32-bit words: lowercase,
 * no leading zeros, the longest run (first on a tie) of two or more zero
 * groups as "::", and IPv4-mapped addresses as "::ffff:a.b.c.d" (§5), the
 * form Node uses for IPv4 peers on dual-stack sockets.
 */
export function formatIpv6(w: ArrayLike<number>): string {
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return `::ffff:${formatIpv4(w[3]!)}`;
  const g: number[] = [];
  for (let k = 0; k < 4; k++) {
    g.push(w[k]! >>> 16, w[k]! & 0xffff);
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let k = 0; k < 8; ) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && g[e] === 0) e++;
    if (e - k > bestLength) {
      bestStart = k;
      bestLength = e - k;
    }
    k = e;
  }
  const hex = (from: number, to: number): string => g.slice(from, to).map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/**
 * The canonical text of the address in s[start, end) (IPv4 as is, IPv6 per
 * RFC 5952), or undefined when it is not a valid address.
 */
export function canonicalAddress(s: string, start = 0, end = s.length): string | undefined {
  if (parseIpv4(s, start, end) >= 0) return start === 0 && end === s.length ? s : s.slice(start, end);
  if (!parseIpv6(s, start, end, words)) return undefined;
  return formatIpv6(words);
}

function parsePrefix(s: string, max: number): number {
  if (s.length === 0 || s.length > 3) return -1;
  if (s.length > 1 && s.charCodeAt(0) === 0x30) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v > max ? -1 : v;
}

/** The netmask word for `bits` (0-32) leading one bits, as an int32. */
function maskWord(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return -1;
  return (-1 << (32 - bits)) | 0;
}

/**
 * An immutable set of IPv4 and IPv6 networks. `contains` does no allocation;
 * it is a linear scan, which beats any tree for the handful of entries a
 * trusted-proxy list has.
 */
export class CidrSet {
  /** The entries in canonical "network/prefix" form, in the order given. */
  readonly entries: readonly string[];
  // IPv4: pairs (network, mask) as int32. IPv6: (w0..w3, m0..m3) as int32.
  readonly #v4: Int32Array;
  readonly #v6: Int32Array;

  /** Use `parseCidrSet`; this takes already-validated arrays. */
  constructor(entries: readonly string[], v4: Int32Array, v6: Int32Array) {
    this.entries = Object.freeze([...entries]);
    this.#v4 = v4;
    this.#v6 = v6;
  }

  get size(): number {
    return this.entries.length;
  }

  /** True when `address` (IPv4, IPv6 or IPv4-mapped IPv6 text) is in the set; false for anything unparsable. */
  contains(address: string): boolean {
    return this.classify(address, 0, address.length) === 'inside';
  }

  /** Classifies the address in s[start, end) without slicing it. */
  classify(s: string, start: number, end: number): AddressClass {
    const v4 = parseIpv4(s, start, end);
    if (v4 >= 0) return this.#containsV4(v4) ? 'inside' : 'outside';
    if (!parseIpv6(s, start, end, words)) return 'invalid';
    if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) return this.#containsV4(words[3]!) ? 'inside' : 'outside';
    return this.#containsV6(words[0]! | 0, words[1]! | 0, words[2]! | 0, words[3]! | 0) ? 'inside' : 'outside';
  }

  #containsV4(ip: number): boolean {
    const t = this.#v4;
    for (let k = 0; k < t.length; k += 2) {
      if ((ip & t[k + 1]!) === t[k]) return true;
    }
    // IPv6 networks that cover ::ffff:0:0/96 (e.g. ::/0) contain IPv4 addresses too.
    return this.#v6.length > 0 && this.#containsV6(0, 0, 0xffff, ip | 0);
  }

  #containsV6(a: number, b: number, c: number, d: number): boolean {
    const t = this.#v6;
    for (let k = 0; k < t.length; k += 8) {
      if (
        (a & t[k + 4]!) === t[k] &&
        (b & t[k + 5]!) === t[k + 1] &&
        (c & t[k + 6]!) === t[k + 2] &&
        (d & t[k + 7]!) === t[k + 3]
      ) {
        return true;
      }
    }
    return false;
  }

  toString(): string {
    return this.entries.join(',');
  }
}

/** The empty set: nobody is trusted. */
export const NO_TRUSTED_PROXIES: CidrSet = new CidrSet([], new Int32Array(0), new Int32Array(0));

/**
 * Parses a comma-separated list such as "10.0.0.0/8, 192.168.0.0/16,
 * ::1/128, 2001:db8::/32". Throws `CidrSyntaxError` naming the first bad entry.
 */
export function parseCidrSet(spec: string): CidrSet {
  if (spec.trim() === '') return NO_TRUSTED_PROXIES;
  const v4: number[] = [];
  const v6: number[] = [];
  const entries: string[] = [];
  const seen = new Set<string>();
  for (const raw of spec.split(',')) {
    const entry = raw.trim();
    if (entry === '') throw new CidrSyntaxError(raw, 'empty entry in the list');
    const slash = entry.indexOf('/');
    const addressText = slash < 0 ? entry : entry.slice(0, slash);
    const ip4 = parseIpv4(addressText);
    let canonical: string;
    if (ip4 >= 0) {
      const bits = slash < 0 ? 32 : parsePrefix(entry.slice(slash + 1), 32);
      if (bits < 0) throw new CidrSyntaxError(entry, 'the prefix length must be a number from 0 to 32');
      const mask = maskWord(bits);
      const network = ip4 & mask;
      if (network !== (ip4 | 0)) {
        throw new CidrSyntaxError(entry, `bits are set after the prefix (did you mean ${formatIpv4(network >>> 0)}/${bits}?)`);
      }
      canonical = `${formatIpv4(network >>> 0)}/${bits}`;
      if (!seen.has(canonical)) v4.push(network, mask);
    } else if (parseIpv6(addressText, 0, addressText.length, words)) {
      const bits = slash < 0 ? 128 : parsePrefix(entry.slice(slash + 1), 128);
      if (bits < 0) throw new CidrSyntaxError(entry, 'the prefix length must be a number from 0 to 128');
      const net = [0, 0, 0, 0];
      const masks = [0, 0, 0, 0];
      let hostBits = false;
      for (let k = 0; k < 4; k++) {
        masks[k] = maskWord(bits - 32 * k);
        net[k] = words[k]! & masks[k]!;
        if (net[k] !== (words[k]! | 0)) hostBits = true;
      }
      const netWords = net.map((x) => x >>> 0);
      if (hostBits) {
        throw new CidrSyntaxError(entry, `bits are set after the prefix (did you mean ${formatIpv6(netWords)}/${bits}?)`);
      }
      if (bits >= 96 && netWords[0] === 0 && netWords[1] === 0 && netWords[2] === 0xffff) {
        // An IPv4-mapped network is the IPv4 network: keep it on the fast path.
        canonical = `${formatIpv6(netWords)}/${bits}`;
        if (!seen.has(canonical)) v4.push(net[3]!, masks[3]!);
      } else {
        canonical = `${formatIpv6(netWords)}/${bits}`;
        if (!seen.has(canonical)) v6.push(...net, ...masks);
      }
    } else if (addressText.includes('%')) {
      throw new CidrSyntaxError(entry, 'zone identifiers are not supported');
    } else {
      throw new CidrSyntaxError(entry, 'not an IPv4 or IPv6 address (IPv4 numbers may not have leading zeros)');
    }
    if (!seen.has(canonical)) {
      seen.add(canonical);
      entries.push(canonical);
    }
  }
  return new CidrSet(entries, Int32Array.from(v4), Int32Array.from(v6));
}
