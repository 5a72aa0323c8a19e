// Bucket layout of native histograms: bucket bounds of the exponential and custom schemas, the conversion between
// spans and an indexed form (ascending bucket indices with their counts), schema reduction, and iteration over all
// buckets with their bounds. The arithmetic (histogram-arith.ts) and the statistics (histogram-stats.ts) build on it.

import { type BucketSpan, CounterResetHint, CUSTOM_BUCKETS_SCHEMA, type Histogram } from "./histogram.ts";

/** One side of a histogram (positive or negative buckets) as ascending bucket indices and their counts. */
export interface IndexedBuckets {
  readonly idx: number[];
  readonly counts: number[];
}

/** A histogram whose fields can be set: what the arithmetic builds before handing it out as a {@link Histogram}. */
export type MutableHistogram = {
  -readonly [K in keyof Histogram]: Histogram[K];
};

/** True for the custom-buckets schema. */
export function usesCustomBuckets(h: Histogram): boolean {
  return h.schema === CUSTOM_BUCKETS_SCHEMA;
}

/** The buckets named by `spans` with counts `buckets`, as ascending indices. */
export function indexed(spans: readonly BucketSpan[], buckets: readonly number[]): IndexedBuckets {
  const idx: number[] = [];
  const counts: number[] = [];
  let at = 0;
  let b = 0;
  for (let s = 0; s < spans.length; s++) {
    at += spans[s].offset;
    for (let i = 0; i < spans[s].length && b < buckets.length; i++) {
      idx.push(at);
      counts.push(buckets[b++]);
      at++;
    }
  }
  return { idx, counts };
}

/** Spans and counts of `side` without its empty buckets (the compact form Prometheus's Compact(0) gives). */
export function toSpans(side: IndexedBuckets): { spans: BucketSpan[]; buckets: number[] } {
  const spans: BucketSpan[] = [];
  const buckets: number[] = [];
  let prevEnd = 0;
  let open: { offset: number; length: number } | null = null;
  for (let i = 0; i < side.idx.length; i++) {
    const c = side.counts[i];
    if (c === 0) continue;
    const at = side.idx[i];
    if (open !== null && at === prevEnd) open.length++;
    else {
      open = { offset: spans.length === 0 ? at : at - prevEnd, length: 1 };
      spans.push(open);
    }
    prevEnd = at + 1;
    buckets.push(c);
  }
  return { spans, buckets };
}

/** The index in schema `target` of bucket `idx` of schema `origin` (target <= origin). */
export function targetIndex(idx: number, origin: number, target: number): number {
  return ((idx - 1) >> (origin - target)) + 1;
}

/** `side` merged into the buckets of the lower schema `target` (counts of merged buckets added up). */
export function reduceSide(side: IndexedBuckets, origin: number, target: number): IndexedBuckets {
  if (origin === target) return side;
  const idx: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < side.idx.length; i++) {
    const t = targetIndex(side.idx[i], origin, target);
    if (idx.length > 0 && idx[idx.length - 1] === t) counts[counts.length - 1] += side.counts[i];
    else {
      idx.push(t);
      counts.push(side.counts[i]);
    }
  }
  return { idx, counts };
}

// 2^1024 would overflow: the last finite bucket of every schema ends at the largest float instead.
const LAST_EXPONENT = 1024;

/** Upper bound of exponential bucket `idx` of `schema` (the lower bound is the bound of idx - 1). */
export function exponentialBound(idx: number, schema: number): number {
  if (schema < 0) {
    const exp = idx * 2 ** -schema;
    if (exp === LAST_EXPONENT) return Number.MAX_VALUE;
    return 2 ** exp;
  }
  const per = 2 ** schema;
  const fracIdx = ((idx % per) + per) % per;
  const exp = Math.floor(idx / per);
  if (fracIdx === 0 && exp === LAST_EXPONENT) return Number.MAX_VALUE;
  // 2^(idx / 2^schema) as a power of two times the fraction, so whole powers stay exact.
  return fracIdx === 0 ? 2 ** exp : 2 ** (fracIdx / per) * 2 ** exp;
}

/** Upper bound of bucket `idx` of `h` (exponential or custom schema). */
export function bucketBound(idx: number, h: Histogram): number {
  if (!usesCustomBuckets(h)) return exponentialBound(idx, h.schema);
  const n = h.customValues.length;
  if (idx >= n) return Number.POSITIVE_INFINITY;
  if (idx < 0) return Number.NEGATIVE_INFINITY;
  return h.customValues[idx];
}

/** One bucket with its bounds, as Prometheus's bucket iterators give it. */
export interface BucketWithBounds {
  lower: number;
  upper: number;
  lowerInclusive: boolean;
  upperInclusive: boolean;
  count: number;
}

