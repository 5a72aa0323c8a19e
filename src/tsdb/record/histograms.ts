// Histogram samples records: native histogram samples as Prometheus logs them. Four types: integer (7) and float (8)
// histograms with exponential schemas, and their custom-buckets twins (9, 10) that Prometheus 3 added so older
// readers skip what they cannot read. Layout: docs/format/records.md.

import type { BucketSpan, Histogram } from "../../model/histogram.ts";
import { CounterResetHint, CUSTOM_BUCKETS_SCHEMA } from "../../model/histogram.ts";
import { Decbuf } from "../encoding/decbuf.ts";
import type { Encbuf } from "../encoding/encbuf.ts";
import { checkDone, checkRef, expectType, RecordType } from "./record.ts";

/** One histogram sample of a record: series ref, time (ms), histogram. */
export interface HistogramEntry {
  readonly ref: number;
  readonly t: number;
  readonly h: Histogram;
}

/** Most spans, buckets or bounds one histogram of a record may declare; more is corruption. */
const MAX_ITEMS = 1 << 20;

/** The record type a histogram is logged under. */
export function histogramRecordType(h: Histogram): number {
  const custom = h.schema === CUSTOM_BUCKETS_SCHEMA;
  if (h.integer) return custom ? RecordType.CustomBucketsHistogramSamples : RecordType.HistogramSamples;
  return custom ? RecordType.CustomBucketsFloatHistogramSamples : RecordType.FloatHistogramSamples;
}

/**
 * Appends to `out` one record of type `type` holding `entries` (all of that type): the first ref and time as
 * 8-byte big-endian, then per entry the varint deltas from them and the histogram.
 */
export function encodeHistogramSamples(out: Encbuf, type: number, entries: readonly HistogramEntry[]): void {
  out.putByte(type);
  if (entries.length === 0) return;
  const ref0 = entries[0].ref;
  const t0 = entries[0].t;
  out.putBE64(ref0);
  out.putBE64Int(t0);
  for (const e of entries) {
    out.putVarint(e.ref - ref0);
    out.putVarint(e.t - t0);
    encodeHistogram(out, e.h);
  }
}

/**
 * Appends `h` as a histogram record entry holds it, after the ref and time (docs/format/records.md): counts of an
 * integer histogram as varints, of a float one as float64 bits, so no value is rounded. Its reader is
 * {@link decodeHistogram}, told which of the two forms to expect.
 */
export function encodeHistogram(out: Encbuf, h: Histogram): void {
  out.putByte(h.counterResetHint);
  out.putVarint(h.schema);
  out.putBE64Float(h.zeroThreshold);
  if (h.integer) {
    out.putUvarint(h.zeroCount);
    out.putUvarint(h.count);
  } else {
    out.putBE64Float(h.zeroCount);
    out.putBE64Float(h.count);
  }
  out.putBE64Float(h.sum);
  putSpans(out, h.positiveSpans);
  putSpans(out, h.negativeSpans);
  putBuckets(out, h.positiveBuckets, h.integer);
  putBuckets(out, h.negativeBuckets, h.integer);
  if (h.schema === CUSTOM_BUCKETS_SCHEMA) {
    out.putUvarint(h.customValues.length);
    for (const v of h.customValues) out.putBE64Float(v);
  }
}

function putSpans(out: Encbuf, spans: readonly BucketSpan[]): void {
  out.putUvarint(spans.length);
  for (const s of spans) {
    out.putVarint(s.offset);
    out.putUvarint(s.length);
  }
}

/** Integer buckets travel as deltas to the previous bucket, float buckets as absolute counts. */
function putBuckets(out: Encbuf, counts: readonly number[], integer: boolean): void {
  out.putUvarint(counts.length);
  let prev = 0;
  for (const c of counts) {
    if (integer) out.putVarint(c - prev);
    else out.putBE64Float(c);
    prev = c;
  }
}

/** Decodes a histogram samples record (types 7 to 10); throws `corruption` when malformed. */
export function decodeHistogramSamples(rec: Uint8Array): HistogramEntry[] {
  const dec = new Decbuf(rec);
  const typ = expectType(
    dec,
    "histogram samples",
    RecordType.HistogramSamples,
    RecordType.FloatHistogramSamples,
    RecordType.CustomBucketsHistogramSamples,
    RecordType.CustomBucketsFloatHistogramSamples,
  );
  const integer = typ === RecordType.HistogramSamples || typ === RecordType.CustomBucketsHistogramSamples;
  const out: HistogramEntry[] = [];
  if (dec.remaining() === 0) return out;
  const ref0 = dec.be64();
  const t0 = dec.be64Int();
  while (dec.remaining() > 0 && dec.err() === null) {
    const ref = ref0 + dec.varint();
    const t = t0 + dec.varint();
    const h = decodeHistogram(dec, integer);
    if (dec.err() !== null || h === null) break;
    checkRef(ref, "histogram samples");
    out.push({ ref, t, h });
  }
  checkDone(dec, "histogram samples", out.length);
  return out;
}

/** Reads one histogram written by {@link encodeHistogram} of an `integer` or float histogram; null when malformed. */
export function decodeHistogram(dec: Decbuf, integer: boolean): Histogram | null {
  const hint = dec.byte();
  const schema = dec.varint();
  const zeroThreshold = dec.be64Float();
  const zeroCount = integer ? dec.uvarint() : dec.be64Float();
  const count = integer ? dec.uvarint() : dec.be64Float();
  const sum = dec.be64Float();
  const positiveSpans = readSpans(dec);
  const negativeSpans = readSpans(dec);
  const positiveBuckets = readBuckets(dec, integer);
  const negativeBuckets = readBuckets(dec, integer);
  const customValues: number[] = [];
  if (schema === CUSTOM_BUCKETS_SCHEMA) {
    const n = dec.uvarint();
    if (n > MAX_ITEMS) return null;
    for (let i = 0; i < n && dec.err() === null; i++) customValues.push(dec.be64Float());
  }
  if (positiveSpans === null || negativeSpans === null || positiveBuckets === null || negativeBuckets === null) {
    return null;
  }
  return {
    integer,
    counterResetHint: (hint <= CounterResetHint.gauge ? hint : CounterResetHint.unknown) as CounterResetHint,
    schema,
    zeroThreshold,
    zeroCount,
    count,
    sum,
    positiveSpans,
    negativeSpans,
    positiveBuckets,
    negativeBuckets,
    customValues,
  };
}

function readSpans(dec: Decbuf): BucketSpan[] | null {
  const n = dec.uvarint();
  if (n > MAX_ITEMS) return null;
  const out: BucketSpan[] = [];
  for (let i = 0; i < n && dec.err() === null; i++) {
    const offset = dec.varint();
    const length = dec.uvarint();
    out.push({ offset, length });
  }
  return out;
}

function readBuckets(dec: Decbuf, integer: boolean): number[] | null {
  const n = dec.uvarint();
  if (n > MAX_ITEMS) return null;
  const out: number[] = [];
  let c = 0;
  for (let i = 0; i < n && dec.err() === null; i++) {
    if (integer) c += dec.varint();
    else c = dec.be64Float();
    out.push(c);
  }
  return out;
}
