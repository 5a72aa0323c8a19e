import assert from "node:assert/strict";
import { test } from "node:test";
import { CounterResetHint, type Histogram } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import { errorJson, formatFloatF, formatTimestamp, histogramJson, labelsJson, successJson } from "./json.ts";

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

test("labelsJson keeps label order and escapes", () => {
  assert.equal(
    labelsJson(Labels.fromStrings("b", "2", "__name__", "up", "a", 'x"y')),
    '{"__name__":"up","a":"x\\"y","b":"2"}',
  );
  assert.equal(labelsJson(Labels.EMPTY), "{}");
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
