// V8 keeps a string built by concatenation (13 characters or more) as a
// tree of its parts, and a slice of a long string as a view into it; code that
// reads such a string character by character pays for the indirection on
// every read. Strings built once and read per request (an endpoint's
// "address:port", route labels) are worth copying into one flat piece when
// they are built: JSON.parse of a JSON string literal always returns a new
// sequential string.

/** A flat copy of `s` (the same characters). */
export function flatString(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}
