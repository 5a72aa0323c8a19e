// What the head requires of a histogram sample before it queues it (Prometheus's Validate), and the equality that
// tells a re-sent sample from a different one at the same timestamp.

import { ContrailError } from "../../model/errors.ts";
import type { BucketSpan, Histogram } from "../../model/histogram.ts";
import { CUSTOM_BUCKETS_SCHEMA, MAX_EXPONENTIAL_SCHEMA, MIN_EXPONENTIAL_SCHEMA } from "../../model/histogram.ts";
import { bucketIndices, countBuckets } from "../chunkenc/histogram-layout.ts";
import { floatHi, floatLo, isStaleNaN } from "../encoding/float-bits.ts";

/** Most buckets one histogram sample may have on each side (and custom bounds): far above any real histogram. */
export const MAX_HISTOGRAM_BUCKETS = 1 << 16;

/** Throws `bad_data` naming the problem when `h` cannot be stored as it is. A stale marker passes. */
export function checkHistogram(h: Histogram): void {
  if (isStaleNaN(h.sum)) return;
  const custom = h.schema === CUSTOM_BUCKETS_SCHEMA;
  if (
    !custom &&
    (!Number.isInteger(h.schema) || h.schema < MIN_EXPONENTIAL_SCHEMA || h.schema > MAX_EXPONENTIAL_SCHEMA)
  ) {
    throw bad(`histogram schema ${h.schema} is not -4..8 or ${CUSTOM_BUCKETS_SCHEMA} (custom buckets)`);
  }
  if (!(h.zeroThreshold >= 0) || !Number.isFinite(h.zeroThreshold)) {
    throw bad(`histogram zero threshold ${h.zeroThreshold} is not a finite number >= 0`);
  }
  checkSide(h, "positive", h.positiveSpans, h.positiveBuckets);
  checkSide(h, "negative", h.negativeSpans, h.negativeBuckets);
  checkCount(h, "count", h.count);
  checkCount(h, "zero count", h.zeroCount);
  if (custom) {
    if (h.negativeSpans.length > 0 || h.negativeBuckets.length > 0 || h.zeroCount !== 0) {
      throw bad("a custom-buckets histogram has no negative buckets and no zero bucket");
    }
    const cv = h.customValues;
    if (cv.length > MAX_HISTOGRAM_BUCKETS)
      throw bad(`histogram has ${cv.length} custom bounds, the limit is ${MAX_HISTOGRAM_BUCKETS}`);
    for (let i = 0; i < cv.length; i++) {
      if (!Number.isFinite(cv[i]) || (i > 0 && cv[i] <= cv[i - 1])) {
        throw bad("histogram custom bounds must be finite and strictly increasing");
      }
    }
    const idx = bucketIndices(h.positiveSpans);
    if (idx.length > 0 && (idx[0] < 0 || idx[idx.length - 1] > cv.length)) {
      throw bad(`histogram bucket index out of the ${cv.length + 1} custom buckets`);
    }
  } else if (h.customValues.length > 0) {
    throw bad("only custom-buckets histograms (schema -53) have custom bounds");
  }
}

function checkSide(h: Histogram, side: string, spans: readonly BucketSpan[], buckets: readonly number[]): void {
  if (spans.length > MAX_HISTOGRAM_BUCKETS || buckets.length > MAX_HISTOGRAM_BUCKETS) {
    throw bad(`histogram has more than ${MAX_HISTOGRAM_BUCKETS} ${side} spans or buckets`);
  }
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    if (!Number.isSafeInteger(s.offset) || !Number.isSafeInteger(s.length) || s.length < 0) {
      throw bad(`histogram ${side} span ${i} is malformed`);
    }
    if (i > 0 && s.offset < 0) throw bad(`histogram ${side} span ${i} has a negative offset`);
  }
  const n = countBuckets(spans);
  if (n !== buckets.length) throw bad(`histogram ${side} spans name ${n} buckets but ${buckets.length} are given`);
  for (const b of buckets) checkCount(h, `${side} bucket`, b);
}

function checkCount(h: Histogram, what: string, v: number): void {
  const ok = h.integer ? Number.isSafeInteger(v) && v >= 0 : v >= 0 || Number.isNaN(v);
  if (!ok) throw bad(`histogram ${what} ${v} is not ${h.integer ? "a whole number" : "a number"} >= 0`);
}

function bad(detail: string): ContrailError {
  return new ContrailError("bad_data", detail);
}

/** Whether two histograms are the same sample (Prometheus's Equals: same layout, counts, and sum bits). */
export function sameHistogram(a: Histogram, b: Histogram): boolean {
  if (a.integer !== b.integer || a.schema !== b.schema || a.zeroThreshold !== b.zeroThreshold) return false;
  if (a.zeroCount !== b.zeroCount || a.count !== b.count) return false;
  if (floatHi(a.sum) !== floatHi(b.sum) || floatLo(a.sum) !== floatLo(b.sum)) return false;
  return (
    sameSide(a.positiveSpans, a.positiveBuckets, b.positiveSpans, b.positiveBuckets) &&
    sameSide(a.negativeSpans, a.negativeBuckets, b.negativeSpans, b.negativeBuckets) &&
    sameNumbers(a.customValues, b.customValues)
  );
}

function sameSide(
  as: readonly BucketSpan[],
  ab: readonly number[],
  bs: readonly BucketSpan[],
  bb: readonly number[],
): boolean {
  return sameNumbers(bucketIndices(as), bucketIndices(bs)) && sameNumbers(ab, bb);
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
