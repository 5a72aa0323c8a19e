// Small jobs evaluated on the main thread, where their selections were already made (select-ahead.ts),
// instead of being handed to a query worker: for a dashboard panel over a few dozen series the hand-over (the
// job's structured clone, the worker's wake-up, the answer posted back) costs more than the evaluation itself.
// A job runs inline only when its whole data came with the selections made ahead and a static estimate of its
// work is small; its evaluation also carries a hard time bound, past which it is abandoned and handed to a worker
// as any other job. The evaluation and rendering are the worker's own (run-query.ts), so answers, stats,
// annotations and errors are the same either way.

import { ContrailError, isContrailError } from "../../model/errors.ts";
import type { Matcher } from "../../model/matcher.ts";
import type { Engine } from "../../promql/engine/index.ts";
import { type Expr, walk } from "../../promql/parser/ast.ts";
import type { Querier, Queryable, SelectHints, SeriesSet } from "../../storage/interface.ts";
import { Encoding } from "../../tsdb/chunkenc/chunk.ts";
import { HEADER_SIZE, numSamples } from "../../tsdb/chunkenc/xor.ts";
import { PageReader } from "./page-reader.ts";
import { type PrefetchedSelect, type QuerySpec, type SeriesPage, wireMatchers } from "./protocol.ts";
import { sameSelect } from "./remote-querier.ts";
import { evaluateSpec, type JobWatch, renderResult } from "./run-query.ts";
import { SampleBudget } from "./sample-budget.ts";

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

/** Series and samples of a whole selection's page, or null when it is not all there or holds other than floats. */
function pageSize(page: SeriesPage): { series: number; samples: number } | null {
  if (!page.done || page.continued || page.histograms.length > 0) return null;
  let samples = page.offsets[page.offsets.length - 1] ?? 0;
  let from = 0;
  // Headers read where they lie in the page's bytes: a view per chunk cost ~40 ns each (10 µs of a 260-chunk page).
  for (let k = 0; k < page.chunkEncodings.length; k++) {
    if (page.chunkEncodings[k] !== Encoding.xor) return null;
    const end = page.chunkEnds[k];
    if (end - from >= HEADER_SIZE) samples += numSamples(page.chunkBytes, from);
    from = end;
  }
  return { series: page.pairs.length, samples };
}

/**
 * Estimated work of evaluating a query of `nodes` syntax nodes over `stepCount` steps on the selections `selects`,
 * in units (see INLINE_MAX_WORK): every sample decoded once, every node evaluated at every step and visiting every
 * selected series there, and each step's windows holding their share of a selection's samples (the window and a
 * step over the selection's range, for samples spread evenly); null when a selection is not wholly there or holds
 * more than INLINE_MAX_SAMPLES samples.
 */
export function workEstimate(selects: readonly PrefetchedSelect[], nodes: number, stepCount: number): number | null {
  let samples = 0;
  let series = 0;
  let windows = 0;
  for (const s of selects) {
    const size = pageSize(s.page);
    if (size === null) return null;
    const hints = s.hints as SelectHints;
    const span = Math.max(1, hints.end - hints.start + 1);
    const share = Math.min(1, ((hints.range ?? 0) + (hints.step ?? 0)) / span);
    samples += size.samples;
    series += size.series;
    windows += size.samples * share;
  }
  if (samples > INLINE_MAX_SAMPLES) return null;
  return samples + stepCount * ((series + 1) * nodes + windows);
}

/** True when the job of `spec`, whose planned selections (`planned` of them) were made as `selects`, is small
 * enough to evaluate on the main thread. */
export function inlineWorthy(
  spec: QuerySpec,
  expr: Expr,
  planned: number,
  selects: readonly PrefetchedSelect[],
): boolean {
  if (selects.length !== planned) return false;
  const stepCount = steps(spec);
  if (stepCount > INLINE_MAX_STEPS) return false;
  const nodes = inlineNodes(expr);
  if (nodes > INLINE_MAX_NODES) return false;
  const work = workEstimate(selects, nodes, stepCount);
  return work !== null && work <= INLINE_MAX_WORK;
}

/** How an inline evaluation ended: the answer's chunks, the job's error, or abandoned (for a worker to run). */
export type InlineOutcome =
  | { readonly kind: "body"; readonly body: Uint8Array[] }
  | { readonly kind: "error"; readonly error: ContrailError }
  | { readonly kind: "abandoned" };

/**
 * Evaluates the job `spec` on this thread over the selections made ahead, rendered as the worker renders it.
 * `remainingMs` is what is left of its timeout, `queueSeconds` its wait (s). Abandoned when it needs data not made
 * ahead or takes longer than `maxMs` (ms, default INLINE_MAX_MS); the pages of `selects` are only read, so a
 * worker can be given them.
 */
export async function evaluateInline(
  engine: Engine,
  spec: QuerySpec,
  selects: readonly PrefetchedSelect[],
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
  const data = new AheadQueryable(selects, new SampleBudget(spec.maxSamples));
  try {
    const result = await evaluateSpec(engine, data, spec, times.remainingMs, watch);
    if (overran || data.missed) return ABANDONED;
    const body = renderResult(result, spec, {
      queueSeconds: times.queueSeconds,
      evalSeconds: (performance.now() - started) / 1000,
      watch,
    });
    return { kind: "body", body };
  } catch (err) {
    if (overran || data.missed) return ABANDONED;
    // As a worker reports a failure: the job's own errors as they are, anything else as internal.
    const error = isContrailError(err) ? err : new ContrailError("internal", `unexpected error: ${String(err)}`);
    return { kind: "error", error };
  }
}

const ABANDONED: InlineOutcome = { kind: "abandoned" };

/**
 * The selections made ahead as a Queryable, for one inline evaluation: the querier of their range serves each of
 * them once, to a select with the same matchers and hints. Any other read marks the evaluation `missed` (it needs a
 * worker, which asks the main thread for what it needs) and fails it.
 */
class AheadQueryable implements Queryable {
  private readonly selects: PrefetchedSelect[];
  private readonly budget: SampleBudget;
  /** True once the evaluation asked for data not made ahead. */
  missed = false;

  constructor(selects: readonly PrefetchedSelect[], budget: SampleBudget) {
    this.selects = [...selects];
    this.budget = budget;
  }

  querier(mint: number, maxt: number): Querier {
    const ref = this.selects[0]?.querier;
    const ours = ref !== undefined && ref.mint === mint && ref.maxt === maxt;
    const miss = (): never => {
      this.missed = true;
      throw new ContrailError("internal", "an inline evaluation read data not selected ahead");
    };
    return {
      select: (matchers: readonly Matcher[], hints: SelectHints): SeriesSet => {
        const wired = wireMatchers(matchers);
        const i = ours ? this.selects.findIndex((p) => sameSelect(p, wired, hints)) : -1;
        if (i < 0) return miss();
        const reader = new PageReader(this.budget);
        reader.add(this.selects.splice(i, 1)[0].page);
        return reader.result();
      },
      labelNames: miss,
      labelValues: miss,
      close: () => {},
    };
  }
}
