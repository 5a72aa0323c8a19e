// OTLP attribute values (AnyValue) as label text, the way the OpenTelemetry Collector's pdata renders them for
// Prometheus: strings as they are, booleans as `true`/`false`, integers in decimal, doubles as JavaScript (ES6)
// prints them, bytes in base64, arrays and key/value lists as JSON (keys sorted). Both decoders build the nested
// value as a `RawValue` first, bounded in depth, and reduce it to text with `attributeText`.

import { ContrailError } from "../../model/errors.ts";

/** An AnyValue as plain data: nested arrays and key/value lists, bytes already in base64 (wrapped to tell apart). */
export type RawValue =
  | string
  | number
  | boolean
  | null
  | { readonly bytes: string }
  | readonly RawValue[]
  | { readonly kvlist: readonly (readonly [string, RawValue])[] };

/** Deepest nesting of arrays and key/value lists accepted in one attribute value. */
export const MAX_VALUE_DEPTH = 8;

/** Throws `bad_data` when an attribute value nests deeper than {@link MAX_VALUE_DEPTH}. */
export function checkDepth(depth: number): void {
  if (depth > MAX_VALUE_DEPTH) {
    throw new ContrailError(
      "bad_data",
      `an attribute value nests arrays or key/value lists more than ${MAX_VALUE_DEPTH} levels deep`,
    );
  }
}

function isBytes(v: RawValue): v is { readonly bytes: string } {
  return typeof v === "object" && v !== null && !Array.isArray(v) && "bytes" in v;
}

// The value as JSON data, for values nested in arrays and lists.
function jsonOf(v: RawValue): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(jsonOf);
  if (isBytes(v)) return v.bytes;
  const list = (v as { readonly kvlist: readonly (readonly [string, RawValue])[] }).kvlist;
  const sorted = [...list].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Record<string, unknown> = {};
  for (const [k, x] of sorted) out[k] = jsonOf(x);
  return out;
}

/** The label text of an attribute value; an empty value (null) is "" (and so no label). */
export function attributeText(v: RawValue): string {
  if (v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (isBytes(v)) return v.bytes;
  return JSON.stringify(jsonOf(v));
}
