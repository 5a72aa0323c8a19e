// The native histogram value shared by every layer: the store encodes it in Prometheus's histogram chunks and WAL
// records, the engine computes with it, the receivers (remote write, protobuf scrapes, OTLP) produce it. One shape
// for integer and float histograms: bucket counts are always absolute (the deltas of Prometheus's integer form are
// a wire and chunk detail), and `integer` says whether the counts are whole numbers kept in the integer encodings.

/** A run of `length` consecutive buckets starting `offset` buckets after the end of the previous span. */
export interface BucketSpan {
  /** Gap to the previous span's last bucket (for the first span: the index of its first bucket), may be negative. */
  readonly offset: number;
  /** Number of buckets in the span, >= 0. */
  readonly length: number;
}

/** What a histogram says about a counter reset against the previous sample of its series (Prometheus's hint). */
export const CounterResetHint = {
  /** Not known: readers compare with the previous sample. */
  unknown: 0,
  /** A reset happened right before this sample. */
  counterReset: 1,
  /** No reset since the previous sample. */
  notCounterReset: 2,
  /** The histogram is a gauge: resets mean nothing. */
  gauge: 3,
} as const;

/** One of the {@link CounterResetHint} values. */
export type CounterResetHint = (typeof CounterResetHint)[keyof typeof CounterResetHint];

/** The schema of histograms with custom bucket bounds (`customValues`); -4..8 are the exponential schemas. */
export const CUSTOM_BUCKETS_SCHEMA = -53;
/** Lowest and highest exponential schema. */
export const MIN_EXPONENTIAL_SCHEMA = -4;
export const MAX_EXPONENTIAL_SCHEMA = 8;

/**
 * A native histogram sample's value. Owned by whoever made it; code that keeps one it did not make copies it
 * (iterators may reuse theirs). Bucket `i` of the positive side is the i-th bucket named by `positiveSpans`, in
 * order; the same for the negative side. With the custom-buckets schema there is no negative side and no zero bucket,
 * and `customValues` holds the upper bounds (sorted, finite) of buckets 0..n-1; bucket n ends at +Inf.
 */
export interface Histogram {
  /** Whether the counts are whole numbers (stored in Prometheus's integer histogram encodings). */
  readonly integer: boolean;
  readonly counterResetHint: CounterResetHint;
  /** -4..8 (exponential: bucket bounds are powers of 2^(2^-schema)) or {@link CUSTOM_BUCKETS_SCHEMA}. */
  readonly schema: number;
  /** Upper bound of the zero bucket's absolute value, >= 0. */
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  /** Total number of observations (includes NaN observations, so it can exceed the sum of the buckets). */
  readonly count: number;
  readonly sum: number;
  readonly positiveSpans: readonly BucketSpan[];
  readonly negativeSpans: readonly BucketSpan[];
  /** Absolute count of each positive bucket, as many as the spans' lengths add up to. */
  readonly positiveBuckets: readonly number[];
  readonly negativeBuckets: readonly number[];
  /** Custom-buckets schema only: the buckets' upper bounds; empty otherwise. */
  readonly customValues: readonly number[];
}

/**
 * Absolute bucket counts from bucket-to-bucket deltas, the form of integer histograms on the wire and in chunks:
 * count i is the sum of deltas 0..i. Returns a new array.
 */
export function countsFromDeltas(deltas: readonly number[]): number[] {
  const out = new Array<number>(deltas.length);
  let c = 0;
  for (let i = 0; i < deltas.length; i++) {
    c += deltas[i];
    out[i] = c;
  }
  return out;
}
