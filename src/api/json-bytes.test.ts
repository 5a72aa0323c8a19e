import assert from "node:assert/strict";
import { test } from "node:test";
import { CounterResetHint, type Histogram } from "../model/histogram.ts";
import { Labels } from "../model/labels.ts";
import type { QueryValue } from "../promql/engine/index.ts";
import { histogramJson, successJson } from "./json.ts";
import { JsonBytes, writeQueryData, writeSuccess } from "./json-bytes.ts";
import { queryDataText } from "./json-reference.ts";

const STATS = {
  timings: {
    evalTotalTime: 0.25,
    resultSortTime: 0,
    queryPreparationTime: 0,
    innerEvalTime: 0.25,
    execQueueTime: 1e-7,
    execTotalTime: 0.2500001,
  },
  samples: { totalQueryableSamples: 12, peakSamples: 3 },
};

function bytesOf(value: QueryValue, stats: typeof STATS | null = null, w = new JsonBytes()): Buffer {
  writeQueryData(w, value, stats);
  return Buffer.concat(w.take());
}

function text(value: QueryValue, stats: typeof STATS | null = null): string {
  return bytesOf(value, stats).toString("utf8");
}

/** Asserts the writer's bytes are the reference text's UTF-8, byte for byte. */
function sameAsReference(value: QueryValue, stats: typeof STATS | null = null): void {
  const got = bytesOf(value, stats);
  const want = Buffer.from(queryDataText(value, stats), "utf8");
  assert.ok(got.equals(want), `${got.toString("utf8").slice(0, 300)}\n!=\n${want.toString("utf8").slice(0, 300)}`);
}

const GRID = (n: number, from = 1_700_000_000_000) => Float64Array.from({ length: n }, (_, j) => from + j * 15_000);

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
    text(matrix),
    '{"resultType":"matrix","result":[{"metric":{"job":"a"},"values":[[1.500,"2"],[16.500,"0.0000001"]]},' +
      '{"metric":{},"values":[]},' +
      '{"metric":{"job":"b"},"values":[[16.500,"-3.25"],[31,"1000000000000000000000"]]},' +
      '{"metric":{"job":"c"},"values":[[16.500,"1"],[46,"2"],[61,"3"]]}]}',
  );
  sameAsReference(matrix);
});

