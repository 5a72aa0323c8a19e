// Native histograms in the sample limit and the sample statistics: a histogram weighs its size in float samples
// (model/histogram-size.ts), wherever the engine counts a float as one. The histograms here have one span of two
// buckets: 192 bytes, so a point held in a series or a window weighs 12 and a sample of a step's vector 13. The
// expected figures are worked out by hand from Prometheus 3's rules (promql/engine.go and value.go), as said at
// each case.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { histogramPointSamples, histogramVectorSamples } from "../../model/histogram-size.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { parseSeriesDesc } from "../parser/index.ts";
import { Engine, type QueryResult } from "./index.ts";

const M = 60_000;
/** What one histogram of the fixture weighs as a point and as a sample of a step's vector. */
const POINT = 12;
const VECTOR = 13;

/** `h{s}`: histograms every minute over [0, 10m]; `f{s}`: floats at the same times, their float twins. */
function fixture(): MemoryStore {
  const store = new MemoryStore();
  const app = store.appender();
  const lines = [
    'h{s="a"} {{schema:0 count:4 sum:10 buckets:[2 2]}}+{{schema:0 count:4 sum:10 buckets:[2 2]}}x10',
    'h{s="b"} {{schema:0 count:4 sum:10 buckets:[2 2]}}+{{schema:0 count:4 sum:10 buckets:[2 2]}}x10',
    'f{s="a"} 0+1x10',
    'f{s="b"} 0+1x10',
  ];
  for (const line of lines) {
    const { labels, values } = parseSeriesDesc(line);
    values.forEach((v, i) => {
      if (v.kind === "float") app.append(labels, i * M, v.value);
      else if (v.kind === "histogram") app.appendHistogram?.(labels, i * M, v.value);
    });
  }
  app.commit();
  return store;
}

const store = fixture();
const RANGE = { start: 0, end: 10 * M, step: M };

type Kind = "instant" | "range";

function run(query: string, kind: Kind, maxSamples?: number): Promise<QueryResult> {
  const engine = new Engine();
  const opts = maxSamples === undefined ? {} : { maxSamples };
  return kind === "instant"
    ? engine.instantQuery(store, query, 10 * M, opts)
    : engine.rangeQuery(store, query, RANGE, opts);
}

const tooMany = (e: unknown) => isContrailError(e, "too_many_samples");

describe("histograms in the sample limit", () => {
  it("the fixture's histograms weigh 12 as points and 13 in a step's vector", async () => {
    const r = await run('h{s="a"}', "instant");
    assert.equal(r.value.type, "vector");
    const h = r.value.type === "vector" ? r.value.samples[0].h : undefined;
    assert.ok(h !== undefined);
    assert.deepEqual([histogramPointSamples(h), histogramVectorSamples(h)], [POINT, VECTOR]);
  });

  // Each query over `h` holds more samples than the same query over its float twin `f`: the histogram query is
  // refused with the float query's own peak as the limit, and runs within its own.
  const cases: [string, Kind][] = [
    ['X{s="a"}', "range"],
    ['X{s="a"}[10m]', "instant"],
    ['rate(X{s="a"}[5m])', "range"],
    ['sum_over_time(X{s="a"}[5m:1m])', "range"],
    ["sum(X)", "range"],
    ['X{s="a"} @ 600', "range"],
    ['-X{s="a"}', "range"],
    ['X{s="a"} * 2', "range"],
    ["X + on(s) X", "range"],
    ["last_over_time(X[3m])", "instant"],
    ["X smoothed", "range"],
  ];
  for (const [template, kind] of cases) {
    it(`${template} (${kind}) fits the limit counted as floats, not counted by size`, async () => {
      const floats = await run(template.replaceAll("X", "f"), kind);
      const query = template.replaceAll("X", "h");
      const histograms = await run(query, kind);
      assert.ok(histograms.stats.peakSamples > floats.stats.peakSamples);
      await assert.rejects(run(query, kind, floats.stats.peakSamples), tooMany);
      await run(query, kind, histograms.stats.peakSamples);
    });
  }

  it("counts a selection's points by size: refused one sample short of them", async () => {
    // 11 steps, each holding one histogram point of 12: 132 (Prometheus's evalSeries adds HPoint.size per step).
    await run('h{s="a"}', "range", 11 * POINT);
    await assert.rejects(run('h{s="a"}', "range", 11 * POINT - 1), tooMany);
    // A range selector holds its window's 10 samples (0, 10m]: 120 (matrixIterSlice adds HPoint.size each).
    await run('h{s="a"}[10m]', "instant", 10 * POINT);
    await assert.rejects(run('h{s="a"}[10m]', "instant", 10 * POINT - 1), tooMany);
  });
});

