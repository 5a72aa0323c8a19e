// Small jobs evaluated on the main thread instead of being handed to a query worker: for a dashboard panel over a
// few dozen series the hand-over (the job's structured clone, the worker's wake-up, the answer posted back) costs
// more than the evaluation itself. A job runs inline only when its shape (steps, syntax nodes, functions) allows and
// a static estimate of its work over its selections, listed with their sample counts before anything is read
// (preselect.ts), is small; the engine then reads those very series. Its evaluation also carries a hard time
// bound, past which it is abandoned and handed to a worker as any other job. The evaluation and rendering are the
// worker's own (run-query.ts), so answers, stats, annotations and errors are the same either way.

import { ContrailError, isContrailError } from "../../model/errors.ts";
import type { Engine } from "../../promql/engine/index.ts";
import { type Expr, walk } from "../../promql/parser/ast.ts";
import type { Queryable, SelectHints } from "../../storage/interface.ts";
import type { PreselectBounds } from "./preselect.ts";
import type { QuerySpec } from "./protocol.ts";
import { evaluateSpec, type JobWatch, renderResult } from "./run-query.ts";

/** Most syntax tree nodes of a query evaluated inline. */
export const INLINE_MAX_NODES = 24;
/** Most steps of a query evaluated inline (a 1 h range at 15 s has 241). */
export const INLINE_MAX_STEPS = 1500;
/** Most samples a query evaluated inline may read, decoded and in chunks (by their chunks' sample counts). */
export const INLINE_MAX_SAMPLES = 50_000;
/**
 * Most units of estimated work of a query evaluated inline (see `workEstimate`). A unit (a sample decoded, a series
 * visited at a step, a sample of a window) measured 3–11 ns on the `query` bench's dashboard queries, so this is
 * 1–4 ms of the main thread, within INLINE_MAX_MS: panels over 50 and 130 series of an hour at 15 s (120k and 311k
 * units) are in. The hand-over to a worker costs about what the larger of them takes to evaluate here.
 */
export const INLINE_MAX_WORK = 350_000;
/**
 * Wall time an inline evaluation may take, rendering included, before it is abandoned and the job handed to a
 * worker, ms: a safety net for a job the estimate misjudged, with room for the preemption of a busy machine. The
 * engine looks at its stop flag at least every WORK_PER_CHECK units, so the main thread is held at most about this
 * long plus one such stretch.
 */
export const INLINE_MAX_MS = 4;

/**
 * Functions evaluated inline: those whose cost is bounded by the samples of their windows and the series at each
 * step. Others (regular expressions over labels, sorting, label-making, MetricsQL's) go to a worker.
 */
const INLINE_FUNCTIONS: ReadonlySet<string> = new Set([
  "rate",
  "irate",
  "increase",
  "delta",
  "idelta",
  "deriv",
  "resets",
  "changes",
  "sum_over_time",
  "avg_over_time",
  "min_over_time",
  "max_over_time",
  "count_over_time",
  "last_over_time",
  "present_over_time",
  "abs",
  "ceil",
  "floor",
  "round",
  "clamp",
  "clamp_min",
  "clamp_max",
  "exp",
  "ln",
  "log2",
  "log10",
  "sqrt",
  "sgn",
  "scalar",
  "vector",
  "time",
  "timestamp",
  "histogram_quantile",
]);

/** Aggregations evaluated inline: one pass over the series at each step, no sorting, no new labels. */
const INLINE_AGGREGATIONS: ReadonlySet<string> = new Set(["sum", "avg", "min", "max", "count", "group"]);

/** Steps of the spec's grid: 1 for an instant query. */
function steps(spec: QuerySpec): number {
  const at = spec.at;
  return at.kind === "instant" ? 1 : Math.floor((at.end - at.start) / at.step) + 1;
}

/** Nodes of `expr`, or Infinity when it holds a node never evaluated inline (a subquery, a function not listed). */
function inlineNodes(expr: Expr): number {
  let nodes = 0;
  walk(expr, (n) => {
    nodes++;
    if (n.kind === "SubqueryExpr") nodes = Number.POSITIVE_INFINITY;
    else if (n.kind === "Call" && (!INLINE_FUNCTIONS.has(n.func.name) || n.grouping !== undefined)) {
      nodes = Number.POSITIVE_INFINITY;
    } else if (n.kind === "AggregateExpr" && !INLINE_AGGREGATIONS.has(n.op)) nodes = Number.POSITIVE_INFINITY;
    else if (n.kind === "MatrixSelector" && n.implicitWindow === true) nodes = Number.POSITIVE_INFINITY;
  });
  return nodes;
}

