// Splitting one large range query between two query workers. A query of the shape `op [by|without (...)]
// (f(selector[range]))`, with `f` a function over a range and `op` one of sum, count, min, max and group, reads each
// series on its own and folds the per-series results into groups; so its selection can be cut in two, each half
// evaluated as the whole query by its own worker, and the two answers merged group by group and step by step into
// the answer the whole selection gives (sums of sums, counts summed, min of mins, max of maxes, group of groups).

import { Labels } from "../../model/labels.ts";
import { lookupFunction } from "../../promql/engine/functions/index.ts";
import type { QueryResult } from "../../promql/engine/index.ts";
import type { Expr } from "../../promql/parser/ast.ts";
import { cutPage, entriesWeight } from "./page-cut.ts";
import type { SeriesPage } from "./protocol.ts";

/** The aggregations whose results over two halves of the input merge into the result over the whole. */
export type ShardOp = "sum" | "count" | "min" | "max" | "group";

/**
 * Selections smaller than this (chunk bytes, plus 16 bytes per decoded sample) are evaluated by one worker: below
 * it the hand-off to a second worker costs more than the half of the evaluation it saves.
 */
export const MIN_SHARD_BYTES = 256 * 1024;

function unwrap(e: Expr): Expr {
  let x = e;
  while (x.kind === "ParenExpr") x = x.expr;
  return x;
}

/** The aggregation of `expr` when the query can be evaluated in halves and merged; null otherwise. */
export function shardOp(expr: Expr): ShardOp | null {
  const root = unwrap(expr);
  if (root.kind !== "AggregateExpr" || root.param !== null) return null;
  const op = root.op;
  if (op !== "sum" && op !== "count" && op !== "min" && op !== "max" && op !== "group") return null;
  const call = unwrap(root.expr);
  if (call.kind !== "Call" || call.args.length !== 1 || call.grouping !== undefined) return null;
  if (lookupFunction(call.func.name)?.kind !== "range") return null;
  // absent_over_time answers for the selection as a whole (1 where no series has a sample), not series by series.
  if (call.func.name === "absent_over_time") return null;
  // A matrix selector (never a subquery): the call's one selection is the query's only one.
  const arg = unwrap(call.args[0]);
  if (arg.kind !== "MatrixSelector") return null;
  // One metric name: series that differ only in their names would collide once `f` drops them, an error the whole
  // selection raises but two halves holding one each would not.
  const oneName = arg.vectorSelector.matchers.some((m) => m.name === "__name__" && m.type === "=");
  return oneName ? op : null;
}

/** Where a selection's pages are cut in two: the first page of the second half, and the entry it begins at. */
export interface Cut {
  readonly page: number;
  /** 0: the second half begins with the whole page; else the page is cut before this entry (page-cut.ts). */
  readonly entry: number;
}

/**
 * Where to cut a selection's pages in two halves of about equal weight (chunk bytes, 16 bytes per decoded sample):
 * before any series that begins on a page, inside a page too, so the halves differ by at most about one series.
 * Null when the selection is too small to split or cannot be cut (a selection that is one series).
 */
export function splitPoint(pages: readonly SeriesPage[]): Cut | null {
  let total = 0;
  for (const p of pages) total += pageWeight(p);
  if (total < MIN_SHARD_BYTES) return null;
  let best: Cut | null = null;
  let bestGap = Number.POSITIVE_INFINITY;
  let before = 0;
  for (let i = 0; i < pages.length; i++) {
    const p = pages[i];
    // A page continuing the series before it is never the first of a half; entry 0 of the first page cuts nothing.
    const first = i === 0 || p.continued ? 1 : 0;
    for (let e = first; e < Math.max(1, p.pairs.length); e++) {
      const gap = Math.abs(2 * (before + entriesWeight(p, e)) - total);
      if (gap >= bestGap) {
        // Weights only grow from here: the gap grows too once past the middle.
        if (2 * (before + entriesWeight(p, e)) > total) return best;
        continue;
      }
      best = { page: i, entry: e };
      bestGap = gap;
    }
    before += pageWeight(p);
  }
  return best;
}

/** `pages` cut at `cut`: the first half's pages and the second's (a page cut in two gives one part to each). */
export function cutPages(pages: readonly SeriesPage[], cut: Cut): { first: SeriesPage[]; second: SeriesPage[] } {
  if (cut.entry === 0) return { first: pages.slice(0, cut.page), second: pages.slice(cut.page) };
  const [head, tail] = cutPage(pages[cut.page], cut.entry);
  return { first: [...pages.slice(0, cut.page), head], second: [tail, ...pages.slice(cut.page + 1)] };
}

