import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import { Labels } from "../../model/labels.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { parseSeriesDesc } from "../parser/index.ts";
import { Engine, type QueryResult } from "./index.ts";

/** A store loaded from series lines in the test DSL's notation, one sample every `intervalMs`. */
function storeOf(intervalMs: number, lines: string[]): MemoryStore {
  const store = new MemoryStore();
  const app = store.appender();
  for (const line of lines) {
    const { labels, values } = parseSeriesDesc(line);
    values.forEach((v, i) => {
      if (v.kind === "float") app.append(labels, i * intervalMs, v.value);
    });
  }
  app.commit();
  return store;
}

/** Instant-vector result as sorted `labels value` lines. */
function vectorLines(r: QueryResult): string[] {
  assert.equal(r.value.type, "vector");
  if (r.value.type !== "vector") return [];
  return r.value.samples.map((s) => `${s.labels.toString()} ${s.v}`).sort();
}

const M = 60_000;

describe("Engine", () => {
  const store = storeOf(M, [
    'http_requests_total{job="api", instance="0"} 0+10x20',
    'http_requests_total{job="api", instance="1"} 0+20x20',
    "gauge 1 2 3 stale",
    "sparse 1 _ _ _ _ _ _ 5",
  ]);
  const engine = new Engine();

  it("evaluates a repeated query text afresh each time and reports a parse error every time", async () => {
    const cached = new Engine();
    const q = 'sum by (job) (rate(http_requests_total{job=~"a.*"}[5m]))';
    for (const t of [5 * M, 10 * M, 5 * M]) {
      assert.deepEqual(
        vectorLines(await cached.instantQuery(store, q, t)),
        vectorLines(await engine.instantQuery(store, q, t)),
      );
    }
    for (let i = 0; i < 2; i++) {
      await assert.rejects(cached.instantQuery(store, "sum(", 0), (e) => isContrailError(e, "parse_error"));
    }
  });

  it("returns the type of the expression for instant queries", async () => {
    const scalar = await engine.instantQuery(store, "1 + 2", 0);
    assert.deepEqual(scalar.value, { type: "scalar", t: 0, v: 3 });
    const str = await engine.instantQuery(store, '"hello"', 5);
    assert.deepEqual(str.value, { type: "string", t: 5, v: "hello" });
    const matrix = await engine.instantQuery(store, "gauge[3m]", 3 * M);
    assert.equal(matrix.value.type, "matrix");
    if (matrix.value.type === "matrix") {
      assert.deepEqual([...matrix.value.series[0].t], [M, 2 * M]);
    }
  });

  it("ends a series at a staleness marker and after the lookback delta", async () => {
    assert.deepEqual(vectorLines(await engine.instantQuery(store, "gauge", 2 * M)), ['{__name__="gauge"} 3']);
    assert.deepEqual(vectorLines(await engine.instantQuery(store, "gauge", 3 * M)), []);
    assert.deepEqual(vectorLines(await engine.instantQuery(store, "sparse", 5 * M)), []);
    assert.deepEqual(vectorLines(await engine.instantQuery(store, "sparse", 4 * M)), ['{__name__="sparse"} 1']);
    // A per-query lookback delta overrides the engine's.
    const short = await engine.instantQuery(store, "sparse", 4 * M, { lookbackDelta: 2 * M });
    assert.deepEqual(vectorLines(short), []);
  });

  it("evaluates range queries into a matrix sorted by labels", async () => {
    const r = await engine.rangeQuery(store, "rate(http_requests_total[5m])", { start: 10 * M, end: 12 * M, step: M });
    assert.equal(r.value.type, "matrix");
    if (r.value.type !== "matrix") return;
    assert.deepEqual(
      r.value.series.map((s) => s.labels.toString()),
      ['{instance="0", job="api"}', '{instance="1", job="api"}'],
    );
    assert.deepEqual([...r.value.series[0].t], [10 * M, 11 * M, 12 * M]);
    for (const v of r.value.series[1].v) assert.ok(Math.abs(v - 20 / 60) < 1e-12);
    assert.ok(r.stats.samplesLoaded > 0);
    assert.ok(r.stats.peakSamples > 0);
  });

  it("rejects range queries over range vectors and bad steps", async () => {
    await assert.rejects(engine.rangeQuery(store, "gauge[5m]", { start: 0, end: M, step: M }), (e) =>
      isContrailError(e, "bad_data"),
    );
    await assert.rejects(engine.rangeQuery(store, "gauge", { start: 0, end: M, step: 0 }), (e) =>
      isContrailError(e, "bad_data"),
    );
    await assert.rejects(engine.instantQuery(store, "sum(", 0), (e) => isContrailError(e, "parse_error"));
  });

  it("reports annotations with Prometheus's text and position", async () => {
    const r = await engine.instantQuery(store, "rate(gauge[5m])", 2 * M);
    assert.deepEqual(r.infos, [
      'PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "gauge" (1:6)',
    ]);
    const q = await engine.instantQuery(store, "quantile(2, gauge)", 2 * M);
    assert.deepEqual(q.warnings, ["PromQL warning: quantile value should be between 0 and 1, got 2 (1:10)"]);
  });

  it("drops the metric name at the end only (delayed name removal)", async () => {
    const r = await engine.instantQuery(
      store,
      'label_replace(rate(http_requests_total{instance="0"}[5m]), "__name__", "x", "", "")',
      10 * M,
    );
    assert.deepEqual(vectorLines(r), ['{__name__="x", instance="0", job="api"} 0.16666666666666666']);
  });
});

