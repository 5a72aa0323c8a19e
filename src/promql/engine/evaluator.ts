// The evaluator: evaluates plan nodes over a fixed grid of steps (start, start+interval, ... <= end; an instant
// query is one step) into matrices, as Prometheus's evaluator does. Node kinds with their own machinery live in
// binary.ts, aggregate.ts and calls.ts (subquery.ts computes a subquery's grid); this file holds the dispatch, the
// step loop they share, and the child evaluators of subqueries and step-invariant parts.

import { ContrailError } from "../../model/errors.ts";
import type { Histogram } from "../../model/histogram.ts";
import { mulHistogram } from "../../model/histogram-arith.ts";
import { evalAggregate } from "./aggregate.ts";
import { evalBinary } from "./binary.ts";
import { gridSteps } from "./bounds.ts";
import { evalCall } from "./calls.ts";
import { Collector } from "./collector.ts";
import type { QueryContext } from "./context.ts";
import { evalError } from "./context.ts";
import { dropMetadata, emptyLabels, mergeSameLabelset } from "./labelsets.ts";
import { type PlanNode, type SubqueryNode, setOffsetsForAt } from "./plan.ts";
import {
  evalMatrixSelector,
  evalSmoothedSelector,
  evalVectorSelector,
  selectSeries,
  storageSources,
} from "./selectors.ts";
import { subqueryTimeRange } from "./subquery.ts";
import { type Matrix, MatrixCursor, Series, StepVector, totalSamples } from "./value.ts";

/** Called at each step with the inputs' points at that step; adds its output to `out`. */
export type StepBody = (ts: number, inputs: readonly (StepVector | null)[], out: Collector) => void;

/** Evaluates plan nodes over one grid of steps. Cheap to create: subqueries and step-invariant parts make their own. */
export class Evaluator {
  readonly q: QueryContext;
  // The numeric fields start out as numbers, not undefined, so V8 stores them as doubles: loops stepping from
  // `start` by `interval` then keep their timestamps unboxed instead of allocating one HeapNumber per step.
  /** First and last step, ms. */
  readonly start: number = 0;
  readonly end: number = 0;
  /** Step, ms (1 for an instant evaluation). */
  readonly interval: number = 0;
  /** Number of steps: 0 when end < start, never more than the query's sample limit. */
  readonly steps: number = 0;

  /** An evaluator over start, start+interval, ... <= end (ms). Throws bad_data for times the engine cannot
   * evaluate at and too_many_samples for a grid of more steps than the sample limit (see gridSteps). */
  constructor(q: QueryContext, start: number, end: number, interval: number) {
    this.q = q;
    this.start = start;
    this.end = end;
    this.interval = interval;
    this.steps = gridSteps(start, end, interval, q.settings.maxSamples);
  }

  /** True when there is a single step, which keeps result order (Prometheus's instant-query shortcut). */
  get instant(): boolean {
    return this.start === this.end;
  }

  /** Number of steps. */
  numSteps(): number {
    return this.steps;
  }

  /** Index of step `ts`. */
  stepIndex(ts: number): number {
    return Math.round((ts - this.start) / this.interval);
  }

