import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { FunctionSignature } from "../../parser/ast.ts";
import type { CallNode } from "../plan.ts";
import { emptyContext } from "../test-context.ts";
import { changes, delta, deriv, idelta, increase, irate, predictLinear, rate, resets } from "./rate.ts";
import { RangeCall, type RangeFn } from "./types.ts";

const sig: FunctionSignature = {
  name: "rate",
  argTypes: ["matrix"],
  variadic: 0,
  returnType: "vector",
  experimental: false,
};
const node: CallNode = { kind: "call", func: sig, args: [], pos: { start: 0, end: 0 } };
const q = emptyContext();

interface Case {
  name: string;
  fn: RangeFn;
  /** [t (s), v] samples in the window. */
  points: [number, number][];
  /** Evaluation time and range, s. */
  ts: number;
  range: number;
  scalars?: number[];
  anchored?: boolean;
  smoothed?: boolean;
  want: number | null;
}

function run(c: Case): number | null {
  const call = new RangeCall(node, q);
  call.t = Float64Array.from(c.points.map((p) => p[0] * 1000));
  call.v = Float64Array.from(c.points.map((p) => p[1]));
  call.lo = 0;
  call.hi = c.points.length;
  call.ts = c.ts * 1000;
  call.range = c.range * 1000;
  call.rangeStart = call.ts - call.range;
  call.rangeEnd = call.ts;
  call.anchored = c.anchored ?? false;
  call.smoothed = c.smoothed ?? false;
  call.scalars = Float64Array.from(c.scalars ?? []);
  return c.fn(call) ? call.result : null;
}

// Samples every 60 s, counter rising by 10 each.
const regular: [number, number][] = [
  [60, 10],
  [120, 20],
  [180, 30],
  [240, 40],
  [300, 50],
];

const cases: Case[] = [
  // The samples cover (0, 300] up to one interval from the start: extrapolated to the range start, but not below
  // zero: the counter would hit zero at t=0, which is exactly the range start.
  { name: "rate, regular counter", fn: rate, points: regular, ts: 300, range: 300, want: 50 / 300 },
  { name: "increase, regular counter", fn: increase, points: regular, ts: 300, range: 300, want: 50 },
  // Counter starting high: extrapolation to the start by a full interval (60 s ≤ 1.1 × average).
  {
    name: "increase extrapolates to both boundaries",
    fn: increase,
    points: [
      [90, 1000],
      [150, 1010],
      [210, 1020],
      [270, 1030],
    ],
    ts: 300,
    range: 300,
    // sampled 180 s, +60 (start: 90 s > 66 s, so half an interval: 30 s) +30 at the end: 30 × 240/180 = 40.
    want: 40,
  },
  {
    name: "increase with a counter reset",
    fn: increase,
    points: [
      [60, 10],
      [120, 20],
      [180, 5],
      [240, 15],
      [300, 25],
    ],
    ts: 300,
    range: 300,
    // 25 - 10 + 20 (reset) = 35 over 240 s; zero point 240 × 10/35 ≈ 68.6 s > 60 s → extrapolate 60 s.
    want: (35 * 300) / 240,
  },
  {
    name: "delta of a gauge may go negative",
    fn: delta,
    points: [
      [0, 5],
      [60, 3],
      [120, 1],
    ],
    ts: 120,
    range: 120,
    want: -4,
  },
  { name: "rate needs two samples", fn: rate, points: [[60, 1]], ts: 120, range: 120, want: null },
  { name: "irate uses the last two samples", fn: irate, points: regular, ts: 300, range: 300, want: 10 / 60 },
  {
    name: "irate after a reset",
    fn: irate,
    points: [
      [0, 10],
      [60, 3],
    ],
    ts: 60,
    range: 60,
    want: 3 / 60,
  },
  {
    name: "idelta",
    fn: idelta,
    points: [
      [0, 10],
      [60, 3],
    ],
    ts: 60,
    range: 60,
    want: -7,
  },
  {
    name: "resets",
    fn: resets,
    points: [
      [0, 3],
      [1, 1],
      [2, 4],
      [3, 2],
    ],
    ts: 3,
    range: 4,
    want: 2,
  },
  {
    name: "changes ignores NaN to NaN",
    fn: changes,
    points: [
      [0, 1],
      [1, Number.NaN],
      [2, Number.NaN],
      [3, 1],
    ],
    ts: 3,
    range: 4,
    want: 2,
  },
  { name: "deriv", fn: deriv, points: regular, ts: 300, range: 300, want: 10 / 60 },
  {
    name: "predict_linear one hour ahead",
    fn: predictLinear,
    points: regular,
    ts: 300,
    range: 300,
    scalars: [3600],
    want: 650,
  },
  // Anchored: the sample at or before the range start is the left boundary.
  {
    name: "anchored increase",
    fn: increase,
    anchored: true,
    points: [
      [0, 5],
      [60, 10],
      [120, 30],
    ],
    ts: 120,
    range: 60,
    want: 20,
  },
  // Smoothed: both boundaries interpolated.
  {
    name: "smoothed delta",
    fn: delta,
    smoothed: true,
    points: [
      [0, 0],
      [100, 100],
      [200, 200],
    ],
    ts: 150,
    range: 100,
    want: 100,
  },
];

describe("range functions", () => {
  for (const c of cases) {
    it(c.name, () => {
      const got = run(c);
      if (c.want === null) assert.equal(got, null);
      else {
        assert.ok(got !== null, "expected a value");
        assert.ok(Math.abs(got - c.want) < 1e-9, `got ${got}, want ${c.want}`);
      }
    });
  }
});
