// Decoding of one `io.prometheus.client.Metric` of the protobuf exposition format (client_model's metrics.proto)
// into plain values: its labels, its timestamp, and its counter, gauge, untyped, summary or histogram part. The
// histogram part keeps both forms a client may send: classic buckets (cumulative counts with upper bounds) and
// native buckets (schema, zero bucket, spans with delta or absolute counts).
//
//   Metric    { repeated LabelPair label = 1; Gauge gauge = 2; Counter counter = 3; Summary summary = 4;
//               Untyped untyped = 5; int64 timestamp_ms = 6; Histogram histogram = 7; }
//   LabelPair { string name = 1; string value = 2; }
//   Gauge, Untyped { double value = 1; }      Counter { double value = 1; Exemplar exemplar = 2; ... }
//   Summary   { uint64 sample_count = 1; double sample_sum = 2; repeated Quantile quantile = 3; ... }
//   Quantile  { double quantile = 1; double value = 2; }
//   Histogram { uint64 sample_count = 1; double sample_count_float = 4; double sample_sum = 2;
//               repeated Bucket bucket = 3; sint32 schema = 5; double zero_threshold = 6; uint64 zero_count = 7;
//               double zero_count_float = 8; repeated BucketSpan negative_span = 9; repeated sint64 negative_delta = 10;
//               repeated double negative_count = 11; repeated BucketSpan positive_span = 12;
//               repeated sint64 positive_delta = 13; repeated double positive_count = 14; ... }
//   Bucket    { uint64 cumulative_count = 1; double cumulative_count_float = 4; double upper_bound = 2; ... }
//   BucketSpan { sint32 offset = 1; uint32 length = 2; }
//
// Start (created) timestamps and exemplars are skipped.

