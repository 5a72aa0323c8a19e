// Which queries may be evaluated in halves, where a selection's pages are cut, and how two halves' results merge.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Labels } from "../../model/labels.ts";
import type { QueryResult } from "../../promql/engine/index.ts";
import { parseExpr } from "../../promql/parser/index.ts";
import type { SeriesPage } from "./protocol.ts";
import {
  cutPages,
  MIN_SHARD_BYTES,
  mergePartial,
  type PartialResult,
  shardOp,
  splitPoint,
  toPartial,
} from "./shard.ts";

describe("shardOp", () => {
  const cases: [string, string | null][] = [
    ["sum by (job) (rate(x[5m]))", "sum"],
    ["sum(rate(x[5m]))", "sum"],
    ["(sum without (instance) ((increase(x[1m]))))", "sum"],
    ["count by (job) (irate(x[5m]))", "count"],
    ["min(max_over_time(x[5m] offset 1m))", "min"],
    ["max by (a) (changes(x[5m]))", "max"],
    ["group by (job) (delta(x[5m]))", "group"],
    ["sum(rate(x))", "sum"],
    ["avg(rate(x[5m]))", null],
    ["topk(3, rate(x[5m]))", null],
    ["quantile(0.9, rate(x[5m]))", null],
    ["stddev(rate(x[5m]))", null],
    ["sum(rate(x[5m])) * 8", null],
    ["sum(x)", null],
    ["sum(absent_over_time(x[5m]))", null],
    ['sum(rate({__name__=~"x|y"}[5m]))', null],
    ['sum(rate({__name__="x", job="a"}[5m]))', "sum"],
    ["sum(abs(x))", null],
    ["sum(quantile_over_time(0.5, x[5m]))", null],
    ["sum(predict_linear(x[5m], 60))", null],
    ["sum(rate(x[5m:1m]))", null],
    ["rate(x[5m])", null],
    ["sum(rate(x[5m]) + rate(y[5m]))", null],
  ];
  for (const [q, want] of cases) {
    test(q, () => assert.equal(shardOp(parseExpr(q, { metricsql: true })), want));
  }
});

function page(opts: { bytes?: number; samples?: number; continued?: boolean }): SeriesPage {
  const samples = opts.samples ?? 0;
  return {
    cursor: 1,
    done: false,
    continued: opts.continued ?? false,
    pairs: new Uint32Array(0),
    names: [],
    nameRefs: new Uint32Array(0),
    valueLengths: new Uint32Array(0),
    values: "",
    chunked: new Uint8Array(0),
    offsets: new Uint32Array(1),
    t: new Float64Array(samples),
    v: new Float64Array(samples),
    chunkIndex: new Uint32Array(1),
    chunkRanges: new Float64Array(0),
    chunkEnds: new Uint32Array(0),
    histogramAt: new Uint32Array(0),
    histograms: [],
    chunkBytes: new Uint8Array(opts.bytes ?? 0),
    chunkEncodings: new Uint8Array(0),
    sourceStarts: new Uint32Array(0),
    sourceRanges: new Float64Array(0),
    warnings: [],
  };
}

describe("splitPoint", () => {
  const big = MIN_SHARD_BYTES;
  const at = (page: number, entry = 0) => ({ page, entry });
  test("a small selection, or one that cannot be cut, stays whole", () => {
    assert.equal(splitPoint([page({ bytes: 4 * big })]), null);
    assert.equal(splitPoint([page({ bytes: 100 }), page({ bytes: 100 })]), null);
    assert.equal(splitPoint(decodedPages([[10, 10]])), null);
  });
  test("cuts between pages where the halves weigh about the same", () => {
    assert.deepEqual(splitPoint([page({ bytes: big }), page({ bytes: big })]), at(1));
    assert.deepEqual(
      splitPoint([page({ bytes: big }), page({ bytes: big }), page({ bytes: big }), page({ bytes: big })]),
      at(2),
    );
    assert.deepEqual(
      splitPoint([page({ bytes: 3 * big }), page({ bytes: big }), page({ bytes: big }), page({ bytes: big })]),
      at(1),
    );
    // Decoded samples weigh 16 bytes each.
    assert.deepEqual(
      splitPoint([page({ samples: big / 16 }), page({ bytes: big / 2 }), page({ bytes: big / 2 })]),
      at(1),
    );
  });
  test("never before a page continuing the series before it", () => {
    assert.deepEqual(
      splitPoint([page({ bytes: big }), page({ bytes: big, continued: true }), page({ bytes: big })]),
      at(2),
    );
    assert.equal(splitPoint([page({ bytes: big }), page({ bytes: big, continued: true })]), null);
  });
  test("cuts inside a page, before the series where the halves weigh about the same", () => {
    const n = Math.ceil(big / 16 / 50);
    // One page of 100 equal series: 50 on each side.
    assert.deepEqual(splitPoint(decodedPages([Array(100).fill(n)])), at(0, 50));
    // A heavy first series takes the place of 30 others.
    assert.deepEqual(splitPoint(decodedPages([[31 * n, ...Array(99).fill(n)]])), at(0, 35));
    // Pages of 60 and 40 series, and of 30 and 70: the 50th series begins the second half either way.
    assert.deepEqual(splitPoint(decodedPages([Array(60).fill(n), Array(40).fill(n)])), at(0, 50));
    assert.deepEqual(splitPoint(decodedPages([Array(30).fill(n), Array(70).fill(n)])), at(1, 20));
  });
});

