// Aggregations that fold a selection series by series read it once, straight from the store, and keep nothing of
// it: over a store whose selections can be iterated only once (as a paged one), they answer exactly as the same
// aggregation over a materialised input (`x * 1` is evaluated as a whole vector first); a native histogram met
// late, or a `by` with more groups than the fold's cells, sends them back to the general path with a new selection,
// with the same answer.

import assert from "node:assert/strict";
import { test } from "node:test";
import { CounterResetHint, type Histogram } from "../../model/histogram.ts";
import { Labels } from "../../model/labels.ts";
import type { Queryable, Series, SeriesSet } from "../../storage/interface.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { Engine } from "./engine.ts";

const STEP = 15_000;
const SAMPLES = 40;
const END = (SAMPLES - 1) * STEP;

// A counter histogram at its sample `k`: two buckets growing by 1 and 2 a scrape.
function histogram(k: number): Histogram {
  return {
    integer: true,
    counterResetHint: CounterResetHint.unknown,
    schema: 0,
    zeroThreshold: 2 ** -128,
    zeroCount: 0,
    count: 3 * k,
    sum: 4.5 * k,
    positiveSpans: [{ offset: 0, length: 2 }],
    negativeSpans: [],
    positiveBuckets: [k, 2 * k],
    negativeBuckets: [],
    customValues: [],
  };
}

// Float series x{app, i} and h{kind} (floats, then one native histogram series sorting last).
function store(): MemoryStore {
  const s = new MemoryStore();
  const app = s.appender();
  for (let i = 0; i < 300; i++) {
    const labels = Labels.fromStrings("__name__", "x", "app", `a${i % 7}`, "i", String(i));
    for (let k = 0; k < SAMPLES; k++) if ((k + i) % 11 !== 0) app.append(labels, k * STEP, k * (i % 5) + i / 3);
  }
  for (let i = 0; i < 20; i++) {
    const labels = Labels.fromStrings("__name__", "h", "kind", `f${i}`);
    for (let k = 0; k < SAMPLES; k++) app.append(labels, k * STEP, k * 2 + i);
  }
  const hl = Labels.fromStrings("__name__", "h", "kind", "native");
  for (let k = 0; k < SAMPLES; k++) app.appendHistogram?.(hl, k * STEP, histogram(k));
  app.commit();
  return s;
}

// A set that can be iterated once, as the pages of a query worker's selection; counts its iterations.
class OneShotSet implements SeriesSet {
  readonly warnings: readonly string[];
  private readonly series: Series[];
  private used = false;

  constructor(set: SeriesSet) {
    this.series = [...set];
    this.warnings = set.warnings;
  }

  *[Symbol.iterator](): Iterator<Series> {
    assert.equal(this.used, false, "a selection was iterated twice");
    this.used = true;
    yield* this.series;
  }
}

// `inner` with every selection iterable once; `selects` counts the selections made.
function oneShot(inner: Queryable): { queryable: Queryable; selects: () => number } {
  let selects = 0;
  const queryable: Queryable = {
    querier(mint, maxt) {
      const q = inner.querier(mint, maxt);
      return {
        select: (ms, hints) => {
          selects++;
          return new OneShotSet(q.select(ms, hints));
        },
        labelNames: (ms, hints) => q.labelNames(ms, hints),
        labelValues: (n, ms, hints) => q.labelValues(n, ms, hints),
        close: () => q.close(),
      };
    },
  };
  return { queryable, selects: () => selects };
}

const data = store();
const engine = new Engine();

async function answer(q: Queryable, query: string, range: boolean): Promise<unknown> {
  const r = range
    ? await engine.rangeQuery(q, query, { start: 0, end: END, step: STEP * 2 })
    : await engine.instantQuery(q, query, END);
  return { value: r.value, warnings: r.warnings, infos: r.infos };
}

test("streamed aggregations read each selection once and answer as over a materialised input", async () => {
  for (const [op, sel] of [
    ["count", "x"],
    ["sum", "x"],
    ["avg", "x"],
    ["min", "x"],
    ["max", "x"],
    ["stddev", "x"],
    ["group", "x"],
    ["sum", "rate(x[2m])"],
    ["sum", "increase(x[3m])"],
    ["sum", "delta(x[2m] offset 1m)"],
    ["avg", "max_over_time(x[1m])"],
    ["stdvar", "increase(x[3m])"],
  ]) {
    for (const by of ["", " by (app)", " without (i)"]) {
      for (const range of [false, true]) {
        const query = `${op}${by} (${sel})`;
        const { queryable, selects } = oneShot(data);
        const got = await answer(queryable, query, range);
        assert.equal(selects(), 1, query);
        // x * 1 drops the name and is evaluated as a whole vector before the aggregation.
        const want = await answer(data, `${op}${by} (${sel} * 1)`, range);
        assert.deepEqual(got, want, `${query}${range ? " (range)" : ""}`);
      }
    }
  }
});

test("a native histogram met late sends a streamed aggregation back to a new selection, same answer", async () => {
  for (const query of ["sum(h)", "count(h)", "sum(rate(h[2m]))", "count by (kind) (rate(h[2m]))"]) {
    for (const range of [false, true]) {
      const { queryable, selects } = oneShot(data);
      const got = await answer(queryable, query, range);
      assert.equal(selects(), 2, `${query}${range ? " (range)" : ""}`);
      assert.deepEqual(got, await answer(data, query, range), query);
    }
  }
});
