// Statistics of one native histogram, as PromQL's histogram_quantile, histogram_fraction, histogram_stddev and
// histogram_stdvar compute them: quantiles interpolate exponentially inside exponential buckets and linearly in
// the zero bucket and in custom buckets; the variance takes each bucket's geometric (exponential) or arithmetic
// (custom, zero bucket) mean as the value of its observations.

import type { Histogram } from "./histogram.ts";
import { allBuckets, type BucketWithBounds, usesCustomBuckets } from "./histogram-buckets.ts";

/** What a statistic noticed about NaN observations (counted in `count` but in no bucket). */
export type NaNNote = "none" | "nan-result" | "skewed";

/** The φ-quantile of `h` and what it noticed about NaN observations. */
export function histogramQuantile(q: number, h: Histogram): { value: number; note: NaNNote } {
  if (q < 0) return { value: Number.NEGATIVE_INFINITY, note: "none" };
  if (q > 1) return { value: Number.POSITIVE_INFINITY, note: "none" };
  if (h.count === 0 || Number.isNaN(q)) return { value: Number.NaN, note: "none" };
  const ascending = Number.isNaN(h.sum) || q < 0.5;
  const buckets = allBuckets(h);
  if (!ascending) buckets.reverse();
  let rank = ascending ? q * h.count : (1 - q) * h.count;
  let count = 0;
  let i = 0;
  let bucket: BucketWithBounds = { lower: 0, upper: 0, lowerInclusive: false, upperInclusive: false, count: 0 };
  for (; i < buckets.length; i++) {
    if (buckets[i].count === 0) continue;
    bucket = { ...buckets[i] };
    count += bucket.count;
    if (count >= rank) break;
  }
  const custom = usesCustomBuckets(h);
  if (!custom && bucket.lower < 0 && bucket.upper > 0) {
    const hasNeg = h.negativeBuckets.length > 0;
    const hasPos = h.positiveBuckets.length > 0;
    if (!hasNeg && hasPos) bucket.lower = 0;
    else if (!hasPos && hasNeg) bucket.upper = 0;
  } else if (custom) {
    if (bucket.lower === Number.NEGATIVE_INFINITY) {
      if (bucket.upper <= 0) return { value: bucket.upper, note: "none" };
      bucket.lower = 0;
    } else if (bucket.upper === Number.POSITIVE_INFINITY) {
      return { value: bucket.lower, note: "none" };
    }
  }
  if (count > h.count) count = h.count;
  if (count < rank) {
    if (Number.isNaN(h.sum)) return { value: Number.NaN, note: "nan-result" };
    return { value: bucket.upper, note: "none" };
  }
  if (ascending) rank -= count - bucket.count;
  else rank = count - rank;
  let note: NaNNote = "none";
  if (Number.isNaN(h.sum)) {
    for (let k = i + 1; k < buckets.length; k++) count += buckets[k].count;
    if (count < h.count) note = "skewed";
  }
  const fraction = rank / bucket.count;
  if (custom || (bucket.lower <= 0 && bucket.upper >= 0)) {
    return { value: bucket.lower + (bucket.upper - bucket.lower) * fraction, note };
  }
  const logLower = Math.log2(Math.abs(bucket.lower));
  const logUpper = Math.log2(Math.abs(bucket.upper));
  if (bucket.lower > 0) return { value: 2 ** (logLower + (logUpper - logLower) * fraction), note };
  return { value: -(2 ** (logUpper + (logLower - logUpper) * (1 - fraction))), note };
}

/** The share of bucket `b` below `v` (a value inside it), interpolated linearly or exponentially in the bucket. */
export function fractionBelow(b: BucketWithBounds, v: number, linear: boolean): number {
  if (linear) return (v - b.lower) / (b.upper - b.lower);
  const logLower = Math.log2(Math.abs(b.lower));
  const logUpper = Math.log2(Math.abs(b.upper));
  const logV = Math.log2(Math.abs(v));
  if (v > 0) return (logV - logLower) / (logUpper - logLower);
  return 1 - (logV - logUpper) / (logLower - logUpper);
}

/** The share of observations of `h` between `lower` and `upper`; `nanExcluded` when NaN observations were left out. */
export function histogramFraction(lower: number, upper: number, h: Histogram): { value: number; nanExcluded: boolean } {
  if (h.count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return { value: Number.NaN, nanExcluded: false };
  if (lower >= upper) return { value: 0, nanExcluded: false };
  const custom = usesCustomBuckets(h);
  const buckets = allBuckets(h);
  let count = 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let i = 0;
  for (; i < buckets.length; i++) {
    const b = { ...buckets[i] };
    count += b.count;
    let zeroBucket = false;
    if (b.lower <= 0 && b.upper >= 0) {
      zeroBucket = true;
      const hasNeg = h.negativeBuckets.length > 0;
      const hasPos = h.positiveBuckets.length > 0;
      if (!hasNeg && hasPos) b.lower = 0;
      else if (!hasPos && hasNeg) b.upper = 0;
    }
    const at = (v: number) => {
      if (custom || zeroBucket) {
        return b.lower === Number.NEGATIVE_INFINITY ? b.count : rank + b.count * fractionBelow(b, v, true);
      }
      return rank + b.count * fractionBelow(b, v, false);
    };
    if (!lowerSet && b.lower >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && b.lower >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && b.lower < lower && b.upper > lower) {
      lowerRank = at(lower);
      lowerSet = true;
    }
    if (!upperSet && b.lower < upper && b.upper > upper) {
      upperRank = at(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank += b.count;
  }
  let nanExcluded = false;
  if (Number.isNaN(h.sum)) {
    for (let k = i + 1; k < buckets.length; k++) count += buckets[k].count;
    if (count < h.count) nanExcluded = true;
  } else {
    count = h.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return { value: (upperRank - lowerRank) / h.count, nanExcluded };
}

/** The variance of the observations of `h`, each bucket's observations taken at the bucket's mean. */
export function histogramVariance(h: Histogram): number {
  const mean = h.sum / h.count;
  const custom = usesCustomBuckets(h);
  let variance = 0;
  let comp = 0;
  for (const b of allBuckets(h)) {
    if (b.count === 0) continue;
    let val: number;
    if (custom) val = (b.upper + b.lower) / 2;
    else if (b.lower <= 0 && b.upper >= 0) val = 0;
    else {
      val = Math.sqrt(b.upper * b.lower);
      if (b.upper < 0) val = -val;
    }
    const delta = val - mean;
    const x = b.count * delta * delta;
    // Kahan summation, as Prometheus sums the bucket terms.
    const t = variance + x;
    if (!Number.isFinite(t)) comp = 0;
    else if (Math.abs(variance) >= Math.abs(x)) comp += variance - t + x;
    else comp += x - t + variance;
    variance = t;
  }
  return (variance + comp) / h.count;
}
