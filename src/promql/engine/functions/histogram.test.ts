import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Bucket, bucketFraction, bucketQuantile, parseBound } from "./histogram.ts";

const b = (...pairs: [number, number][]): Bucket[] => pairs.map(([upper, count]) => ({ upper, count }));
const INF = Number.POSITIVE_INFINITY;

describe("classic histogram buckets", () => {
  const h = b([0.1, 10], [0.5, 30], [1, 40], [INF, 40]);
  const quantiles: [number, Bucket[], number][] = [
    [0.5, h, 0.1 + 0.4 * (10 / 20)],
    [0.25, h, 0.1],
    [0, h, 0],
    [1, h, 1],
    [0.99, b([1, 0], [INF, 10]), 1],
    [0.5, b([1, 10]), Number.NaN],
    [0.5, b([INF, 0]), Number.NaN],
    [-1, h, Number.NEGATIVE_INFINITY],
    [2, h, INF],
    // Buckets out of order and with a repeated bound are sorted and merged.
    [0.5, b([INF, 40], [0.5, 20], [0.1, 10], [0.5, 10], [1, 40]), 0.3],
  ];
  for (const [q, buckets, want] of quantiles) {
    it(`quantile ${q} of ${JSON.stringify(buckets)}`, () => {
      const got = bucketQuantile(q, buckets).value;
      if (Number.isNaN(want)) assert.ok(Number.isNaN(got));
      else if (!Number.isFinite(want)) assert.equal(got, want);
      else assert.ok(Math.abs(got - want) < 1e-12, `got ${got}`);
    });
  }

  it("forces monotonicity and reports what it fixed", () => {
    const { value, fix } = bucketQuantile(0.5, b([1, 10], [2, 8], [3, 20], [INF, 20]));
    assert.ok(fix?.forced);
    assert.equal(fix?.minBucket, 2);
    assert.equal(fix?.maxBucket, 2);
    assert.equal(fix?.maxDiff, 2);
    assert.equal(value, 1);
  });

  it("computes fractions between bounds", () => {
    assert.equal(bucketFraction(0, 0.1, h), 0.25);
    assert.equal(bucketFraction(0, 1, h), 1);
    assert.equal(bucketFraction(0.5, 0.5, h), 0);
    assert.ok(Math.abs(bucketFraction(0.1, 0.3, h) - 0.25) < 1e-12);
    assert.ok(Number.isNaN(bucketFraction(0, 1, b([1, 3]))));
  });

  it("parses bounds as Go's ParseFloat does", () => {
    assert.equal(parseBound("+Inf"), INF);
    assert.equal(parseBound("inf"), INF);
    assert.equal(parseBound("-Infinity"), Number.NEGATIVE_INFINITY);
    assert.equal(parseBound("0.25"), 0.25);
    assert.equal(parseBound("1e3"), 1000);
    assert.equal(parseBound("0x1p-2"), 0.25);
    assert.ok(Number.isNaN(parseBound("NaN")!));
    assert.equal(parseBound("foo"), null);
    assert.equal(parseBound(""), null);
    assert.equal(parseBound(" 1"), null);
  });
});
