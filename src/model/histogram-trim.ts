// The trim operators of PromQL (`h </ x` keeps the observations below x, `h >/ x` those above): buckets beyond the
// bound are emptied, a bucket the bound cuts keeps its share (interpolated linearly for custom buckets and the zero
// bucket, exponentially for exponential buckets), and when anything was cut, the count and the sum are estimated
// again from what is left (each bucket's observations taken at the middle of its surviving part).

import type { Histogram } from "./histogram.ts";
import {
  type BucketWithBounds,
  compact,
  negativeBuckets,
  positiveBuckets,
  usesCustomBuckets,
} from "./histogram-buckets.ts";
import { fractionBelow } from "./histogram-stats.ts";

function zeroIfInf(x: number): number {
  return Number.isFinite(x) ? x : 0;
}

// The middle of the surviving interval: arithmetic when linear, else geometric (signed by the side).
function midpoint(lower: number, upper: number, positive: boolean, linear: boolean): number {
  if (!Number.isFinite(lower)) {
    if (!Number.isFinite(upper)) return 0;
    return upper > 0 ? upper / 2 : upper;
  }
  if (!Number.isFinite(upper)) return lower;
  if (linear) return (lower + upper) / 2;
  const geo = Math.sqrt(Math.abs(lower * upper));
  return positive ? geo : -geo;
}

// Kept count and midpoint of a bucket with an infinite bound.
function infinityBucket(upperTrim: boolean, b: BucketWithBounds, x: number): [number, number] {
  if (b.lower === Number.NEGATIVE_INFINITY) {
    if (upperTrim) {
      if (x >= b.upper) return [b.count, 0];
      if (x > 0 && b.upper > 0 && b.upper !== Number.POSITIVE_INFINITY) return [(b.count * x) / b.upper, x / 2];
      if (b.upper <= 0) return [b.count, x];
      return [0, zeroIfInf(b.upper)];
    }
    if (x <= b.lower) return [b.count, 0];
    if (x >= 0 && b.upper > x && b.upper !== Number.POSITIVE_INFINITY) {
      return [b.count * (1 - x / b.upper), (x + b.upper) / 2];
    }
    return [0, zeroIfInf(b.upper)];
  }
  if (upperTrim) return [0, zeroIfInf(b.lower)];
  if (x >= b.lower) return [b.count, x];
  return [0, zeroIfInf(b.lower)];
}

// Kept count and midpoint of a bucket the bound `x` cuts.
function cutBucket(
  b: BucketWithBounds,
  x: number,
  upperTrim: boolean,
  positive: boolean,
  linear: boolean,
): [number, number] {
  if (b.lower === Number.NEGATIVE_INFINITY || b.upper === Number.POSITIVE_INFINITY)
    return infinityBucket(upperTrim, b, x);
  const under = x <= b.lower ? 0 : x >= b.upper ? b.count : b.count * fractionBelow(b, x, linear);
  if (upperTrim) return [under, midpoint(b.lower, x, positive, linear)];
  return [b.count - under, midpoint(x, b.upper, positive, linear)];
}

// Kept count and midpoint of the zero bucket.
function zeroBucketTrim(
  h: Histogram,
  x: number,
  hasNeg: boolean,
  hasPos: boolean,
  upperTrim: boolean,
): [number, number] {
  let lower = -h.zeroThreshold;
  let upper = h.zeroThreshold;
  if (hasNeg && !hasPos) upper = 0;
  if (hasPos && !hasNeg) lower = 0;
  if (upperTrim) {
    if (x <= lower) return [0, 0];
    if (x >= upper) return [h.zeroCount, (lower + upper) / 2];
    return [(h.zeroCount * (x - lower)) / (upper - lower), (lower + x) / 2];
  }
  if (x <= lower) return [h.zeroCount, (lower + upper) / 2];
  if (x >= upper) return [0, 0];
  return [(h.zeroCount * (upper - x)) / (upper - lower), (x + upper) / 2];
}

/** `h </ x` (`upperTrim`) or `h >/ x`: `h` with the observations above (below) `x` removed. */
export function trimHistogram(h: Histogram, x: number, upperTrim: boolean): Histogram {
  const linear = usesCustomBuckets(h);
  let count = 0;
  let sum = 0;
  let trimmed = false;
  const side = (buckets: BucketWithBounds[], positive: boolean): { kept: number[]; any: boolean } => {
    const kept: number[] = [];
    let any = false;
    for (const b of buckets) {
      if (b.count === 0) {
        kept.push(0);
        continue;
      }
      any = true;
      const inside = upperTrim ? b.upper <= x : b.lower >= x;
      const cut = upperTrim ? b.lower < x : b.upper > x;
      if (inside) {
        count += b.count;
        sum += midpoint(b.lower, b.upper, positive, linear) * b.count;
        kept.push(b.count);
      } else if (cut) {
        const [keep, mid] = cutBucket(b, x, upperTrim, positive, linear);
        count += keep;
        sum += mid * keep;
        if (keep !== b.count) trimmed = true;
        kept.push(keep);
      } else {
        trimmed = true;
        kept.push(0);
      }
    }
    return { kept, any };
  };
  const pos = side(positiveBuckets(h), true);
  const neg = side(negativeBuckets(h), false);
  let zeroCount = h.zeroCount;
  if (h.zeroCount > 0) {
    const [keep, mid] = zeroBucketTrim(h, x, neg.any, pos.any, upperTrim);
    if (keep !== h.zeroCount) trimmed = true;
    zeroCount = keep;
    sum += mid * keep;
    count += keep;
  }
  if (!trimmed) return h;
  return compact({ ...h, count, sum, zeroCount, positiveBuckets: pos.kept, negativeBuckets: neg.kept });
}