test("each result type in Prometheus's shape", () => {
  const parsed = (v: QueryValue) => JSON.parse(text(v));
  assert.deepEqual(parsed({ type: "scalar", t: 4000, v: 2 }), { resultType: "scalar", result: [4, "2"] });
  assert.deepEqual(parsed({ type: "string", t: 1500, v: "hi" }), { resultType: "string", result: [1.5, "hi"] });
  assert.deepEqual(
    parsed({ type: "vector", samples: [{ labels: Labels.fromStrings("__name__", "up"), t: 1000, v: Number.NaN }] }),
    { resultType: "vector", result: [{ metric: { __name__: "up" }, value: [1, "NaN"] }] },
  );
  assert.deepEqual(
    parsed({
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
  assert.deepEqual(parsed({ type: "vector", samples: [] }), { resultType: "vector", result: [] });
  assert.deepEqual(parsed({ type: "matrix", series: [] }), { resultType: "matrix", result: [] });
});

test("the same bytes as the reference text: special floats, huge and tiny magnitudes, escapes, UTF-8 labels, stats", () => {
  const values = [
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    0,
    1e-300,
    -5e-324,
    2 ** 53 + 2,
    1e21,
    -1.2345e22,
    Number.MAX_VALUE,
    0.1 + 0.2,
    123456789.125,
  ];
  const odd = [
    'quote " and backslash \\',
    "tab\tnew\nline\r\u0000\u001f\u007f",
    "é€𝄞 日本",
    "lone \ud800 and \udfff surrogates",
    "",
  ];
  const series = odd.map((value, i) => ({
    labels: Labels.fromStrings("__name__", "m", "odd", value, "i", String(i)),
    t: GRID(values.length),
    v: Float64Array.from(values),
  }));
  sameAsReference({ type: "matrix", series });
  sameAsReference({ type: "matrix", series }, STATS);
  sameAsReference({
    type: "vector",
    samples: values.map((v, i) => ({ labels: series[i % series.length].labels, t: 1_700_000_000_123 + i, v })),
  });
  sameAsReference({ type: "scalar", t: 1_700_000_000_001, v: -0 }, STATS);
  sameAsReference({ type: "string", t: -1500, v: odd.join("|") });
  // Series with gaps at the grid's indices, timestamps before 1970 and with fractions of a second.
  sameAsReference({
    type: "matrix",
    series: [
      { labels: Labels.fromStrings("a", "1"), t: Float64Array.of(-1500, 1, 10, 100), v: Float64Array.of(1, 2, 3, 4) },
      { labels: Labels.fromStrings("a", "2"), t: Float64Array.of(1, 99, 100), v: Float64Array.of(5, 6, 7) },
    ],
  });
});

test("a value's long text (Go's 'f' form of a huge or tiny float) is written whole", () => {
  const v = Float64Array.of(Number.MAX_VALUE, 5e-324, -1e300);
  sameAsReference({ type: "matrix", series: [{ labels: Labels.EMPTY, t: GRID(3), v }] });
});

test("native histograms: `histogram` in vectors, `histograms` beside `values` in matrices", () => {
  // Custom buckets (json.test.ts checks histogramJson's text of exponential ones).
  const h: Histogram = {
    integer: true,
    counterResetHint: CounterResetHint.notCounterReset,
    schema: -53,
    zeroThreshold: 0,
    zeroCount: 0,
    count: 7,
    sum: -2.5,
    positiveSpans: [{ offset: 0, length: 3 }],
    negativeSpans: [],
    positiveBuckets: [4, -1, -2],
    negativeBuckets: [],
    customValues: [0.1, 1],
  };
  const hj = histogramJson(h);
  const labels = Labels.fromStrings("__name__", "h");
  assert.equal(
    text({ type: "vector", samples: [{ labels, t: 1000, v: 0, h }] }),
    `{"resultType":"vector","result":[{"metric":{"__name__":"h"},"histogram":[1,${hj}]}]}`,
  );
  const matrix: QueryValue = {
    type: "matrix",
    series: [
      { labels, t: new Float64Array([1000, 2000]), v: new Float64Array([3, 0]), h: [undefined, h] },
      { labels: Labels.fromStrings("__name__", "f"), t: GRID(2), v: Float64Array.of(1, 2) },
    ],
  };
  assert.equal(
    text(matrix),
    `{"resultType":"matrix","result":[{"metric":{"__name__":"h"},"values":[[1,"3"]],"histograms":[[2,${hj}]]},` +
      '{"metric":{"__name__":"f"},"values":[[1700000000,"1"],[1700000015,"2"]]}]}',
  );
  sameAsReference(matrix);
});

test("a large answer comes in chunks of about a MiB that join to the reference text", () => {
  const series = Array.from({ length: 200 }, (_, i) => ({
    labels: Labels.fromStrings("__name__", "x", "i", String(i)),
    t: GRID(241),
    v: Float64Array.from({ length: 241 }, (_, j) => (i * 241 + j) / 7),
  }));
  const w = new JsonBytes();
  writeQueryData(w, { type: "matrix", series }, null);
  const chunks = w.take();
  assert.ok(chunks.length >= 2, `expected several chunks, got ${chunks.length}`);
  for (const c of chunks.slice(0, -1)) assert.ok(c.byteLength >= 1024 * 1024 && c.byteLength < (1024 + 64) * 1024);
  assert.ok(Buffer.concat(chunks).equals(Buffer.from(queryDataText({ type: "matrix", series }, null))));
});

test("the writer is reused: a taken answer keeps its bytes, and the next starts empty; the timestamp cache follows the times", () => {
  const w = new JsonBytes();
  const first = { type: "matrix" as const, series: [{ labels: Labels.EMPTY, t: GRID(5), v: GRID(5) }] };
  const a = bytesOf(first, null, w);
  const second = { type: "matrix" as const, series: [{ labels: Labels.EMPTY, t: GRID(5, 1000), v: GRID(5) }] };
  const b = bytesOf(second, null, w);
  assert.ok(a.equals(Buffer.from(queryDataText(first, null))));
  assert.ok(b.equals(Buffer.from(queryDataText(second, null))));
});

test("the stop check is polled while a large answer is written; it stops the answer and the writer can go on", () => {
  let polls = 0;
  const w = new JsonBytes(() => {
    polls++;
    if (polls === 3) throw new Error("stop");
  });
  const series = Array.from({ length: 50 }, () => ({ labels: Labels.EMPTY, t: GRID(241), v: GRID(241) }));
  assert.throws(() => writeQueryData(w, { type: "matrix", series }, null), /stop/);
  w.reset();
  w.watch(() => {});
  const small: QueryValue = { type: "scalar", t: 0, v: 1 };
  assert.equal(bytesOf(small, null, w).toString(), '{"resultType":"scalar","result":[0,"1"]}');
});

test("the success envelope with warnings and infos, the same as successJson's", () => {
  const notes = { warnings: ['w "quoted" é'], infos: ["i"] };
  const data: QueryValue = { type: "scalar", t: 1000, v: 3 };
  const w = new JsonBytes();
  writeSuccess(w, (into) => writeQueryData(into, data, null), notes);
  const want = [...successJson([queryDataText(data, null)], notes)].join("");
  assert.ok(Buffer.concat(w.take()).equals(Buffer.from(want)));
  writeSuccess(w, (into) => writeQueryData(into, data, null), { warnings: [], infos: [] });
  assert.equal(
    Buffer.concat(w.take()).toString(),
    '{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}',
  );
});
