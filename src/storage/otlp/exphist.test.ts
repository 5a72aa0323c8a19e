// Exponential histogram points as native histograms: index shift, down-scaling above schema 8, spans and gaps, the
// zero bucket, staleness, and the refusals.

import assert from "node:assert/strict";
import { test } from "node:test";
import { CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { isStaleNaN } from "../../model/sample.ts";
import { DEFAULT_ZERO_THRESHOLD, nativeHistogram } from "./exphist.ts";
import type { ExpHistogramPoint } from "./model.ts";

function point(over: Partial<ExpHistogramPoint>): ExpHistogramPoint {
  return {
    attributes: [],
    startMs: 0,
    timeMs: 1000,
    flags: 0,
    exemplars: 0,
    count: 10,
    sum: 12.5,
    scale: 0,
    zeroCount: 0,
    zeroThreshold: 0,
    positive: { offset: 0, counts: [] },
    negative: { offset: 0, counts: [] },
    ...over,
  };
}

function histogram(p: ExpHistogramPoint): Histogram {
  const h = nativeHistogram(p);
  assert.ok(!("refused" in h), "refused" in h ? h.refused : "");
  return h;
}

test("OTLP bucket i is Prometheus bucket i+1; counts stay absolute integers", () => {
  const h = histogram(
    point({ positive: { offset: 0, counts: [4, 3, 2, 1] }, negative: { offset: -3, counts: [5] }, count: 15 }),
  );
  assert.deepEqual(h.positiveSpans, [{ offset: 1, length: 4 }]);
  assert.deepEqual(h.positiveBuckets, [4, 3, 2, 1]);
  assert.deepEqual(h.negativeSpans, [{ offset: -2, length: 1 }]);
  assert.deepEqual(h.negativeBuckets, [5]);
  assert.equal(h.schema, 0);
  assert.equal(h.integer, true);
  assert.equal(h.count, 15);
  assert.equal(h.sum, 12.5);
  assert.equal(h.counterResetHint, CounterResetHint.unknown);
  assert.deepEqual(h.customValues, []);
});

test("a gap of up to two empty buckets stays in the span, a longer one starts a new span", () => {
  const short = histogram(point({ positive: { offset: 0, counts: [1, 0, 0, 2] } }));
  assert.deepEqual(short.positiveSpans, [{ offset: 1, length: 4 }]);
  assert.deepEqual(short.positiveBuckets, [1, 0, 0, 2]);
  const long = histogram(point({ positive: { offset: 0, counts: [1, 0, 0, 0, 2] } }));
  assert.deepEqual(long.positiveSpans, [
    { offset: 1, length: 1 },
    { offset: 3, length: 1 },
  ]);
  assert.deepEqual(long.positiveBuckets, [1, 2]);
  const leading = histogram(point({ positive: { offset: 5, counts: [0, 0, 7] } }));
  assert.deepEqual(leading.positiveSpans, [{ offset: 8, length: 1 }]);
});

test("scales above 8 are merged down to schema 8, 2^(scale-8) buckets into one", () => {
  const h = histogram(point({ scale: 9, positive: { offset: 0, counts: [4, 3, 2, 1] } }));
  assert.equal(h.schema, 8);
  assert.deepEqual(h.positiveSpans, [{ offset: 1, length: 2 }]);
  assert.deepEqual(h.positiveBuckets, [7, 3]);
  // A negative offset rounds down: OTLP -1 at scale 9 is within Prometheus bucket 0 at schema 8.
  const neg = histogram(point({ scale: 9, positive: { offset: -1, counts: [4, 3, 2, 1] } }));
  assert.deepEqual(neg.positiveSpans, [{ offset: 0, length: 3 }]);
  assert.deepEqual(neg.positiveBuckets, [4, 5, 1]);
  const fine = histogram(point({ scale: 20, positive: { offset: 4096, counts: [1, 1] } }));
  assert.equal(fine.schema, 8);
  assert.deepEqual(fine.positiveSpans, [{ offset: 2, length: 1 }]);
  assert.deepEqual(fine.positiveBuckets, [2]);
});

test("the zero bucket: the sender's threshold, or Prometheus's smallest one", () => {
  assert.equal(histogram(point({ zeroCount: 3 })).zeroThreshold, DEFAULT_ZERO_THRESHOLD);
  const h = histogram(point({ zeroCount: 3, zeroThreshold: 0.001 }));
  assert.equal(h.zeroThreshold, 0.001);
  assert.equal(h.zeroCount, 3);
});

test("no recorded value: a stale histogram", () => {
  const h = histogram(point({ flags: 1, positive: { offset: 0, counts: [1] } }));
  assert.ok(isStaleNaN(h.sum));
  assert.deepEqual(h.positiveBuckets, []);
});

test("refused: scales outside -4..20, offsets past int32, counts below the buckets, bad zero thresholds", () => {
  const reason = (p: ExpHistogramPoint) => {
    const h = nativeHistogram(p);
    return "refused" in h ? h.refused : "";
  };
  assert.match(reason(point({ scale: -5 })), /scale -5 is outside -4\.\.20/);
  assert.match(reason(point({ scale: 21 })), /scale 21/);
  assert.match(reason(point({ positive: { offset: 2 ** 31, counts: [1] } })), /offset 2147483648/);
  assert.match(reason(point({ count: 2, positive: { offset: 0, counts: [1, 2] } })), /count 2 is less than the 3/);
  assert.match(reason(point({ zeroThreshold: -1 })), /zero threshold -1/);
  assert.match(reason(point({ zeroThreshold: Number.POSITIVE_INFINITY })), /zero threshold Infinity/);
});
