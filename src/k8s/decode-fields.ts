// Readers for untrusted parsed JSON/YAML. Each reader records problems under
// an exact field path and still returns a usable placeholder, so one pass
// over an object collects every problem instead of stopping at the first.
// JSON `null` counts as "absent", as it does for the API server's decoder.

export interface FieldProblem {
  /** Path inside the object, e.g. "spec.rules[0].http.paths[1].pathType"; "" for the object itself. */
  readonly field: string;
  readonly message: string;
  /** Stable kebab-case code: field-required, field-invalid-type, field-invalid, field-not-supported, field-duplicate. */
  readonly code: string;
}

export type JsonObject = Readonly<Record<string, unknown>>;

/** Collects the problems of one object. */
export class Problems {
  readonly list: FieldProblem[] = [];

  add(field: string, code: string, message: string): void {
    this.list.push({ field, code, message });
  }
  required(field: string, detail?: string): void {
    this.add(field, 'field-required', detail === undefined ? 'Required value' : `Required value: ${detail}`);
  }
  invalid(field: string, message: string): void {
    this.add(field, 'field-invalid', message);
  }
  wrongType(field: string, expected: string, value: unknown): void {
    this.add(field, 'field-invalid-type', `must be ${expected}, got ${describe(value)}`);
  }
}

/**
 * Placeholder for a required object that is missing or of the wrong type:
 * the problem is reported once, and readers do not pile "required" problems
 * for its fields on top.
 */
export const MISSING: JsonObject = Object.freeze({});

export function fieldPath(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

export function indexPath(base: string, index: number): string {
  return `${base}[${index}]`;
}

/** Map entries are quoted so keys with dots stay unambiguous: data["tls.crt"]. */
export function entryPath(base: string, key: string): string {
  return `${base}[${JSON.stringify(key)}]`;
}

export function isJsonObject(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return `the number ${value}`;
  return `a ${typeof value}`;
}

/** Own properties only: an inherited name such as "constructor" must never read as a field. */
export function get(obj: JsonObject, key: string): unknown {
  const value = Object.hasOwn(obj, key) ? obj[key] : undefined;
  return value === null ? undefined : value;
}

export function optObject(p: Problems, obj: JsonObject, key: string, base: string): JsonObject | undefined {
  const value = get(obj, key);
  if (value === undefined) return undefined;
  if (isJsonObject(value)) return value;
  p.wrongType(fieldPath(base, key), 'an object', value);
  return undefined;
}

/** A required sub-object; an empty placeholder when missing so decoding can go on. */
export function reqObject(p: Problems, obj: JsonObject, key: string, base: string): JsonObject {
  const path = fieldPath(base, key);
  const value = get(obj, key);
  if (value === undefined && obj !== MISSING) p.required(path);
  else if (value !== undefined && !isJsonObject(value)) p.wrongType(path, 'an object', value);
  else if (value !== undefined) return value as JsonObject;
  return MISSING;
}

export function optString(p: Problems, obj: JsonObject, key: string, base: string): string | undefined {
  const value = get(obj, key);
  if (value === undefined || typeof value === 'string') return value;
  p.wrongType(fieldPath(base, key), 'a string', value);
  return undefined;
}

/** A required string; "" counts as missing, as in the API server. */
export function reqString(p: Problems, obj: JsonObject, key: string, base: string): string {
  const value = optString(p, obj, key, base);
  const absent = value === '' || (value === undefined && get(obj, key) === undefined);
  if (absent && obj !== MISSING) p.required(fieldPath(base, key));
  return value ?? '';
}

export function optInteger(p: Problems, obj: JsonObject, key: string, base: string): number | undefined {
  const value = get(obj, key);
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  p.wrongType(fieldPath(base, key), 'an integer', value);
  return undefined;
}

export function optBoolean(p: Problems, obj: JsonObject, key: string, base: string): boolean | undefined {
  const value = get(obj, key);
  if (value === undefined || typeof value === 'boolean') return value;
  p.wrongType(fieldPath(base, key), 'a boolean (true or false)', value);
  return undefined;
}

/** An enumerated string; `fallback` when absent (undefined fallback means required). */
export function oneOf<T extends string>(
  p: Problems,
  obj: JsonObject,
  key: string,
  base: string,
  allowed: readonly T[],
  fallback: T | undefined,
): T {
  const path = fieldPath(base, key);
  const value = optString(p, obj, key, base);
  if (value === undefined || value === '') {
    if (fallback !== undefined) return fallback;
    if ((get(obj, key) === undefined || value === '') && obj !== MISSING) p.required(path);
    return allowed[0] as T;
  }
  if ((allowed as readonly string[]).includes(value)) return value as T;
  p.add(path, 'field-not-supported', `Unsupported value ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`);
  return allowed[0] as T;
}

/** A list decoded item by item; [] when absent. Items whose decoder returns undefined are dropped. */
export function list<T>(
  p: Problems,
  obj: JsonObject,
  key: string,
  base: string,
  item: (value: unknown, path: string) => T | undefined,
): T[] {
  const path = fieldPath(base, key);
  const value = get(obj, key);
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    p.wrongType(path, 'a list', value);
    return [];
  }
  const out: T[] = [];
  value.forEach((v: unknown, i) => {
    const decoded = item(v, indexPath(path, i));
    if (decoded !== undefined) out.push(decoded);
  });
  return out;
}

/** A list item that must be an object. */
export function itemObject(p: Problems, value: unknown, path: string): JsonObject {
  if (isJsonObject(value)) return value;
  p.wrongType(path, 'an object', value);
  return MISSING;
}

export function stringList(p: Problems, obj: JsonObject, key: string, base: string): string[] {
  return list(p, obj, key, base, (v, path) => {
    if (typeof v === 'string') return v;
    p.wrongType(path, 'a string', v);
    return undefined;
  });
}

/**
 * A user-keyed map of strings, built without a prototype so keys such as
 * "__proto__" or "constructor" stay plain data. Null values read as "" (the
 * API server's decoder does the same).
 */
export function stringMap(p: Problems, obj: JsonObject, key: string, base: string): Record<string, string> {
  return entries(p, obj, key, base, (v, path) => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return v;
    p.wrongType(path, 'a string', v);
    return undefined;
  });
}

/** A user-keyed map whose values are converted by `value`; entries it rejects are left out. */
export function entries<T>(
  p: Problems,
  obj: JsonObject,
  key: string,
  base: string,
  value: (v: unknown, path: string) => T | undefined,
): Record<string, T> {
  const path = fieldPath(base, key);
  const out = Object.create(null) as Record<string, T>;
  const raw = get(obj, key);
  if (raw === undefined) return out;
  if (!isJsonObject(raw)) {
    p.wrongType(path, 'a map of strings', raw);
    return out;
  }
  for (const k of Object.keys(raw)) {
    const converted = value(raw[k], entryPath(path, k));
    if (converted !== undefined) Object.defineProperty(out, k, { value: converted, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export function checkFormat(p: Problems, path: string, value: string | undefined, check: (v: string) => string | undefined): void {
  if (value === undefined) return;
  const problem = check(value);
  if (problem !== undefined) p.invalid(path, `Invalid value ${JSON.stringify(value)}: ${problem}`);
}

export function checkPort(p: Problems, path: string, value: number | undefined): void {
  if (value !== undefined && (value < 1 || value > 65535)) {
    p.invalid(path, `Invalid value ${value}: must be between 1 and 65535, inclusive`);
  }
}
