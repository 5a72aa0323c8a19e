import assert from "node:assert/strict";
import { test } from "node:test";
import {
  alignRows,
  gridValues,
  MAX_SPARK_WIDTH,
  renderQueryData,
  seriesName,
  shortNumber,
  sparkline,
} from "./query-format.ts";

test("seriesName prints series as Prometheus does", () => {
  const cases: [Record<string, string>, string][] = [
    [{ __name__: "up" }, "up"],
    [{}, "{}"],
    [{ b: "2", __name__: "x", a: "1" }, 'x{a="1", b="2"}'],
    [{ region: "ord" }, '{region="ord"}'],
    [{ path: 'say "hi"\n' }, '{path="say \\"hi\\"\\n"}'],
    [{ "service.name": "api" }, '{"service.name"="api"}'],
  ];
  for (const [metric, want] of cases) assert.equal(seriesName(metric), want);
});

test("shortNumber", () => {
  const cases: [number, string][] = [
    [0, "0"],
    [42, "42"],
    [1_736_164_800, "1736164800"],
    [0.123456, "0.1235"],
    [1234.5678, "1235"],
    [1e20, "100000000000000000000"],
    [1.5e-7, "1.5e-7"],
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "+Inf"],
    [Number.NEGATIVE_INFINITY, "-Inf"],
  ];
  for (const [v, want] of cases) assert.equal(shortNumber(v), want, String(v));
});

test("sparkline scales between min and max; gaps are spaces; flat sits low", () => {
  assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7]), "▁▂▃▄▅▆▇█");
  assert.equal(sparkline([10, Number.NaN, 20]), "▁ █");
  assert.equal(sparkline([5, 5, 5]), "▁▁▁");
  assert.equal(sparkline([1, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2]), "▁█▁█");
  assert.equal(sparkline([]), "");
});

test("gridValues places samples on the grid and averages long grids down", () => {
  const grid = { start: 100, end: 160, step: 15 };
  assert.deepEqual(
    gridValues(
      [
        [100, "1"],
        [130, "3"],
        [160, "5"],
      ],
      grid,
    ),
    [1, Number.NaN, 3, Number.NaN, 5],
  );
  // 240 points into 60 columns: each column averages 4 points.
  const values = Array.from({ length: 240 }, (_, i) => [i * 15, String(i)] as const);
  const cols = gridValues(values, { start: 0, end: 239 * 15, step: 15 });
  assert.equal(cols.length, MAX_SPARK_WIDTH);
  assert.equal(cols[0], 1.5);
  assert.equal(cols[59], 237.5);
  // Fractional steps match to the millisecond.
  assert.deepEqual(gridValues([[0.3, "7"]], { start: 0.1, end: 0.5, step: 0.2 }), [Number.NaN, 7, Number.NaN]);
});

test("alignRows pads every column but the last by characters, not bytes", () => {
  assert.deepEqual(
    alignRows([
      ["A", "B", "C"],
      ["long", "▁▂", "x"],
    ]),
    ["A     B   C", "long  ▁▂  x"],
  );
  assert.deepEqual(alignRows([]), []);
});

test("renderQueryData by result type", () => {
  assert.deepEqual(renderQueryData({ resultType: "scalar", result: [1, "2.5"] }), ["2.5"]);
  assert.deepEqual(renderQueryData({ resultType: "string", result: [1, "hi there"] }), ["hi there"]);
  assert.deepEqual(renderQueryData({ resultType: "vector", result: [] }), ["(no series)"]);
  assert.deepEqual(renderQueryData({ resultType: "matrix", result: [] }), ["(no series)"]);
  assert.deepEqual(
    renderQueryData({
      resultType: "vector",
      result: [
        { metric: { __name__: "up", job: "a" }, value: [1, "1"] },
        { metric: { __name__: "up", job: "bb" }, value: [1, "NaN"] },
      ],
    }),
    ["SERIES        VALUE", 'up{job="a"}   1', 'up{job="bb"}  NaN'],
  );
  assert.deepEqual(
    renderQueryData(
      {
        resultType: "matrix",
        result: [
          {
            metric: { job: "a" },
            values: [
              [0, "1"],
              [15, "2"],
              [30, "3"],
            ],
          },
        ],
      },
      { start: 0, end: 45, step: 15 },
    ),
    // The grid has a fourth point (45) without a sample: a space.
    ["SERIES     TREND  MIN  MAX  LAST", '{job="a"}  ▁▅█    1    3    3'],
  );
});

test("renderQueryData of a matrix without a grid derives one from the samples", () => {
  const lines = renderQueryData({
    resultType: "matrix",
    result: [
      {
        metric: {},
        values: [
          [10, "0"],
          [20, "7"],
          [40, "7"],
        ],
      },
    ],
  });
  assert.equal(lines[1].split(/ {2,}/)[1], "▁█ █");
});
