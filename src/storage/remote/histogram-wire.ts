// The native histogram message of both remote-write versions (prompb/types.proto's Histogram; 2.0's has the same
// field numbers, plus a start timestamp the decoder skips):
//
//   Histogram  { oneof count { uint64 count_int = 1; double count_float = 2; } double sum = 3; sint32 schema = 4;
//                double zero_threshold = 5; oneof zero_count { uint64 zero_count_int = 6; double zero_count_float = 7; }
//                repeated BucketSpan negative_spans = 8; repeated sint64 negative_deltas = 9;
//                repeated double negative_counts = 10; repeated BucketSpan positive_spans = 11;
//                repeated sint64 positive_deltas = 12; repeated double positive_counts = 13;
//                ResetHint reset_hint = 14; int64 timestamp = 15; repeated double custom_values = 16; }
//   BucketSpan { sint32 offset = 1; uint32 length = 2; }
//
// An integer histogram (count_int, or no count at all) carries its buckets as deltas, each against the previous
// bucket of its side; a float one (count_float) carries absolute counts. The decoder turns both into the shared
// `Histogram` with absolute counts. Every array is bounded by the message's bytes, which the body limit bounds.

import { type BucketSpan, CounterResetHint, countsFromDeltas, type Histogram } from "../../model/histogram.ts";
import { histogramProblem } from "../../model/histogram-check.ts";
import { type ProtoReader, type ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "./protobuf.ts";

/** A decoded histogram sample: its time (ms) and value; or `problem`, what makes it invalid (for people). */
export type WireHistogram =
  | { readonly t: number; readonly h: Histogram; readonly problem?: undefined }
  | { readonly problem: string };

const RESET_HINTS: readonly CounterResetHint[] = [
  CounterResetHint.unknown,
  CounterResetHint.counterReset,
  CounterResetHint.notCounterReset,
  CounterResetHint.gauge,
];

// Fields of each side: spans, deltas (integer), counts (float).
const NEGATIVE = { spans: 8, deltas: 9, counts: 10 } as const;
const POSITIVE = { spans: 11, deltas: 12, counts: 13 } as const;

// Reads a repeated double field's value (packed or not) into `out`.
function doubles(r: ProtoReader, key: number, out: number[]): void {
  if ((key & 7) === WIRE_LEN) {
    const end = r.lengthDelimited();
    const outer = r.end;
    r.end = end;
    while (r.pos < end) out.push(r.double());
    r.end = outer;
  } else {
    r.expect(key, WIRE_FIXED64, `Histogram field ${key >>> 3}`);
    out.push(r.double());
  }
}

// Reads a repeated sint64 field's value (packed or not) into `out`.
function sints(r: ProtoReader, key: number, out: number[]): void {
  if ((key & 7) === WIRE_LEN) {
    const end = r.lengthDelimited();
    const outer = r.end;
    r.end = end;
    while (r.pos < end) out.push(r.sint64());
    r.end = outer;
  } else {
    r.expect(key, WIRE_VARINT, `Histogram field ${key >>> 3}`);
    out.push(r.sint64());
  }
}

function span(r: ProtoReader, key: number): BucketSpan {
  r.expect(key, WIRE_LEN, "Histogram span");
  const end = r.lengthDelimited();
  const outer = r.end;
  r.end = end;
  let offset = 0;
  let length = 0;
  while (!r.done()) {
    const k = r.tag();
    if (k === ((1 << 3) | WIRE_VARINT)) offset = r.sint64() | 0;
    else if (k === ((2 << 3) | WIRE_VARINT)) length = r.uint32();
    else r.skip(k & 7);
  }
  r.end = outer;
  return { offset, length };
}

/**
 * Decodes the Histogram message at `r.buf[start, end)` and validates it as Prometheus does. Throws
 * ContrailError("bad_data") only for malformed protobuf; a well-formed but invalid histogram is returned as a
 * problem. Leaves `r` anywhere inside the message.
 */
export function decodeWireHistogram(r: ProtoReader, start: number, end: number): WireHistogram {
  r.pos = start;
  r.end = end;
  let countInt = 0;
  let countFloat = Number.NaN;
  let zeroInt = 0;
  let zeroFloat = Number.NaN;
  let floatFields = false;
  let intFields = false;
  let sum = 0;
  let schema = 0;
  let zeroThreshold = 0;
  let hint = 0;
  let t = 0;
  const negSpans: BucketSpan[] = [];
  const posSpans: BucketSpan[] = [];
  const negDeltas: number[] = [];
  const posDeltas: number[] = [];
  const negCounts: number[] = [];
  const posCounts: number[] = [];
  const customValues: number[] = [];
  while (!r.done()) {
    const key = r.tag();
    const field = key >>> 3;
    switch (field) {
      case 1:
        r.expect(key, WIRE_VARINT, "Histogram.count_int");
        countInt = r.uint64();
        intFields = true;
        break;
      case 2:
        r.expect(key, WIRE_FIXED64, "Histogram.count_float");
        countFloat = r.double();
        floatFields = true;
        break;
      case 3:
        r.expect(key, WIRE_FIXED64, "Histogram.sum");
        sum = r.double();
        break;
      case 4:
        r.expect(key, WIRE_VARINT, "Histogram.schema");
        schema = r.sint64();
        break;
      case 5:
        r.expect(key, WIRE_FIXED64, "Histogram.zero_threshold");
        zeroThreshold = r.double();
        break;
      case 6:
        r.expect(key, WIRE_VARINT, "Histogram.zero_count_int");
        zeroInt = r.uint64();
        intFields = true;
        break;
      case 7:
        r.expect(key, WIRE_FIXED64, "Histogram.zero_count_float");
        zeroFloat = r.double();
        floatFields = true;
        break;
      case NEGATIVE.spans:
        negSpans.push(span(r, key));
        break;
      case POSITIVE.spans:
        posSpans.push(span(r, key));
        break;
      case NEGATIVE.deltas:
        sints(r, key, negDeltas);
        intFields = true;
        break;
      case POSITIVE.deltas:
        sints(r, key, posDeltas);
        intFields = true;
        break;
      case NEGATIVE.counts:
        doubles(r, key, negCounts);
        floatFields = true;
        break;
      case POSITIVE.counts:
        doubles(r, key, posCounts);
        floatFields = true;
        break;
      case 14:
        r.expect(key, WIRE_VARINT, "Histogram.reset_hint");
        hint = r.uint32();
        break;
      case 15:
        r.expect(key, WIRE_VARINT, "Histogram.timestamp");
        t = r.int64();
        break;
      case 16:
        doubles(r, key, customValues);
        break;
      default:
        r.skip(key & 7);
    }
  }
  if (intFields && floatFields) {
    return { problem: "the histogram mixes integer fields (count_int, deltas) and float fields (count_float, counts)" };
  }
  if (hint >= RESET_HINTS.length) return { problem: `unknown reset hint ${hint}` };
  const h: Histogram = {
    integer: !floatFields,
    counterResetHint: RESET_HINTS[hint],
    schema,
    zeroThreshold,
    zeroCount: floatFields ? (Number.isNaN(zeroFloat) ? 0 : zeroFloat) : zeroInt,
    count: floatFields ? (Number.isNaN(countFloat) ? 0 : countFloat) : countInt,
    sum,
    positiveSpans: posSpans,
    negativeSpans: negSpans,
    positiveBuckets: floatFields ? posCounts : countsFromDeltas(posDeltas),
    negativeBuckets: floatFields ? negCounts : countsFromDeltas(negDeltas),
    customValues,
  };
  const problem = histogramProblem(h);
  return problem === null ? { t, h } : { problem };
}

function writeSpans(w: ProtoWriter, field: number, spans: readonly BucketSpan[]): void {
  for (const s of spans) {
    const m = w.begin(field);
    if (s.offset !== 0) {
      w.tag(1, WIRE_VARINT);
      w.sint64(s.offset);
    }
    if (s.length !== 0) {
      w.tag(2, WIRE_VARINT);
      w.uint32(s.length);
    }
    w.end(m);
  }
}

function writeDoubles(w: ProtoWriter, field: number, values: readonly number[]): void {
  if (values.length === 0) return;
  w.tag(field, WIRE_LEN);
  w.uint32(values.length * 8);
  for (const v of values) w.double(v);
}

function writeDeltas(w: ProtoWriter, field: number, counts: readonly number[]): void {
  if (counts.length === 0) return;
  const m = w.begin(field);
  let prev = 0;
  for (const c of counts) {
    w.sint64(c - prev);
    prev = c;
  }
  w.end(m);
}

/** True when `v` is +0, the one double proto3 leaves out (-0 is written, so its sign survives). */
export function isPositiveZero(v: number): boolean {
  return v === 0 && !Object.is(v, -0);
}

function writeDouble(w: ProtoWriter, field: number, v: number): void {
  if (isPositiveZero(v)) return;
  w.tag(field, WIRE_FIXED64);
  w.double(v);
}

function writeVarint(w: ProtoWriter, field: number, v: number, zigzag = false): void {
  if (v === 0) return;
  w.tag(field, WIRE_VARINT);
  if (zigzag) w.sint64(v);
  else w.int64(v);
}

/**
 * Writes `h` at time `t` (ms) as a Histogram message in field `field`, the way Go's generated code does (fields in
 * number order, zero scalars left out): integer histograms with count_int, zero_count_int and delta-encoded
 * buckets, float ones with count_float, zero_count_float and absolute counts.
 */
export function writeWireHistogram(w: ProtoWriter, field: number, t: number, h: Histogram): void {
  const m = w.begin(field);
  if (h.integer) writeVarint(w, 1, h.count);
  else writeDouble(w, 2, h.count);
  writeDouble(w, 3, h.sum);
  writeVarint(w, 4, h.schema, true);
  writeDouble(w, 5, h.zeroThreshold);
  if (h.integer) writeVarint(w, 6, h.zeroCount);
  else writeDouble(w, 7, h.zeroCount);
  writeSpans(w, NEGATIVE.spans, h.negativeSpans);
  if (h.integer) writeDeltas(w, NEGATIVE.deltas, h.negativeBuckets);
  else writeDoubles(w, NEGATIVE.counts, h.negativeBuckets);
  writeSpans(w, POSITIVE.spans, h.positiveSpans);
  if (h.integer) writeDeltas(w, POSITIVE.deltas, h.positiveBuckets);
  else writeDoubles(w, POSITIVE.counts, h.positiveBuckets);
  writeVarint(w, 14, h.counterResetHint);
  writeVarint(w, 15, t);
  writeDoubles(w, 16, h.customValues);
  w.end(m);
}
