// Sizes as nginx and ingress-nginx write them (client_max_body_size,
// nginx.ingress.kubernetes.io/proxy-body-size): a decimal number of bytes,
// optionally followed by k, m or g (binary multiples, either case). "0"
// means no limit. Strict: no spaces, no fractions, no other units, at most
// 2^53 bytes; anything else is undefined and the caller reports it.

const MULTIPLIER: Readonly<Record<string, number>> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

export function parseByteSize(text: string): number | undefined {
  const m = /^(\d{1,15})([kKmMgG]?)$/.exec(text);
  if (m === null) return undefined;
  const unit = m[2]!.toLowerCase();
  const bytes = Number(m[1]) * (unit === '' ? 1 : MULTIPLIER[unit]!);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** The shortest nginx-style spelling of `bytes` ("10m", "1536k", "100"). */
export function formatByteSize(bytes: number): string {
  for (const unit of ['g', 'm', 'k'] as const) {
    const m = MULTIPLIER[unit]!;
    if (bytes >= m && bytes % m === 0) return `${bytes / m}${unit}`;
  }
  return String(bytes);
}
