// The answer of a job split between two workers (shard.ts), merged and rendered on the main thread when it is small:
// the job's worker offers its own result with its request for the assist's, and the main thread, which holds the
// other, answers the job itself. The answer then no longer waits for the job's worker to wake up, merge and post it
// back: one hand-over between threads instead of three once the last half is done.

import { ContrailError, isContrailError } from "../../model/errors.ts";
import type { Engine } from "../../promql/engine/index.ts";
import type { Outcome } from "./pool-slots.ts";
import type { QuerySpec } from "./protocol.ts";
import { renderResult } from "./run-query.ts";
import { fromPartial, matrixPoints, mergePartial, type PartialResult, shardOp } from "./shard.ts";

/**
 * Most points (steps over series) of the two halves' results merged and rendered on the main thread: rendering
 * takes about 80 ns a point, so at most about a millisecond of its time; larger answers are the job's worker's.
 */
export const MAIN_MERGE_MAX_POINTS = 16_384;

/** The main thread never stops the merge half-way: it is bounded by MAIN_MERGE_MAX_POINTS. */
const NEVER_STOPPED = {
  cancelled: () => false,
  throwCancelled: (): never => {
    throw new ContrailError("internal", "a merge on the main thread is never stopped");
  },
};

/**
 * The answer of the job of `spec` from its worker's result `mine` and its assist's `theirs`, merged and rendered
 * as its worker would (times in seconds, for `stats`); null when the two are too large to merge here or the query
 * is not one that splits.
 */
export function mergeHere(
  planner: Engine,
  spec: QuerySpec,
  mine: PartialResult,
  theirs: PartialResult,
  times: { readonly queueSeconds: number; readonly evalSeconds: number },
): Outcome | null {
  if (matrixPoints(mine.series) + matrixPoints(theirs.series) > MAIN_MERGE_MAX_POINTS) return null;
  const op = spec.at.kind === "range" ? shardOp(planner.syntaxTree(spec.query)) : null;
  if (op === null) return null;
  try {
    const result = mergePartial(op, fromPartial(mine), theirs);
    return { body: renderResult(result, spec, { ...times, watch: NEVER_STOPPED }) };
  } catch (err) {
    // As the worker would report it: the query's own errors (too many series) as they are.
    return { error: isContrailError(err) ? err : new ContrailError("internal", String(err)) };
  }
}
