import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isContrailError } from "../model/errors.ts";
import { Labels } from "../model/labels.ts";
import { DEFAULT_ORG_LIMITS } from "../model/limits.ts";
import { Engine } from "../promql/engine/index.ts";
import { counterSequence } from "../tsdb/chunkenc/histogram-testdata.ts";
import { QueryPool } from "./query-pool/pool.ts";
import { backendVectorOf, poolRuleQuery } from "./rule-queries.ts";
import { load, MemoryTenants } from "./test-support.ts";

// The rule evaluator's queries on a real query pool (worker threads) over an org's data: vectors and scalars come
// back as samples with their labels and times, native histograms whole, every value bit for bit what the engine
// computes in process; other results and query errors as ContrailErrors. A backend's JSON answers are read with
// histograms refused by name.

const T = 1_700_000_000_000;
/** Spacing of the histogram samples, ms. */
const STEP = 15_000;
let pool: QueryPool;
const store = new MemoryTenants();
const never = new AbortController().signal;

before(() => {
  pool = new QueryPool({ workers: 1 });
  load(store, "acme", [
    { labels: { __name__: "up", job: "a" }, t: T - 10_000, v: 1 },
    { labels: { __name__: "up", job: "b" }, t: T - 10_000, v: 0 },
    { labels: { __name__: "ratio", job: "a" }, t: T - 10_000, v: 0.1 },
    { labels: { __name__: "ratio", job: "b" }, t: T - 10_000, v: 1 / 3 },
  ]);
  const app = store.appender("acme");
  counterSequence(true)
    .slice(0, 5)
    .forEach((h, i) => {
      for (const job of ["a", "b"])
        app.appendHistogram?.(Labels.fromStrings("__name__", "h", "job", job), T - 60_000 + i * STEP, h);
    });
  app.commit();
  load(store, "other", [{ labels: { __name__: "up", job: "secret" }, t: T - 10_000, v: 1 }]);
});

after(() => pool.close());

/** The bits of every number in `x` (NaN payloads and -0 included), labels as text: for bit-for-bit comparisons. */
function bits(x: unknown): unknown {
  if (typeof x === "number") return new BigUint64Array(new Float64Array([x]).buffer)[0].toString(16);
  if (Array.isArray(x)) return x.map(bits);
  if (x instanceof Labels) return x.toString();
  if (typeof x === "object" && x !== null) {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, bits(v)]));
  }
  return x;
}

describe("poolRuleQuery", () => {
  const query = (maxSeries = DEFAULT_ORG_LIMITS.maxSeries) =>
    poolRuleQuery({ pool, store, limitsFor: () => ({ ...DEFAULT_ORG_LIMITS, maxSeries }) });

  test("an instant vector of the org only, at the evaluation time", async () => {
    const v = await query()("acme", "up", T, never);
    assert.deepEqual(
      v.map((s) => [s.labels.get("job"), s.t, s.v]),
      [
        ["a", T, 1],
        ["b", T, 0],
      ],
    );
  });

  test("a scalar is one sample without labels; special values survive", async () => {
    const [s] = await query()("acme", "scalar(sum(up)) / 0", T, never);
    assert.equal(s.labels.size, 0);
    assert.equal(s.v, Number.POSITIVE_INFINITY);
    const [n] = await query()("acme", "-1/0", T, never);
    assert.equal(n.v, Number.NEGATIVE_INFINITY);
  });

  test("native histograms come back whole, and every value is bit for bit the in-process engine's", async () => {
    const engine = new Engine();
    const exprs = [
      "sum(rate(h[1m]))",
      "rate(h[1m])",
      "h",
      "histogram_fraction(0, 2, sum(rate(h[1m])))",
      "ratio * 3",
      "sum(ratio) / 7",
      "-(up * 0)",
      "scalar(ratio{job='b'}) ^ 0.5",
    ];
    for (const expr of exprs) {
      const got = await query()("acme", expr, T, never);
      const { value } = await engine.instantQuery(store.queryable("acme"), expr, T);
      const want =
        value.type === "vector"
          ? value.samples
          : value.type === "scalar"
            ? [{ labels: Labels.EMPTY, t: value.t, v: value.v }]
            : [];
      assert.ok(want.length > 0, expr);
      assert.deepEqual(bits(got), bits(want), expr);
    }
    const [sum] = await query()("acme", "sum(rate(h[1m]))", T, never);
    assert.ok(sum.h !== undefined && !sum.h.integer && sum.h.positiveSpans.length > 0);
    const [raw] = await query()("acme", "h", T, never);
    const stored = counterSequence(true)[4];
    assert.deepEqual(
      [raw.h?.integer, raw.h?.schema, raw.h?.count, raw.h?.sum, raw.h?.positiveBuckets],
      [true, stored.schema, stored.count, stored.sum, stored.positiveBuckets],
    );
  });

  test("more series than the org's limit is limit_exceeded, as for the API", async () => {
    await assert.rejects(query(1)("acme", "up", T, never), (e) => isContrailError(e, "limit_exceeded"));
    assert.equal((await query(1)("acme", "sum(up)", T, never)).length, 1);
  });

  test("a matrix or a string result is an execution error", async () => {
    for (const expr of ["up[5m]", '"text"']) {
      await assert.rejects(query()("acme", expr, T, never), (e) => isContrailError(e, "execution"));
    }
  });

  test("a query stopped by its signal rejects", async () => {
    const c = new AbortController();
    c.abort();
    await assert.rejects(query()("acme", "up", T, c.signal), (e) => isContrailError(e));
  });
});

describe("backendVectorOf", () => {
  test("reads NaN and fractional timestamps", () => {
    const [s] = backendVectorOf({ resultType: "vector", result: [{ metric: { a: "b" }, value: [1.5, "NaN"] }] });
    assert.equal(s.t, 1500);
    assert.ok(Number.isNaN(s.v));
    assert.equal(s.labels.get("a"), "b");
  });

  test("refuses a native histogram by series and reason instead of recording a wrong float", () => {
    const data = {
      resultType: "vector" as const,
      result: [{ metric: { a: "b" }, histogram: [1, { count: "2", sum: "3", buckets: [] }] }],
    };
    assert.throws(
      () => backendVectorOf(data),
      (err) =>
        isContrailError(err, "execution") &&
        err.message.startsWith('rule expression gave a native histogram for {a="b"}: with remote storage') &&
        /no histogram schema, bucket spans or counter reset hint/.test(err.message),
    );
  });
});
