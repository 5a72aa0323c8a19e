// instantSteps against irate and idelta called through a RangeCall at every step on a window found by scanning the
// samples (what the general driver does): equal to the bit, with the same points, samples loaded and peak, on series
// with resets, NaNs, gaps longer than the window, one-sample windows and grids starting before the first sample;
// then through the engine, over stored series with staleness markers, plain and summed.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Labels } from "../../model/labels.ts";
import { STALE_NAN } from "../../model/sample.ts";
import { MemoryStore } from "../../storage/memory.ts";
import { floatBits } from "../../testkit/float-bits.ts";
import { Random } from "../../testkit/random.ts";
import type { FunctionSignature } from "../parser/ast.ts";
import { SeriesFold } from "./agg-state.ts";
import type { QueryContext } from "./context.ts";
import { idelta, irate } from "./functions/rate.ts";
import { RangeCall, type RangeFn } from "./functions/types.ts";
import { Engine } from "./index.ts";
import { instantSteps } from "./irate-steps.ts";
import type { CallNode } from "./plan.ts";
import { StepPoints } from "./range-call.ts";
import type { RateStepGrid, RateStepTarget } from "./rate-steps.ts";
import { emptyContext } from "./test-context.ts";

const sig: FunctionSignature = {
  name: "irate",
  argTypes: ["matrix"],
  variadic: 0,
  returnType: "vector",
  experimental: false,
};
const node: CallNode = { kind: "call", func: sig, args: [], pos: { start: 0, end: 0 } };

/** A counter-like series at irregular times: resets, NaNs, negative values, gaps of up to 40 min, and now and then
 * two samples at one time (`repeats`). */
function series(rnd: () => number, count: number, repeats: boolean): { t: Float64Array; v: Float64Array } {
  const t = new Float64Array(count);
  const v = new Float64Array(count);
  const interval = 5_000 * (1 + Math.floor(rnd() * 6));
  let at = Math.floor(rnd() * 100_000);
  let x = rnd() < 0.2 ? -Math.floor(rnd() * 1000) : Math.floor(rnd() * 1000);
  for (let i = 0; i < count; i++) {
    if (!(repeats && i > 0 && rnd() < 0.05)) at += rnd() < 0.7 ? interval : 1 + Math.floor(rnd() * 4 * interval);
    if (rnd() < 0.03) at += Math.floor(rnd() * 2_400_000);
    const r = rnd();
    if (r < 0.05) x = Math.floor(rnd() * 10);
    else if (r < 0.6) x += Math.floor(rnd() * 50);
    else if (r < 0.7) x -= rnd() * 7;
    t[i] = at;
    v[i] = r > 0.99 ? Number.NaN : x;
  }
  return { t, v };
}

interface Outcome {
  points: string[];
  loaded: number;
  peak: number;
}

/** The general driver's way: at every step the window (ts − offset − range, ts − offset] found by a scan, and the
 * function called through a RangeCall; each value is also added into `sums` by its time when given. */
function reference(
  fn: RangeFn,
  t: Float64Array,
  v: Float64Array,
  grid: RateStepGrid,
  q: QueryContext,
  sums?: Map<number, number>,
): Outcome {
  const call = new RangeCall(node, q);
  call.t = t;
  call.v = v;
  call.n = t.length;
  call.range = grid.range;
  const points: string[] = [];
  let loaded = 0;
  let peak = q.peak;
  let step = -1;
  for (let ts = grid.start; ts <= grid.end; ts += grid.interval) {
    step++;
    const maxt = ts - grid.offset;
    let lo = 0;
    while (lo < t.length && t[lo] <= maxt - grid.range) lo++;
    let hi = lo;
    while (hi < t.length && t[hi] <= maxt) hi++;
    peak = Math.max(peak, q.current + hi - lo);
    if (hi === lo) continue;
    loaded += hi - lo;
    call.lo = lo;
    call.hi = hi;
    if (!fn(call)) continue;
    points.push(`${ts}#${step}=${floatBits(call.result)}`);
    sums?.set(ts, (sums.get(ts) ?? 0) + call.result);
  }
  return { points, loaded, peak };
}