  /** Evaluates a non-string node. */
  eval(n: PlanNode): Matrix {
    this.q.check();
    if (this.end < this.start) return [];
    switch (n.kind) {
      case "aggregate":
        return evalAggregate(this, n);
      case "call":
        return evalCall(this, n);
      case "binary":
        return evalBinary(this, n);
      case "unary": {
        const m = this.eval(n.expr);
        if (n.op === "-") {
          for (const s of m) {
            s.dropName = true;
            for (let i = 0; i < s.n; i++) s.v[i] = -s.v[i];
            const hs = s.h;
            if (hs !== null)
              for (let i = 0; i < s.n; i++) if (hs[i] !== undefined) hs[i] = mulHistogram(hs[i] as Histogram, -1);
          }
          if (!this.q.settings.enableDelayedNameRemoval) {
            for (const s of m) s.labels = dropMetadata(s.labels);
            return mergeSameLabelset(m);
          }
        }
        return m;
      }
      case "number": {
        this.q.add(this.steps);
        const s = new Series(emptyLabels(), false, this.steps);
        for (let ts = this.start; ts <= this.end; ts += this.interval) {
          this.q.tick();
          s.push(ts, n.value);
        }
        return [s];
      }
      case "string":
        throw new ContrailError("internal", "string literal evaluated as a vector");
      case "selector":
        if (n.smoothed) return evalSmoothedSelector(this, n);
        return evalVectorSelector(this, storageSources(selectSeries(this.q, n)), n.offset, {
          statsOnly: n.statsOnly,
        });
      case "matrix":
        if (!this.instant) evalError("cannot do range evaluation of matrix selector");
        return evalMatrixSelector(this, n);
      case "subquery":
        return this.evalSubquery(n);
      case "stepInvariant":
        return this.evalStepInvariant(n.expr);
    }
  }

  /** Evaluates the inner expression of subquery `n` by a child evaluator on the subquery's own grid. */
  evalSubquery(n: SubqueryNode): Matrix {
    const { start, end, interval } = subqueryTimeRange(this, n);
    const child = new Evaluator(this.q, start, end, interval);
    if (start !== this.start) setOffsetsForAt(start, n.expr);
    return child.eval(n.expr);
  }

  private evalStepInvariant(expr: PlanNode): Matrix {
    const child = new Evaluator(this.q, this.start, this.start, this.interval);
    const m = child.eval(expr);
    if (expr.kind === "matrix" || expr.kind === "subquery") return m;
    // Every series gets a point at every further step: account for them before allocating.
    this.q.add(totalSamples(m) * (this.steps - 1));
    for (const s of m) {
      if (s.n !== 1) throw new ContrailError("internal", "unexpected number of samples");
      const v = s.v[0];
      const h = s.histAt(0);
      s.grow(this.steps);
      for (let ts = this.start + this.interval; ts <= this.end; ts += this.interval) {
        this.q.tick();
        if (h !== undefined) s.pushH(ts, h);
        else s.push(ts, v);
      }
    }
    return m;
  }

  /**
   * Evaluates `nodes` (null entries and string nodes give null inputs), then runs the body returned by `setup` at
   * every step with the points of each input at that step. Samples are accounted as Prometheus's rangeEval does.
   */
  rangeEval(nodes: readonly (PlanNode | null)[], setup: (inputs: readonly (Matrix | null)[]) => StepBody): Matrix {
    const original = this.q.current;
    const mats = nodes.map((n) => (n === null || n.kind === "string" ? null : this.eval(n)));
    return this.stepLoop(mats, setup, original);
  }

  /** The step loop of rangeEval over already evaluated inputs; `original` is the sample count before them. */
  stepLoop(
    mats: readonly (Matrix | null)[],
    setup: (inputs: readonly (Matrix | null)[]) => StepBody,
    original: number,
  ): Matrix {
    const q = this.q;
    const cursors = mats.map((m) => (m === null ? null : new MatrixCursor(m)));
    const vecs = mats.map((m) => (m === null ? null : new StepVector(m.length)));
    const body = setup(mats);
    const out = new Collector(this.instant, this.numSteps());
    let held = q.current;
    // A step visits every input series.
    let width = 1;
    for (const m of mats) width += m === null ? 0 : m.length;
    for (let ts = this.start; ts <= this.end; ts += this.interval) {
      q.tick(width);
      q.set(held);
      for (let i = 0; i < cursors.length; i++) {
        const c = cursors[i];
        if (c === null) continue;
        c.gather(ts, vecs[i]!);
        q.add(vecs[i]!.n);
      }
      const before = out.samples;
      body(ts, vecs, out);
      const produced = out.samples - before;
      q.add(produced);
      held += produced;
    }
    const res = out.result();
    q.set(original + totalSamples(res));
    return res;
  }
}
