import assert from "node:assert/strict";
import { test } from "node:test";
import { CounterResetHint, type Histogram } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import type { QueryValue } from "../promql/engine/index.ts";
import {
  errorJson,
  formatFloatF,
  formatTimestamp,
  histogramJson,
  labelsJson,
  queryDataJson,
  successJson,
} from "./json.ts";

test("formatFloatF prints Go's strconv.FormatFloat(v, 'f', -1, 64)", () => {
  const cases: [number, string][] = [
    [0, "0"],
    [-0, "-0"],
    [1, "1"],
    [2, "2"],
    [0.1, "0.1"],
    [1 / 3, "0.3333333333333333"],
    [0.06666666666666665, "0.06666666666666665"],
    [1e-6, "0.000001"],
    [-1e-6, "-0.000001"],
    [9.999999999999997e-7, "0.0000009999999999999997"],
    [999999999999999900000, "999999999999999900000"],
    [1e-7, "0.0000001"],
    [1.5e-10, "0.00000000015"],
    [-2.5e-8, "-0.000000025"],
    [1e21, "1000000000000000000000"],
    [1.2345e22, "12345000000000000000000"],
    [123456789.125, "123456789.125"],
    [Number.MAX_VALUE, `17976931348623157${"0".repeat(292)}`],
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "+Inf"],
    [Number.NEGATIVE_INFINITY, "-Inf"],
  ];
  for (const [v, s] of cases) assert.equal(formatFloatF(v), s, String(v));
});

test("formatTimestamp writes seconds with up to three fraction digits, never an exponent", () => {
  const cases: [number, string][] = [
    [4000, "4"],
    [0, "0"],
    [1712345678123, "1712345678.123"],
    [1712345678100, "1712345678.100"],
    [1712345678001, "1712345678.001"],
    [1712345678010, "1712345678.010"],
    [-1500, "-1.500"],
    [-1000, "-1"],
    [9_223_309_901_258_000, "9223309901258"],
  ];
  for (const [t, s] of cases) assert.equal(formatTimestamp(t), s, String(t));
});

test("a matrix's text: timestamps shared between series or not at the same point, fractions of a second, a series without points", () => {
  const matrix: QueryValue = {
    type: "matrix",
    series: [
      { labels: Labels.fromStrings("job", "a"), t: Float64Array.of(1500, 16500), v: Float64Array.of(2, 1e-7) },
      { labels: Labels.EMPTY, t: new Float64Array(0), v: new Float64Array(0) },
      { labels: Labels.fromStrings("job", "b"), t: Float64Array.of(16500, 31000), v: Float64Array.of(-3.25, 1e21) },
      { labels: Labels.fromStrings("job", "c"), t: Float64Array.of(16500, 46000, 61000), v: Float64Array.of(1, 2, 3) },
    ],
  };
  assert.equal(
    [...queryDataJson(matrix, null)].join(""),
    '{"resultType":"matrix","result":[{"metric":{"job":"a"},"values":[[1.500,"2"],[16.500,"0.0000001"]]},' +
      '{"metric":{},"values":[]},' +
      '{"metric":{"job":"b"},"values":[[16.500,"-3.25"],[31,"1000000000000000000000"]]},' +
      '{"metric":{"job":"c"},"values":[[16.500,"1"],[46,"2"],[61,"3"]]}]}',
  );
});

test("labelsJson keeps label order and escapes", () => {
  assert.equal(
    labelsJson(Labels.fromStrings("b", "2", "__name__", "up", "a", 'x"y')),
    '{"__name__":"up","a":"x\\"y","b":"2"}',
  );
  assert.equal(labelsJson(Labels.EMPTY), "{}");
});

function text(value: QueryValue, stats = null): unknown {
  return JSON.parse([...queryDataJson(value, stats)].join(""));
}

