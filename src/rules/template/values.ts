// The values a template computes with, modelled on Go's: strings, float64 (number), int (bigint), bool, nil,
// slices (arrays), string-keyed maps (Map) and structs (the template's data, query results). Go's printing of each.

/**
 * A struct value: named fields, the Go type name used in messages (`*template.sample`), and for a type with a String
 * method, what it returns (printing uses it instead of the fields, as Go's fmt does).
 */
export class TStruct {
  constructor(
    readonly typeName: string,
    readonly fields: ReadonlyMap<string, TValue>,
    readonly text?: string,
  ) {}
}

/** Any template value. */
export type TValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | readonly TValue[]
  | ReadonlyMap<string, TValue>
  | TStruct;

/** A Go map[string]string from a record. */
export function stringMap(rec: Readonly<Record<string, string>>): ReadonlyMap<string, TValue> {
  return new Map(Object.keys(rec).map((k) => [k, rec[k]]));
}

/** Go's type name of a value, for error messages (`float64`, `int`, `map[string]string`...). */
export function typeName(v: TValue): string {
  if (v === null) return "<nil>";
  switch (typeof v) {
    case "string":
      return "string";
    case "number":
      return "float64";
    case "bigint":
      return "int";
    case "boolean":
      return "bool";
  }
  if (v instanceof TStruct) return v.typeName;
  if (Array.isArray(v)) return "[]interface {}";
  return "map[string]string";
}

/** Go's truth: false, 0, "", nil and empty collections are false. */
export function isTrue(v: TValue): boolean {
  if (v === null) return false;
  switch (typeof v) {
    case "string":
      return v !== "";
    case "number":
      return v !== 0;
    case "bigint":
      return v !== 0n;
    case "boolean":
      return v;
  }
  if (v instanceof TStruct) return true;
  if (Array.isArray(v)) return v.length > 0;
  return (v as ReadonlyMap<string, TValue>).size > 0;
}

/** Go's `%v` of a float64 (strconv's 'g' with shortest digits): exponent form below 1e-4 and from 1e6 up. */
export function formatFloat(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  if (v === 0) return Object.is(v, -0) ? "-0" : "0";
  const [mant, expText] = v.toExponential().split("e");
  const exp = Number(expText);
  if (exp < -4 || exp >= SHORTEST_EXPONENT_LIMIT) return `${mant}e${exp < 0 ? "-" : "+"}${pad2(Math.abs(exp))}`;
  return String(v);
}

/** strconv's 'g' with the shortest precision decides on exponent form as if the precision were 6. */
const SHORTEST_EXPONENT_LIMIT = 6;

/** Two-digit minimum exponent, as Go prints it. */
export function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Go's `fmt.Sprint` of one value (what `{{ x }}` prints). */
export function printValue(v: TValue): string {
  if (v === null) return "<nil>";
  switch (typeof v) {
    case "string":
      return v;
    case "number":
      return formatFloat(v);
    case "bigint":
    case "boolean":
      return String(v);
  }
  if (v instanceof TStruct) return v.text ?? `{${[...v.fields.values()].map(printValue).join(" ")}}`;
  if (Array.isArray(v)) return `[${v.map(printValue).join(" ")}]`;
  const m = v as ReadonlyMap<string, TValue>;
  const keys = [...m.keys()].sort();
  return `map[${keys.map((k) => `${k}:${printValue(m.get(k) as TValue)}`).join(" ")}]`;
}
