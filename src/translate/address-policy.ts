// Which endpoint addresses the controller refuses to send traffic to when
// running in a cluster: loopback, "this host" (0.0.0.0/8), link-local (the
// node itself, and the 169.254.169.254 metadata service of AWS, GCP, Azure
// and others) and the cloud metadata addresses outside those ranges (AWS's
// IPv6 fd00:ec2::254, Alibaba's 100.100.100.200), so a user-written
// EndpointSlice cannot turn the ingress into a proxy for them (security.md
// R14, 6.1). Pure string checks on the canonical text the API returns.

export function isRefusedAddress(address: string): boolean {
  const a = address.toLowerCase();
  if (a.includes(':')) return isRefusedIPv6(a);
  const parts = a.split('.');
  if (parts.length !== 4) return false;
  const first = Number(parts[0]);
  const second = Number(parts[1]);
  return first === 127 || (first === 169 && second === 254) || first === 0 || a === '100.100.100.200';
}

function isRefusedIPv6(a: string): boolean {
  if (a === '::1' || a === '::' || a === 'fd00:ec2::254') return true;
  if (/^fe[89ab][0-9a-f]:/.test(a)) return true; // fe80::/10 link-local
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a); // IPv4-mapped
  return mapped?.[1] !== undefined && isRefusedAddress(mapped[1]);
}