describe("histograms in the sample statistics", () => {
  // [query, kind, samples loaded (Prometheus's totalQueryableSamples), peak samples], worked out by hand; a null
  // peak is not compared (see the case).
  const cases: [string, Kind, number, number | null][] = [
    // Two series, one point each: 2 * 12.
    ["h", "instant", 2 * POINT, 2 * POINT],
    // 11 steps of one point.
    ['h{s="a"}', "range", 11 * POINT, 11 * POINT],
    // Two windows of 10 samples.
    ["h[10m]", "instant", 20 * POINT, 20 * POINT],
    // Both sides select 2 points (48 held); the step gathers 4 inputs (1 each: only pointers are copied) and
    // produces 2 histograms, a vector's samples of 13: 48 + 4 + 26 = 78.
    ["h + on(s) h", "instant", 4 * POINT, 4 * POINT + 4 + 2 * VECTOR],
    // The same over 11 steps: 528 held, and at the last step 10 earlier outputs of 26 plus 4 + 26: 818.
    ["h + on(s) h", "range", 44 * POINT, 44 * POINT + 10 * 2 * VECTOR + 4 + 2 * VECTOR],
    // histogram_count reads histograms without buckets (168 bytes: 11 each): 22 held, 2 gathered, 2 floats out.
    ["histogram_count(h)", "instant", 22, 26],
    // rate's windows hold 1, 2, 3, 4 and then 5 samples at each of the 7 later steps: 45 samples loaded. The peak
    // is left out: the engine releases a series' last window before counting its output points, where Prometheus
    // still holds it then (for floats as for histograms).
    ['rate(h{s="a"}[5m])', "range", 45 * POINT, null],
    // Aggregating the call loads each series' windows once, as Prometheus does (histograms make the engine leave
    // its fused float path after a first pass, which is not counted).
    ["sum(rate(h[5m]))", "range", 2 * 45 * POINT, null],
    // The aggregation adds nothing while it runs; its input, 2 series of 11 points, is the peak.
    ["sum(h)", "range", 22 * POINT, 22 * POINT],
  ];
  for (const [query, kind, loaded, peak] of cases) {
    it(`${query} (${kind}): ${loaded} samples loaded, ${peak ?? "some"} at the peak`, async () => {
      const r = await run(query, kind);
      assert.deepEqual(r.stats, { samplesLoaded: loaded, peakSamples: peak ?? r.stats.peakSamples });
    });
  }

  it("leaves the counts of float queries as they were", async () => {
    // The float twins of the cases above: each point and sample counts 1, as before histograms were weighed.
    const floats: [string, Kind, number, number][] = [
      ["f", "instant", 2, 2],
      ['f{s="a"}', "range", 11, 11],
      ["f[10m]", "instant", 20, 20],
      ["f + on(s) f", "instant", 4, 10],
      ["f + on(s) f", "range", 44, 66],
      ['rate(f{s="a"}[5m])', "range", 45, 10],
      ["sum(f)", "range", 22, 33],
      ['sum_over_time(f{s="a"}[5m:1m])', "range", 56, 22],
    ];
    for (const [query, kind, loaded, peak] of floats) {
      const r = await run(query, kind);
      assert.deepEqual(r.stats, { samplesLoaded: loaded, peakSamples: peak }, `${query} (${kind})`);
    }
  });
});
