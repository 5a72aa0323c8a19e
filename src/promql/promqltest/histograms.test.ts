import assert from "node:assert/strict";
import { test } from "node:test";
import { CounterResetHint } from "../../model/histogram.ts";
import { Labels } from "../../model/labels.ts";
import { parseSeriesDesc } from "../parser/index.ts";
import { histogramsMatch, histogramTestExpression, NhcbBuilder } from "./histograms.ts";

function literal(text: string) {
  const v = parseSeriesDesc(`m ${text}`).values[0];
  if (v.kind !== "histogram") throw new Error("histogram expected");
  return v;
}

test("histograms match after compaction, within the float epsilon, hints only when written out", () => {
  const expected = literal("{{schema:0 count:3 sum:2 buckets:[1 0 2]}}");
  const actual = literal("{{schema:0 count:3.0000001 sum:2 offset:0 buckets:[1 0 2]}}").value;
  assert.equal(
    histogramsMatch(expected.value, { ...actual, counterResetHint: CounterResetHint.gauge }, expected.hintSet),
    true,
  );
  const hinted = literal("{{count:3 sum:2 counter_reset_hint:not_reset buckets:[1 0 2]}}");
  assert.equal(histogramsMatch(hinted.value, actual, hinted.hintSet), false);
  assert.equal(histogramsMatch(expected.value, { ...actual, count: 4 }, false), false);
});

test("the test notation of a histogram, as Prometheus prints it", () => {
  const h = literal(
    "{{schema:1 count:5 sum:4 z_bucket:1 z_bucket_w:0.5 counter_reset_hint:gauge offset:2 buckets:[1 0 3]}}",
  );
  assert.equal(
    histogramTestExpression(h.value),
    "{{schema:1 count:5 sum:4 z_bucket:1 z_bucket_w:0.5 counter_reset_hint:gauge offset:2 buckets:[1 0 3]}}",
  );
});

test("load_with_nhcb builds custom-bucket histograms from cumulative classic buckets, count and sum", () => {
  const b = new NhcbBuilder();
  b.add(Labels.fromStrings("__name__", "lat_bucket", "le", "1"), [{ t: 0, v: 2 }]);
  b.add(Labels.fromStrings("__name__", "lat_bucket", "le", "5"), [{ t: 0, v: 3 }]);
  b.add(Labels.fromStrings("__name__", "lat_bucket", "le", "+Inf"), [{ t: 0, v: 4 }]);
  b.add(Labels.fromStrings("__name__", "lat_count"), [{ t: 0, v: 4 }]);
  b.add(Labels.fromStrings("__name__", "lat_sum"), [{ t: 0, v: 9 }]);
  b.add(Labels.fromStrings("__name__", "other"), [{ t: 0, v: 1 }]);
  const [series, ...rest] = b.build();
  assert.equal(rest.length, 0);
  assert.equal(series.labels.toString(), '{__name__="lat"}');
  assert.equal(
    histogramTestExpression(series.samples[0].h),
    "{{schema:-53 count:4 sum:9 custom_values:[1 5] buckets:[2 1 1]}}",
  );
  const bad = new NhcbBuilder();
  bad.add(Labels.fromStrings("__name__", "x_bucket", "le", "1"), [{ t: 0, v: 3 }]);
  bad.add(Labels.fromStrings("__name__", "x_bucket", "le", "2"), [{ t: 0, v: 1 }]);
  assert.throws(() => bad.build(), /not cumulative/);
});
