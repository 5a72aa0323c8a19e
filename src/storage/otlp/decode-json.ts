// Decodes an ExportMetricsServiceRequest in the OTLP/JSON encoding (protobuf's JSON mapping as OTLP specifies it)
// into the plain request of model.ts: lowerCamelCase field names (the proto names in snake_case are accepted too, as
// protobuf's JSON parsers do), 64-bit integers as decimal strings or numbers, enums as numbers (or their names),
// doubles as numbers or "NaN"/"Infinity"/"-Infinity", bytes in base64, trace and span ids in hex (exemplars are
// only counted). Unknown fields are ignored. A field of the wrong JSON type is refused with `bad_data` naming it.
// Reference: https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding

import { isUtf8 } from "node:buffer";
import { ContrailError } from "../../model/errors.ts";
import { attributeText, checkDepth, type RawValue } from "./attributes.ts";
import type { DecodeBudget } from "./budget.ts";
import type {
  Attribute,
  ExpBuckets,
  ExpHistogramPoint,
  ExportRequest,
  HistogramPoint,
  Metric,
  MetricData,
  NumberPoint,
  PointBase,
  ResourceMetrics,
  ScopeMetrics,
  SummaryPoint,
} from "./model.ts";
import { checkCount, decimalNanosToMs } from "./numbers.ts";

type Json = Record<string, unknown>;

function bad(what: string, expected: string): never {
  throw new ContrailError("bad_data", `invalid OTLP JSON: ${what} must be ${expected}`);
}

// The value of field `camel` (or its snake_case proto name) of `o`.
function get(o: Json, camel: string): unknown {
  const v = o[camel];
  if (v !== undefined) return v;
  const snake = camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return snake === camel ? undefined : o[snake];
}

function obj(v: unknown, what: string): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) bad(what, "an object");
  return v as Json;
}

function list(o: Json, field: string, what: string): readonly unknown[] {
  const v = get(o, field);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) bad(`${what}.${field}`, "an array");
  return v;
}

function text(o: Json, field: string, what: string): string {
  const v = get(o, field);
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") bad(`${what}.${field}`, "a string");
  return v;
}

const SPECIAL_DOUBLES: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  "-Infinity": Number.NEGATIVE_INFINITY,
};

function doubleOf(v: unknown, what: string): number {
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    const special = SPECIAL_DOUBLES[v];
    if (special !== undefined) return special;
    const n = Number(v);
    if (v.trim() !== "" && !Number.isNaN(n)) return n;
  }
  return bad(what, "a number");
}

function double(o: Json, field: string, what: string): number | undefined {
  const v = get(o, field);
  return v === undefined || v === null ? undefined : doubleOf(v, `${what}.${field}`);
}

// A 64-bit integer: a JSON number (exact below 2^53) or a decimal string.
function int64Of(v: unknown, what: string): number {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string" && /^-?\d{1,20}$/.test(v)) return Number(v);
  return bad(what, "an integer (a number or a decimal string)");
}

function count(o: Json, field: string, what: string): number {
  const v = get(o, field);
  return v === undefined || v === null ? 0 : checkCount(int64Of(v, `${what}.${field}`), `${what}.${field}`);
}

function int(o: Json, field: string, what: string): number {
  const v = get(o, field);
  return v === undefined || v === null ? 0 : int64Of(v, `${what}.${field}`);
}

function nanosMs(o: Json, field: string, what: string): number {
  const v = get(o, field);
  if (v === undefined || v === null) return 0;
  if (typeof v === "string") return decimalNanosToMs(v, `${what}.${field}`);
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return Math.floor(v / 1e6);
  return bad(`${what}.${field}`, "a uint64 nanosecond time");
}

const TEMPORALITY_NAMES: Readonly<Record<string, number>> = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
  AGGREGATION_TEMPORALITY_DELTA: 1,
  AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
};

function temporality(o: Json, what: string): number {
  const v = get(o, "aggregationTemporality");
  if (v === undefined || v === null) return 0;
  if (typeof v === "string" && TEMPORALITY_NAMES[v] !== undefined) return TEMPORALITY_NAMES[v];
  if (typeof v === "number" && Number.isInteger(v)) return v;
  return bad(`${what}.aggregationTemporality`, "an enum number");
}

