// Exponential (native histogram) buckets for the in-process registry: observations are counted by bucket index
// under one schema, as Prometheus's client libraries count them. With schema s, the bucket of index i holds the
// values v with base^(i-1) < |v| <= base^i, base = 2^(2^-s); |v| <= the zero threshold goes to the zero bucket.
// The index is found from v's binary exponent and fraction (as client_golang does), so exact powers of the base
// land in the right bucket without rounding. A histogram holds one counter per bucket it has seen: at most about
// 2^s buckets per doubling of the observed range.

import { type BucketSpan, CounterResetHint, type Histogram } from "../model/histogram.ts";

/** Schema of the edge's native histograms and the default: 2^(1/8), about 9% between bucket bounds. */
export const DEFAULT_NATIVE_SCHEMA = 3;
/** The default zero threshold, client_golang's: 2^-128. */
export const DEFAULT_ZERO_THRESHOLD = 2 ** -128;

// [fraction, exponent] with v = fraction * 2^exponent and 0.5 <= fraction < 1, for finite v > 0 (Go's Frexp).
function frexp(v: number): [number, number] {
  let exp = Math.floor(Math.log2(v)) + 1;
  let frac = v / 2 ** exp;
  // log2 may round across an integer near powers of two; correct by one step either way.
  if (frac >= 1) {
    frac /= 2;
    exp++;
  } else if (frac < 0.5) {
    frac *= 2;
    exp--;
  }
  return [frac, exp];
}

// The fraction bounds of one doubling under a positive schema, cached per schema: 2^(j / 2^s - 1), j = 0..2^s-1.
const fractionBounds = new Map<number, Float64Array>();

function boundsOf(schema: number): Float64Array {
  let b = fractionBounds.get(schema);
  if (b === undefined) {
    const n = 2 ** schema;
    b = new Float64Array(n);
    for (let j = 0; j < n; j++) b[j] = 2 ** (j / n - 1);
    fractionBounds.set(schema, b);
  }
  return b;
}

/** The bucket index of |v| (finite, > 0) under exponential `schema` (-4..8). */
export function bucketIndex(v: number, schema: number): number {
  const [frac, exp] = frexp(Math.abs(v));
  if (schema > 0) {
    const bounds = boundsOf(schema);
    // The first bound >= frac.
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (bounds[mid] >= frac) hi = mid;
      else lo = mid + 1;
    }
    return lo + (exp - 1) * bounds.length;
  }
  const key = frac === 0.5 ? exp - 1 : exp;
  const shift = -schema;
  const offset = (1 << shift) - 1;
  return Math.floor((key + offset) / 2 ** shift);
}

/** Options of native buckets. */
export interface NativeBucketOptions {
  /** Exponential schema, -4..8; default {@link DEFAULT_NATIVE_SCHEMA}. */
  readonly schema?: number;
  /** Observations with |v| at most this go to the zero bucket; default {@link DEFAULT_ZERO_THRESHOLD}. */
  readonly zeroThreshold?: number;
}

// Spans and absolute counts of one side from its bucket counters.
function side(counts: ReadonlyMap<number, number>): { spans: BucketSpan[]; buckets: number[] } {
  const indices = [...counts.keys()].sort((a, b) => a - b);
  const spans: BucketSpan[] = [];
  const buckets: number[] = [];
  let prevEnd = 0;
  for (let i = 0; i < indices.length; i++) {
    const idx = indices[i];
    if (i > 0 && idx === prevEnd)
      spans[spans.length - 1] = { ...spans[spans.length - 1], length: spans[spans.length - 1].length + 1 };
    else spans.push({ offset: i === 0 ? idx : idx - prevEnd, length: 1 });
    prevEnd = idx + 1;
    buckets.push(counts.get(idx)!);
  }
  return { spans, buckets };
}

/** The exponential buckets of one histogram child. Observations are integer counts. */
export class NativeBuckets {
  readonly schema: number;
  readonly zeroThreshold: number;
  private zeroCount = 0;
  private readonly positive = new Map<number, number>();
  private readonly negative = new Map<number, number>();

  /** Buckets under `opts` (validated by the caller's family). */
  constructor(opts: NativeBucketOptions = {}) {
    this.schema = opts.schema ?? DEFAULT_NATIVE_SCHEMA;
    this.zeroThreshold = opts.zeroThreshold ?? DEFAULT_ZERO_THRESHOLD;
  }

  /**
   * Counts `v` in its bucket. NaN goes to no bucket (the histogram's count still has it, as Prometheus counts NaN
   * observations); ±Inf goes to the bucket of the largest finite value on its side.
   */
  observe(v: number): void {
    if (Number.isNaN(v)) return;
    const a = Math.abs(v);
    if (a <= this.zeroThreshold) {
      this.zeroCount++;
      return;
    }
    const idx = bucketIndex(Number.isFinite(a) ? a : Number.MAX_VALUE, this.schema);
    const m = v > 0 ? this.positive : this.negative;
    m.set(idx, (m.get(idx) ?? 0) + 1);
  }

  /** The histogram of these buckets with the child's `count` and `sum` (a new object, the caller's to keep). */
  histogram(count: number, sum: number): Histogram {
    const pos = side(this.positive);
    const neg = side(this.negative);
    return {
      integer: true,
      counterResetHint: CounterResetHint.unknown,
      schema: this.schema,
      zeroThreshold: this.zeroThreshold,
      zeroCount: this.zeroCount,
      count,
      sum,
      positiveSpans: pos.spans,
      negativeSpans: neg.spans,
      positiveBuckets: pos.buckets,
      negativeBuckets: neg.buckets,
      customValues: [],
    };
  }
}
