// The calling conventions of PromQL function implementations.
//
// A range function sees one series' window at one step through a reused RangeCall (no allocation per call) and
// reports whether it produced a value. A vector function is set up once per call node with the evaluated argument
// matrices and then runs at every step on the arguments' points, adding its output to a collector.

import type { Histogram } from "../../../model/histogram.ts";
import type { Labels } from "../../../model/labels.ts";
import type { Annotation } from "../annotations.ts";
import type { QueryContext } from "../context.ts";
import type { Evaluator, StepBody } from "../evaluator.ts";
import type { CallNode } from "../plan.ts";
import type { Matrix } from "../value.ts";

/**
 * One call of a range function: the window `[lo, hi)` of `t`/`v` and the step it belongs to. Reused. The
 * per-step times and the result live in a Float64Array behind accessors: V8 may keep a double object field boxed,
 * and writing one then allocates a HeapNumber per step, while a typed-array slot never does.
 */
export class RangeCall {
  t: Float64Array = new Float64Array(0);
  v: Float64Array = new Float64Array(0);
  lo = 0;
  hi = 0;
  /** Number of samples loaded in `t`/`v` (the series' samples up to the last step, past the window too). */
  n = 0;
  /** The histograms of the loaded samples that are ones (their `v` is 0); null when the series has floats only. */
  h: readonly (Histogram | undefined)[] | null = null;
  /** A histogram result: set by a function that produced a histogram rather than `result`. */
  resultH: Histogram | undefined = undefined;
  /** Number of decreasing value pairs in the window, or -1 when not known. */
  drops = -1;
  /** Range of the selector, ms. */
  range = 0;
  anchored = false;
  smoothed = false;
  /** Values of the call's scalar arguments at this step, in argument order (the range argument left out). */
  scalars: Float64Array = new Float64Array(0);
  /** Labels of the series being processed. */
  labels!: Labels;
  readonly node: CallNode;
  readonly q: QueryContext;
  /** Backing store of `ts`, `rangeStart`, `rangeEnd` and `result` (in that order), for drivers that must not
   * pass doubles through calls. */
  readonly f = new Float64Array(4);

  constructor(node: CallNode, q: QueryContext) {
    this.node = node;
    this.q = q;
  }

  /** Evaluation time of the step, ms. */
  get ts(): number {
    return this.f[0];
  }

  set ts(x: number) {
    this.f[0] = x;
  }

  /** The selected range (rangeStart, rangeEnd], ms: `ts - offset - range` and `ts - offset`. */
  get rangeStart(): number {
    return this.f[1];
  }

  set rangeStart(x: number) {
    this.f[1] = x;
  }

  get rangeEnd(): number {
    return this.f[2];
  }

  set rangeEnd(x: number) {
    this.f[2] = x;
  }

  /** Output value, valid when the function returned true. */
  get result(): number {
    return this.f[3];
  }

  set result(x: number) {
    this.f[3] = x;
  }

  /** Records an annotation of the query. */
  annotate(a: Annotation): void {
    this.q.annotations.add(a);
  }
}

/** A function over a range vector: true when it produced `call.result`. */
export type RangeFn = (call: RangeCall) => boolean;

/** What a vector function's setup gets: the evaluator, the call and the argument values (null for strings). */
export interface VectorSetup {
  readonly ev: Evaluator;
  readonly node: CallNode;
  readonly args: readonly (Matrix | null)[];
}

/** Sets up a vector function for one call; the returned body runs at every step. */
export type VectorFn = (setup: VectorSetup) => StepBody;

/**
 * A function mapping each sample of argument 0 to one value, given the other (scalar) arguments' values at the
 * sample's step (`params[i]` is argument i + 1) and the step time. The output keeps the labels, drops the name.
 */
export type MapFn = (v: number, params: readonly number[], ts: number) => number;

/** A function evaluated over all steps at once from its call (the MetricsQL functions). */
export type WholeFn = (ev: Evaluator, node: CallNode) => Matrix;

/** A function implementation. `special` ones (label_replace, label_join, info) have their own evaluation. */
export type FunctionImpl =
  | { readonly kind: "range"; readonly fn: RangeFn }
  | { readonly kind: "vector"; readonly fn: VectorFn }
  | {
      readonly kind: "map";
      readonly fn: MapFn;
      /** True for parameters at which the step has no output at all (clamp with max < min). */
      readonly skip?: (params: readonly number[]) => boolean;
      /** The implementation when called without arguments (the calendar functions use the evaluation time). */
      readonly noArgs?: VectorFn;
    }
  | { readonly kind: "whole"; readonly fn: WholeFn }
  | { readonly kind: "special" };