/** The size of one selection: its series and their samples, and the hints it was made with. */
export interface SelectionSize {
  readonly series: number;
  readonly samples: number;
  readonly hints: SelectHints;
}

/**
 * Estimated work of evaluating a query of `nodes` syntax nodes over `stepCount` steps on selections of `sizes`, in
 * units (see INLINE_MAX_WORK): every sample decoded once, every node evaluated at every step and visiting every
 * selected series there, and each step's windows holding their share of a selection's samples (the window and a
 * step over the selection's range, for samples spread evenly).
 */
export function workEstimate(sizes: readonly SelectionSize[], nodes: number, stepCount: number): number {
  let samples = 0;
  let series = 0;
  let windows = 0;
  for (const size of sizes) {
    const hints = size.hints;
    const span = Math.max(1, hints.end - hints.start + 1);
    const share = Math.min(1, ((hints.range ?? 0) + (hints.step ?? 0)) / span);
    samples += size.samples;
    series += size.series;
    windows += size.samples * share;
  }
  return samples + stepCount * ((series + 1) * nodes + windows);
}

/** What makes a job a candidate to evaluate here before its data is looked at: its steps and syntax nodes. */
export interface InlineShape {
  readonly steps: number;
  readonly nodes: number;
}

/** The steps and nodes of the job of `spec` over `expr`, or null when its shape alone rules out evaluating it here. */
export function inlineShape(spec: QuerySpec, expr: Expr): InlineShape | null {
  const stepCount = steps(spec);
  if (stepCount > INLINE_MAX_STEPS) return null;
  const nodes = inlineNodes(expr);
  return nodes > INLINE_MAX_NODES ? null : { steps: stepCount, nodes };
}

/**
 * Most series and samples worth listing for a job of `shape` whose sample limit is `maxSamples`: past either, its
 * estimate is past INLINE_MAX_WORK (each series costs a visit per node and step) or its samples past the limits.
 */
export function inlineBounds(shape: InlineShape, maxSamples: number): PreselectBounds {
  return {
    series: Math.floor(INLINE_MAX_WORK / Math.max(1, shape.steps * shape.nodes)),
    samples: Math.min(INLINE_MAX_SAMPLES, maxSamples),
  };
}

/** True when selections of `sizes` make the job of `shape` small enough to evaluate on the main thread. */
export function inlineWorthy(shape: InlineShape, sizes: readonly SelectionSize[], maxSamples: number): boolean {
  let samples = 0;
  for (const s of sizes) samples += s.samples;
  if (samples > Math.min(INLINE_MAX_SAMPLES, maxSamples)) return false;
  return workEstimate(sizes, shape.nodes, shape.steps) <= INLINE_MAX_WORK;
}

/** How an inline evaluation ended: the answer's chunks, the job's error, or abandoned (for a worker to run). */
export type InlineOutcome =
  | { readonly kind: "body"; readonly body: Uint8Array[] }
  | { readonly kind: "error"; readonly error: ContrailError }
  | { readonly kind: "abandoned" };

/**
 * Evaluates the job `spec` on this thread over `data`, rendered as the worker renders it. `remainingMs` is what is
 * left of its timeout, `queueSeconds` its wait (s). Abandoned when it takes longer than `maxMs` (ms, default
 * INLINE_MAX_MS), for a worker to run it from the start.
 */
export async function evaluateInline(
  engine: Engine,
  spec: QuerySpec,
  data: Queryable,
  times: { readonly remainingMs: number; readonly queueSeconds: number; readonly maxMs?: number },
): Promise<InlineOutcome> {
  const started = performance.now();
  const until = started + (times.maxMs ?? INLINE_MAX_MS);
  let overran = false;
  const watch: JobWatch = {
    cancelled: () => {
      if (!overran && performance.now() >= until) overran = true;
      return overran;
    },
    throwCancelled: () => {
      throw new ContrailError("query_canceled", "query was canceled in expression evaluation");
    },
  };
  try {
    const result = await evaluateSpec(engine, data, spec, times.remainingMs, watch);
    if (overran) return ABANDONED;
    const body = renderResult(result, spec, {
      queueSeconds: times.queueSeconds,
      evalSeconds: (performance.now() - started) / 1000,
      watch,
    });
    return { kind: "body", body };
  } catch (err) {
    if (overran) return ABANDONED;
    // As a worker reports a failure: the job's own errors as they are, anything else as internal.
    const error = isContrailError(err) ? err : new ContrailError("internal", `unexpected error: ${String(err)}`);
    return { kind: "error", error };
  }
}

const ABANDONED: InlineOutcome = { kind: "abandoned" };