describe("Engine limits", () => {
  const big = new MemoryStore();
  const app = big.appender();
  for (let i = 0; i < 500; i++) {
    const l = Labels.fromStrings("__name__", "m", "i", String(i));
    for (let t = 0; t <= 3600; t++) app.append(l, t * 1000, t);
  }
  app.commit();
  const range = { start: 0, end: 3_600_000, step: 1000 };

  it("fails with too_many_samples past maxSamples", async () => {
    const engine = new Engine({ maxSamples: 10_000 });
    await assert.rejects(engine.rangeQuery(big, "m", range), (e) => {
      return (
        isContrailError(e, "too_many_samples") &&
        e.message === "query processing would load too many samples into memory in query execution"
      );
    });
    // A per-query limit overrides the engine's.
    await assert.rejects(new Engine().rangeQuery(big, "sum_over_time(m[1m])", range, { maxSamples: 1000 }), (e) =>
      isContrailError(e, "too_many_samples"),
    );
    const ok = await engine.instantQuery(big, "sum(m)", 3_600_000);
    assert.deepEqual(vectorLines(ok), ["{} 1800000"]);
  });

  it("fails with query_timeout when the deadline passes", async () => {
    const engine = new Engine({ timeout: 1 });
    await assert.rejects(engine.rangeQuery(big, "sum(rate(m[5m]))", range), (e) => {
      return isContrailError(e, "query_timeout") && e.message === "query timed out in expression evaluation";
    });
  });

  it("fails with query_canceled for an aborted signal", async () => {
    const ctl = new AbortController();
    ctl.abort();
    await assert.rejects(new Engine().rangeQuery(big, "m", range, { signal: ctl.signal }), (e) =>
      isContrailError(e, "query_canceled"),
    );
  });

  it("fails with query_canceled once the cancelled hook says so, polled during evaluation", async () => {
    let polls = 0;
    const cancelled = () => ++polls > 3;
    await assert.rejects(
      new Engine().rangeQuery(big, "sum(rate(m[5m]))", range, { cancelled }),
      (e) => isContrailError(e, "query_canceled") && e.message === "query was canceled in expression evaluation",
    );
    assert.ok(polls > 3);
    const never = await new Engine().instantQuery(big, "sum(m)", 3_600_000, { cancelled: () => false });
    assert.deepEqual(vectorLines(never), ["{} 1800000"]);
  });

  it("validate throws the errors of parsing and of the range query type, and nothing for good queries", () => {
    const engine = new Engine();
    engine.validate("sum(rate(m[5m]))", { range: true });
    engine.validate("m[5m]", { range: false });
    assert.throws(
      () => engine.validate("sum(", { range: false }),
      (e) => isContrailError(e, "parse_error"),
    );
    assert.throws(
      () => engine.validate("m[5m]", { range: true }),
      (e) => isContrailError(e, "bad_data") && /invalid expression type "range vector" for range query/.test(e.message),
    );
  });
});
