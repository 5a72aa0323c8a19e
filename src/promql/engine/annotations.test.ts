import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  Annotations,
  histogramQuantileForcedMonotonicityInfo,
  invalidQuantileWarning,
  positionOf,
  possibleNonCounterInfo,
} from "./annotations.ts";

describe("annotations", () => {
  it("positions in lines and UTF-8 byte columns", () => {
    assert.equal(positionOf("rate(foo[5m])", { start: 5, end: 12 }), "1:6");
    assert.equal(positionOf("sum(\n  rate(foo[5m]))", { start: 12, end: 19 }), "2:8");
    assert.equal(positionOf('{a="é"} + rate(x[1m])', { start: 16, end: 21 }), "1:17");
    assert.equal(positionOf("", { start: 0, end: 0 }), "unknown position");
  });

  it("keeps one annotation per text and renders warnings and infos apart", () => {
    const a = new Annotations();
    a.add(possibleNonCounterInfo("foo", { start: 5, end: 12 }));
    a.add(possibleNonCounterInfo("foo", { start: 5, end: 12 }));
    a.add(invalidQuantileWarning(1.5, { start: 9, end: 12 }));
    const other = new Annotations();
    other.add(invalidQuantileWarning(-1, { start: 9, end: 12 }));
    a.merge(other);
    const r = a.render("quantile(1.5, rate(foo[5m]))");
    assert.deepEqual(r.infos, [
      'PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "foo" (1:6)',
    ]);
    assert.deepEqual(r.warnings, [
      "PromQL warning: quantile value should be between 0 and 1, got 1.5 (1:10)",
      "PromQL warning: quantile value should be between 0 and 1, got -1 (1:10)",
    ]);
  });

  it("summarises repeated monotonicity fixes", () => {
    const a = new Annotations();
    a.add(histogramQuantileForcedMonotonicityInfo("h", { start: 25, end: 30 }, 60_000, 2, 2, 3));
    a.add(histogramQuantileForcedMonotonicityInfo("h", { start: 25, end: 30 }, 120_000, 1, 5, 0.5));
    assert.deepEqual(a.render("histogram_quantile(0.5, h[1m])").infos, [
      'PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name "h", from buckets 1 to 5, with a max diff of 3, over 2 samples from 1970-01-01T00:01:00Z to 1970-01-01T00:02:00Z (1:26)',
    ]);
  });
});
