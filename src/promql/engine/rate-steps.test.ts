// rateSteps against extrapolatedRate called at every step on a window found by scanning the samples: equal to the
// bit, with the same points, samples loaded and peak, on series with resets, NaNs, negative values, gaps,
// irregular scrapes and long regular stretches (where the loop keeps what the window's times repeat).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { floatBits } from "../../testkit/float-bits.ts";
import { Random } from "../../testkit/random.ts";
import type { FunctionSignature } from "../parser/ast.ts";
import { SeriesFold } from "./agg-state.ts";
import { type QueryContext, WORK_PER_CHECK } from "./context.ts";
import { delta, extrapolatedRate, increase, rate } from "./functions/rate.ts";
import { RangeCall, type RangeFn } from "./functions/types.ts";
import type { CallNode } from "./plan.ts";
import { StepPoints } from "./range-call.ts";
import { type RateStepGrid, type RateStepTarget, rateSteps } from "./rate-steps.ts";
import { emptyContext } from "./test-context.ts";

const sig: FunctionSignature = {
  name: "rate",
  argTypes: ["matrix"],
  variadic: 0,
  returnType: "vector",
  experimental: false,
};
const node: CallNode = { kind: "call", func: sig, args: [], pos: { start: 0, end: 0 } };

/** A series: regular stretches at `interval` ms and irregular ones, counter-like with resets, some NaNs, and for
 * gauges negative values. */
function series(rnd: () => number, count: number): { t: Float64Array; v: Float64Array } {
  const t = new Float64Array(count);
  const v = new Float64Array(count);
  const interval = 5_000 * (1 + Math.floor(rnd() * 6));
  let at = Math.floor(rnd() * 100_000);
  let x = rnd() < 0.2 ? -Math.floor(rnd() * 1000) : Math.floor(rnd() * 1000);
  let regular = rnd() < 0.7;
  for (let i = 0; i < count; i++) {
    if (rnd() < 0.05) regular = !regular;
    at += regular ? interval : 1 + Math.floor(rnd() * 4 * interval);
    if (rnd() < 0.02) at += 10 * interval; // a gap
    const r = rnd();
    if (r < 0.03) x = Math.floor(rnd() * 10);
    else if (r < 0.5) x += Math.floor(rnd() * 50);
    else if (r < 0.6) x += rnd() * 7;
    t[i] = at;
    v[i] = r > 0.995 ? Number.NaN : x;
  }
  return { t, v };
}

interface Outcome {
  points: string[];
  loaded: number;
  peak: number;
}

/** The reference: at every step, the window (ts − offset − range, ts − offset] found by a scan, and the function
 * called through a RangeCall as the general driver calls it. */
function reference(fn: RangeFn, t: Float64Array, v: Float64Array, grid: RateStepGrid, q: QueryContext): Outcome {
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
    const mint = maxt - grid.range;
    let lo = 0;
    while (lo < t.length && t[lo] <= mint) lo++;
    let hi = lo;
    while (hi < t.length && t[hi] <= maxt) hi++;
    let drops = 0;
    for (let i = lo + 1; i < hi; i++) if (v[i] < v[i - 1]) drops++;
    peak = Math.max(peak, q.current + hi - lo);
    if (hi === lo) continue;
    loaded += hi - lo;
    call.lo = lo;
    call.hi = hi;
    call.drops = drops;
    call.ts = ts;
    call.rangeStart = ts - grid.range - grid.offset;
    call.rangeEnd = ts - grid.offset;
    if (fn(call)) points.push(`${ts}#${step}=${floatBits(call.result)}`);
  }
  return { points, loaded, peak };
}

/** A target putting a series' values into `pts`. */
function pointsOnly(pts: StepPoints): RateStepTarget {
  return { pts, sums: null, cell: 0, settled: false, dropName: false };
}