describe("cutPages", () => {
  test("a cut between pages hands over whole pages; one inside a page, its two parts", () => {
    const pages = decodedPages([
      [1, 2, 3],
      [4, 5],
    ]);
    const entries = (ps: SeriesPage[]) => ps.map((p) => [...p.offsets]);
    const whole = cutPages(pages, { page: 1, entry: 0 });
    assert.deepEqual(entries(whole.first), [[0, 1, 3, 6]]);
    assert.deepEqual(entries(whole.second), [[0, 4, 9]]);
    const inside = cutPages(pages, { page: 0, entry: 2 });
    assert.deepEqual(entries(inside.first), [[0, 1, 3]]);
    assert.deepEqual(entries(inside.second), [
      [0, 3],
      [0, 4, 9],
    ]);
    assert.equal(inside.second[1], pages[1], "pages after the cut are handed over as they are");
  });
});

// Pages of decoded series, each page given as its series' sample counts.
function decodedPages(counts: number[][]): SeriesPage[] {
  return counts.map((series, i) => {
    const samples = series.reduce((a, b) => a + b, 0);
    const offsets = new Uint32Array(series.length + 1);
    for (let k = 0; k < series.length; k++) offsets[k + 1] = offsets[k] + series[k];
    return {
      ...page({ samples }),
      done: i === counts.length - 1,
      pairs: new Uint32Array(series.length),
      chunked: new Uint8Array(series.length),
      offsets,
      chunkIndex: new Uint32Array(series.length + 1),
    };
  });
}

// A range result of series given as [labels, [t, v][]].
function result(series: [Record<string, string>, [number, number][]][], notes: string[] = []): QueryResult {
  return {
    value: {
      type: "matrix",
      series: series.map(([l, pts]) => ({
        labels: Labels.fromRecord(l),
        t: Float64Array.from(pts.map((p) => p[0])),
        v: Float64Array.from(pts.map((p) => p[1])),
      })),
    },
    warnings: notes,
    infos: [],
    stats: { samplesLoaded: 10, peakSamples: 4 },
  };
}

function points(r: QueryResult): [string, [number, number][]][] {
  if (r.value.type !== "matrix") throw new Error("matrix expected");
  return r.value.series.map((s) => [s.labels.toString(), Array.from(s.t, (t, i) => [t, s.v[i]] as [number, number])]);
}

function partial(r: QueryResult): PartialResult {
  return toPartial(r);
}

describe("mergePartial", () => {
  test("sums and counts add up at common steps and keep the others; series sorted by labels", () => {
    const a = result(
      [
        [
          { job: "b" },
          [
            [1, 1],
            [2, 2],
          ],
        ],
      ],
      ["w1"],
    );
    const b = result(
      [
        [{ job: "a" }, [[1, 5]]],
        [
          { job: "b" },
          [
            [2, 3],
            [3, 4],
          ],
        ],
      ],
      ["w1", "w2"],
    );
    for (const op of ["sum", "count"] as const) {
      const m = mergePartial(op, a, partial(b));
      assert.deepEqual(points(m), [
        ['{job="a"}', [[1, 5]]],
        [
          '{job="b"}',
          [
            [1, 1],
            [2, 5],
            [3, 4],
          ],
        ],
      ]);
      assert.deepEqual(m.warnings, ["w1", "w2"]);
      assert.deepEqual(m.stats, { samplesLoaded: 20, peakSamples: 8 });
    }
  });
  test("min and max take what folding the second half after the first gives, NaN included", () => {
    const a = result([
      [
        {},
        [
          [1, 1],
          [2, Number.NaN],
          [3, 5],
          [4, Number.NaN],
        ],
      ],
    ]);
    const b = result([
      [
        {},
        [
          [1, 2],
          [2, 7],
          [3, Number.NaN],
          [4, Number.NaN],
        ],
      ],
    ]);
    assert.deepEqual(points(mergePartial("min", a, partial(b))), [
      [
        "{}",
        [
          [1, 1],
          [2, 7],
          [3, 5],
          [4, Number.NaN],
        ],
      ],
    ]);
    assert.deepEqual(points(mergePartial("max", a, partial(b))), [
      [
        "{}",
        [
          [1, 2],
          [2, 7],
          [3, 5],
          [4, Number.NaN],
        ],
      ],
    ]);
  });
  test("group stays 1", () => {
    const a = result([[{}, [[1, 1]]]]);
    const b = result([
      [
        {},
        [
          [1, 1],
          [2, 1],
        ],
      ],
    ]);
    assert.deepEqual(points(mergePartial("group", a, partial(b))), [
      [
        "{}",
        [
          [1, 1],
          [2, 1],
        ],
      ],
    ]);
  });
});