function pointsOnly(pts: StepPoints): RateStepTarget {
  return { pts, sums: null, cell: 0, settled: false, dropName: false };
}

function looped(fn: RangeFn, t: Float64Array, v: Float64Array, grid: RateStepGrid, q: QueryContext): Outcome {
  const pts = new StepPoints(Math.floor((grid.end - grid.start) / grid.interval) + 1);
  const totals = { loaded: 0, peak: q.peak };
  instantSteps(q, t, v, t.length, grid, fn === irate, pointsOnly(pts), totals);
  const points: string[] = [];
  for (let i = 0; i < pts.n; i++) points.push(`${pts.t[i]}#${pts.k[i]}=${floatBits(pts.v[i])}`);
  return { points, loaded: totals.loaded, peak: totals.peak };
}

describe("instantSteps", () => {
  it("gives irate's and idelta's values, points and sample counts to the bit", () => {
    const random = new Random(41);
    const rnd = () => random.next();
    let produced = 0;
    let lonely = 0;
    for (let trial = 0; trial < 400; trial++) {
      const { t, v } = series(rnd, 1 + Math.floor(rnd() * 300), trial % 4 === 3);
      const fn = trial % 2 === 0 ? irate : idelta;
      const grid: RateStepGrid = {
        start: t[0] - Math.floor(rnd() * 600_000),
        end: t[t.length - 1] + Math.floor(rnd() * 600_000),
        interval: 1_000 * (1 + Math.floor(rnd() * 60)),
        range: 250 * (1 + Math.floor(rnd() * 1200)),
        offset: rnd() < 0.3 ? Math.floor(rnd() * 600_000) - 300_000 : 0,
      };
      const q = emptyContext(1e9, Math.floor(rnd() * 1000));
      const want = reference(fn, t, v, grid, q);
      assert.deepEqual(looped(fn, t, v, grid, q), want, `trial ${trial}`);
      produced += want.points.length;
      lonely += want.loaded > 0 && want.points.length === 0 ? 1 : 0;
    }
    assert.ok(produced > 10_000, `only ${produced} points compared`);
    assert.ok(lonely > 0, "no series whose windows all held one sample");
  });

  it("gives no value for two samples at one time, and a counter reset's newest value for irate", () => {
    const t = Float64Array.from([10_000, 20_000, 20_000, 30_000, 40_000]);
    const v = Float64Array.from([5, 9, 11, 3, 3]);
    const grid: RateStepGrid = { start: 0, end: 60_000, interval: 5_000, range: 15_000, offset: 0 };
    const q = emptyContext(1e9);
    const rates = looped(irate, t, v, grid, q);
    assert.deepEqual(rates, reference(irate, t, v, grid, q));
    assert.deepEqual(looped(idelta, t, v, grid, q), reference(idelta, t, v, grid, q));
    // Windows (ts − 15 s, ts]: at 20 s and 25 s the last two samples share a time (no value); at 30 s the reset
    // (11 to 3 in 10 s); at 35 s and 45 s one sample; at 40 s a flat counter.
    assert.deepEqual(
      rates.points.map((p) => p.split("#")[0]),
      ["30000", "40000"],
    );
    assert.equal(rates.points[0].split("=")[1], floatBits(0.3));
  });

  it("adds into a sum fold's cells what folding its points would, to the bit", () => {
    const random = new Random(43);
    const rnd = () => random.next();
    for (let trial = 0; trial < 60; trial++) {
      const fn = trial % 2 === 0 ? irate : idelta;
      const grid: RateStepGrid = { start: 50_000, end: 3_000_000, interval: 15_000, range: 120_000, offset: 0 };
      const steps = Math.floor((grid.end - grid.start) / grid.interval) + 1;
      const byPoints = new SeriesFold("sum", 1, steps);
      const byCells = new SeriesFold("sum", 1, steps);
      const pts = new StepPoints(steps);
      let settled = false;
      for (let i = 0, count = 1 + Math.floor(rnd() * 6); i < count; i++) {
        const { t, v } = series(rnd, 1 + Math.floor(rnd() * 400), false);
        const dropName = rnd() < 0.8;
        const q = emptyContext(1e9);
        instantSteps(q, t, v, t.length, grid, fn === irate, pointsOnly(pts), { loaded: 0, peak: 0 });
        byPoints.add(0, pts.k, pts.v, pts.n, dropName);
        const target: RateStepTarget = { pts: null, sums: byCells.sums(), cell: 0, settled, dropName };
        const n = instantSteps(q, t, v, t.length, grid, fn === irate, target, { loaded: 0, peak: 0 });
        assert.equal(n, pts.n);
        if (n === steps && dropName) settled = true;
      }
      const a = byPoints.sums();
      const b = byCells.sums();
      for (const k of ["value", "comp", "seen", "dropName"] as const) {
        const bytes = (x: Float64Array | Uint8Array) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
        assert.deepEqual(bytes(b[k]), bytes(a[k]), `trial ${trial}: ${k}`);
      }
    }
  });

  it("a window above the sample limit throws too_many_samples", () => {
    const t = Float64Array.from({ length: 50 }, (_, i) => i * 1_000);
    const v = Float64Array.from({ length: 50 }, (_, i) => i);
    const grid: RateStepGrid = { start: 0, end: 60_000, interval: 1_000, range: 30_000, offset: 0 };
    const pts = new StepPoints(61);
    const run = (limit: number) =>
      instantSteps(emptyContext(limit, 10), t, v, 50, grid, true, pointsOnly(pts), { loaded: 0, peak: 0 });
    assert.doesNotThrow(() => run(40));
    assert.throws(() => run(31), /too many samples/);
  });
});

