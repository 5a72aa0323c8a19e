// Arithmetic on native histograms with Prometheus's semantics: addition and subtraction (reduced to the lower of
// the two schemas, the zero buckets widened to a common threshold, custom bounds intersected when they differ),
// multiplication and division by a scalar, and counter-reset detection between consecutive samples. Inputs are
// never modified; results are new, compact histograms (no empty buckets).

import { CounterResetHint, type Histogram } from "./histogram.ts";
import {
  bucketBound,
  type IndexedBuckets,
  indexed,
  type MutableHistogram,
  rebuild,
  reduceSide,
  toSpans,
  usesCustomBuckets,
} from "./histogram-buckets.ts";

/** The outcome of adding or subtracting two histograms. */
export interface HistogramSum {
  readonly h: Histogram;
  /** One side said "counter reset", the other "not a counter reset": the result's hint is unknown. */
  readonly counterResetCollision: boolean;
  /** Custom bucket bounds differed and were reduced to those both have. */
  readonly nhcbBoundsReconciled: boolean;
}

/** True when `a` and `b` can be added: both exponential, or both with custom buckets. */
export function compatibleSchemas(a: Histogram, b: Histogram): boolean {
  return usesCustomBuckets(a) === usesCustomBuckets(b);
}

/** True when two custom bound lists are equal. */
export function customBoundsMatch(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The hint of a sum of two histograms, and whether their hints collided (Prometheus's adjustCounterReset). */
export function combinedHint(a: CounterResetHint, b: CounterResetHint): { hint: CounterResetHint; collision: boolean } {
  if (a === b) return { hint: a, collision: false };
  if (a === CounterResetHint.gauge || b === CounterResetHint.gauge) {
    return { hint: CounterResetHint.gauge, collision: false };
  }
  if (a === CounterResetHint.unknown || b === CounterResetHint.unknown) {
    return { hint: CounterResetHint.unknown, collision: false };
  }
  return { hint: CounterResetHint.unknown, collision: true };
}

// Merges two sides of one schema; `sign` -1 subtracts `b`.
function mergeSides(a: IndexedBuckets, b: IndexedBuckets, sign: number): IndexedBuckets {
  const idx: number[] = [];
  const counts: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.idx.length || j < b.idx.length) {
    if (j >= b.idx.length || (i < a.idx.length && a.idx[i] < b.idx[j])) {
      idx.push(a.idx[i]);
      counts.push(a.counts[i++]);
    } else if (i >= a.idx.length || b.idx[j] < a.idx[i]) {
      idx.push(b.idx[j]);
      counts.push(sign * b.counts[j++]);
    } else {
      idx.push(a.idx[i]);
      counts.push(a.counts[i++] + sign * b.counts[j++]);
    }
  }
  return { idx, counts };
}

/**
 * The zero count `h` would have with the larger threshold `threshold`, and the threshold itself, moved up to the
 * upper bound of a populated bucket it falls into (Prometheus's zeroCountForLargerThreshold).
 */
function zeroCountFor(h: Histogram, threshold: number): { zeroCount: number; threshold: number } {
  if (threshold === h.zeroThreshold) return { zeroCount: h.zeroCount, threshold };
  const pos = indexed(h.positiveSpans, h.positiveBuckets);
  const neg = indexed(h.negativeSpans, h.negativeBuckets);
  for (;;) {
    let zc = h.zeroCount;
    for (let i = 0; i < pos.idx.length; i++) {
      const lower = bucketBound(pos.idx[i] - 1, h);
      if (lower >= threshold) break;
      zc += pos.counts[i];
      const upper = bucketBound(pos.idx[i], h);
      if (upper > threshold) {
        if (pos.counts[i] !== 0) threshold = upper;
        break;
      }
    }
    let again = false;
    for (let i = 0; i < neg.idx.length; i++) {
      const absLower = bucketBound(neg.idx[i] - 1, h);
      if (absLower >= threshold) break;
      zc += neg.counts[i];
      const absUpper = bucketBound(neg.idx[i], h);
      if (absUpper > threshold) {
        if (neg.counts[i] !== 0) {
          threshold = absUpper;
          again = true;
        }
        break;
      }
    }
    if (!again) return { zeroCount: zc, threshold };
  }
}

// `h` with its zero bucket widened to `threshold` (a bucket boundary), the buckets inside it folded in.
function widenZeroBucket(h: Histogram, threshold: number): Histogram {
  const { zeroCount } = zeroCountFor(h, threshold);
  const keep = (side: IndexedBuckets): IndexedBuckets => {
    const idx: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < side.idx.length; i++) {
      if (bucketBound(side.idx[i] - 1, h) < threshold) continue;
      idx.push(side.idx[i]);
      counts.push(side.counts[i]);
    }
    return { idx, counts };
  };
  return rebuild(h, {
    zeroThreshold: threshold,
    zeroCount,
    pos: keep(indexed(h.positiveSpans, h.positiveBuckets)),
    neg: keep(indexed(h.negativeSpans, h.negativeBuckets)),
  });
}

