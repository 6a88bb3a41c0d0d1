// A stable serialisation for change detection: object keys sorted, bytes
// spelled out, undefined left out. Two decoded objects that mean the same
// thing serialise identically whatever order their manifest listed keys in.

export function canonicalJson(value: unknown): string {
  return JSON.stringify(normalise(value));
}

function normalise(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bytes: Array.from(value) };
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value !== 'object' || value === null) return value;
  const out: [string, unknown][] = [];
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out.push([key, normalise(v)]);
  }
  // An array of pairs rather than an object: a "__proto__" key stays data.
  return out;
}