test("queryDataJson writes each result type in Prometheus's shape", () => {
  assert.deepEqual(text({ type: "scalar", t: 4000, v: 2 }), { resultType: "scalar", result: [4, "2"] });
  assert.deepEqual(text({ type: "string", t: 1500, v: "hi" }), { resultType: "string", result: [1.5, "hi"] });
  assert.deepEqual(
    text({ type: "vector", samples: [{ labels: Labels.fromStrings("__name__", "up"), t: 1000, v: Number.NaN }] }),
    { resultType: "vector", result: [{ metric: { __name__: "up" }, value: [1, "NaN"] }] },
  );
  assert.deepEqual(
    text({
      type: "matrix",
      series: [
        { labels: Labels.fromStrings("job", "a"), t: Float64Array.of(0, 15000), v: Float64Array.of(1, Infinity) },
        { labels: Labels.fromStrings("job", "b"), t: Float64Array.of(15000), v: Float64Array.of(-0.5) },
      ],
    }),
    {
      resultType: "matrix",
      result: [
        {
          metric: { job: "a" },
          values: [
            [0, "1"],
            [15, "+Inf"],
          ],
        },
        { metric: { job: "b" }, values: [[15, "-0.5"]] },
      ],
    },
  );
  assert.deepEqual(text({ type: "vector", samples: [] }), { resultType: "vector", result: [] });
});

test("a large matrix is yielded in pieces that join to valid JSON", () => {
  const series = Array.from({ length: 200 }, (_, i) => ({
    labels: Labels.fromStrings("__name__", "x", "i", String(i)),
    t: Float64Array.from({ length: 241 }, (_, j) => 1_700_000_000_000 + j * 15_000),
    v: Float64Array.from({ length: 241 }, (_, j) => j / 7),
  }));
  const pieces = [...queryDataJson({ type: "matrix", series }, null)];
  assert.ok(pieces.length > 2, `expected several pieces, got ${pieces.length}`);
  const parsed = JSON.parse(pieces.join("")) as { result: { values: [number, string][] }[] };
  assert.equal(parsed.result.length, 200);
  assert.deepEqual(parsed.result[3].values[7], [1_700_000_105, String(7 / 7)]);
});

test("envelopes: success with optional warnings and infos, and error", () => {
  assert.equal([...successJson(["[]"])].join(""), '{"status":"success","data":[]}');
  assert.equal(
    [...successJson(["1"], { warnings: ["w"], infos: [] })].join(""),
    '{"status":"success","data":1,"warnings":["w"]}',
  );
  assert.equal(
    [...successJson(["1"], { warnings: [], infos: ["i"] })].join(""),
    '{"status":"success","data":1,"infos":["i"]}',
  );
  assert.equal(errorJson("bad_data", 'x "y"'), '{"status":"error","errorType":"bad_data","error":"x \\"y\\""}');
});

test("native histograms: `histogram` in vectors, `histograms` beside `values` in matrices, empty buckets left out", () => {
  const h: Histogram = {
    integer: false,
    counterResetHint: CounterResetHint.unknown,
    schema: 0,
    zeroThreshold: 0.001,
    zeroCount: 1,
    count: 5,
    sum: 10.5,
    positiveSpans: [{ offset: 0, length: 2 }],
    negativeSpans: [{ offset: 0, length: 1 }],
    positiveBuckets: [2, 0],
    negativeBuckets: [1],
    customValues: [],
  };
  const hj = '{"count":"5","sum":"10.5","buckets":[[1,"-1","-0.5","1"],[3,"-0.001","0.001","1"],[0,"0.5","1","2"]]}';
  assert.equal(histogramJson(h), hj);
  const labels = Labels.fromStrings("__name__", "h");
  const vector = [...queryDataJson({ type: "vector", samples: [{ labels, t: 1000, v: 0, h }] }, null)].join("");
  assert.equal(vector, `{"resultType":"vector","result":[{"metric":{"__name__":"h"},"histogram":[1,${hj}]}]}`);
  const matrix = [
    ...queryDataJson(
      {
        type: "matrix",
        series: [{ labels, t: new Float64Array([1000, 2000]), v: new Float64Array([3, 0]), h: [undefined, h] }],
      },
      null,
    ),
  ].join("");
  assert.equal(
    matrix,
    `{"resultType":"matrix","result":[{"metric":{"__name__":"h"},"values":[[1,"3"]],"histograms":[[2,${hj}]]}]}`,
  );
  const custom: Histogram = {
    ...h,
    schema: -53,
    zeroThreshold: 0,
    zeroCount: 0,
    negativeSpans: [],
    negativeBuckets: [],
    customValues: [1],
  };
  assert.equal(histogramJson(custom), '{"count":"5","sum":"10.5","buckets":[[3,"-Inf","1","2"]]}');
});
