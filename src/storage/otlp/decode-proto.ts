// Decodes a protobuf ExportMetricsServiceRequest (opentelemetry-proto, metrics/v1 and collector/metrics/v1) with
// Contrail's own wire reader into the plain request of model.ts. Unknown fields are skipped; repeated scalars are
// read packed or not, as protobuf requires. Bounds (budget.ts) are checked as the values are read.

import { ContrailError } from "../../model/errors.ts";
import { ProtoReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "../remote/protobuf.ts";
import { asBuffer, wireString } from "../remote/wire-strings.ts";
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
  Quantile,
  ResourceMetrics,
  ScopeMetrics,
  SummaryPoint,
} from "./model.ts";
import { checkCount, nanosToMs } from "./numbers.ts";

const TWO_32 = 0x1_0000_0000;

// A fixed64 field's two little-endian 32-bit halves, read at the reader's position.
function halves(r: ProtoReader): [hi: number, lo: number] {
  const p = r.pos;
  if (p + 8 > r.end) r.fail("truncated fixed64", p);
  const b = r.buf;
  const lo = (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  const hi = (b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16) | (b[p + 7] << 24)) >>> 0;
  r.pos = p + 8;
  return [hi, lo];
}

function fixed64Ms(r: ProtoReader, key: number, what: string): number {
  r.expect(key, WIRE_FIXED64, what);
  const [hi, lo] = halves(r);
  return nanosToMs(hi, lo);
}

function fixed64Count(r: ProtoReader, what: string): number {
  const [hi, lo] = halves(r);
  if (hi >= 0x20_0000) throw new ContrailError("bad_data", `${what} is not a count below 2^53`);
  return hi * TWO_32 + lo;
}

function sfixed64(r: ProtoReader): number {
  const [hi, lo] = halves(r);
  return (hi | 0) * TWO_32 + lo;
}

function str(r: ProtoReader, key: number, what: string): string {
  r.expect(key, WIRE_LEN, what);
  const end = r.lengthDelimited();
  const s = wireString(asBuffer(r.buf), r.pos, end);
  if (s === null) r.fail(`${what} is not valid UTF-8`);
  r.pos = end;
  return s;
}

// Runs `field` for every field of the sub-message at the reader's position, then leaves it.
function message(r: ProtoReader, key: number, what: string, field: (key: number) => void): void {
  r.expect(key, WIRE_LEN, what);
  const end = r.lengthDelimited();
  const outer = r.end;
  r.end = end;
  while (!r.done()) field(r.tag());
  r.end = outer;
}

function anyValue(r: ProtoReader, key: number, depth: number): RawValue {
  checkDepth(depth);
  let v: RawValue = null;
  message(r, key, "AnyValue", (k) => {
    switch (k >>> 3) {
      case 1:
        v = str(r, k, "string_value");
        return;
      case 2:
        r.expect(k, WIRE_VARINT, "bool_value");
        v = r.bool();
        return;
      case 3:
        r.expect(k, WIRE_VARINT, "int_value");
        v = r.int64();
        return;
      case 4:
        r.expect(k, WIRE_FIXED64, "double_value");
        v = r.double();
        return;
      case 5: {
        const list: RawValue[] = [];
        message(r, k, "array_value", (kk) => {
          if (kk >>> 3 === 1) list.push(anyValue(r, kk, depth + 1));
          else r.skip(kk & 7);
        });
        v = list;
        return;
      }
      case 6: {
        const list: [string, RawValue][] = [];
        message(r, k, "kvlist_value", (kk) => {
          if (kk >>> 3 === 1) list.push(keyValue(r, kk, depth + 1));
          else r.skip(kk & 7);
        });
        v = { kvlist: list };
        return;
      }
      case 7: {
        r.expect(k, WIRE_LEN, "bytes_value");
        const end = r.lengthDelimited();
        v = { bytes: Buffer.from(r.buf.subarray(r.pos, end)).toString("base64") };
        r.pos = end;
        return;
      }
      default:
        r.skip(k & 7);
    }
  });
  return v;
}

