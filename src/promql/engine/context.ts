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
