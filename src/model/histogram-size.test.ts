// What a histogram weighs in the sample limit, worked out by hand from Prometheus 3's rules: FloatHistogram.Size
// is a 168-byte struct plus 8 bytes per span, bucket count and custom bound; a point weighs (size + 8) / 16 and a
// sample of an instant vector 1 + size / 16, both rounded down.

import assert from "node:assert/strict";
import { test } from "node:test";
import { CUSTOM_BUCKETS_SCHEMA, type Histogram } from "./histogram.ts";
import { emptyHistogram } from "./histogram-buckets.ts";
import { histogramBytes, histogramPointSamples, histogramVectorSamples } from "./histogram-size.ts";

function histogram(parts: Partial<Histogram>): Histogram {
  return { ...emptyHistogram(0), ...parts };
}

test("a histogram weighs its bytes in float samples, as a point and as a sample of a step's vector", () => {
  const cases: [string, Histogram, number, number, number][] = [
    // name, histogram, bytes, point, vector sample
    ["no buckets (a count and a sum only)", histogram({}), 168, 11, 11],
    // 168 + 8 * (1 span + 2 buckets) = 192: a point (192 + 8) / 16 = 12.5 -> 12, a vector sample 1 + 12 = 13.
    [
      "one span of two buckets",
      histogram({ positiveSpans: [{ offset: 0, length: 2 }], positiveBuckets: [2, 2] }),
      192,
      12,
      13,
    ],
    // 168 + 8 * (2 spans + 2 buckets) = 200: (208) / 16 = 13, and 1 + 200 / 16 = 1 + 12 = 13.
    [
      "a bucket on each side",
      histogram({
        positiveSpans: [{ offset: 1, length: 1 }],
        negativeSpans: [{ offset: 0, length: 1 }],
        positiveBuckets: [3],
        negativeBuckets: [1],
      }),
      200,
      13,
      13,
    ],
    // 168 + 8 * (1 span + 4 buckets + 3 bounds) = 232: 240 / 16 = 15, and 1 + 232 / 16 = 1 + 14 = 15.
    [
      "custom buckets",
      histogram({
        schema: CUSTOM_BUCKETS_SCHEMA,
        positiveSpans: [{ offset: 0, length: 4 }],
        positiveBuckets: [1, 0, 2, 5],
        customValues: [0.1, 1, 10],
      }),
      232,
      15,
      15,
    ],
  ];
  for (const [name, h, bytes, point, vector] of cases) {
    assert.equal(histogramBytes(h), bytes, name);
    assert.equal(histogramPointSamples(h), point, name);
    assert.equal(histogramVectorSamples(h), vector, name);
  }
});
