// The plan of a job made on the main thread when it leaves its queue: whether it is small enough to be evaluated
// right here (inline.ts), over its selections made here (preselect.ts), or else the first page of each of its
// selections, selected now so the worker need not ask for them. Single-threaded; called by the pool (pool.ts) once
// per job it starts.

import type { Engine } from "../../promql/engine/index.ts";
import type { PlannedReads } from "../../promql/engine/reads.ts";
import type { Queryable, SeriesSet } from "../../storage/interface.ts";
import { inlineBounds, inlineShape, inlineWorthy } from "./inline.ts";
import type { JobData } from "./job-data.ts";
import { PreselectedQueryable, preselect } from "./preselect.ts";
import type { PrefetchedSelect, QuerySpec } from "./protocol.ts";
import { shardOp } from "./shard.ts";

/**
 * Most selections of one query made on the main thread before its job is handed over (the first page of each):
 * a dashboard's queries have one or two, and each saves the worker a round trip to ask for it.
 */
const MAX_SELECTS_AHEAD = 4;

/**
 * The selections made ahead of a job; or, for a job evaluated inline, the data it is evaluated on (its selections
 * made, no page built).
 */
export interface Ahead {
  readonly selects: PrefetchedSelect[];
  /** The data to evaluate the job on here when it is small enough; null: it goes to a worker. */
  readonly inline: Queryable | null;
}

/** What {@link selectAhead} works with: the pool's planner, and whether the pool lets this job run inline now. */
export interface AheadOptions {
  /** Parses and plans the query's reads, never evaluates it; configured as the workers' engines are. */
  readonly planner: Engine;
  /** False when inline evaluation is off, or another job already holds this turn of the event loop. */
  readonly inlineAllowed: boolean;
  /** Called with the main-thread time spent selecting, in seconds, when any selection was made. */
  readonly observe: (seconds: number) => void;
  /**
   * Chunk bytes the first page of a selection may hold when the job may be split between two workers (a range
   * query of a shape shard.ts splits, over one selection): a small first page starts the first half sooner.
   * Absent: the job's own page bounds.
   */
  readonly splitFirstBytes?: number;
}

/**
 * The plan of the job of `spec` over `data`. When it may run inline, its selections are made and measured here: a
 * small enough job gets them as its inline data. Otherwise the first pages of its selections, made from `data` now
 * (from those same selections when made): none when the query makes more than MAX_SELECTS_AHEAD or cannot be
 * planned (the worker then meets its error itself). Served as data requests are: by pages bounded in size and time.
 */
export function selectAhead(spec: QuerySpec, data: JobData, opts: AheadOptions): Ahead {
  const none: Ahead = { selects: [], inline: null };
  const at = spec.at;
  if (at.kind === "range" && (!(at.step > 0) || at.end < at.start)) return none;
  const grid =
    at.kind === "instant" ? { start: at.time, end: at.time, step: 0 } : { start: at.start, end: at.end, step: at.step };
  let reads: ReturnType<Engine["plannedReads"]>;
  try {
    reads = opts.planner.plannedReads(spec.query, grid, spec);
  } catch {
    return none;
  }
  if (reads === null || reads.selects.length > MAX_SELECTS_AHEAD) return none;
  const started = performance.now();
  const here = opts.inlineAllowed ? inlineData(spec, data, reads, opts.planner) : null;
  if (here !== null && "inline" in here) {
    if (reads.selects.length > 0) opts.observe((performance.now() - started) / 1000);
    return { selects: [], inline: here.inline };
  }
  if (reads.selects.length === 0) return none;
  const splits =
    opts.splitFirstBytes !== undefined && at.kind === "range" && reads.selects.length === 1 && splitShape(opts, spec);
  const selects = data.selectAhead(reads, splits ? opts.splitFirstBytes : undefined, here?.sets);
  opts.observe((performance.now() - started) / 1000);
  return { selects, inline: null };
}

/**
 * For a job whose shape may run inline: its selections made on the job's querier of their range and measured, and
 * the data to evaluate it on when they are small enough; else the selections (from their first series) for its
 * pages. Null when its shape rules it out, or a selection fails (the pages' selections then meet the error again).
 */
function inlineData(
  spec: QuerySpec,
  data: JobData,
  reads: PlannedReads,
  planner: Engine,
): { readonly inline: Queryable } | { readonly sets: readonly SeriesSet[] } | null {
  const shape = inlineShape(spec, planner.syntaxTree(spec.query));
  if (shape === null) return null;
  const querier = data.aheadQuerier(reads);
  let made: ReturnType<typeof preselect>;
  try {
    made = preselect(querier, reads.selects, inlineBounds(shape, spec.maxSamples));
  } catch {
    return null;
  }
  const sizes = made.map((p) => ({ series: p.series.length, samples: p.samples, hints: p.hints }));
  if (made.every((p) => p.whole) && inlineWorthy(shape, sizes, spec.maxSamples)) {
    return { inline: new PreselectedQueryable(data.queryable, querier, reads, made) };
  }
  return { sets: made.map((p) => p.set) };
}

// True when the query of `spec` has the shape of one a worker splits (shard.ts); false when it does not parse.
function splitShape(opts: AheadOptions, spec: QuerySpec): boolean {
  try {
    return shardOp(opts.planner.syntaxTree(spec.query)) !== null;
  } catch {
    return false;
  }
}
