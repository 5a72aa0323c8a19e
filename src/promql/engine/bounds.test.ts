// Regression tests of the engine's bounds: evaluation times and `@` within the evaluable range, grids of at most
// as many steps as the sample limit, points counted before they are computed, deadlines inside step loops, and
// label values built by label_replace/label_join. Each case here once spun, allocated without bound or gave a
// wrong answer.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isContrailError } from "../../model/errors.ts";
import type { Histogram } from "../../model/histogram.ts";
import { emptyHistogram } from "../../model/histogram-buckets.ts";
import { histogramPointSamples } from "../../model/histogram-size.ts";
import { Labels } from "../../model/labels.ts";
import { isStaleNaN, STALE_NAN } from "../../model/sample.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { Random } from "../../testkit/random.ts";
import { evalTimeProblem, gridSteps, MAX_EVAL_TIME_MS } from "./bounds.ts";
import { Evaluator } from "./evaluator.ts";
import { Engine } from "./index.ts";
import { countSelectorPoints } from "./selectors.ts";
import { emptyContext } from "./test-context.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Three series `x{i}` with a sample every 15 s over [0, 2h]. */
function store(): MemoryStore {
  const s = new MemoryStore();
  const app = s.appender();
  for (let t = 0; t <= 2 * HOUR; t += 15_000) {
    for (const i of ["a", "b", "c"]) app.append(Labels.fromRecord({ __name__: "x", i }), t, t / 1000);
  }
  app.commit();
  return s;
}

/** A histogram with one span of `n` buckets: (168 + 8 * (1 + n) + 8) / 16 samples as a point. */
function bucketsHistogram(n: number): Histogram {
  return {
    ...emptyHistogram(0),
    positiveSpans: [{ offset: 0, length: n }],
    positiveBuckets: new Array<number>(n).fill(1),
  };
}

function code(c: string, message?: RegExp) {
  return (e: unknown) => isContrailError(e) && e.code === c && (message === undefined || message.test(e.message));
}

describe("evaluation times", () => {
  it("are whole ms within ±MAX_EVAL_TIME_MS", () => {
    for (const t of [0, -1, MAX_EVAL_TIME_MS, -MAX_EVAL_TIME_MS, 1_700_000_000_000]) {
      assert.equal(evalTimeProblem(t), null, String(t));
    }
    assert.match(evalTimeProblem(MAX_EVAL_TIME_MS + 1) ?? "", /^time 8640000000000\.001 is out of range/);
    assert.match(evalTimeProblem(2 ** 53) ?? "", /out of range/);
    assert.match(evalTimeProblem(Number.NaN) ?? "", /not a finite number/);
    assert.match(evalTimeProblem(Number.NEGATIVE_INFINITY) ?? "", /not a finite number/);
    assert.match(evalTimeProblem(1.5) ?? "", /not a whole number/);
  });

  it("past 2^53 ms are refused instead of evaluating forever", async () => {
    const engine = new Engine();
    const s = store();
    await assert.rejects(engine.instantQuery(s, "1", 1e23), code("bad_data", /out of range/));
    await assert.rejects(engine.instantQuery(s, "x", -(2 ** 60)), code("bad_data", /out of range/));
    const range = { start: 2 ** 53, end: 2 ** 53 + 10, step: 1 };
    await assert.rejects(engine.rangeQuery(s, "x", range), code("bad_data", /out of range/));
    await assert.rejects(engine.rangeQuery(s, "x", { start: 0, end: 10, step: 0.5 }), code("bad_data", /steps/));
    const edge = await engine.instantQuery(s, "time()", MAX_EVAL_TIME_MS);
    assert.deepEqual(edge.value, { type: "scalar", t: MAX_EVAL_TIME_MS, v: MAX_EVAL_TIME_MS / 1000 });
  });

  it("of `@` are refused past the evaluable range with the parser's text", async () => {
    const engine = new Engine();
    const s = store();
    await assert.rejects(
      engine.instantQuery(s, "x @ 1e15", 0),
      code("bad_data", /^0:8: timestamp out of bounds for @ modifier: 1000000000000000\.000000/),
    );
    // A subquery pinned that far once ran its 1 ms steps on doubles that no longer told them apart.
    await assert.rejects(
      engine.instantQuery(s, "count_over_time(vector(time())[5m:1ms] @ 1e15)", 0),
      code("bad_data", /timestamp out of bounds for @ modifier/),
    );
    const ok = await engine.instantQuery(s, "count_over_time(vector(time())[1s:1ms] @ 8640000000000)", 0);
    assert.equal(ok.value.type === "vector" && ok.value.samples[0].v, 1000);
  });
});

describe("grids", () => {
  it("count their steps and refuse bad steps and out-of-range times", () => {
    assert.equal(gridSteps(0, 0, 1, 10), 1);
    assert.equal(gridSteps(0, 100, 10, 100), 11);
    assert.equal(gridSteps(0, 105, 10, 100), 11);
    assert.equal(gridSteps(10, 0, 1, 100), 0);
    assert.throws(() => gridSteps(0, 10, 0, 100), code("bad_data"));
    assert.throws(() => gridSteps(0, 10, 0.5, 100), code("bad_data"));
    assert.throws(() => gridSteps(0, 2 ** 53, 1e12, 1e9), code("bad_data", /out of range/));
    assert.throws(() => gridSteps(0, 100, 1, 100), code("too_many_samples"));
    assert.throws(() => new Evaluator(emptyContext(1e9), 1e16, 1e16, 1), code("bad_data"));
  });

  it("of subqueries with more steps than the sample limit fail before evaluating", async () => {
    const engine = new Engine({ maxSamples: 1_000_000, timeout: 5_000 });
    const s = store();
    for (const q of ["count_over_time(vector(1)[1y:1ms])", "count_over_time(sum(nothing)[20d:1ms])"]) {
      await assert.rejects(engine.instantQuery(s, q, HOUR), code("too_many_samples"), q);
    }
  });
});

