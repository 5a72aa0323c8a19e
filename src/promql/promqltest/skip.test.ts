import assert from "node:assert/strict";
import { test } from "node:test";
import { Labels } from "../../model/labels.ts";
import { parseExpr } from "../parser/index.ts";
import { emptyEval, type LoadCommand, type LoadSeries } from "./dsl.ts";
import { HistogramSeriesTracker, nhcbSeries, skipReason } from "./skip.ts";

function series(labels: Labels, kinds: ("float" | "histogram")[]): LoadSeries {
  return {
    line: 1,
    labels,
    values: kinds.map((k) => (k === "float" ? { kind: "float", value: 1 } : { kind: "histogram", text: "{{}}" })),
    startOffsets: null,
    hasHistograms: kinds.includes("histogram"),
  };
}

function load(withNhcb: boolean, ...s: LoadSeries[]): LoadCommand {
  return { kind: "load", line: 1, interval: 60_000, withNhcb, series: s };
}

test("nhcbSeries derives the native histogram of classic series", () => {
  const cases: [Labels, Labels | null][] = [
    [
      Labels.fromStrings("__name__", "req_bucket", "le", "0.5", "job", "a"),
      Labels.fromStrings("__name__", "req", "job", "a"),
    ],
    [Labels.fromStrings("__name__", "req_bucket", "le", "+Inf"), Labels.fromStrings("__name__", "req")],
    [Labels.fromStrings("__name__", "req_count"), Labels.fromStrings("__name__", "req")],
    [Labels.fromStrings("__name__", "req_sum", "x", "y"), Labels.fromStrings("__name__", "req", "x", "y")],
    [Labels.fromStrings("__name__", "req_bucket", "le", "NaN"), null],
    [Labels.fromStrings("__name__", "req_bucket", "le", "abc"), null],
    [Labels.fromStrings("__name__", "req_total"), null],
    [Labels.fromStrings("__name__", "_sum"), null],
  ];
  for (const [input, want] of cases) {
    const got = nhcbSeries(input);
    assert.equal(got?.toString() ?? null, want?.toString() ?? null, input.toString());
  }
});

test("evals are skipped only for histogram data or histogram expectations", () => {
  const tracker = new HistogramSeriesTracker();
  const ev = (query: string) => emptyEval(1, query);
  const skip = (query: string) => skipReason(ev(query), parseExpr(query), tracker);

  assert.equal(skip("foo"), null);
  const withHist = ev("foo");
  withHist.histogramExpected = true;
  assert.match(skipReason(withHist, parseExpr("foo"), tracker) ?? "", /native histogram in the expected result/);

  tracker.load(
    load(
      false,
      series(Labels.fromStrings("__name__", "hist", "job", "a"), ["histogram"]),
      series(Labels.fromStrings("__name__", "floats", "job", "a"), ["float", "float"]),
    ),
  );
  assert.match(skip("rate(hist[5m])") ?? "", /hist/);
  assert.match(skip('{job="a"}') ?? "", /hist/);
  assert.match(skip("floats + on(job) max_over_time(hist[1m:])") ?? "", /hist/);
  assert.equal(skip("floats"), null);
  assert.equal(skip('hist{job="b"}'), null);
  assert.equal(skip("time()"), null);

  tracker.load(
    load(
      true,
      series(Labels.fromStrings("__name__", "lat_bucket", "le", "1"), ["float"]),
      series(Labels.fromStrings("__name__", "lat_count"), ["float"]),
    ),
  );
  assert.match(skip("histogram_quantile(0.5, lat)") ?? "", /lat/);
  assert.equal(skip("lat_bucket"), null);

  tracker.clear();
  assert.equal(skip("rate(hist[5m])"), null);
  assert.equal(skip("lat"), null);
});

test("an unparsable query is matched against histogram metric names by text", () => {
  const tracker = new HistogramSeriesTracker();
  tracker.load(load(false, series(Labels.fromStrings("__name__", "hist"), ["histogram"])));
  assert.match(skipReason(emptyEval(1, "sum(hist) by (("), null, tracker) ?? "", /hist/);
  assert.equal(skipReason(emptyEval(1, "sum(histogram) by (("), null, tracker), null);
});