// Both histograms with one zero threshold wide enough for both (Prometheus's reconcileZeroBuckets).
function reconcileZero(a: Histogram, b: Histogram): [Histogram, Histogram] {
  while (a.zeroThreshold !== b.zeroThreshold) {
    if (a.zeroThreshold > b.zeroThreshold) {
      const t = zeroCountFor(b, a.zeroThreshold).threshold;
      b = widenZeroBucket(b, t);
    }
    if (b.zeroThreshold > a.zeroThreshold) {
      const t = zeroCountFor(a, b.zeroThreshold).threshold;
      a = widenZeroBucket(a, t);
    }
  }
  return [a, b];
}

/** The bounds both lists hold, ascending. */
export function intersectBounds(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push(a[i]);
      i++;
      j++;
    } else if (a[i] < b[j]) i++;
    else j++;
  }
  return out;
}

// Custom buckets of `h` mapped onto `bounds` (a subset of h's): each bucket goes to the first bound >= its own.
function mapCustom(h: Histogram, bounds: readonly number[], into: Float64Array, sign: number): void {
  const side = indexed(h.positiveSpans, h.positiveBuckets);
  let k = 0;
  for (let i = 0; i < side.idx.length; i++) {
    const src = side.idx[i];
    let target = bounds.length;
    if (src < h.customValues.length) {
      const bound = h.customValues[src];
      while (k < bounds.length && bounds[k] < bound) k++;
      if (k < bounds.length) target = k;
    }
    into[target] += sign * side.counts[i];
  }
}

/**
 * `a + b` (or `a - b` with `subtract`), null when one has custom buckets and the other not. The hint follows
 * Prometheus's rules for sums; the caller sets the gauge hint for the PromQL `-` operator.
 */