describe("points of instant selectors", () => {
  it("are counted exactly before they are computed, a histogram by its size", () => {
    const rnd = new Random(7);
    for (let c = 0; c < 500; c++) {
      const q = emptyContext(1e9);
      const n = rnd.int(0, 30);
      const t = new Float64Array(n);
      const v = new Float64Array(n);
      // Some cases hold histograms of 0 to 5 buckets in one span.
      const h: (Histogram | undefined)[] | null = rnd.chance(0.5) ? [] : null;
      let last = rnd.int(-10, 10) * 1000;
      for (let i = 0; i < n; i++) {
        last += rnd.int(1, 400) * 1000;
        t[i] = last;
        v[i] = rnd.chance(0.15) ? STALE_NAN : rnd.chance(0.1) ? Number.NaN : i;
        if (h !== null) h[i] = !isStaleNaN(v[i]) && rnd.chance(0.5) ? bucketsHistogram(rnd.int(0, 5)) : undefined;
      }
      const interval = rnd.pick([1000, 15_000, MINUTE, 7 * MINUTE]);
      const start = rnd.int(-20, 200) * 1000;
      const ev = new Evaluator(q, start, start + rnd.int(0, 200) * interval, interval);
      const offset = rnd.pick([0, 30_000, -90_000]);
      const at = rnd.chance(0.2) ? rnd.int(0, 4000) * 1000 : null;
      let expected = 0;
      for (let ts = ev.start; ts <= ev.end; ts += ev.interval) {
        const ref = (at ?? ts) - offset;
        let k = -1;
        for (let i = 0; i < n && t[i] <= ref; i++) k = i;
        const stale = k >= 0 && isStaleNaN(v[k]);
        const hk = h === null || k < 0 ? undefined : h[k];
        if (k >= 0 && t[k] > ref - q.settings.lookbackDelta && !stale) {
          expected += hk === undefined ? 1 : histogramPointSamples(hk);
        }
      }
      assert.equal(countSelectorPoints(ev, t, v, n, offset, at, h), expected, `case ${c}`);
    }
  });

  it("of a long subquery grid fail at once when they exceed the limit, and are exact when they fit", async () => {
    const s = store();
    // 20 minutes at 1 ms: 1.2M steps, and every one of the three series has a point at each.
    const q = "count_over_time(x[20m:1ms])";
    await assert.rejects(new Engine({ maxSamples: 3_000_000 }).instantQuery(s, q, HOUR), code("too_many_samples"));
    // The subquery's 3.6M points and the window being read, one whole series of them, are held at once.
    const r = await new Engine({ maxSamples: 5_000_000 }).instantQuery(s, q, HOUR);
    assert.deepEqual(r.value.type === "vector" && r.value.samples.map((x) => x.v), [1_200_000, 1_200_000, 1_200_000]);
  });
});

describe("deadlines", () => {
  it("end step loops whose work is not bounded by samples", async () => {
    // Every outer step of a 1 ms subquery takes the maximum of a 300,000-point window: 9e10 operations.
    const engine = new Engine({ timeout: 100 });
    const started = Date.now();
    await assert.rejects(
      engine.instantQuery(store(), "max_over_time(max_over_time(x[5m:1ms])[5m:1ms])", HOUR),
      code("query_timeout"),
    );
    assert.ok(Date.now() - started < 5_000, "the deadline is noticed inside the loop");
  });
});

describe("label values built by label_replace and label_join", () => {
  it("are bounded, so nesting cannot double them without end", async () => {
    const engine = new Engine();
    const s = store();
    let q = 'label_replace(x, "a", "0123456789abcdef", "", "")';
    for (let i = 0; i < 40; i++) q = `label_join(${q}, "a", "", "a", "a")`;
    await assert.rejects(engine.instantQuery(s, q, HOUR), code("execution", /label_join\(\).*limit of 65536/));
    // A template repeating a 1,000-character capture 100 times.
    const long = `label_replace(x, "a", "${"y".repeat(1000)}", "", "")`;
    await assert.rejects(
      engine.instantQuery(s, `label_replace(${long}, "b", "${"$1".repeat(100)}", "a", "(.*)")`, HOUR),
      code("execution", /label_replace\(\).*limit of 65536/),
    );
    const ok = await engine.instantQuery(s, 'label_join(x, "a", "-", "i", "i")', HOUR);
    assert.deepEqual(ok.value.type === "vector" && ok.value.samples.map((x) => x.labels.get("a")), [
      "a-a",
      "b-b",
      "c-c",
    ]);
  });

  it("count against the sample limit", async () => {
    const s = store();
    const q = `label_join(x, "a", "${"-".repeat(60_000)}", "i", "i")`;
    await assert.rejects(new Engine({ maxSamples: 10_000 }).instantQuery(s, q, HOUR), code("too_many_samples"));
    const r = await new Engine({ maxSamples: 30_000 }).instantQuery(s, q, HOUR);
    assert.equal(r.value.type === "vector" && r.value.samples.length, 3);
  });
});
