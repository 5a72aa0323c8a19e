import assert from "node:assert/strict";
import { test } from "node:test";
import { CounterResetHint, type Histogram } from "./histogram.ts";
import { addHistograms, detectReset, divHistogram, histogramsEqual, mulHistogram } from "./histogram-arith.ts";
import { emptyHistogram, indexed } from "./histogram-buckets.ts";

function hist(fields: Partial<Histogram>): Histogram {
  return { ...emptyHistogram(0), ...fields };
}

function pos(h: Histogram) {
  return indexed(h.positiveSpans, h.positiveBuckets);
}

test("adding reduces to the lower schema and merges buckets", () => {
  const a = hist({
    schema: 1,
    count: 6,
    sum: 7,
    positiveSpans: [{ offset: 0, length: 3 }],
    positiveBuckets: [1, 2, 3],
  });
  const b = hist({ schema: 0, count: 2, sum: 1, positiveSpans: [{ offset: 0, length: 2 }], positiveBuckets: [1, 1] });
  const r = addHistograms(a, b);
  assert.ok(r !== null);
  assert.equal(r.h.schema, 0);
  assert.deepEqual([r.h.count, r.h.sum], [8, 8]);
  assert.deepEqual(pos(r.h), { idx: [0, 1], counts: [2, 6] });
  assert.deepEqual(pos(addHistograms(b, a)?.h as Histogram), { idx: [0, 1], counts: [2, 6] });
});

test("adding widens the narrower zero bucket, folding the buckets it now covers", () => {
  const a = hist({ zeroThreshold: 1, zeroCount: 2, count: 2 });
  const b = hist({ count: 4, positiveSpans: [{ offset: 0, length: 2 }], positiveBuckets: [3, 1] });
  const r = addHistograms(a, b)?.h as Histogram;
  assert.deepEqual([r.zeroThreshold, r.zeroCount, r.count], [1, 5, 6]);
  assert.deepEqual(pos(r), { idx: [1], counts: [1] });
});

test("custom buckets: equal bounds add bucket by bucket, different bounds reduce to the shared ones", () => {
  const a = hist({
    schema: -53,
    customValues: [1, 2, 4],
    positiveSpans: [{ offset: 0, length: 4 }],
    positiveBuckets: [1, 1, 1, 1],
  });
  const b = hist({
    schema: -53,
    customValues: [2, 4],
    positiveSpans: [{ offset: 0, length: 3 }],
    positiveBuckets: [2, 2, 2],
  });
  const same = addHistograms(a, a);
  assert.deepEqual([pos(same?.h as Histogram).counts, same?.nhcbBoundsReconciled], [[2, 2, 2, 2], false]);
  const r = addHistograms(a, b);
  assert.ok(r !== null);
  assert.equal(r.nhcbBoundsReconciled, true);
  assert.deepEqual(r.h.customValues, [2, 4]);
  assert.deepEqual(pos(r.h), { idx: [0, 1, 2], counts: [4, 3, 3] });
  assert.equal(addHistograms(a, hist({})), null);
});

test("subtraction, counter reset hint rules and collisions", () => {
  const reset = hist({ counterResetHint: CounterResetHint.counterReset, count: 3 });
  const notReset = hist({ counterResetHint: CounterResetHint.notCounterReset, count: 1 });
  const r = addHistograms(reset, notReset, true);
  assert.deepEqual([r?.h.count, r?.h.counterResetHint, r?.counterResetCollision], [2, CounterResetHint.unknown, true]);
  const gauge = hist({ counterResetHint: CounterResetHint.gauge });
  assert.equal(addHistograms(notReset, gauge)?.h.counterResetHint, CounterResetHint.gauge);
});

test("scaling by a scalar; a negative factor gives a gauge, division by zero drops the buckets", () => {
  const h = hist({ count: 4, sum: 8, zeroCount: 1, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [3] });
  const m = mulHistogram(h, -2);
  assert.deepEqual([m.count, m.sum, m.zeroCount, m.positiveBuckets, m.counterResetHint], [-8, -16, -2, [-6], 3]);
  const d = divHistogram(h, 0);
  assert.deepEqual([d.count, d.positiveBuckets.length], [Number.POSITIVE_INFINITY, 0]);
  assert.deepEqual(divHistogram(h, 2).positiveBuckets, [1.5]);
});

test("counter reset detection: counts down, a populated bucket gone, higher resolution; hints win", () => {
  const prev = hist({ count: 4, positiveSpans: [{ offset: 0, length: 2 }], positiveBuckets: [2, 2] });
  const grown = hist({ count: 6, positiveSpans: [{ offset: 0, length: 3 }], positiveBuckets: [2, 3, 1] });
  assert.equal(detectReset(grown, prev), false);
  assert.equal(
    detectReset(hist({ count: 5, positiveSpans: [{ offset: 0, length: 2 }], positiveBuckets: [1, 4] }), prev),
    true,
  );
  assert.equal(
    detectReset(hist({ count: 5, positiveSpans: [{ offset: 1, length: 1 }], positiveBuckets: [5] }), prev),
    true,
  );
  assert.equal(detectReset({ ...grown, schema: 1 }, prev), true);
  assert.equal(detectReset({ ...grown, counterResetHint: CounterResetHint.counterReset }, prev), true);
  assert.equal(detectReset(hist({ counterResetHint: CounterResetHint.notCounterReset }), prev), false);
  // A lower schema compares the previous buckets merged to it.
  const lower = hist({ schema: -1, count: 6, positiveSpans: [{ offset: 0, length: 2 }], positiveBuckets: [2, 4] });
  assert.equal(detectReset(lower, prev), false);
});

test("equality compares data, not span layout", () => {
  const a = hist({ count: 2, positiveSpans: [{ offset: 0, length: 2 }], positiveBuckets: [2, 0] });
  const b = hist({ count: 2, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [2] });
  assert.equal(histogramsEqual(a, b), true);
  assert.equal(histogramsEqual(a, { ...b, sum: Number.NaN }), false);
  assert.equal(histogramsEqual({ ...a, sum: Number.NaN }, { ...b, sum: Number.NaN }), true);
});
