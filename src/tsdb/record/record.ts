// Record types of the WAL payload (the first byte of every record) and helpers shared by the record codecs.
// Layouts: docs/format/records.md.

import { ContrailError } from "../../model/errors.ts";
import type { Decbuf } from "../encoding/decbuf.ts";

/**
 * Type bytes of the records Prometheus writes to a WAL; Contrail decodes Series, Samples(V2), Tombstones, Metadata
 * and the four histogram samples types (7 to 10).
 */
export const RecordType = {
  Series: 1,
  Samples: 2,
  Tombstones: 3,
  Exemplars: 4,
  MmapMarkers: 5,
  Metadata: 6,
  HistogramSamples: 7,
  FloatHistogramSamples: 8,
  CustomBucketsHistogramSamples: 9,
  CustomBucketsFloatHistogramSamples: 10,
  SamplesV2: 11,
  HistogramSamplesV2: 12,
  FloatHistogramSamplesV2: 13,
} as const;

/**
 * What a record holds, as far as Contrail is concerned. "unknown" covers empty records, types from newer
 * Prometheus versions and the types Contrail does not decode (exemplars, mmap markers, V2 histograms): replay skips
 * and counts them.
 */
export type RecordKind = "series" | "samples" | "histograms" | "tombstones" | "metadata" | "unknown";

/** The kind of `rec`, from its first byte. */
export function recordKind(rec: Uint8Array): RecordKind {
  if (rec.length === 0) return "unknown";
  switch (rec[0]) {
    case RecordType.Series:
      return "series";
    case RecordType.Samples:
    case RecordType.SamplesV2:
      return "samples";
    case RecordType.HistogramSamples:
    case RecordType.FloatHistogramSamples:
    case RecordType.CustomBucketsHistogramSamples:
    case RecordType.CustomBucketsFloatHistogramSamples:
      return "histograms";
    case RecordType.Tombstones:
      return "tombstones";
    case RecordType.Metadata:
      return "metadata";
    default:
      return "unknown";
  }
}

/** Reads the type byte and throws `corruption` unless it is one of `expected`. */
export function expectType(dec: Decbuf, what: string, ...expected: number[]): number {
  const t = dec.byte();
  if (dec.err() !== null || !expected.includes(t)) {
    throw new ContrailError("corruption", `decode ${what} record: record type ${t} is not ${expected.join(" or ")}`);
  }
  return t;
}

/** Throws `corruption` if the decoder failed or left bytes unread; `count` is how many entries were decoded. */
export function checkDone(dec: Decbuf, what: string, count: number): void {
  const e = dec.err();
  if (e !== null) throw new ContrailError("corruption", `decode ${what} record: ${e} after ${count} entries`);
  if (dec.remaining() > 0) {
    throw new ContrailError("corruption", `decode ${what} record: ${dec.remaining()} unexpected bytes left`);
  }
}

/** Throws `corruption` unless `ref` is a usable series reference (a non-negative safe integer). */
export function checkRef(ref: number, what: string): void {
  if (!Number.isSafeInteger(ref) || ref < 0) {
    throw new ContrailError("corruption", `decode ${what} record: series reference ${ref} out of range`);
  }
}

/** Grows a Float64Array to hold at least `n` values, keeping its first `keep` values. */
export function growFloat64(a: Float64Array<ArrayBuffer>, n: number, keep: number): Float64Array<ArrayBuffer> {
  if (a.length >= n) return a;
  const b = new Float64Array(Math.max(n, a.length * 2, 16));
  b.set(a.subarray(0, keep));
  return b;
}
