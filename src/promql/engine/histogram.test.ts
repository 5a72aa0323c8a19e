// Native histograms through the engine: selectors, functions, aggregations and operators over a memory store,
// checked against values worked out by hand (and Prometheus's results for the same data).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Histogram } from "../../model/histogram.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { parseSeriesDesc } from "../parser/index.ts";
import { Engine, type QueryResult } from "./index.ts";

const M = 60_000;

function storeOf(lines: string[]): MemoryStore {
  const store = new MemoryStore();
  const app = store.appender();
  for (const line of lines) {
    const { labels, values } = parseSeriesDesc(line);
    values.forEach((v, i) => {
      if (v.kind === "float") app.append(labels, i * M, v.value);
      if (v.kind === "histogram") app.appendHistogram?.(labels, i * M, v.value);
    });
  }
  app.commit();
  return store;
}

function only(r: QueryResult): { v: number; h?: Histogram } {
  assert.equal(r.value.type, "vector");
  if (r.value.type !== "vector") throw new Error("vector expected");
  assert.equal(r.value.samples.length, 1);
  return r.value.samples[0];
}

const store = storeOf([
  "h {{schema:0 count:4 sum:10 buckets:[2 2]}}+{{schema:0 count:4 sum:10 buckets:[2 2]}}x10",
  'mix{k="f"} 1 2 3 4 5 6 7 8 9 10 11',
  'mix{k="h"} {{count:1 sum:1 buckets:[1]}}x10',
  "f 0+1x10",
]);
const engine = new Engine();

describe("native histograms in the engine", () => {
  it("selects histograms and reads their count and sum", async () => {
    const h = only(await engine.instantQuery(store, "h", 10 * M)).h;
    assert.deepEqual([h?.count, h?.sum, h?.positiveBuckets], [44, 110, [22, 22]]);
    assert.equal(only(await engine.instantQuery(store, "histogram_count(h)", 10 * M)).v, 44);
    assert.equal(only(await engine.instantQuery(store, "histogram_avg(h)", 10 * M)).v, 2.5);
  });

  it("rates a counter histogram into a gauge histogram per second", async () => {
    const r = only(await engine.instantQuery(store, "rate(h[5m])", 10 * M)).h;
    // 4 observations a minute over samples 60 s apart: 4/60 a second, extrapolated exactly to the range.
    assert.ok(r !== undefined);
    assert.ok(Math.abs(r.count - 4 / 60) < 1e-12);
    assert.equal(r.counterResetHint, 3);
  });

  it("sums histograms and warns when a group mixes floats and histograms", async () => {
    const s = only(await engine.instantQuery(store, "sum(h) + sum(h)", 1 * M)).h;
    assert.deepEqual([s?.count, s?.positiveBuckets], [16, [8, 8]]);
    const mixed = await engine.instantQuery(store, "sum(mix)", 1 * M);
    assert.deepEqual(mixed.value, { type: "vector", samples: [] });
    assert.deepEqual(mixed.warnings, [
      "PromQL warning: encountered a mix of histograms and floats for aggregation (1:5)",
    ]);
  });

  it("scales by scalars, drops the combinations Prometheus refuses, with an info", async () => {
    assert.equal(only(await engine.instantQuery(store, "h * 2", 0)).h?.count, 8);
    assert.equal(only(await engine.instantQuery(store, "h / 4", 0)).h?.sum, 2.5);
    const r = await engine.instantQuery(store, "h + 1", 0);
    assert.deepEqual(r.value, { type: "vector", samples: [] });
    assert.deepEqual(r.infos, [
      'PromQL info: incompatible sample types encountered for binary operator "+": histogram + float (1:1)',
    ]);
  });

  it("gives timestamps of histogram samples and leaves them out of float functions", async () => {
    assert.equal(only(await engine.instantQuery(store, "timestamp(h * 1)", 2 * M)).v, 120);
    const r = await engine.instantQuery(store, "abs(h)", 2 * M);
    assert.deepEqual(r.value, { type: "vector", samples: [] });
  });

  it("leaves float-only results without histogram arrays", async () => {
    const r = await engine.rangeQuery(store, "rate(f[5m])", { start: 5 * M, end: 10 * M, step: M });
    assert.equal(r.value.type, "matrix");
    if (r.value.type === "matrix") assert.equal(r.value.series[0].h, undefined);
  });
});
