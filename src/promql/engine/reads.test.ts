import assert from "node:assert/strict";
import { test } from "node:test";
import { Labels } from "../../model/labels.ts";
import type { Matcher } from "../../model/matcher.ts";
import type { Queryable, SelectHints } from "../../storage/interface.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { Engine } from "./engine.ts";

// A Queryable that records the querier's range and every selection made on it.
function recording(inner: Queryable) {
  const seen: { mint: number; maxt: number; selects: { matchers: readonly Matcher[]; hints: SelectHints }[] }[] = [];
  const queryable: Queryable = {
    querier(mint, maxt) {
      const q = inner.querier(mint, maxt);
      const entry = { mint, maxt, selects: [] as { matchers: readonly Matcher[]; hints: SelectHints }[] };
      seen.push(entry);
      return {
        select: (ms, hints) => {
          entry.selects.push({ matchers: ms, hints });
          return q.select(ms, hints);
        },
        labelNames: (ms, hints) => q.labelNames(ms, hints),
        labelValues: (n, ms, hints) => q.labelValues(n, ms, hints),
        close: () => q.close(),
      };
    },
  };
  return { queryable, seen };
}

test("planned reads are the querier range and the selections evaluation makes, with equal hints", async () => {
  const store = new MemoryStore();
  const app = store.appender();
  for (let t = 0; t < 3_600_000; t += 15_000) {
    app.append(Labels.fromStrings("__name__", "x", "job", "a"), t, t / 1000);
    app.append(Labels.fromStrings("__name__", "y", "job", "a"), t, 1);
  }
  app.commit();
  const engine = new Engine();
  const queries = [
    "sum by (job) (rate(x[5m]))",
    "x / on(job) y",
    "max_over_time(x[10m:1m] offset 5m)",
    "x @ 600 + ignoring(foo) y",
    'sum(increase(x{job=~"a|b"}[1m])) * 8',
  ];
  for (const query of queries) {
    for (const grid of [
      { start: 600_000, end: 3_000_000, step: 15_000 },
      { start: 900_000, end: 900_000, step: 0 },
    ]) {
      const planned = engine.plannedReads(query, grid, { lookbackDelta: 120_000 });
      assert.ok(planned !== null, query);
      const r = recording(store);
      if (grid.step === 0) await engine.instantQuery(r.queryable, query, grid.start, { lookbackDelta: 120_000 });
      else await engine.rangeQuery(r.queryable, query, grid, { lookbackDelta: 120_000 });
      assert.equal(r.seen.length, 1, query);
      assert.deepEqual(
        { mint: planned.mint, maxt: planned.maxt },
        { mint: r.seen[0].mint, maxt: r.seen[0].maxt },
        query,
      );
      assert.deepEqual(
        planned.selects.map((s) => ({
          matchers: s.matchers.map((m) => `${m.name}${m.type}${m.value}`),
          hints: JSON.stringify(s.hints),
        })),
        r.seen[0].selects.map((s) => ({
          matchers: s.matchers.map((m) => `${m.name}${m.type}${m.value}`),
          hints: JSON.stringify(s.hints),
        })),
        query,
      );
    }
  }
});

test("a query whose grid the engine refuses plans no reads; a query that does not parse throws", () => {
  const engine = new Engine();
  assert.equal(engine.plannedReads("x", { start: 0, end: 1e12, step: 1 }, { maxSamples: 1000 }), null);
  assert.throws(() => engine.plannedReads("sum(", { start: 0, end: 0, step: 0 }), { code: "parse_error" });
});