function positiveBucket(h: Histogram, idx: number, count: number): BucketWithBounds {
  const lower = bucketBound(idx - 1, h);
  const upper = bucketBound(idx, h);
  const custom = usesCustomBuckets(h);
  return {
    lower,
    upper,
    lowerInclusive: custom ? idx === 0 : lower < 0,
    upperInclusive: custom ? true : upper > 0,
    count,
  };
}

function negativeBucket(h: Histogram, idx: number, count: number): BucketWithBounds {
  const lower = -bucketBound(idx, h);
  const upper = -bucketBound(idx - 1, h);
  return { lower, upper, lowerInclusive: lower < 0, upperInclusive: upper > 0, count };
}

/**
 * Every bucket of `h` in ascending order of value: negative buckets, the zero bucket (when populated), positive
 * buckets; the buckets next to the zero bucket are clipped to its threshold. Empty buckets are left out when
 * `skipEmpty`, as the API's JSON does.
 */
export function allBuckets(h: Histogram, skipEmpty = false): BucketWithBounds[] {
  const out: BucketWithBounds[] = [];
  const zt = h.zeroThreshold;
  const neg = indexed(h.negativeSpans, h.negativeBuckets);
  for (let i = neg.idx.length - 1; i >= 0; i--) {
    if (skipEmpty && neg.counts[i] === 0) continue;
    const b = negativeBucket(h, neg.idx[i], neg.counts[i]);
    if (b.upper < 0 && b.upper > -zt) b.upper = -zt;
    out.push(b);
  }
  if (h.zeroCount > 0) {
    out.push({ lower: -zt, upper: zt, lowerInclusive: true, upperInclusive: true, count: h.zeroCount });
  }
  const pos = indexed(h.positiveSpans, h.positiveBuckets);
  for (let i = 0; i < pos.idx.length; i++) {
    if (skipEmpty && pos.counts[i] === 0) continue;
    const b = positiveBucket(h, pos.idx[i], pos.counts[i]);
    if (b.lower > 0 && b.lower < zt) b.lower = zt;
    out.push(b);
  }
  return out;
}

/** The positive buckets of `h` with their bounds, ascending. */
export function positiveBuckets(h: Histogram): BucketWithBounds[] {
  const pos = indexed(h.positiveSpans, h.positiveBuckets);
  return pos.idx.map((idx, i) => positiveBucket(h, idx, pos.counts[i]));
}

/** The negative buckets of `h` with their bounds, from the zero bucket downwards. */
export function negativeBuckets(h: Histogram): BucketWithBounds[] {
  const neg = indexed(h.negativeSpans, h.negativeBuckets);
  return neg.idx.map((idx, i) => negativeBucket(h, idx, neg.counts[i]));
}

/** A copy of `h` with its fields replaced by `changes`, sides given as indexed buckets; the result is compact. */
export function rebuild(
  h: Histogram,
  changes: Partial<MutableHistogram> & { pos?: IndexedBuckets; neg?: IndexedBuckets },
): Histogram {
  const { pos, neg, ...fields } = changes;
  const out: MutableHistogram = { ...h, ...fields };
  if (pos !== undefined) {
    const p = toSpans(pos);
    out.positiveSpans = p.spans;
    out.positiveBuckets = p.buckets;
  }
  if (neg !== undefined) {
    const n = toSpans(neg);
    out.negativeSpans = n.spans;
    out.negativeBuckets = n.buckets;
  }
  return out;
}

/** `h` without empty buckets and with adjacent spans merged (Prometheus's Compact(0)). */
export function compact(h: Histogram): Histogram {
  return rebuild(h, {
    pos: indexed(h.positiveSpans, h.positiveBuckets),
    neg: indexed(h.negativeSpans, h.negativeBuckets),
  });
}

/** An empty float histogram of `schema` (with `customValues` for the custom-buckets schema), hint unknown. */
export function emptyHistogram(schema: number, customValues: readonly number[] = []): Histogram {
  return {
    integer: false,
    counterResetHint: CounterResetHint.unknown,
    schema,
    zeroThreshold: 0,
    zeroCount: 0,
    count: 0,
    sum: 0,
    positiveSpans: [],
    negativeSpans: [],
    positiveBuckets: [],
    negativeBuckets: [],
    customValues,
  };
}

/** A deep copy of `h`, for keeping a histogram an iterator may reuse. */
export function cloneHistogram(h: Histogram): Histogram {
  return {
    ...h,
    positiveSpans: h.positiveSpans.map((x) => ({ offset: x.offset, length: x.length })),
    negativeSpans: h.negativeSpans.map((x) => ({ offset: x.offset, length: x.length })),
    positiveBuckets: [...h.positiveBuckets],
    negativeBuckets: [...h.negativeBuckets],
    customValues: [...h.customValues],
  };
}
