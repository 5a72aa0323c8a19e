// What the query pool counts, as plain data for `/metrics` (metrics.ts) and tests: the shape of its figures and the
// histogram of main-thread time spent answering workers' data requests. Single-threaded; owned by the pool (pool.ts).

/** Upper bounds (seconds) of the histogram of main-thread time spent answering one data request of a worker. */
export const SERVE_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];

/** Why a worker was terminated and replaced. */
export type RestartReason = "timeout" | "canceled" | "out_of_memory" | "crashed";

/** Main-thread time answering workers' data requests: cumulative counts per {@link SERVE_BUCKETS} bound, the number
 * of requests, their total and the longest, in seconds. */
export interface ServeFigures {
  readonly buckets: readonly number[];
  readonly count: number;
  readonly seconds: number;
  readonly maxSeconds: number;
}

/** The pool's state and counters, for `/metrics` and tests. */
export interface PoolFigures {
  /** Worker threads now, started or starting. */
  readonly workers: number;
  /** Most worker threads the pool may run. */
  readonly maxWorkers: number;
  /** Workers started and waiting for or running jobs. */
  readonly ready: number;
  readonly busy: number;
  readonly queued: number;
  /** Jobs stopped because the client went away (queued or running). */
  readonly canceled: number;
  /** Jobs stopped by their deadline (queued or running). */
  readonly timedOut: number;
  /** Jobs refused because their org's queue was full. */
  readonly rejected: number;
  /** Halves of selections evaluated by a second worker (shard.ts). */
  readonly assists: number;
  /** Jobs evaluated on the main thread (inline.ts). */
  readonly inline: number;
  readonly restarts: Readonly<Record<RestartReason, number>>;
  readonly serve: ServeFigures;
}

/** The histogram of main-thread time per data request of a worker, accumulated for the pool's lifetime. */
export class ServeTimes {
  private readonly buckets = SERVE_BUCKETS.map(() => 0);
  private count = 0;
  private seconds = 0;
  private maxSeconds = 0;

  /** Counts one request answered in `seconds`. */
  observe(seconds: number): void {
    for (let i = 0; i < SERVE_BUCKETS.length; i++) if (seconds <= SERVE_BUCKETS[i]) this.buckets[i]++;
    this.count++;
    this.seconds += seconds;
    if (seconds > this.maxSeconds) this.maxSeconds = seconds;
  }

  /** A copy of the figures so far. */
  figures(): ServeFigures {
    return { buckets: [...this.buckets], count: this.count, seconds: this.seconds, maxSeconds: this.maxSeconds };
  }
}
