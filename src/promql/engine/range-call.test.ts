// An aggregation over a range-function call (`sum by (job) (rate(x[5m]))`) folds the call's output straight into
// the aggregation. `op(+f(...))` takes the other road (the unary plus materialises the call's output first), so
// both forms must agree to the bit, in values, series order, sample statistics and annotations.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Labels } from "../../model/labels.ts";
import { STALE_NAN } from "../../model/sample.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { Engine, type QueryResult } from "./index.ts";

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

const STEP = 15_000;

// Counters with resets, gaps, NaNs and staleness markers, a few series per job, scraped at irregular times.
function store(): MemoryStore {
  const rnd = lcg(17);
  const s = new MemoryStore();
  const app = s.appender();
  for (let i = 0; i < 24; i++) {
    const labels = Labels.fromStrings(
      "__name__",
      "req_total",
      "job",
      `j${i % 4}`,
      "instance",
      `i${i}`,
      "zone",
      `z${i % 3}`,
    );
    let v = Math.floor(rnd() * 1000);
    let t = Math.floor(rnd() * 10_000);
    for (let k = 0; k < 120; k++) {
      t += 5_000 + Math.floor(rnd() * 20_000);
      const r = rnd();
      if (r < 0.04) continue; // a missed scrape
      if (r < 0.07)
        v = Math.floor(rnd() * 10); // a reset
      else v += rnd() * 50;
      const value = r > 0.995 ? Number.NaN : r > 0.99 ? STALE_NAN : v;
      app.append(labels, t, value);
    }
  }
  app.commit();
  return s;
}

function describeResult(r: QueryResult): unknown {
  const v = r.value;
  const values =
    v.type === "matrix"
      ? v.series.map(
          (s) =>
            `${s.labels.toString()} ${[...s.t].join(",")} ${[...s.v].map((x) => (Object.is(x, -0) ? "-0" : String(x))).join(",")}`,
        )
      : v.type === "vector"
        ? v.samples.map((s) => `${s.labels.toString()} ${s.t} ${s.v}`)
        : v;
  return { values, warnings: r.warnings, infos: r.infos, stats: r.stats };
}

const OPS = ["sum", "avg", "count", "min", "max", "group", "stddev", "stdvar"];
const GROUPINGS = ["", " by (job)", " by (job, zone)", " without (instance)", " by (__name__)"];
const CALLS = [
  "rate(req_total[1m])",
  "increase(req_total[2m])",
  "irate(req_total[1m])",
  "delta(req_total[1m])",
  "deriv(req_total[3m])",
  "max_over_time(req_total[1m])",
  "avg_over_time(req_total[5m])",
  "count_over_time(req_total[30s])",
  "last_over_time(req_total[1m])",
  "quantile_over_time(0.3, req_total[2m])",
  "rate(req_total[1m] offset 2m)",
  "rate(req_total[5m:30s])",
];

describe("aggregating a range-function call", () => {
  const s = store();
  const engine = new Engine();
  const range = { start: 60_000, end: 1_800_000, step: STEP };

  it("folds its output into the aggregation exactly as aggregating the materialised output", async () => {
    for (const call of CALLS) {
      for (const op of OPS) {
        for (const grouping of GROUPINGS) {
          const fused = `${op}${grouping} (${call})`;
          const materialised = `${op}${grouping} (+${call})`;
          assert.deepEqual(
            describeResult(await engine.rangeQuery(s, fused, range)),
            describeResult(await engine.rangeQuery(s, materialised, range)),
            fused,
          );
          assert.deepEqual(
            describeResult(await engine.instantQuery(s, fused, 900_000)),
            describeResult(await engine.instantQuery(s, materialised, 900_000)),
            `${fused} (instant)`,
          );
        }
      }
    }
  });

  it("keeps the sample limit of the materialised evaluation", async () => {
    const limited = new Engine({ maxSamples: 3_000 });
    const outcome = async (q: string) => {
      try {
        return describeResult(await limited.rangeQuery(s, q, range));
      } catch (err) {
        return (err as Error).message;
      }
    };
    for (const q of ["sum(rate(req_total[1m]))", "sum by (instance) (rate(req_total[5m]))"]) {
      assert.deepEqual(await outcome(q), await outcome(q.replace("(rate", "(+rate")), q);
    }
  });
});
