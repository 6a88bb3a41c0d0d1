// IP literal checks without `node:net` (k8s/ stays free of Node I/O modules).
// Deliberately strict, like the API server's validation of endpoint
// addresses: no leading zeros in IPv4 octets (they read as octal in some
// resolvers, a classic SSRF trick), no IPv6 zone identifiers.

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

export function isIPv4(value: string): boolean {
  return IPV4.test(value);
}

export function isIPv6(value: string): boolean {
  if (value.length > 45 || !value.includes(':')) return false;
  const halves = value.split('::');
  if (halves.length > 2) return false;
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')));
  const all = groups.flat();
  // An embedded IPv4 address ("::ffff:10.0.0.1") may only end the literal and counts as two groups.
  const last = all.at(-1);
  const hasV4 = last !== undefined && last.includes('.');
  if (hasV4 && !isIPv4(last)) return false;
  const hexGroups = hasV4 ? all.slice(0, -1) : all;
  if (!hexGroups.every((g) => HEX_GROUP.test(g))) return false;
  const count = hexGroups.length + (hasV4 ? 2 : 0);
  // "::" stands for at least one zero group.
  return halves.length === 2 ? count <= 7 : count === 8;
}

export function isIPLiteral(value: string): boolean {
  return isIPv4(value) || isIPv6(value);
}
