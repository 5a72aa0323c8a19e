// The times and step grids the engine evaluates over. Times are JS numbers of ms. Keeping every evaluation time
// within JS Date's range (±8.64e15 ms, below 2^53) keeps time arithmetic exact, so `ts += step` always advances
// and the Date-based functions (`year()`, `hour()` ...) stay defined. A grid may have at most as many steps as
// the query may hold samples: then no loop over a grid's steps runs, or sizes an array, beyond the sample limit.

import { ContrailError } from "../../model/errors.ts";
import { tooManySamples } from "./context.ts";

/** Largest |time| (ms since the epoch) the engine evaluates at or anchors `@` to: JS Date's range, years
 * -271821 to 275760. */
export const MAX_EVAL_TIME_MS = 8.64e15;

/** Why `t` (ms) cannot be an evaluation time, or null when it can: a whole number of ms within
 * ±MAX_EVAL_TIME_MS. */
export function evalTimeProblem(t: number): string | null {
  if (!Number.isFinite(t)) return `time ${t} is not a finite number`;
  if (Math.abs(t) > MAX_EVAL_TIME_MS) {
    return `time ${t / 1000} is out of range: queries are evaluated between -${MAX_EVAL_TIME_MS / 1000} and ${MAX_EVAL_TIME_MS / 1000} (seconds since the epoch)`;
  }
  if (!Number.isInteger(t)) return `time ${t} ms is not a whole number of milliseconds`;
  return null;
}

// Throws bad_data when `t` (ms) cannot be an evaluation time (see evalTimeProblem).
function checkEvalTime(t: number): void {
  const problem = evalTimeProblem(t);
  if (problem !== null) throw new ContrailError("bad_data", problem);
}

/**
 * Checks the grid start, start+interval, ... <= end (ms) before anything is evaluated over it and returns its
 * number of steps (0 when end < start). Throws bad_data for times out of range or an interval that is not a
 * whole number of ms of at least 1, and too_many_samples when the grid has more steps than `maxSamples`: one
 * series with a point at every step would exceed the limit.
 */
export function gridSteps(start: number, end: number, interval: number, maxSamples: number): number {
  checkEvalTime(start);
  checkEvalTime(end);
  if (!Number.isInteger(interval) || interval < 1) {
    throw new ContrailError("bad_data", `step of ${interval} ms: steps must be whole milliseconds, at least 1`);
  }
  if (end < start) return 0;
  const steps = Math.floor((end - start) / interval) + 1;
  if (steps > maxSamples) tooManySamples();
  return steps;
}
