import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Evaluator } from "./evaluator.ts";
import type { SubqueryNode } from "./plan.ts";
import { subqueryTimeRange } from "./subquery.ts";
import { emptyContext } from "./test-context.ts";

const q = emptyContext();

function subquery(range: number, step: number, offset = 0): SubqueryNode {
  return {
    kind: "subquery",
    expr: { kind: "number", value: 1, pos: { start: 0, end: 0 } },
    range,
    step,
    originalOffset: offset,
    offset,
    timestamp: null,
    pos: { start: 0, end: 0 },
  };
}

describe("subquery step alignment", () => {
  const cases: { name: string; ev: [number, number, number]; sq: SubqueryNode; want: [number, number, number] }[] = [
    // Instant query at 10m05s, [5m:1m]: steps on whole minutes after 5m05s.
    { name: "instant", ev: [605_000, 605_000, 1], sq: subquery(300_000, 60_000), want: [360_000, 605_000, 60_000] },
    // A step exactly on the lower bound is excluded (left-open range).
    {
      name: "aligned start",
      ev: [600_000, 600_000, 1],
      sq: subquery(300_000, 60_000),
      want: [360_000, 600_000, 60_000],
    },
    // No step given: the engine's default.
    { name: "default step", ev: [600_000, 600_000, 1], sq: subquery(600_000, 0), want: [60_000, 600_000, 60_000] },
    // Offset moves the whole grid.
    {
      name: "offset",
      ev: [600_000, 600_000, 1],
      sq: subquery(300_000, 60_000, 120_000),
      want: [240_000, 480_000, 60_000],
    },
    // A range query's end is cut to its last step.
    { name: "range end", ev: [0, 95_000, 30_000], sq: subquery(60_000, 10_000), want: [-50_000, 90_000, 10_000] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const ev = new Evaluator(q, ...c.ev);
      const r = subqueryTimeRange(ev, c.sq);
      assert.deepEqual([r.start, r.end, r.interval], c.want);
    });
  }
});