function keyValue(r: ProtoReader, key: number, depth: number): [string, RawValue] {
  let name = "";
  let value: RawValue = null;
  message(r, key, "KeyValue", (k) => {
    if (k >>> 3 === 1) name = str(r, k, "attribute key");
    else if (k >>> 3 === 2) value = anyValue(r, k, depth);
    else r.skip(k & 7);
  });
  return [name, value];
}

function attribute(r: ProtoReader, key: number, out: Attribute[]): void {
  const [name, value] = keyValue(r, key, 0);
  out.push([name, attributeText(value)]);
}

// Reads one element (or, packed, all elements) of a repeated scalar field into `out`, within the point's bounds.
function repeated(
  r: ProtoReader,
  key: number,
  out: number[],
  wire: typeof WIRE_FIXED64 | typeof WIRE_VARINT,
  read: () => number,
  what: string,
  budget: DecodeBudget,
): void {
  if ((key & 7) === WIRE_LEN) {
    const end = r.lengthDelimited();
    const outer = r.end;
    r.end = end;
    while (!r.done()) {
      budget.addValues(1, out.length, what);
      out.push(read());
    }
    r.end = outer;
    return;
  }
  r.expect(key, wire, what);
  budget.addValues(1, out.length, what);
  out.push(read());
}

interface PointFields {
  attributes: Attribute[];
  startMs: number;
  timeMs: number;
  flags: number;
  exemplars: number;
  /** Histograms and summaries only: fields 4 and 5. */
  count: number;
  sum: number | undefined;
}

function newPoint(): PointFields {
  return { attributes: [], startMs: 0, timeMs: 0, flags: 0, exemplars: 0, count: 0, sum: undefined };
}

function baseOf(p: PointFields): PointBase {
  return { attributes: p.attributes, startMs: p.startMs, timeMs: p.timeMs, flags: p.flags, exemplars: p.exemplars };
}

// The fields every point type has, at their field numbers: attributes, start, time, flags, exemplars; and for
// histograms and summaries count and sum (fields 4 and 5).
interface CommonNumbers {
  readonly attributes: number;
  readonly flags: number;
  readonly exemplars: number;
  readonly aggregate: boolean;
}

// Handles field `k` when it is one of the common fields; false otherwise.
function commonField(r: ProtoReader, k: number, p: PointFields, n: CommonNumbers): boolean {
  const f = k >>> 3;
  if (f === n.attributes) attribute(r, k, p.attributes);
  else if (f === 2) p.startMs = fixed64Ms(r, k, "start_time_unix_nano");
  else if (f === 3) p.timeMs = fixed64Ms(r, k, "time_unix_nano");
  else if (f === n.flags) {
    r.expect(k, WIRE_VARINT, "flags");
    p.flags = r.uint32();
  } else if (f === n.exemplars) {
    p.exemplars++;
    r.skip(k & 7);
  } else if (n.aggregate && f === 4) {
    r.expect(k, WIRE_FIXED64, "count");
    p.count = fixed64Count(r, "count");
  } else if (n.aggregate && f === 5) {
    r.expect(k, WIRE_FIXED64, "sum");
    p.sum = r.double();
  } else return false;
  return true;
}

const NUMBER_FIELDS: CommonNumbers = { attributes: 7, flags: 8, exemplars: 5, aggregate: false };
const HISTOGRAM_FIELDS: CommonNumbers = { attributes: 9, flags: 10, exemplars: 8, aggregate: true };
const EXP_FIELDS: CommonNumbers = { attributes: 1, flags: 10, exemplars: 11, aggregate: true };
const SUMMARY_FIELDS: CommonNumbers = { attributes: 7, flags: 8, exemplars: -1, aggregate: true };

function numberPoint(r: ProtoReader, key: number, budget: DecodeBudget): NumberPoint {
  budget.point();
  const p = newPoint();
  let value = 0;
  message(r, key, "NumberDataPoint", (k) => {
    if (commonField(r, k, p, NUMBER_FIELDS)) return;
    const f = k >>> 3;
    if (f === 4) {
      r.expect(k, WIRE_FIXED64, "as_double");
      value = r.double();
    } else if (f === 6) {
      r.expect(k, WIRE_FIXED64, "as_int");
      value = sfixed64(r);
    } else r.skip(k & 7);
  });
  return { ...baseOf(p), value };
}

