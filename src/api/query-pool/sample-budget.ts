// A query's budget of samples read from storage, and the error past it (Prometheus's "too many samples").

import { ContrailError } from "../../model/errors.ts";

/**
 * The samples a job has read from storage, against its limit: every sample the main thread sent decoded (a
 * native histogram weighed by its size, as the engine counts it: histogramPointSamples), and every sample the
 * worker decodes from chunks (each series counted once, over its whole selected range; a histogram read from a
 * chunk counts one, as it is decoded one at a time, and the engine weighs what it holds).
 */
export class SampleBudget {
  private readonly max: number;
  private used = 0;

  /** A budget of `max` samples. */
  constructor(max: number) {
    this.max = max;
  }

  /** Samples read so far. */
  get read(): number {
    return this.used;
  }

  /** Gives back `n` samples counted earlier: those of a selection that was dropped unread to be read again. */
  release(n: number): void {
    this.used -= n;
  }

  /** Counts `n` more samples; throws too_many_samples once past the limit. */
  add(n: number): void {
    this.used += n;
    if (this.used > this.max) throw tooManySamples();
  }
}

/** The error of a query that read more samples than its limit. */
export function tooManySamples(): ContrailError {
  return new ContrailError(
    "too_many_samples",
    "query processing would load too many samples into memory in query execution",
  );
}
