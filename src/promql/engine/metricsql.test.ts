// MetricsQL evaluation pinned without a VictoriaMetrics peer (metricsql-vm.test.ts compares with one): implicit
// window sizes, the previous-sample rollups, ranking, mode, label case, union, and limits.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { METRICSQL_FUNCTIONS } from "../parser/metricsql.ts";
import { lookupFunction } from "./functions/index.ts";
import { implicitRange, MAX_SILENCE_MS, maxPrevInterval, scrapeInterval } from "./implicit-window.ts";
import { Engine, type QueryResult } from "./index.ts";

const S = 1000;
const M = 60 * S;

/** A store with `series` (labels, first sample time, interval, values). */
function storeOf(series: [Record<string, string>, number, number, number[]][]): MemoryStore {
  const store = new MemoryStore();
  const app = store.appender();
  for (const [labels, t0, every, values] of series) {
    values.forEach((v, i) => {
      app.append(Labels.fromRecord(labels), t0 + i * every, v);
    });
  }
  app.commit();
  return store;
}

function count<T>(n: number, f: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

/** Range result as `labels: t=v ...` lines, sorted. */
function lines(r: QueryResult): string[] {
  if (r.value.type !== "matrix") return [];
  return r.value.series
    .map((s) => `${s.labels.toString()}: ${Array.from(s.t, (t, i) => `${t / S}=${s.v[i]}`).join(" ")}`)
    .sort();
}

function instant(r: QueryResult): Record<string, number> {
  if (r.value.type !== "vector") return {};
  return Object.fromEntries(r.value.samples.map((s) => [s.labels.toString(), s.v]));
}

const engine = new Engine({ metricsql: true });

describe("implicit windows", () => {
  it("estimate the scrape interval and widen it for jitter as VictoriaMetrics does", () => {
    const t = Float64Array.from([0, 15, 30, 46, 60, 75].map((x) => x * S));
    assert.equal(scrapeInterval(t, t.length), 15 * S);
    assert.equal(scrapeInterval(t, 1), MAX_SILENCE_MS);
    assert.deepEqual(
      [1, 3, 5, 10, 30, 60].map((x) => maxPrevInterval(x * S) / S),
      [5, 9, 10, 15, 37.5, 67.5],
    );
    assert.equal(implicitRange("rate", 5 * S, 22_500), 22_500);
    assert.equal(implicitRange("increase", 5 * S, 22_500), 5 * S);
    assert.equal(implicitRange("rate", M, 22_500), M);
  });

  it("rate(x) below the scrape interval has a value at every step, from the previous sample", async () => {
    const store = storeOf([[{ __name__: "c" }, 0, 15 * S, count(41, (i) => i * 30)]]);
    const r = await engine.rangeQuery(store, "rate(c)", { start: 5 * M, end: 6 * M, step: 5 * S });
    assert.deepEqual(lines(r), [`{}: ${count(13, (i) => `${300 + i * 5}=2`).join(" ")}`]);
    // PromQL's rate over a written 5s window has too few samples at every step.
    const strict = await engine.rangeQuery(store, "rate(c[5s])", { start: 5 * M, end: 6 * M, step: 5 * S });
    assert.deepEqual(lines(strict), []);
  });

  it("increase(x) counts resets, ignores small drops as jitter, is 0 over a window without samples, and has no value after the last sample", async () => {
    const values = [100, 110, 120, 5, 15, 14, 24];
    const store = storeOf([[{ __name__: "c" }, 0, 15 * S, values]]);
    const r = await engine.rangeQuery(store, "increase(c)", { start: 15 * S, end: 90 * S, step: 15 * S });
    // 100→110, 110→120, reset (+5), 5→15, 15→14 jitter (no change), 14→24 (+10).
    assert.deepEqual(lines(r), ["{}: 15=10 30=10 45=5 60=10 75=0 90=10"]);
    // Steps 20 and 25 see no sample but a previous one; at 35 no sample follows the window start (the query's
    // data ends at its last step), so the series reads as ended.
    const gaps = await engine.rangeQuery(store, "increase(c)", { start: 20 * S, end: 35 * S, step: 5 * S });
    assert.deepEqual(lines(gaps), ["{}: 20=0 25=0 30=10"]);
  });

  it("an instant query uses a 5m step", async () => {
    const store = storeOf([[{ __name__: "g" }, 0, 15 * S, count(41, (i) => i)]]);
    const r = await engine.instantQuery(store, "count_over_time(g)", 10 * M);
    assert.deepEqual(instant(r), { "{}": 20 });
  });
});

describe("MetricsQL functions", () => {
  const store = storeOf([
    [{ __name__: "x", r: "a" }, 0, M, [1, 1, 9, 1]],
    [{ __name__: "x", r: "b" }, 0, M, [5, 5, 5, 5]],
    [{ __name__: "x", r: "c" }, 0, M, [2, 3, 4, 2]],
    [{ __name__: "y", r: "a" }, 0, M, [7, 7, 7, 7]],
  ]);
  const range = { start: 0, end: 3 * M, step: M };

  it("every function of the table has an implementation", () => {
    for (const name of METRICSQL_FUNCTIONS.keys()) assert.ok(lookupFunction(name) !== undefined, name);
  });

  it("topk_* ranks by a statistic of the whole range and sums the rest under the given label", async () => {
    const top = await engine.rangeQuery(store, 'topk_max(1, x, "r=rest")', range);
    assert.deepEqual(lines(top), ['{__name__="x", r="a"}: 0=1 60=1 120=9 180=1', '{r="rest"}: 0=7 60=8 120=9 180=7']);
    const bottom = await engine.rangeQuery(store, "bottomk_avg(1, x)", range);
    assert.deepEqual(lines(bottom), ['{__name__="x", r="c"}: 0=2 60=3 120=4 180=2']);
    const none = await engine.rangeQuery(store, "topk_last(0, x)", range);
    assert.deepEqual(lines(none), []);
  });

  it("mode picks the most frequent value, the smallest on a tie", async () => {
    const r = await engine.rangeQuery(store, "mode(x)", range);
    assert.deepEqual(lines(r), ["{}: 0=1 60=1 120=4 180=1"]);
  });

  it("label case functions rewrite values; union keeps the first of equal label sets", async () => {
    const up = await engine.instantQuery(store, 'label_uppercase(x{r="a"}, "r")', 0);
    assert.deepEqual(instant(up), { '{__name__="x", r="A"}': 1 });
    const u = await engine.instantQuery(store, "union(x, x * 2, 3)", 0);
    assert.deepEqual(instant(u), {
      '{__name__="x", r="a"}': 1,
      '{__name__="x", r="b"}': 5,
      '{__name__="x", r="c"}': 2,
      '{r="a"}': 2,
      '{r="b"}': 10,
      '{r="c"}': 4,
      "{}": 3,
    });
    const max = await engine.instantQuery(store, "max(10, x)", 2 * M);
    assert.deepEqual(instant(max), { "{}": 10 });
  });

  it("label case collisions are an error, as label_replace's are", async () => {
    const s = storeOf([
      [{ __name__: "z", r: "a" }, 0, M, [1]],
      [{ __name__: "z", r: "A" }, 0, M, [2]],
    ]);
    await assert.rejects(engine.instantQuery(s, 'label_lowercase(z, "r")', 0), (e) => isContrailError(e, "execution"));
  });

  it("the whole-range functions count their output against the sample limit", async () => {
    const small = new Engine({ metricsql: true, maxSamples: 10 });
    await assert.rejects(small.rangeQuery(store, "topk_avg(3, x)", range), (e) =>
      isContrailError(e, "too_many_samples"),
    );
  });
});
