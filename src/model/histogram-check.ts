// Validation of a native histogram received from outside (remote write, protobuf scrapes), with the rules
// Prometheus applies before it stores one: the schema in range, spans that name exactly as many buckets as are
// given (only the first span of a side may have a negative offset), no negative bucket count, custom bounds
// strictly increasing and finite with spans inside them, no zero bucket or negative side with custom buckets, and
// for integer histograms a count that equals the buckets' total (at least it when the sum is NaN: NaN observations
// are counted but land in no bucket). Float histograms skip the count check, as Prometheus does: rounding makes it
// unreliable.

import {
  type BucketSpan,
  CUSTOM_BUCKETS_SCHEMA,
  type Histogram,
  MAX_EXPONENTIAL_SCHEMA,
  MIN_EXPONENTIAL_SCHEMA,
} from "./histogram.ts";

// Buckets the spans name; a string saying what is wrong when a later span goes backwards or the spans name another
// number of buckets than `buckets` holds. `firstMayBeNegative`: exponential sides index buckets around 1.
function spansProblem(spans: readonly BucketSpan[], buckets: number, firstMayBeNegative: boolean): string | null {
  let named = 0;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    if (s.offset < 0 && (i > 0 || !firstMayBeNegative)) return `span ${i + 1} has the negative offset ${s.offset}`;
    named += s.length;
  }
  return named === buckets ? null : `the spans name ${named} buckets but ${buckets} are given`;
}

// The first negative or NaN bucket count, as a problem; null when every count is >= 0.
function bucketsProblem(buckets: readonly number[]): string | null {
  for (let i = 0; i < buckets.length; i++) {
    if (!(buckets[i] >= 0)) return `bucket ${i + 1} has the count ${buckets[i]}`;
  }
  return null;
}

function total(buckets: readonly number[]): number {
  let n = 0;
  for (const b of buckets) n += b;
  return n;
}

// Custom bounds strictly increasing, not NaN, the last one finite; spans within the bounds and their +Inf bucket.
function customProblem(h: Histogram): string | null {
  const bounds = h.customValues;
  for (let i = 0; i < bounds.length; i++) {
    if (Number.isNaN(bounds[i])) return `custom bound ${i + 1} is NaN`;
    if (i > 0 && !(bounds[i] > bounds[i - 1])) {
      return `custom bounds must increase strictly, but ${bounds[i]} follows ${bounds[i - 1]}`;
    }
  }
  if (bounds.length > 0 && bounds[bounds.length - 1] === Number.POSITIVE_INFINITY) {
    return "the last custom bound must be finite (the +Inf bucket is implied)";
  }
  const spans = spansProblem(h.positiveSpans, h.positiveBuckets.length, false);
  if (spans !== null) return spans;
  let covered = 0;
  for (const s of h.positiveSpans) covered += s.offset + s.length;
  if (covered > bounds.length + 1) {
    return `the spans cover ${covered} buckets but ${bounds.length} custom bounds make only ${bounds.length + 1}`;
  }
  if (h.zeroCount !== 0 || h.zeroThreshold !== 0) return "a histogram with custom buckets has no zero bucket";
  if (h.negativeSpans.length > 0 || h.negativeBuckets.length > 0) {
    return "a histogram with custom buckets has no negative buckets";
  }
  return null;
}

/** What is wrong with `h` for storage, in words for the sender (without the series); null when it is valid. */
export function histogramProblem(h: Histogram): string | null {
  if (h.schema === CUSTOM_BUCKETS_SCHEMA) {
    const p = customProblem(h);
    if (p !== null) return p;
  } else if (Number.isInteger(h.schema) && h.schema >= MIN_EXPONENTIAL_SCHEMA && h.schema <= MAX_EXPONENTIAL_SCHEMA) {
    if (h.customValues.length > 0) return `a histogram of exponential schema ${h.schema} has custom bounds`;
    const neg = spansProblem(h.negativeSpans, h.negativeBuckets.length, true);
    if (neg !== null) return `negative side: ${neg}`;
    const nb = bucketsProblem(h.negativeBuckets);
    if (nb !== null) return `negative side: ${nb}`;
    const pos = spansProblem(h.positiveSpans, h.positiveBuckets.length, true);
    if (pos !== null) return `positive side: ${pos}`;
  } else {
    return (
      `schema ${h.schema} is out of range: ${MIN_EXPONENTIAL_SCHEMA}..${MAX_EXPONENTIAL_SCHEMA} (exponential) ` +
      `or ${CUSTOM_BUCKETS_SCHEMA} (custom buckets)`
    );
  }
  const pb = bucketsProblem(h.positiveBuckets);
  if (pb !== null) return `positive side: ${pb}`;
  if (!(h.zeroCount >= 0)) return `the zero bucket has the count ${h.zeroCount}`;
  if (!(h.zeroThreshold >= 0)) return `the zero threshold ${h.zeroThreshold} is negative`;
  if (!(h.count >= 0)) return `the count ${h.count} is negative`;
  if (!h.integer) return null;
  const inBuckets = total(h.negativeBuckets) + total(h.positiveBuckets) + h.zeroCount;
  if (Number.isNaN(h.sum)) {
    if (inBuckets > h.count) return `${inBuckets} observations are in the buckets but the count is only ${h.count}`;
  } else if (inBuckets !== h.count) {
    return `${inBuckets} observations are in the buckets but the count is ${h.count}`;
  }
  return null;
}
