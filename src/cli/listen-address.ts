// Parses listener flags of the form ADDR:PORT, [IPv6]:PORT or :PORT.

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export function parseListenAddress(flag: string, value: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || port > 65535) {
    throw new UsageError(`${flag}: expected ADDR:PORT (for example 0.0.0.0:8080 or [::]:8080), got "${value}"`);
  }
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : (m[2] ?? '0.0.0.0'));
  return { host, port };
}

/** A mistake on the command line: printed with the usage hint, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