export function addHistograms(a: Histogram, b: Histogram, subtract = false): HistogramSum | null {
  if (!compatibleSchemas(a, b)) return null;
  const sign = subtract ? -1 : 1;
  const { hint, collision } = combinedHint(a.counterResetHint, b.counterResetHint);
  const base = {
    integer: false,
    counterResetHint: hint,
    count: a.count + sign * b.count,
    sum: a.sum + sign * b.sum,
  };
  if (usesCustomBuckets(a)) {
    if (customBoundsMatch(a.customValues, b.customValues)) {
      const pos = mergeSides(
        indexed(a.positiveSpans, a.positiveBuckets),
        indexed(b.positiveSpans, b.positiveBuckets),
        sign,
      );
      return { h: rebuild(a, { ...base, pos }), counterResetCollision: collision, nhcbBoundsReconciled: false };
    }
    const bounds = intersectBounds(a.customValues, b.customValues);
    const counts = new Float64Array(bounds.length + 1);
    mapCustom(a, bounds, counts, 1);
    mapCustom(b, bounds, counts, sign);
    const pos: IndexedBuckets = { idx: [...counts.keys()], counts: [...counts] };
    return {
      h: rebuild(a, { ...base, customValues: bounds, pos }),
      counterResetCollision: collision,
      nhcbBoundsReconciled: true,
    };
  }
  const [ra, rb] = reconcileZero(a, b);
  const schema = Math.min(ra.schema, rb.schema);
  const side = (h: Histogram, positive: boolean) =>
    reduceSide(
      positive ? indexed(h.positiveSpans, h.positiveBuckets) : indexed(h.negativeSpans, h.negativeBuckets),
      h.schema,
      schema,
    );
  const h = rebuild(ra, {
    ...base,
    schema,
    zeroCount: ra.zeroCount + sign * rb.zeroCount,
    pos: mergeSides(side(ra, true), side(rb, true), sign),
    neg: mergeSides(side(ra, false), side(rb, false), sign),
  });
  return { h, counterResetCollision: collision, nhcbBoundsReconciled: false };
}

function scaled(h: Histogram, f: (x: number) => number, negative: boolean): Histogram {
  const out: MutableHistogram = {
    ...h,
    integer: false,
    zeroCount: f(h.zeroCount),
    count: f(h.count),
    sum: f(h.sum),
    positiveBuckets: h.positiveBuckets.map(f),
    negativeBuckets: h.negativeBuckets.map(f),
  };
  if (negative) out.counterResetHint = CounterResetHint.gauge;
  const p = toSpans(indexed(out.positiveSpans, out.positiveBuckets));
  const n = toSpans(indexed(out.negativeSpans, out.negativeBuckets));
  out.positiveSpans = p.spans;
  out.positiveBuckets = p.buckets;
  out.negativeSpans = n.spans;
  out.negativeBuckets = n.buckets;
  return out;
}

/** `h * factor`: every count and the sum scaled; a negative factor makes it a gauge histogram. */
export function mulHistogram(h: Histogram, factor: number): Histogram {
  return scaled(h, (x) => x * factor, factor < 0);
}

/** `h / divisor`; dividing by zero leaves no buckets (count, sum and zero count become ±Inf or NaN). */
export function divHistogram(h: Histogram, divisor: number): Histogram {
  if (divisor === 0) {
    return {
      ...h,
      integer: false,
      zeroCount: h.zeroCount / 0,
      count: h.count / 0,
      sum: h.sum / 0,
      positiveSpans: [],
      negativeSpans: [],
      positiveBuckets: [],
      negativeBuckets: [],
    };
  }
  return scaled(h, (x) => x / divisor, divisor < 0);
}

// Whether some bucket of `prev` (both sides reduced to `schema` and cut at `threshold`) has a larger count than
// the same bucket of `curr`, or is populated where `curr` has none.
function sideDecreased(curr: IndexedBuckets, prev: IndexedBuckets): boolean {
  let j = 0;
  for (let i = 0; i < prev.idx.length; i++) {
    while (j < curr.idx.length && curr.idx[j] < prev.idx[i]) j++;
    if (j < curr.idx.length && curr.idx[j] === prev.idx[i]) {
      if (curr.counts[j] < prev.counts[i]) return true;
    } else if (prev.counts[i] !== 0) return true;
  }
  return false;
}

// The buckets of a side of `h` whose upper bound (absolute) lies above `threshold`, reduced to `schema`.
function sideAbove(h: Histogram, positive: boolean, threshold: number, schema: number): IndexedBuckets {
  const side = positive ? indexed(h.positiveSpans, h.positiveBuckets) : indexed(h.negativeSpans, h.negativeBuckets);
  const reduced = reduceSide(side, h.schema, schema);
  if (threshold === 0) return reduced;
  const idx: number[] = [];
  const counts: number[] = [];
  let started = false;
  for (let i = 0; i < reduced.idx.length; i++) {
    if (!started && bucketBound(reduced.idx[i], { ...h, schema }) <= threshold) continue;
    started = true;
    idx.push(reduced.idx[i]);
    counts.push(reduced.counts[i]);
  }
  return { idx, counts };
}

