// SeriesFold's cells are reused from fold to fold: a fold started after another finished takes that fold's buffer,
// zeroed, and gives the same series as one over fresh cells, however its groups grow.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Labels } from "../../model/labels.ts";
import { Random } from "../../testkit/random.ts";
import { SeriesFold } from "./agg-state.ts";
import type { Evaluator } from "./evaluator.ts";
import { emptyContext } from "./test-context.ts";
import type { Matrix } from "./value.ts";

const STEPS = 241;
const START = 1_700_000_000_000;
const INTERVAL = 15_000;

/** What SeriesFold.finish reads of its evaluator: the sample count and the step grid. */
function evaluator(): Evaluator {
  return { q: emptyContext(), start: START, interval: INTERVAL } as unknown as Evaluator;
}

function groupLabels(groups: number): Labels[] {
  return Array.from({ length: groups }, (_, g) => Labels.fromStrings("g", String(g)));
}

/** Feeds `series` random series over `groups` groups (every other step of some, all of others) into `fold`. */
function feed(fold: SeriesFold, rnd: Random, groups: number, series: number, grow: boolean): void {
  const ks = new Int32Array(STEPS);
  const vs = new Float64Array(STEPS);
  for (let s = 0; s < series; s++) {
    const g = s % groups;
    if (grow) fold.reserve(g + 1);
    const every = 1 + (s % 3);
    let n = 0;
    for (let k = s % 5; k < STEPS; k += every) {
      ks[n] = k;
      vs[n++] = rnd.next() * 1000;
    }
    fold.add(g, ks, vs, n, s % 2 === 0);
  }
}

function points(m: Matrix): string {
  return m
    .map((s) => `${s.labels} ${s.dropName} ${Array.from(s.t.subarray(0, s.n))} ${Array.from(s.v.subarray(0, s.n))}`)
    .join("\n");
}

describe("SeriesFold's reused cells", () => {
  it("a fold after a finished one takes its buffer zeroed and gives what fresh cells give", () => {
    for (const op of ["sum", "avg", "max", "count"] as const) {
      const first = new SeriesFold(op, 0, STEPS);
      feed(first, new Random(1), 16, 48, true);
      const firstCells = first.sums().value.buffer;
      first.finish(evaluator(), groupLabels(16));
      // Fewer groups and other steps than the first fold: any cell it left behind would show.
      const second = new SeriesFold(op, 0, STEPS);
      assert.equal(second.sums().value.buffer, firstCells, `${op}: the finished fold's buffer is taken`);
      feed(second, new Random(2), 3, 7, true);
      const fresh = new SeriesFold(op, 3, STEPS);
      feed(fresh, new Random(2), 3, 7, false);
      assert.equal(
        points(second.finish(evaluator(), groupLabels(3))),
        points(fresh.finish(evaluator(), groupLabels(3))),
      );
    }
  });

  it("a fold that outgrows its reused buffer keeps every cell it held", () => {
    const small = new SeriesFold("sum", 2, STEPS);
    feed(small, new Random(3), 2, 4, false);
    small.finish(evaluator(), groupLabels(2));
    const growing = new SeriesFold("sum", 0, STEPS);
    feed(growing, new Random(4), 40, 120, true);
    const fresh = new SeriesFold("sum", 40, STEPS);
    feed(fresh, new Random(4), 40, 120, false);
    assert.equal(
      points(growing.finish(evaluator(), groupLabels(40))),
      points(fresh.finish(evaluator(), groupLabels(40))),
    );
  });
});
