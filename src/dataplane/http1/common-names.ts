// Header names seen on nearly every request and response, as shared string
// constants. When the bytes of a field name match one of them exactly (in
// its usual capitalisation or in lowercase) the parser reuses the constants
// instead of slicing a new string and lowercasing it: that was a third of the
// time spent on a typical browser request head.

const COMMON: readonly string[] = [
  'Host', 'Connection', 'Keep-Alive', 'Content-Length', 'Content-Type', 'Content-Encoding', 'Transfer-Encoding', 'TE', 'Trailer',
  'Upgrade', 'Expect', 'Accept', 'Accept-Encoding', 'Accept-Language', 'Accept-Ranges', 'User-Agent', 'Cookie', 'Set-Cookie',
  'Cache-Control', 'Pragma', 'Authorization', 'Referer', 'Origin', 'Range', 'Date', 'Server', 'Location', 'Vary', 'ETag',
  'Last-Modified', 'Expires', 'Age', 'If-None-Match', 'If-Modified-Since', 'If-Match', 'X-Forwarded-For', 'X-Forwarded-Proto',
  'X-Forwarded-Host', 'X-Forwarded-Port', 'X-Real-IP', 'X-Request-ID', 'X-Requested-With', 'Forwarded', 'Via', 'DNT',
  'Priority', 'Upgrade-Insecure-Requests', 'Sec-Fetch-Site', 'Sec-Fetch-Mode', 'Sec-Fetch-Dest', 'Sec-Fetch-User',
  'Sec-CH-UA', 'Sec-CH-UA-Mobile', 'Sec-CH-UA-Platform', 'Sec-WebSocket-Key', 'Sec-WebSocket-Version',
  'Sec-WebSocket-Protocol', 'Sec-WebSocket-Extensions', 'Sec-WebSocket-Accept', 'Traceparent', 'Tracestate', 'Baggage',
  'Content-Disposition', 'Access-Control-Allow-Origin', 'Strict-Transport-Security', 'X-Content-Type-Options',
  'X-Frame-Options', 'Grpc-Timeout', 'Grpc-Encoding', 'Grpc-Status', 'Grpc-Message',
];

interface Spelling {
  readonly bytes: Uint8Array;
  readonly name: string;
  readonly lower: string;
}

const MAX_LENGTH = 32;

/** Spellings by bucket (length, first byte): a flat array, so a lookup is two index operations. */
function buildTable(): Array<Spelling[] | undefined> {
  const table: Array<Spelling[] | undefined> = Array.from({ length: (MAX_LENGTH + 1) << 8 }, () => undefined);
  for (const name of COMMON) {
    const lower = name.toLowerCase();
    for (const spelling of name === lower ? [name] : [name, lower]) {
      const bytes = Buffer.from(spelling, 'latin1');
      if (bytes.length > MAX_LENGTH) throw new Error(`common header name ${name} is longer than ${MAX_LENGTH}`);
      const key = (bytes.length << 8) | bytes[0]!;
      (table[key] ??= []).push({ bytes, name: spelling, lower });
    }
  }
  return table;
}

const TABLE = buildTable();

/** The shared spelling whose bytes equal buf[start, end) exactly, or undefined. */
export function commonName(buf: Buffer, start: number, end: number): { readonly name: string; readonly lower: string } | undefined {
  const length = end - start;
  if (length > MAX_LENGTH) return undefined;
  const list = TABLE[(length << 8) | buf[start]!];
  if (list === undefined) return undefined;
  for (let k = 0; k < list.length; k++) {
    const candidate = list[k]!;
    const bytes = candidate.bytes;
    let i = 1;
    while (i < bytes.length && bytes[i] === buf[start + i]) i++;
    if (i === bytes.length) return candidate;
  }
  return undefined;
}