// Cumulative counts of custom buckets at every bound both histograms have (and +Inf) decreased?
function customDecreased(curr: Histogram, prev: Histogram): boolean {
  const bounds = intersectBounds(curr.customValues, prev.customValues);
  const a = new Float64Array(bounds.length + 1);
  const b = new Float64Array(bounds.length + 1);
  mapCustom(curr, bounds, a, 1);
  mapCustom(prev, bounds, b, 1);
  for (let i = 0; i < a.length; i++) if (a[i] < b[i]) return true;
  return false;
}

/**
 * True when `curr` follows a counter reset after `prev` (Prometheus's DetectReset): its hint says so, or some count
 * (total, zero bucket or any bucket, not the sum) went down, or the resolution went up or the zero bucket shrank.
 */
export function detectReset(curr: Histogram, prev: Histogram): boolean {
  if (curr.counterResetHint === CounterResetHint.counterReset) return true;
  if (curr.counterResetHint === CounterResetHint.notCounterReset) return false;
  if (curr.count < prev.count) return true;
  if (usesCustomBuckets(curr) || usesCustomBuckets(prev)) {
    if (!usesCustomBuckets(curr) || !usesCustomBuckets(prev)) return true;
    if (!customBoundsMatch(curr.customValues, prev.customValues)) return customDecreased(curr, prev);
    return sideDecreased(
      indexed(curr.positiveSpans, curr.positiveBuckets),
      indexed(prev.positiveSpans, prev.positiveBuckets),
    );
  }
  if (curr.schema > prev.schema) return true;
  if (curr.zeroThreshold < prev.zeroThreshold) return true;
  const z = zeroCountFor(prev, curr.zeroThreshold);
  if (z.threshold !== curr.zeroThreshold) return true;
  if (curr.zeroCount < z.zeroCount) return true;
  const t = curr.zeroThreshold;
  const s = curr.schema;
  if (sideDecreased(sideAbove(curr, true, t, s), sideAbove(prev, true, t, s))) return true;
  return sideDecreased(sideAbove(curr, false, t, s), sideAbove(prev, false, t, s));
}

/** `h` with hint `hint`. */
export function withHint(h: Histogram, hint: CounterResetHint): Histogram {
  return h.counterResetHint === hint ? h : { ...h, counterResetHint: hint };
}

function sameNumber(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameNumber(a[i], b[i])) return false;
  return true;
}

/** True when `a` and `b` hold the same data: schema, counts, sum, zero bucket, bounds and populated buckets. */
export function histogramsEqual(a: Histogram, b: Histogram): boolean {
  if (a.schema !== b.schema || !sameNumber(a.count, b.count) || !sameNumber(a.sum, b.sum)) return false;
  if (usesCustomBuckets(a) && !customBoundsMatch(a.customValues, b.customValues)) return false;
  if (a.zeroThreshold !== b.zeroThreshold || !sameNumber(a.zeroCount, b.zeroCount)) return false;
  for (const positive of [true, false]) {
    const x = toSpans(
      positive ? indexed(a.positiveSpans, a.positiveBuckets) : indexed(a.negativeSpans, a.negativeBuckets),
    );
    const y = toSpans(
      positive ? indexed(b.positiveSpans, b.positiveBuckets) : indexed(b.negativeSpans, b.negativeBuckets),
    );
    if (x.spans.length !== y.spans.length) return false;
    for (let i = 0; i < x.spans.length; i++) {
      if (x.spans[i].offset !== y.spans[i].offset || x.spans[i].length !== y.spans[i].length) return false;
    }
    if (!sameList(x.buckets, y.buckets)) return false;
  }
  return true;
}