function histogramPoint(r: ProtoReader, key: number, budget: DecodeBudget): HistogramPoint {
  budget.point();
  const p = newPoint();
  const bucketCounts: number[] = [];
  const explicitBounds: number[] = [];
  message(r, key, "HistogramDataPoint", (k) => {
    if (commonField(r, k, p, HISTOGRAM_FIELDS)) return;
    switch (k >>> 3) {
      case 6:
        repeated(r, k, bucketCounts, WIRE_FIXED64, () => fixed64Count(r, "bucket count"), "bucket counts", budget);
        return;
      case 7:
        repeated(r, k, explicitBounds, WIRE_FIXED64, () => r.double(), "explicit bounds", budget);
        return;
      default:
        r.skip(k & 7);
    }
  });
  return { ...baseOf(p), count: p.count, sum: p.sum, bucketCounts, explicitBounds };
}

function expBuckets(r: ProtoReader, key: number, budget: DecodeBudget): ExpBuckets {
  let offset = 0;
  const counts: number[] = [];
  message(r, key, "Buckets", (k) => {
    if (k >>> 3 === 1) {
      r.expect(k, WIRE_VARINT, "bucket offset");
      offset = r.sint64();
    } else if (k >>> 3 === 2) {
      repeated(r, k, counts, WIRE_VARINT, () => checkCount(r.uint64(), "bucket count"), "bucket counts", budget);
    } else r.skip(k & 7);
  });
  return { offset, counts };
}

const NO_BUCKETS: ExpBuckets = { offset: 0, counts: [] };

function expHistogramPoint(r: ProtoReader, key: number, budget: DecodeBudget): ExpHistogramPoint {
  budget.point();
  const p = newPoint();
  let scale = 0;
  let zeroCount = 0;
  let zeroThreshold = 0;
  let positive = NO_BUCKETS;
  let negative = NO_BUCKETS;
  message(r, key, "ExponentialHistogramDataPoint", (k) => {
    if (commonField(r, k, p, EXP_FIELDS)) return;
    switch (k >>> 3) {
      case 6:
        r.expect(k, WIRE_VARINT, "scale");
        scale = r.sint64();
        return;
      case 7:
        r.expect(k, WIRE_FIXED64, "zero_count");
        zeroCount = fixed64Count(r, "zero count");
        return;
      case 8:
        positive = expBuckets(r, k, budget);
        return;
      case 9:
        negative = expBuckets(r, k, budget);
        return;
      case 14:
        r.expect(k, WIRE_FIXED64, "zero_threshold");
        zeroThreshold = r.double();
        return;
      default:
        r.skip(k & 7);
    }
  });
  return { ...baseOf(p), count: p.count, sum: p.sum, scale, zeroCount, zeroThreshold, positive, negative };
}

function summaryPoint(r: ProtoReader, key: number, budget: DecodeBudget): SummaryPoint {
  budget.point();
  const p = newPoint();
  const quantiles: Quantile[] = [];
  message(r, key, "SummaryDataPoint", (k) => {
    if (commonField(r, k, p, SUMMARY_FIELDS)) return;
    switch (k >>> 3) {
      case 6: {
        budget.addValues(1, quantiles.length, "quantiles");
        let quantile = 0;
        let value = 0;
        message(r, k, "ValueAtQuantile", (kk) => {
          if (kk >>> 3 === 1) {
            r.expect(kk, WIRE_FIXED64, "quantile");
            quantile = r.double();
          } else if (kk >>> 3 === 2) {
            r.expect(kk, WIRE_FIXED64, "value");
            value = r.double();
          } else r.skip(kk & 7);
        });
        quantiles.push({ quantile, value });
        return;
      }
      default:
        r.skip(k & 7);
    }
  });
  return { ...baseOf(p), count: p.count, sum: p.sum ?? 0, quantiles };
}

