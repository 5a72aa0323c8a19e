import assert from "node:assert/strict";
import { test } from "node:test";
import type { Histogram } from "./histogram.ts";
import {
  allBuckets,
  compact,
  emptyHistogram,
  exponentialBound,
  indexed,
  reduceSide,
  targetIndex,
  toSpans,
} from "./histogram-buckets.ts";

function hist(fields: Partial<Histogram>): Histogram {
  return { ...emptyHistogram(0), ...fields };
}

test("exponential bucket bounds: powers of 2^(2^-schema), the last finite bucket ending at the largest float", () => {
  assert.equal(exponentialBound(0, 0), 1);
  assert.equal(exponentialBound(1, 0), 2);
  assert.equal(exponentialBound(-1, 0), 0.5);
  assert.equal(exponentialBound(1, 1), Math.SQRT2);
  assert.equal(exponentialBound(-1, 1), Math.SQRT1_2);
  assert.equal(exponentialBound(1, -2), 16);
  assert.equal(exponentialBound(1024, 0), Number.MAX_VALUE);
  assert.equal(exponentialBound(1025, 0), Number.POSITIVE_INFINITY);
});

test("spans and indexed buckets convert both ways; the compact form drops empty buckets and merges spans", () => {
  const side = indexed(
    [
      { offset: -2, length: 2 },
      { offset: 1, length: 2 },
    ],
    [1, 0, 3, 4],
  );
  assert.deepEqual(side, { idx: [-2, -1, 1, 2], counts: [1, 0, 3, 4] });
  assert.deepEqual(toSpans(side), {
    spans: [
      { offset: -2, length: 1 },
      { offset: 2, length: 2 },
    ],
    buckets: [1, 3, 4],
  });
  const h = compact(hist({ positiveSpans: [{ offset: 0, length: 3 }], positiveBuckets: [0, 2, 0] }));
  assert.deepEqual([h.positiveSpans, h.positiveBuckets], [[{ offset: 1, length: 1 }], [2]]);
});

test("reducing the schema merges buckets into the lower resolution's", () => {
  assert.equal(targetIndex(1, 1, 0), 1);
  assert.equal(targetIndex(2, 1, 0), 1);
  assert.equal(targetIndex(3, 1, 0), 2);
  assert.equal(targetIndex(0, 1, 0), 0);
  assert.equal(targetIndex(-1, 1, 0), 0);
  assert.deepEqual(reduceSide({ idx: [-1, 0, 1, 2, 3], counts: [1, 2, 3, 4, 5] }, 1, 0), {
    idx: [0, 1, 2],
    counts: [3, 7, 5],
  });
});

test("all buckets in ascending order with the zero bucket, the buckets next to it clipped to its threshold", () => {
  const h = hist({
    zeroThreshold: 0.7,
    zeroCount: 2,
    positiveSpans: [{ offset: 0, length: 2 }],
    positiveBuckets: [1, 3],
    negativeSpans: [{ offset: 1, length: 1 }],
    negativeBuckets: [4],
  });
  assert.deepEqual(
    allBuckets(h).map((b) => [b.lower, b.upper, b.lowerInclusive, b.upperInclusive, b.count]),
    [
      [-2, -1, true, false, 4],
      [-0.7, 0.7, true, true, 2],
      [0.7, 1, false, true, 1],
      [1, 2, false, true, 3],
    ],
  );
  const custom = hist({
    schema: -53,
    customValues: [5, 10],
    positiveSpans: [{ offset: 0, length: 3 }],
    positiveBuckets: [1, 0, 2],
  });
  assert.deepEqual(
    allBuckets(custom, true).map((b) => [b.lower, b.upper, b.lowerInclusive, b.upperInclusive, b.count]),
    [
      [Number.NEGATIVE_INFINITY, 5, true, true, 1],
      [10, Number.POSITIVE_INFINITY, false, true, 2],
    ],
  );
});