/** Bytes a page stands for, as the split weighs them: its chunk bytes and 16 bytes per decoded sample. */
export function pageWeight(p: SeriesPage): number {
  return p.chunkBytes.byteLength + p.t.length * 16;
}

/** A query result over part of a selection, as a worker sends it: a matrix with flat label pairs, and notes. */
export interface PartialResult {
  readonly series: readonly {
    readonly labels: readonly string[];
    readonly t: Float64Array;
    readonly v: Float64Array;
  }[];
  readonly warnings: readonly string[];
  readonly infos: readonly string[];
  readonly samplesLoaded: number;
  readonly peakSamples: number;
}

/**
 * `result` (a range query's) as a partial result, to post: each series' points copied into arrays of their own, so
 * posting copies those and no larger buffer they may be views of.
 */
export function toPartial(result: QueryResult): PartialResult {
  const value = result.value;
  if (value.type !== "matrix") throw new Error("a partial result must be a matrix");
  const series = value.series.map((s) => {
    const flat: string[] = [];
    s.labels.forEach((name, v) => {
      flat.push(name, v);
    });
    return { labels: flat, t: s.t.slice(), v: s.v.slice() };
  });
  return {
    series,
    warnings: result.warnings,
    infos: result.infos,
    samplesLoaded: result.stats.samplesLoaded,
    peakSamples: result.stats.peakSamples,
  };
}

/** Points of a range query's matrix (steps over its series). */
export function matrixPoints(series: readonly { readonly t: Float64Array }[]): number {
  let n = 0;
  for (const s of series) n += s.t.length;
  return n;
}

/** `partial` as the query result it was made from (its histograms aside: a partial result holds floats). */
export function fromPartial(partial: PartialResult): QueryResult {
  return {
    value: {
      type: "matrix",
      series: partial.series.map((s) => ({ labels: Labels.fromSortedUnchecked([...s.labels]), t: s.t, v: s.v })),
    },
    warnings: [...partial.warnings],
    infos: [...partial.infos],
    stats: { samplesLoaded: partial.samplesLoaded, peakSamples: partial.peakSamples },
  };
}

// The aggregation's merge of two group values at one step, as folding the second half after the first would give.
function combine(op: ShardOp, a: number, b: number): number {
  switch (op) {
    case "sum":
    case "count":
      return a + b;
    case "min":
      return a > b || Number.isNaN(a) ? b : a;
    case "max":
      return a < b || Number.isNaN(a) ? b : a;
    case "group":
      return 1;
  }
}

// Two series' points merged by timestamp (both in time order).
function mergePoints(op: ShardOp, at: Float64Array, av: Float64Array, bt: Float64Array, bv: Float64Array) {
  const t = new Float64Array(at.length + bt.length);
  const v = new Float64Array(at.length + bt.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < at.length || j < bt.length) {
    if (j >= bt.length || (i < at.length && at[i] < bt[j])) {
      t[n] = at[i];
      v[n++] = av[i++];
    } else if (i >= at.length || bt[j] < at[i]) {
      t[n] = bt[j];
      v[n++] = bv[j++];
    } else {
      t[n] = at[i];
      v[n++] = combine(op, av[i++], bv[j++]);
    }
  }
  return { t: t.subarray(0, n), v: v.subarray(0, n) };
}

function mergeNotes(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

/**
 * The result of aggregation `op` over a whole selection from its results over two halves: `result` (this worker's)
 * and `partial` (the other's). Series are matched by labels and sorted by labels, as the engine sorts a matrix.
 */
export function mergePartial(op: ShardOp, result: QueryResult, partial: PartialResult): QueryResult {
  const value = result.value;
  if (value.type !== "matrix") throw new Error("only range results are merged");
  const byKey = new Map<string, number>();
  const series = value.series.map((s) => ({ labels: s.labels, t: s.t, v: s.v }));
  for (let i = 0; i < series.length; i++) byKey.set(series[i].labels.toString(), i);
  for (const p of partial.series) {
    const labels = Labels.fromSortedUnchecked([...p.labels]);
    const i = byKey.get(labels.toString());
    if (i === undefined) {
      byKey.set(labels.toString(), series.length);
      series.push({ labels, t: p.t, v: p.v });
      continue;
    }
    const mine = series[i];
    const merged = mergePoints(op, mine.t, mine.v, p.t, p.v);
    series[i] = { labels: mine.labels, t: merged.t, v: merged.v };
  }
  series.sort((a, b) => a.labels.compare(b.labels));
  return {
    value: { type: "matrix", series },
    warnings: mergeNotes(result.warnings, partial.warnings),
    infos: mergeNotes(result.infos, partial.infos),
    stats: {
      samplesLoaded: result.stats.samplesLoaded + partial.samplesLoaded,
      peakSamples: result.stats.peakSamples + partial.peakSamples,
    },
  };
}