// Gauge, Sum, Histogram, ExponentialHistogram, Summary: data points at field 1, temporality 2, monotonic 3.
function metricData(
  r: ProtoReader,
  key: number,
  kind: Exclude<MetricData["kind"], "empty">,
  budget: DecodeBudget,
): MetricData {
  const points: unknown[] = [];
  let temporality = 0;
  let monotonic = false;
  message(r, key, kind, (k) => {
    switch (k >>> 3) {
      case 1:
        if (kind === "gauge" || kind === "sum") points.push(numberPoint(r, k, budget));
        else if (kind === "histogram") points.push(histogramPoint(r, k, budget));
        else if (kind === "exponentialHistogram") points.push(expHistogramPoint(r, k, budget));
        else points.push(summaryPoint(r, k, budget));
        return;
      case 2:
        if (kind === "gauge" || kind === "summary") r.skip(k & 7);
        else {
          r.expect(k, WIRE_VARINT, "aggregation_temporality");
          temporality = r.uint32();
        }
        return;
      case 3:
        if (kind !== "sum") r.skip(k & 7);
        else {
          r.expect(k, WIRE_VARINT, "is_monotonic");
          monotonic = r.bool();
        }
        return;
      default:
        r.skip(k & 7);
    }
  });
  switch (kind) {
    case "gauge":
      return { kind, points: points as NumberPoint[] };
    case "sum":
      return { kind, temporality, monotonic, points: points as NumberPoint[] };
    case "histogram":
      return { kind, temporality, points: points as HistogramPoint[] };
    case "exponentialHistogram":
      return { kind, temporality, points: points as ExpHistogramPoint[] };
    case "summary":
      return { kind, points: points as SummaryPoint[] };
  }
}

const DATA_FIELDS: Readonly<Record<number, Exclude<MetricData["kind"], "empty">>> = {
  5: "gauge",
  7: "sum",
  9: "histogram",
  10: "exponentialHistogram",
  11: "summary",
};

function metric(r: ProtoReader, key: number, budget: DecodeBudget): Metric {
  let name = "";
  let description = "";
  let unit = "";
  let data: MetricData = { kind: "empty" };
  message(r, key, "Metric", (k) => {
    const f = k >>> 3;
    const kind = DATA_FIELDS[f];
    if (f === 1) name = str(r, k, "metric name");
    else if (f === 2) description = str(r, k, "description");
    else if (f === 3) unit = str(r, k, "unit");
    else if (kind !== undefined) data = metricData(r, k, kind, budget);
    else r.skip(k & 7);
  });
  return { name, description, unit, data };
}

function scopeMetrics(r: ProtoReader, key: number, budget: DecodeBudget): ScopeMetrics {
  const metrics: Metric[] = [];
  message(r, key, "ScopeMetrics", (k) => {
    if (k >>> 3 === 2) metrics.push(metric(r, k, budget));
    else r.skip(k & 7);
  });
  return { metrics };
}

function resourceMetrics(r: ProtoReader, key: number, budget: DecodeBudget): ResourceMetrics {
  const attributes: Attribute[] = [];
  const scopes: ScopeMetrics[] = [];
  message(r, key, "ResourceMetrics", (k) => {
    if (k >>> 3 === 1) {
      message(r, k, "Resource", (kk) => {
        if (kk >>> 3 === 1) attribute(r, kk, attributes);
        else r.skip(kk & 7);
      });
    } else if (k >>> 3 === 2) scopes.push(scopeMetrics(r, k, budget));
    else r.skip(k & 7);
  });
  return { attributes, scopes };
}

/** Decodes a protobuf ExportMetricsServiceRequest; throws `bad_data` (malformed) or `too_large` (over `budget`). */
export function decodeProtoRequest(body: Uint8Array, budget: DecodeBudget): ExportRequest {
  const r = new ProtoReader(asBuffer(body));
  const resources: ResourceMetrics[] = [];
  while (!r.done()) {
    const k = r.tag();
    if (k >>> 3 === 1) resources.push(resourceMetrics(r, k, budget));
    else r.skip(k & 7);
  }
  return { resources };
}
