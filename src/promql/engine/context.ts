// Per-query state shared by every evaluator of one query: the querier, the limits and their accounting, the
// deadline and cancellation signal, and the annotations collected so far.

import { ContrailError } from "../../model/errors.ts";
import type { Querier } from "../../storage/interface.ts";
import { Annotations } from "./annotations.ts";

/** Settings of one query evaluation; durations in ms. */
export interface QuerySettings {
  readonly lookbackDelta: number;
  readonly maxSamples: number;
  /** Absolute deadline, ms since the epoch (Date.now() clock). */
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  /** Asked at every check; true stops the query as canceled (a flag another thread sets). */
  readonly cancelled?: () => boolean;
  readonly noStepSubqueryInterval: number;
  readonly enableDelayedNameRemoval: boolean;
}

/** Throws the error Prometheus returns for an evaluation problem (`execution`). */
export function evalError(message: string): never {
  throw new ContrailError("execution", message);
}

/** Units of work between two deadline checks of `tick`. A unit (a step, a series visited at a step, a sample of
 * a window) costs a few to a few tens of ns, so a query notices its deadline or cancellation within a few ms. */
export const WORK_PER_CHECK = 1 << 16;

/** Shared state of one query. */
export class QueryContext {
  readonly querier: Querier;
  readonly settings: QuerySettings;
  readonly annotations = new Annotations();
  /** Samples held in memory right now, as Prometheus counts them. */
  current = 0;
  /** Highest `current` seen. */
  peak = 0;
  /** Samples read from storage or from a subquery window, summed over steps (Prometheus's TotalSamples). */
  loaded = 0;

  constructor(querier: Querier, settings: QuerySettings) {
    this.querier = querier;
    this.settings = settings;
  }

  /** Throws query_canceled or query_timeout when the query must stop. Cheap enough to call per step. */
  check(): void {
    const s = this.settings;
    if (s.signal?.aborted || s.cancelled?.()) {
      throw new ContrailError("query_canceled", "query was canceled in expression evaluation");
    }
    if (Date.now() > s.deadline) {
      throw new ContrailError("query_timeout", "query timed out in expression evaluation");
    }
  }

  /** Units of work left before `tick` checks the deadline. */
  private work = WORK_PER_CHECK;

  /** Counts `units` of work (1: one step) and runs `check()` once WORK_PER_CHECK units have been done since the
   * last one: the deadline check of loops too hot to read the clock at every step. */
  tick(units = 1): void {
    this.work -= units;
    if (this.work <= 0) {
      this.work = WORK_PER_CHECK;
      this.check();
    }
  }

  /** Adds `n` samples to those held; throws too_many_samples past the limit. */
  add(n: number): void {
    this.current += n;
    if (this.current > this.peak) this.peak = this.current;
    if (this.current > this.settings.maxSamples) tooManySamples();
  }

  /** Sets the number of samples held (after results replace their inputs). */
  set(n: number): void {
    this.current = n;
    if (n > this.peak) this.peak = n;
  }
}

/** Throws Prometheus's too-many-samples error. */
export function tooManySamples(): never {
  throw new ContrailError(
    "too_many_samples",
    "query processing would load too many samples into memory in query execution",
  );
}
