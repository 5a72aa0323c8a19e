// The query pool's settings: those of the pool, fixed when it is created, with their defaults, and those each query
// is submitted with (its org and the org's limits). Plain data; read by the pool (pool.ts).

import type { EngineOptions } from "../../promql/engine/index.ts";
import type { Queryable } from "../../storage/interface.ts";
import type { PageBounds } from "./pages.ts";

/** Default maximum workers per core: queries beyond the cores share them, so a cheap one runs beside heavy ones. */
export const MAX_WORKERS_PER_CORE = 4;
/** A worker started beyond the base size is retired after idling this long, ms. */
export const SPARE_IDLE_MS = 30_000;
/** Default heap limit of a worker (V8 old generation), MiB. */
export const DEFAULT_WORKER_HEAP_MB = 1024;
/**
 * Default size limit of a worker's young generation (V8's new space, both semi-spaces, and its large objects), MiB.
 * V8's own limit for a worker is 48 MiB, and one query of 100,000 series grew a worker's new space from 1 to 32 MiB,
 * which stayed committed until V8's memory reducer ran 20-35 s later; at 12 MiB the new space stays at 8 MiB at most
 * (docs/benchmarks.md, "Memory per series": what it saved and what it cost in scavenges).
 */
export const DEFAULT_WORKER_YOUNG_GENERATION_MB = 12;
/** Default time a worker has to give up after a cancel or its deadline before it is terminated, ms. */
export const DEFAULT_GRACE_MS = 1000;

/** Options of a query pool (pool.ts `QueryPool`), fixed for its lifetime. */
export interface QueryPoolOptions {
  /** Worker threads always running; default: the available cores. */
  readonly workers?: number;
  /** Most worker threads, spares included; default: four per core, and at least one more than `workers`. */
  readonly maxWorkers?: number;
  /** Heap limit of each worker, MiB; default {@link DEFAULT_WORKER_HEAP_MB}. */
  readonly workerHeapMb?: number;
  /** Young generation limit of each worker, MiB; default {@link DEFAULT_WORKER_YOUNG_GENERATION_MB}. */
  readonly workerYoungGenerationMb?: number;
  /** Settings of every worker's engine (plain data: it is copied to each worker). */
  readonly engine?: Partial<EngineOptions>;
  /** Time a worker has to give up after a cancel or its deadline, ms; default {@link DEFAULT_GRACE_MS}. */
  readonly graceMs?: number;
  /** Idle time after which a worker beyond `workers` is retired, ms; default {@link SPARE_IDLE_MS}. */
  readonly spareIdleMs?: number;
  /** The workers' entry module; default `worker-main`. Tests pass one with hooks. */
  readonly workerScript?: URL;
  /** Bounds of the pages of series sent to workers. */
  readonly pageBounds?: PageBounds;
  /** Whether a worker may hand half of a large selection to an idle worker (shard.ts); default true. */
  readonly assists?: boolean;
  /** Whether a small job may be evaluated on the main thread instead of a worker (inline.ts); default true. */
  readonly inline?: boolean;
  /** Time an inline evaluation may take before it is abandoned for a worker, ms; default INLINE_MAX_MS (inline.ts). */
  readonly inlineMaxMs?: number;
}

/** Who submits a query and with what: its org (for scheduling), the org's limits, its data, the client's signal. */
export interface Submission {
  readonly org: string;
  /** The org's limit on queries evaluated at once. */
  readonly maxConcurrent: number;
  /** The org's limit on queries waiting for a worker; past it the query is refused with 503. */
  readonly maxQueued: number;
  /** The org's data; the only data the job's worker can reach. */
  readonly queryable: Queryable;
  /** Aborted when the client goes away. */
  readonly signal?: AbortSignal;
}
