// Per-sample math on instant vectors (abs, ln, the trigonometric functions, clamp, round ...), sorting by value,
// and the scalar-valued helpers (scalar, vector, pi, min_of, max_of).

import type { Labels } from "../../../model/labels.ts";
import type { Collector } from "../collector.ts";
import type { Evaluator, StepBody } from "../evaluator.ts";
import { goSort, type Sortable } from "../gosort.ts";
import { dropMetadata, emptyLabels } from "../labelsets.ts";
import { goMax, goMin } from "../quantile.ts";
import type { Matrix, StepVector } from "../value.ts";
import type { FunctionImpl, MapFn, VectorFn } from "./types.ts";

/** Output labels of a sample whose name is to be dropped: now, or at the end with delayed name removal. */
export function droppedName(ev: Evaluator, labels: Labels): Labels {
  return ev.q.settings.enableDelayedNameRemoval ? labels : dropMetadata(labels);
}

/** A function with a scalar result: `fn` gives the value at a step, or null for none. */
export function scalarResult(fn: (inputs: readonly (StepVector | null)[], ts: number) => number | null): VectorFn {
  return () => {
    let slot = -1;
    const body: StepBody = (ts, inputs, out) => {
      const v = fn(inputs, ts);
      if (v === null) return;
      if (slot < 0) slot = out.slot(emptyLabels(), false);
      out.add(slot, ts, v);
    };
    return body;
  };
}

/** A per-sample function. */
export const map = (fn: MapFn, skip?: (params: readonly number[]) => boolean): FunctionImpl => ({
  kind: "map",
  fn,
  skip,
});
const simple = (fn: (v: number) => number): FunctionImpl => map((v) => fn(v));

/** The per-sample math functions by name. */
export const MATH_FUNCTIONS: Record<string, FunctionImpl> = {
  abs: simple(Math.abs),
  ceil: simple(Math.ceil),
  floor: simple(Math.floor),
  exp: simple(Math.exp),
  sqrt: simple(Math.sqrt),
  ln: simple(Math.log),
  log2: simple(Math.log2),
  log10: simple(Math.log10),
  sin: simple(Math.sin),
  cos: simple(Math.cos),
  tan: simple(Math.tan),
  asin: simple(Math.asin),
  acos: simple(Math.acos),
  atan: simple(Math.atan),
  sinh: simple(Math.sinh),
  cosh: simple(Math.cosh),
  tanh: simple(Math.tanh),
  asinh: simple(Math.asinh),
  acosh: simple(Math.acosh),
  atanh: simple(Math.atanh),
  rad: simple((v) => (v * Math.PI) / 180),
  deg: simple((v) => (v * 180) / Math.PI),
  sgn: simple((v) => (v < 0 ? -1 : v > 0 ? 1 : v)),
  // clamp(v, min, max), clamp_min(v, min), clamp_max(v, max): nothing at a step where max < min.
  clamp: map(
    (v, p) => goMax(p[0], goMin(p[1], v)),
    (p) => p[1] < p[0],
  ),
  clamp_min: map((v, p) => goMax(p[0], goMin(Number.POSITIVE_INFINITY, v))),
  clamp_max: map((v, p) => goMax(Number.NEGATIVE_INFINITY, goMin(p[0], v))),
  // round(v, to_nearest=1): half up to a multiple of to_nearest.
  round: map((v, p) => {
    const inverse = 1 / (p.length > 0 ? p[0] : 1);
    return Math.floor(v * inverse + 0.5) / inverse;
  }),
};

// The value of scalar argument `i` at this step.
function arg(inputs: readonly (StepVector | null)[], i: number): number {
  const v = inputs[i];
  return v !== null && v !== undefined && v.n > 0 ? v.f[0] : Number.NaN;
}

/** scalar(v): the value of the single float sample, else NaN (histogram samples do not count). */
export const scalar: VectorFn = scalarResult((inputs) => {
  const v = inputs[0]!;
  if (!v.anyH) return v.n === 1 ? v.f[0] : Number.NaN;
  let found = -1;
  for (let i = 0; i < v.n; i++) {
    if (v.h[i] !== undefined) continue;
    if (found >= 0) return Number.NaN;
    found = i;
  }
  return found < 0 ? Number.NaN : v.f[found];
});

/** vector(s): the scalar as a sample without labels. */
export const vector: VectorFn = () => {
  let slot = -1;
  return (ts, inputs, out) => {
    if (slot < 0) slot = out.slot(emptyLabels(), false);
    out.add(slot, ts, arg(inputs, 0));
  };
};

/** pi(). */
export const pi: VectorFn = scalarResult(() => Math.PI);
/** max_of(a, b) over scalars. */
export const maxOf: VectorFn = scalarResult((inputs) => goMax(arg(inputs, 0), arg(inputs, 1)));
/** min_of(a, b) over scalars. */
export const minOf: VectorFn = scalarResult((inputs) => goMin(arg(inputs, 0), arg(inputs, 1)));

// Emits the samples of `vec` in the order of `order` (indices into vec), keeping labels and marks.
function emitOrdered(
  ev: Evaluator,
  args: readonly (Matrix | null)[],
  vec: StepVector,
  order: number[],
  slots: Int32Array,
  ts: number,
  out: Collector,
): void {
  const m = args[0]!;
  for (const i of order) {
    const id = vec.ids[i];
    let slot = slots[id];
    if (slot < 0 || ev.instant) {
      slot = out.slot(m[id].labels, m[id].dropName);
      slots[id] = slot;
    }
    const h = vec.histAt(i);
    if (h !== undefined) out.addH(slot, ts, h);
    else out.add(slot, ts, vec.f[i]);
  }
}

/** A vector function that reorders the samples of argument 0 with `sort(order, vec, setup)`; with `floatsOnly`
 * histogram samples are left out (sort and sort_desc order by value). */
export function reorder(
  sort: (order: number[], vec: StepVector, args: readonly (Matrix | null)[]) => void,
  floatsOnly = false,
): VectorFn {
  return ({ ev, args }) => {
    const slots = new Int32Array(args[0]!.length).fill(-1);
    return (ts, inputs, out) => {
      const vec = inputs[0]!;
      let order = Array.from({ length: vec.n }, (_, i) => i);
      if (floatsOnly && vec.anyH) order = order.filter((i) => vec.h[i] === undefined);
      sort(order, vec, args);
      emitOrdered(ev, args, vec, order, slots, ts, out);
    };
  };
}

function byValue(order: number[], vec: StepVector, less: (a: number, b: number) => boolean): void {
  const s: Sortable = {
    len: () => order.length,
    less: (i, j) => less(vec.f[order[i]], vec.f[order[j]]),
    swap: (i, j) => {
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    },
  };
  goSort(s);
}

/** sort(v): ascending by value, NaN last. */
export const sort: VectorFn = reorder((order, vec) => byValue(order, vec, (a, b) => Number.isNaN(b) || a < b), true);
/** sort_desc(v): descending by value, NaN last. */
export const sortDesc: VectorFn = reorder(
  (order, vec) => byValue(order, vec, (a, b) => Number.isNaN(b) || a > b),
  true,
);