describe("irate and idelta through the engine", () => {
  it("skip staleness markers and give what a scan over the other samples gives, summed too", async () => {
    const random = new Random(47);
    const rnd = () => random.next();
    const store = new MemoryStore();
    const app = store.appender();
    const kept: { t: number[]; v: number[] }[] = [];
    for (let i = 0; i < 8; i++) {
      const labels = Labels.fromStrings("__name__", "x_total", "i", `${i}`);
      const { t, v } = series(rnd, 200, false);
      const own = { t: [] as number[], v: [] as number[] };
      for (let k = 0; k < t.length; k++) {
        const stale = rnd() < 0.05;
        app.append(labels, t[k], stale ? STALE_NAN : v[k]);
        if (!stale) {
          own.t.push(t[k]);
          own.v.push(v[k]);
        }
      }
      kept.push(own);
    }
    app.commit();
    const engine = new Engine();
    const range = { start: 0, end: 4_000_000, step: 15_000 };
    const grid: RateStepGrid = { start: 0, end: 4_000_000, interval: 15_000, range: 60_000, offset: 0 };
    for (const fn of [irate, idelta]) {
      const name = fn === irate ? "irate" : "idelta";
      const plain = await engine.rangeQuery(store, `${name}(x_total[1m])`, range);
      const summed = await engine.rangeQuery(store, `sum(${name}(x_total[1m]))`, range);
      assert.ok(plain.value.type === "matrix" && summed.value.type === "matrix");
      const sums = new Map<number, number>();
      const want: string[] = [];
      for (const own of kept) {
        const t = Float64Array.from(own.t);
        const got = reference(fn, t, Float64Array.from(own.v), grid, emptyContext(), sums);
        if (got.points.length > 0) want.push(got.points.map((p) => p.replace(/#\d+/, "")).join(" "));
      }
      assert.deepEqual(
        plain.value.series.map((s) => Array.from(s.t, (at, k) => `${at}=${floatBits(s.v[k])}`).join(" ")),
        want,
        name,
      );
      // The sum's values to the last few bits: the fold's compensated sum against a plain one.
      const [total] = summed.value.series;
      const times = [...sums.keys()].sort((a, b) => a - b);
      assert.deepEqual([...total.t], times, name);
      times.forEach((at, k) => {
        const want = sums.get(at) ?? 0;
        const got = total.v[k];
        assert.ok(Object.is(got, want) || Math.abs(got - want) <= 1e-9 * Math.abs(want), `${name} at ${at}`);
      });
    }
  });
});