function anyValue(v: unknown, what: string, depth: number): RawValue {
  checkDepth(depth);
  if (v === undefined || v === null) return null;
  const o = obj(v, what);
  const s = get(o, "stringValue");
  if (s !== undefined) {
    if (typeof s !== "string") bad(`${what}.stringValue`, "a string");
    return s;
  }
  const b = get(o, "boolValue");
  if (b !== undefined) {
    if (typeof b !== "boolean") bad(`${what}.boolValue`, "a boolean");
    return b;
  }
  const i = get(o, "intValue");
  if (i !== undefined) return typeof i === "string" && /^-?\d{1,20}$/.test(i) ? String(BigInt(i)) : int64Of(i, what);
  const d = get(o, "doubleValue");
  if (d !== undefined) return doubleOf(d, `${what}.doubleValue`);
  const bytes = get(o, "bytesValue");
  if (bytes !== undefined) {
    if (typeof bytes !== "string") bad(`${what}.bytesValue`, "a base64 string");
    return { bytes };
  }
  const arr = get(o, "arrayValue");
  if (arr !== undefined) {
    return list(obj(arr, `${what}.arrayValue`), "values", what).map((x) => anyValue(x, what, depth + 1));
  }
  const kv = get(o, "kvlistValue");
  if (kv !== undefined) {
    return {
      kvlist: list(obj(kv, `${what}.kvlistValue`), "values", what).map((x) => keyValue(x, what, depth + 1)),
    };
  }
  return null;
}

function keyValue(v: unknown, what: string, depth: number): [string, RawValue] {
  const o = obj(v, what);
  return [text(o, "key", what), anyValue(get(o, "value"), `${what}.value`, depth)];
}

function attributes(o: Json, what: string): Attribute[] {
  return list(o, "attributes", what).map((x) => {
    const [k, v] = keyValue(x, `${what}.attributes[]`, 0);
    return [k, attributeText(v)] as const;
  });
}

function pointBase(o: Json, what: string, budget: DecodeBudget): PointBase {
  budget.point();
  return {
    attributes: attributes(o, what),
    startMs: nanosMs(o, "startTimeUnixNano", what),
    timeMs: nanosMs(o, "timeUnixNano", what),
    flags: int(o, "flags", what),
    exemplars: list(o, "exemplars", what).length,
  };
}

// A JSON array of numbers as the values of one list of a point, within the budget.
function values(
  o: Json,
  field: string,
  what: string,
  budget: DecodeBudget,
  read: (v: unknown, what: string) => number,
): number[] {
  const l = list(o, field, what);
  budget.addValues(l.length, 0, field === "explicitBounds" ? "explicit bounds" : "bucket counts");
  return l.map((x) => read(x, `${what}.${field}[]`));
}

const countOf = (v: unknown, what: string) => checkCount(int64Of(v, what), what);

function numberPoint(v: unknown, budget: DecodeBudget): NumberPoint {
  const what = "NumberDataPoint";
  const o = obj(v, what);
  const base = pointBase(o, what, budget);
  const asInt = get(o, "asInt");
  const value = asInt !== undefined && asInt !== null ? int64Of(asInt, `${what}.asInt`) : double(o, "asDouble", what);
  return { ...base, value: value ?? 0 };
}

function histogramPoint(v: unknown, budget: DecodeBudget): HistogramPoint {
  const what = "HistogramDataPoint";
  const o = obj(v, what);
  return {
    ...pointBase(o, what, budget),
    count: count(o, "count", what),
    sum: double(o, "sum", what),
    bucketCounts: values(o, "bucketCounts", what, budget, countOf),
    explicitBounds: values(o, "explicitBounds", what, budget, doubleOf),
  };
}

function expBuckets(o: Json, field: string, what: string, budget: DecodeBudget): ExpBuckets {
  const v = get(o, field);
  if (v === undefined || v === null) return { offset: 0, counts: [] };
  const b = obj(v, `${what}.${field}`);
  return { offset: int(b, "offset", what), counts: values(b, "bucketCounts", what, budget, countOf) };
}

function expHistogramPoint(v: unknown, budget: DecodeBudget): ExpHistogramPoint {
  const what = "ExponentialHistogramDataPoint";
  const o = obj(v, what);
  return {
    ...pointBase(o, what, budget),
    count: count(o, "count", what),
    sum: double(o, "sum", what),
    scale: int(o, "scale", what),
    zeroCount: count(o, "zeroCount", what),
    zeroThreshold: double(o, "zeroThreshold", what) ?? 0,
    positive: expBuckets(o, "positive", what, budget),
    negative: expBuckets(o, "negative", what, budget),
  };
}