function fused(fn: RangeFn, t: Float64Array, v: Float64Array, grid: RateStepGrid, q: QueryContext): Outcome {
  const pts = new StepPoints(Math.floor((grid.end - grid.start) / grid.interval) + 1);
  const totals = { loaded: 0, peak: q.peak };
  rateSteps(q, t, v, t.length, grid, fn !== delta, fn === rate, pointsOnly(pts), totals);
  const points: string[] = [];
  for (let i = 0; i < pts.n; i++) points.push(`${pts.t[i]}#${pts.k[i]}=${floatBits(pts.v[i])}`);
  return { points, loaded: totals.loaded, peak: totals.peak };
}

describe("rateSteps", () => {
  it("gives extrapolatedRate's values, points and sample counts to the bit", () => {
    const random = new Random(29);
    const rnd = () => random.next();
    let produced = 0;
    for (let trial = 0; trial < 300; trial++) {
      const { t, v } = series(rnd, 1 + Math.floor(rnd() * 300));
      const fn = [rate, increase, delta][trial % 3];
      const interval = 1_000 * (1 + Math.floor(rnd() * 60));
      const grid: RateStepGrid = {
        start: t[0] - Math.floor(rnd() * 600_000),
        end: t[t.length - 1] + Math.floor(rnd() * 600_000),
        interval,
        range: 250 * (1 + Math.floor(rnd() * 3600)),
        offset: rnd() < 0.3 ? Math.floor(rnd() * 600_000) - 300_000 : 0,
      };
      const q = emptyContext(1e9, Math.floor(rnd() * 1000));
      const want = reference(fn, t, v, grid, q);
      assert.deepEqual(fused(fn, t, v, grid, q), want, `trial ${trial}`);
      produced += want.points.length;
    }
    assert.ok(produced > 10_000, `only ${produced} points compared`);
  });

  it("the same through extrapolatedRate's own counter and gauge modes", () => {
    // increase and delta differ only in the counter handling: a reset inside the window tells them apart.
    const t = Float64Array.from([0, 15_000, 30_000, 45_000, 60_000].map((x) => x + 1_000));
    const v = Float64Array.from([10, 20, 5, 15, 25]);
    const grid: RateStepGrid = { start: 60_000, end: 120_000, interval: 15_000, range: 60_000, offset: 0 };
    const q = emptyContext(1e9);
    const inc = fused(increase, t, v, grid, q);
    const del = fused(delta, t, v, grid, q);
    assert.deepEqual(
      inc,
      reference((c) => extrapolatedRate(c, true, false), t, v, grid, q),
    );
    assert.deepEqual(
      del,
      reference((c) => extrapolatedRate(c, false, false), t, v, grid, q),
    );
    assert.notDeepEqual(inc.points, del.points);
  });

  it("counts a reset only while both its samples are in the window, at every place and window size", () => {
    // One drop (or a NaN, or a negative first value) at each place of a short series, windows holding 0 to 4
    // samples: the reset enters with its second sample and leaves with its first, including while the window is
    // empty or holds one sample (no pair), which is where a count kept as the window moves could go wrong.
    const base = [3, 5, 8, 13, 21, 34, 55, 89];
    const t = Float64Array.from(base, (_, i) => 10_000 * (i + 1));
    for (let at = 0; at < base.length; at++) {
      for (const odd of [1, Number.NaN, -4]) {
        const v = Float64Array.from(base, (x, i) => (i === at ? odd : x));
        for (const range of [5_000, 10_000, 20_000, 30_000, 40_000]) {
          const grid: RateStepGrid = { start: 0, end: 120_000, interval: 5_000, range, offset: 0 };
          const q = emptyContext(1e9);
          for (const fn of [rate, increase]) {
            assert.deepEqual(fused(fn, t, v, grid, q), reference(fn, t, v, grid, q), `at ${at} ${odd} ${range}`);
          }
        }
      }
    }
  });

  it("a window with the same times as the last one but another count is extrapolated afresh", () => {
    // At 30 s the window (10 s, 30 s] holds 20 s and 30 s; at 40 s, (20 s, 40 s] holds 30, 35 and 40 s: the same
    // first and last sample relative to the range, one sample more, so another average interval.
    const t = Float64Array.from([0, 10_000, 20_000, 30_000, 35_000, 40_000, 50_000]);
    const v = Float64Array.from([0, 1, 2, 3, 3.5, 4, 5]);
    const grid: RateStepGrid = { start: 20_000, end: 60_000, interval: 10_000, range: 20_000, offset: 0 };
    const q = emptyContext(1e9);
    for (const fn of [rate, increase, delta]) assert.deepEqual(fused(fn, t, v, grid, q), reference(fn, t, v, grid, q));
  });

  it("adds into a sum fold's cells what folding its points would, to the bit", () => {
    const random = new Random(31);
    const rnd = () => random.next();
    for (let trial = 0; trial < 60; trial++) {
      const fn = [rate, increase, delta][trial % 3];
      const grid: RateStepGrid = { start: 50_000, end: 3_000_000, interval: 15_000, range: 120_000, offset: 0 };
      const steps = Math.floor((grid.end - grid.start) / grid.interval) + 1;
      const byPoints = new SeriesFold("sum", 1, steps);
      const byCells = new SeriesFold("sum", 1, steps);
      const pts = new StepPoints(steps);
      let settled = false;
      for (let i = 0, count = 1 + Math.floor(rnd() * 6); i < count; i++) {
        // Some series start late or end early (cells without a value), some cover every step.
        const { t, v } = series(rnd, 1 + Math.floor(rnd() * 400));
        const dropName = rnd() < 0.8;
        const q = emptyContext(1e9);
        rateSteps(q, t, v, t.length, grid, fn !== delta, fn === rate, pointsOnly(pts), { loaded: 0, peak: 0 });
        byPoints.add(0, pts.k, pts.v, pts.n, dropName);
        const target: RateStepTarget = { pts: null, sums: byCells.sums(), cell: 0, settled, dropName };
        const n = rateSteps(q, t, v, t.length, grid, fn !== delta, fn === rate, target, { loaded: 0, peak: 0 });
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

  it("checks the deadline after each step at which another WORK_PER_CHECK units of work are done", () => {
    // A unit per step and one per sample in its window, counted from the series' start: the steps after which the
    // count passes each multiple are where the check runs, before the next step.
    const t = Float64Array.from({ length: 30_000 }, (_, i) => i * 1_000 + 500);
    const v = Float64Array.from({ length: 30_000 }, (_, i) => i % 977);
    const grid: RateStepGrid = { start: 0, end: 30_000_000, interval: 700, range: 7_300, offset: 0 };
    const q = emptyContext(1e9);
    const at: number[] = [];
    const pts = new StepPoints(Math.floor(grid.end / grid.interval) + 1);
    // The values written so far, at each check (the count itself is set at the end).
    pts.t.fill(-1);
    q.check = () => at.push(pts.t.indexOf(-1));
    rateSteps(q, t, v, t.length, grid, true, true, pointsOnly(pts), { loaded: 0, peak: 0 });
    const want: number[] = [];
    let work = 0;
    let values = 0;
    for (let ts = grid.start; ts <= grid.end; ts += grid.interval) {
      let size = 0;
      for (let i = 0; i < t.length; i++) if (t[i] > ts - grid.range && t[i] <= ts) size++;
      if (size >= 2) values++;
      work += size + 1;
      if (work >= WORK_PER_CHECK) {
        work = 0;
        want.push(values);
      }
    }
    assert.ok(want.length >= 3, `${want.length} checks`);
    assert.deepEqual(at, want);
  });

  it("a window above the sample limit throws too_many_samples", () => {
    const t = Float64Array.from({ length: 50 }, (_, i) => i * 1_000);
    const v = Float64Array.from({ length: 50 }, (_, i) => i);
    const grid: RateStepGrid = { start: 0, end: 60_000, interval: 1_000, range: 30_000, offset: 0 };
    const pts = new StepPoints(61);
    // 10 held already, windows of up to 30 samples: within a limit of 40, above one of 31.
    assert.doesNotThrow(() =>
      rateSteps(emptyContext(40, 10), t, v, 50, grid, true, true, pointsOnly(pts), { loaded: 0, peak: 0 }),
    );
    assert.throws(
      () => rateSteps(emptyContext(31, 10), t, v, 50, grid, true, true, pointsOnly(pts), { loaded: 0, peak: 0 }),
      /too many samples/,
    );
  });
});
