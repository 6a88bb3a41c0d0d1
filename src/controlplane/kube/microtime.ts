// Kubernetes timestamps. Leases and events.k8s.io Events use MicroTime,
// which the API server accepts only with EXACTLY six fractional digits
// ("2026-11-23T20:00:00.123456Z"); JavaScript's toISOString() has three and
// is rejected with 400. Core Events and metadata use second precision.
// Times are epoch milliseconds as numbers (fractions carry the microseconds).

const MICROTIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$/;

/** Epoch milliseconds (fractions kept down to the microsecond) as a MicroTime string. */
export function formatMicroTime(epochMs: number): string {
  if (!Number.isFinite(epochMs)) throw new RangeError(`not a time: ${epochMs}`);
  const micros = Math.round(epochMs * 1000);
  const wholeMs = Math.floor(micros / 1000);
  const fraction = micros - wholeMs * 1000; // 0..999 microseconds beyond the millisecond
  const iso = new Date(wholeMs).toISOString(); // 2026-11-23T20:00:00.123Z
  return `${iso.slice(0, 23)}${String(fraction).padStart(3, '0')}Z`;
}

/**
 * A MicroTime string back to epoch milliseconds (with microsecond fraction);
 * undefined for anything that is not exactly the API's format, including
 * three or nine fractional digits and numeric offsets.
 */
export function parseMicroTime(value: string): number | undefined {
  const m = MICROTIME.exec(value);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 31 February over into March: reject what does not round-trip.
  if (new Date(ms).getUTCDate() !== day) return undefined;
  return ms + Number(m[7]) / 1000;
}

/** Second precision RFC 3339 ("2026-11-23T20:00:00Z"), as core/v1 Event timestamps are written. */
export function formatTime(epochMs: number): string {
  return `${new Date(Math.floor(epochMs / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}