function summaryPoint(v: unknown, budget: DecodeBudget): SummaryPoint {
  const what = "SummaryDataPoint";
  const o = obj(v, what);
  const base = pointBase(o, what, budget);
  const qs = list(o, "quantileValues", what);
  budget.addValues(qs.length, 0, "quantiles");
  return {
    ...base,
    count: count(o, "count", what),
    sum: double(o, "sum", what) ?? 0,
    quantiles: qs.map((q) => {
      const qo = obj(q, "ValueAtQuantile");
      return {
        quantile: double(qo, "quantile", "ValueAtQuantile") ?? 0,
        value: double(qo, "value", "ValueAtQuantile") ?? 0,
      };
    }),
  };
}

function metricData(o: Json, budget: DecodeBudget): MetricData {
  const gauge = get(o, "gauge");
  if (gauge !== undefined && gauge !== null) {
    return {
      kind: "gauge",
      points: list(obj(gauge, "gauge"), "dataPoints", "gauge").map((p) => numberPoint(p, budget)),
    };
  }
  const sum = get(o, "sum");
  if (sum !== undefined && sum !== null) {
    const s = obj(sum, "sum");
    const monotonic = get(s, "isMonotonic");
    if (monotonic !== undefined && typeof monotonic !== "boolean") bad("sum.isMonotonic", "a boolean");
    return {
      kind: "sum",
      temporality: temporality(s, "sum"),
      monotonic: monotonic === true,
      points: list(s, "dataPoints", "sum").map((p) => numberPoint(p, budget)),
    };
  }
  const histogram = get(o, "histogram");
  if (histogram !== undefined && histogram !== null) {
    const h = obj(histogram, "histogram");
    return {
      kind: "histogram",
      temporality: temporality(h, "histogram"),
      points: list(h, "dataPoints", "histogram").map((p) => histogramPoint(p, budget)),
    };
  }
  const exp = get(o, "exponentialHistogram");
  if (exp !== undefined && exp !== null) {
    const h = obj(exp, "exponentialHistogram");
    return {
      kind: "exponentialHistogram",
      temporality: temporality(h, "exponentialHistogram"),
      points: list(h, "dataPoints", "exponentialHistogram").map((p) => expHistogramPoint(p, budget)),
    };
  }
  const summary = get(o, "summary");
  if (summary !== undefined && summary !== null) {
    return {
      kind: "summary",
      points: list(obj(summary, "summary"), "dataPoints", "summary").map((p) => summaryPoint(p, budget)),
    };
  }
  return { kind: "empty" };
}

function metric(v: unknown, budget: DecodeBudget): Metric {
  const o = obj(v, "Metric");
  return {
    name: text(o, "name", "Metric"),
    description: text(o, "description", "Metric"),
    unit: text(o, "unit", "Metric"),
    data: metricData(o, budget),
  };
}

function scopeMetrics(v: unknown, budget: DecodeBudget): ScopeMetrics {
  return { metrics: list(obj(v, "ScopeMetrics"), "metrics", "ScopeMetrics").map((m) => metric(m, budget)) };
}

function resourceMetrics(v: unknown, budget: DecodeBudget): ResourceMetrics {
  const o = obj(v, "ResourceMetrics");
  const resource = get(o, "resource");
  return {
    attributes: resource === undefined || resource === null ? [] : attributes(obj(resource, "resource"), "resource"),
    scopes: list(o, "scopeMetrics", "ResourceMetrics").map((s) => scopeMetrics(s, budget)),
  };
}

/** Decodes an OTLP/JSON ExportMetricsServiceRequest; throws `bad_data` (malformed) or `too_large` (over `budget`). */
export function decodeJsonRequest(body: Uint8Array, budget: DecodeBudget): ExportRequest {
  if (!isUtf8(body)) throw new ContrailError("bad_data", "invalid OTLP JSON: the body is not valid UTF-8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch (err) {
    throw new ContrailError("bad_data", `invalid OTLP JSON: ${(err as Error).message}`);
  }
  const root = obj(parsed, "the request");
  return { resources: list(root, "resourceMetrics", "the request").map((r) => resourceMetrics(r, budget)) };
}
