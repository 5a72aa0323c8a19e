import assert from "node:assert/strict";
import { test } from "node:test";
import { CounterResetHint, type Histogram } from "./histogram.ts";
import { HistogramKahanSum, HistogramMean } from "./histogram-kahan.ts";
import { histogramFraction, histogramQuantile, histogramVariance } from "./histogram-stats.ts";
import { trimHistogram } from "./histogram-trim.ts";

// Two buckets of schema 0: (0.5, 1] holding 2 and (1, 2] holding 2; sum 5.
const h: Histogram = {
  integer: false,
  counterResetHint: CounterResetHint.unknown,
  schema: 0,
  zeroThreshold: 0,
  zeroCount: 0,
  count: 4,
  sum: 5,
  positiveSpans: [{ offset: 0, length: 2 }],
  negativeSpans: [],
  positiveBuckets: [2, 2],
  negativeBuckets: [],
  customValues: [],
};

test("quantiles interpolate exponentially inside exponential buckets; out of range q gives ±Inf", () => {
  assert.equal(histogramQuantile(0.5, h).value, 1);
  assert.ok(Math.abs(histogramQuantile(0.25, h).value - Math.SQRT1_2) < 1e-12);
  assert.equal(histogramQuantile(1, h).value, 2);
  assert.equal(histogramQuantile(-1, h).value, Number.NEGATIVE_INFINITY);
  assert.equal(histogramQuantile(2, h).value, Number.POSITIVE_INFINITY);
  assert.ok(Number.isNaN(histogramQuantile(0.5, { ...h, count: 0 }).value));
  // NaN observations (count above the buckets' total, NaN sum) skew the result or make it NaN.
  const nan = { ...h, count: 8, sum: Number.NaN };
  assert.equal(histogramQuantile(0.9, nan).note, "nan-result");
  assert.equal(histogramQuantile(0.1, nan).note, "skewed");
});

test("fractions between bounds, and the variance of bucket means", () => {
  assert.equal(histogramFraction(0.5, 1, h).value, 0.5);
  assert.equal(histogramFraction(0, 10, h).value, 1);
  assert.equal(histogramFraction(2, 1, h).value, 0);
  const mean = 1.25;
  const want = (2 * (Math.SQRT1_2 - mean) ** 2 + 2 * (Math.SQRT2 - mean) ** 2) / 4;
  assert.ok(Math.abs(histogramVariance(h) - want) < 1e-12);
});

test("trimming keeps the observations on one side of a bound and estimates count and sum again", () => {
  const below = trimHistogram(h, 1, true);
  assert.equal(below.count, 2);
  assert.ok(Math.abs(below.sum - 2 * Math.SQRT1_2) < 1e-12);
  assert.deepEqual(below.positiveBuckets, [2]);
  const above = trimHistogram(h, 1, false);
  assert.equal(above.count, 2);
  assert.deepEqual(above.positiveSpans, [{ offset: 1, length: 1 }]);
  assert.equal(trimHistogram(h, 4, true), h);
});

test("compensated sums keep small terms next to huge ones; means survive overflow", () => {
  const acc = new HistogramKahanSum();
  for (const sum of [1e100, 1, -1e100]) acc.add({ ...h, sum });
  const r = acc.result();
  assert.deepEqual([r.count, r.sum, r.positiveBuckets], [12, 1, [6, 6]]);
  const mean = new HistogramMean();
  mean.add({ ...h, count: Number.MAX_VALUE });
  mean.add({ ...h, count: Number.MAX_VALUE });
  assert.equal(mean.result().count, Number.MAX_VALUE);
  assert.deepEqual(mean.result().positiveBuckets, [2, 2]);
});
