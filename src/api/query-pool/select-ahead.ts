// The plan of a job made on the main thread just before it is handed over: the first page of each of its
// selections, selected now so the worker need not ask for them, and whether the job is small enough to be evaluated
// right here instead (inline.ts). Single-threaded; called by the pool (pool.ts) once per job it starts.

import type { Engine } from "../../promql/engine/index.ts";
import { inlineWorthy } from "./inline.ts";
import type { JobData } from "./job-data.ts";
import type { PrefetchedSelect, QuerySpec } from "./protocol.ts";
import { shardOp } from "./shard.ts";

/**
 * Most selections of one query made on the main thread before its job is handed over (the first page of each):
 * a dashboard's queries have one or two, and each saves the worker a round trip to ask for it.
 */
const MAX_SELECTS_AHEAD = 4;

/** The selections made ahead of a job, the buffers to transfer with them, and whether it is evaluated inline. */
export interface Ahead {
  readonly selects: PrefetchedSelect[];
  readonly transfer: ArrayBuffer[];
  readonly inline: boolean;
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
 * The first pages of the selections of `spec`, selected from `data` now: none when the query makes more than
 * MAX_SELECTS_AHEAD or cannot be planned (the worker then meets its error itself). Served as data requests are: by
 * pages bounded in size and time. `inline` when the job is small enough to evaluate on the main thread (inline.ts).
 */
export function selectAhead(spec: QuerySpec, data: JobData, opts: AheadOptions): Ahead {
  const none: Ahead = { selects: [], transfer: [], inline: false };
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
  let ahead: Omit<Ahead, "inline"> = none;
  if (reads.selects.length > 0) {
    const started = performance.now();
    const splits =
      opts.splitFirstBytes !== undefined && at.kind === "range" && reads.selects.length === 1 && splitShape(opts, spec);
    ahead = data.selectAhead(reads, splits ? opts.splitFirstBytes : undefined);
    opts.observe((performance.now() - started) / 1000);
  }
  const inline =
    opts.inlineAllowed && inlineWorthy(spec, opts.planner.syntaxTree(spec.query), reads.selects.length, ahead.selects);
  // Object.assign, not an object spread: in V8 11 a spread's copy survives scavenges, and what it points to with it.
  return Object.assign({}, ahead, { inline });
}

// True when the query of `spec` has the shape of one a worker splits (shard.ts); false when it does not parse.
function splitShape(opts: AheadOptions, spec: QuerySpec): boolean {
  try {
    return shardOp(opts.planner.syntaxTree(spec.query)) !== null;
  } catch {
    return false;
  }
}