import { type BucketSpan, CounterResetHint, type Histogram } from "../model/histogram.ts";
import { type ProtoReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "../model/protobuf.ts";

/** A classic bucket: inclusive upper bound and cumulative count. */
export interface ClassicBucket {
  readonly upperBound: number;
  readonly count: number;
}

/** One Metric message, decoded. Which parts are set depends on the family's type. */
export interface ProtoMetric {
  /** Label pairs as sent, flat: name, value, name, value... */
  readonly labels: string[];
  /** Timestamp in ms, or undefined when the metric has none (0 on the wire). */
  timestamp: number | undefined;
  /** Counter, gauge or untyped value (NaN when the part is missing, as Prometheus reads it). */
  value: number;
  /** Summary and histogram: count and sum. */
  count: number;
  sum: number;
  /** Summary: quantile, value pairs, flat. */
  readonly quantiles: number[];
  /** Histogram: classic buckets in the order sent. */
  readonly buckets: ClassicBucket[];
  /** Histogram: the native part, or null when the histogram has none (only classic buckets). */
  native: Histogram | null;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads a string field's value; throws bad_data (through the reader) on invalid UTF-8. */
export function protoString(r: ProtoReader): string {
  const end = r.lengthDelimited();
  let s: string;
  try {
    s = utf8.decode(r.buf.subarray(r.pos, end));
  } catch {
    return r.fail("string is not valid UTF-8");
  }
  r.pos = end;
  return s;
}

// Runs `fn` over the sub-message field just read (its key checked to be length-delimited), then restores the end.
function sub(r: ProtoReader, key: number, what: string, fn: () => void): void {
  r.expect(key, WIRE_LEN, what);
  const end = r.lengthDelimited();
  const outer = r.end;
  r.end = end;
  fn();
  r.pos = end;
  r.end = outer;
}

// A message holding one double at field 1 (Gauge, Untyped, Counter): its value; 0 when the field is left out.
function valueMessage(r: ProtoReader): number {
  let v = 0;
  while (!r.done()) {
    const key = r.tag();
    if (key === ((1 << 3) | WIRE_FIXED64)) v = r.double();
    else r.skip(key & 7);
  }
  return v;
}

function labelPair(r: ProtoReader, out: string[]): void {
  let name = "";
  let value = "";
  while (!r.done()) {
    const key = r.tag();
    if (key === ((1 << 3) | WIRE_LEN)) name = protoString(r);
    else if (key === ((2 << 3) | WIRE_LEN)) value = protoString(r);
    else r.skip(key & 7);
  }
  out.push(name, value);
}

function summary(r: ProtoReader, m: ProtoMetric): void {
  while (!r.done()) {
    const key = r.tag();
    const field = key >>> 3;
    if (key === ((1 << 3) | WIRE_VARINT)) m.count = r.uint64();
    else if (key === ((2 << 3) | WIRE_FIXED64)) m.sum = r.double();
    else if (field === 3) {
      sub(r, key, "Summary.quantile", () => {
        let q = 0;
        let v = 0;
        while (!r.done()) {
          const k = r.tag();
          if (k === ((1 << 3) | WIRE_FIXED64)) q = r.double();
          else if (k === ((2 << 3) | WIRE_FIXED64)) v = r.double();
          else r.skip(k & 7);
        }
        m.quantiles.push(q, v);
      });
    } else r.skip(key & 7);
  }
}

function bucket(r: ProtoReader): ClassicBucket {
  let count = 0;
  let countFloat = 0;
  let upperBound = 0;
  while (!r.done()) {
    const key = r.tag();
    if (key === ((1 << 3) | WIRE_VARINT)) count = r.uint64();
    else if (key === ((4 << 3) | WIRE_FIXED64)) countFloat = r.double();
    else if (key === ((2 << 3) | WIRE_FIXED64)) upperBound = r.double();
    else r.skip(key & 7);
  }
  // As client_model says: the float count overrides the integer one when positive.
  return { upperBound, count: countFloat > 0 ? countFloat : count };
}

function span(r: ProtoReader): BucketSpan {
  let offset = 0;
  let length = 0;
  while (!r.done()) {
    const key = r.tag();
    if (key === ((1 << 3) | WIRE_VARINT)) offset = r.sint64() | 0;
    else if (key === ((2 << 3) | WIRE_VARINT)) length = r.uint32();
    else r.skip(key & 7);
  }
  return { offset, length };
}

// Reads a repeated numeric field's value (packed, or one element) with `one`, into `out`.
function repeated(r: ProtoReader, key: number, wire: number, one: () => number, out: number[]): void {
  if ((key & 7) === WIRE_LEN && wire !== WIRE_LEN) {
    const end = r.lengthDelimited();
    const outer = r.end;
    r.end = end;
    while (r.pos < end) out.push(one());
    r.end = outer;
    return;
  }
  r.expect(key, wire, `Histogram field ${key >>> 3}`);
  out.push(one());
}

// Spans without buckets (client_golang sends one to mark an empty native histogram) dropped, their offsets carried
// to the next span, as Prometheus compacts a scraped histogram.
function compactSpans(spans: readonly BucketSpan[]): BucketSpan[] {
  const out: BucketSpan[] = [];
  let carry = 0;
  for (const s of spans) {
    if (s.length === 0) carry += s.offset;
    else {
      out.push({ offset: s.offset + carry, length: s.length });
      carry = 0;
    }
  }
  return out;
}

function absolute(deltas: readonly number[]): number[] {
  let c = 0;
  return deltas.map((d) => {
    c += d;
    return c;
  });
}

function histogram(r: ProtoReader, m: ProtoMetric, gauge: boolean): void {
  let count = 0;
  let countFloat = 0;
  let schema = 0;
  let zeroThreshold = 0;
  let zeroCount = 0;
  let zeroCountFloat = 0;
  const pos: BucketSpan[] = [];
  const neg: BucketSpan[] = [];
  const posDeltas: number[] = [];
  const negDeltas: number[] = [];
  const posCounts: number[] = [];
  const negCounts: number[] = [];
  const sint = () => r.sint64();
  const dbl = () => r.double();
  while (!r.done()) {
    const key = r.tag();
    switch (key >>> 3) {
      case 1:
        r.expect(key, WIRE_VARINT, "Histogram.sample_count");
        count = r.uint64();
        break;
      case 2:
        r.expect(key, WIRE_FIXED64, "Histogram.sample_sum");
        m.sum = r.double();
        break;
      case 3:
        sub(r, key, "Histogram.bucket", () => m.buckets.push(bucket(r)));
        break;
      case 4:
        r.expect(key, WIRE_FIXED64, "Histogram.sample_count_float");
        countFloat = r.double();
        break;
      case 5:
        r.expect(key, WIRE_VARINT, "Histogram.schema");
        schema = r.sint64();
        break;
      case 6:
        r.expect(key, WIRE_FIXED64, "Histogram.zero_threshold");
        zeroThreshold = r.double();
        break;
      case 7:
        r.expect(key, WIRE_VARINT, "Histogram.zero_count");
        zeroCount = r.uint64();
        break;
      case 8:
        r.expect(key, WIRE_FIXED64, "Histogram.zero_count_float");
        zeroCountFloat = r.double();
        break;
      case 9:
        sub(r, key, "Histogram.negative_span", () => neg.push(span(r)));
        break;
      case 10:
        repeated(r, key, WIRE_VARINT, sint, negDeltas);
        break;
      case 11:
        repeated(r, key, WIRE_FIXED64, dbl, negCounts);
        break;
      case 12:
        sub(r, key, "Histogram.positive_span", () => pos.push(span(r)));
        break;
      case 13:
        repeated(r, key, WIRE_VARINT, sint, posDeltas);
        break;
      case 14:
        repeated(r, key, WIRE_FIXED64, dbl, posCounts);
        break;
      default:
        r.skip(key & 7);
    }
  }
  m.count = countFloat > 0 ? countFloat : count;
  // Prometheus's test for a native histogram: spans, or a zero bucket (an empty one sends a span of length 0).
  const native = pos.length > 0 || neg.length > 0 || zeroThreshold > 0 || zeroCount > 0 || zeroCountFloat > 0;
  if (!native) return;
  const isFloat = countFloat > 0 || zeroCountFloat > 0;
  m.native = {
    integer: !isFloat,
    counterResetHint: gauge ? CounterResetHint.gauge : CounterResetHint.unknown,
    schema,
    zeroThreshold,
    zeroCount: isFloat ? zeroCountFloat : zeroCount,
    count: m.count,
    sum: m.sum,
    positiveSpans: compactSpans(pos),
    negativeSpans: compactSpans(neg),
    positiveBuckets: isFloat ? posCounts : absolute(posDeltas),
    negativeBuckets: isFloat ? negCounts : absolute(negDeltas),
    customValues: [],
  };
}

/** A fresh, empty ProtoMetric. */
export function newProtoMetric(): ProtoMetric {
  return {
    labels: [],
    timestamp: undefined,
    value: Number.NaN,
    count: 0,
    sum: 0,
    quantiles: [],
    buckets: [],
    native: null,
  };
}

/**
 * Decodes the Metric message the reader is narrowed to into a new ProtoMetric. `gaugeHistogram`: the family is a
 * gauge histogram (its native histogram gets the gauge reset hint). Throws bad_data on malformed protobuf.
 */
export function decodeMetric(r: ProtoReader, gaugeHistogram: boolean): ProtoMetric {
  const m = newProtoMetric();
  while (!r.done()) {
    const key = r.tag();
    switch (key >>> 3) {
      case 1:
        sub(r, key, "Metric.label", () => labelPair(r, m.labels));
        break;
      case 2:
      case 3:
      case 5:
        sub(r, key, "Metric value", () => {
          m.value = valueMessage(r);
        });
        break;
      case 4:
        sub(r, key, "Metric.summary", () => summary(r, m));
        break;
      case 6: {
        r.expect(key, WIRE_VARINT, "Metric.timestamp_ms");
        const t = r.int64();
        m.timestamp = t === 0 ? undefined : t;
        break;
      }
      case 7:
        sub(r, key, "Metric.histogram", () => histogram(r, m, gaugeHistogram));
        break;
      default:
        r.skip(key & 7);
    }
  }
  return m;
}
