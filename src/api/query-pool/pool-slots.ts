// The query pool's bookkeeping: a job from submission to its outcome, the worker slots that run jobs and assists,
// and the errors the pool answers with. Single-threaded; owned by the pool (pool.ts).

import type { MessagePort, Worker } from "node:worker_threads";
import { ContrailError } from "../../model/errors.ts";
import type { RestartReason } from "./figures.ts";
import type { JobData } from "./job-data.ts";
import type { Submission } from "./pool-options.ts";
import { type DataResponse, FLAG_SLOTS, type QuerySpec } from "./protocol.ts";
import type { PartialResult } from "./shard.ts";

/** How a job ended: its answer body, or its error. */
export type Outcome = { readonly body: Uint8Array[] } | { readonly error: ContrailError };

/** A query job from submission to its outcome. */
export interface Job {
  readonly id: number;
  readonly org: string;
  readonly maxRunning: number;
  readonly spec: QuerySpec;
  readonly sub: Submission;
  readonly submitted: number;
  /** performance.now() time past which the job must stop. */
  readonly deadline: number;
  readonly settle: (o: Outcome) => void;
  state: "queued" | "running" | "done";
  slot: Slot | null;
  data: JobData | null;
  /** Why the main thread asked the job to stop, if it did. */
  stop: "client" | "deadline" | null;
  timer: NodeJS.Timeout | null;
  unlisten: () => void;
  /** The job's assists by id, until their result has been handed to the job's worker. */
  readonly assists: Map<number, Assist>;
  /** performance.now() time the job left its queue (0 while queued), ms. */
  started: number;
}

/** Half of a job's selection evaluated by another worker. */
export interface Assist {
  readonly id: number;
  readonly job: Job;
  /** The helping worker's slot while it works. */
  slot: Slot | null;
  /** The outcome, once the helper finished. */
  result: DataResponse | null;
  /** The request number the job's worker waits on for the result, 0 while it has not asked. */
  waiting: number;
  /** The job's worker's own result, offered with its request for the main thread to merge (merge-here.ts). */
  offered: PartialResult | null;
}

/** A worker of the pool and what it runs. */
export interface Slot {
  readonly flags: Int32Array;
  worker: Worker | null;
  port: MessagePort | null;
  ready: boolean;
  job: Job | null;
  /** The assist the worker is evaluating, if any (then `job` is null). */
  assist: Assist | null;
  /** Why the worker is being terminated by the pool; set before `terminate()`. */
  killed: RestartReason | null;
  /** Set when the worker reported running out of memory. */
  outOfMemory: boolean;
  failures: number;
  killTimer: NodeJS.Timeout | null;
  /** Retires the slot's worker once it has idled long enough (spares beyond the base size only). */
  idleTimer: NodeJS.Timeout | null;
  /** Set when the slot left the pool: its worker's exit starts no replacement. */
  retired: boolean;
}

/** A slot with its cancel and reply flags (shared with its worker, for the slot's lifetime) and no worker yet. */
export function newSlot(): Slot {
  return {
    flags: new Int32Array(new SharedArrayBuffer(FLAG_SLOTS * Int32Array.BYTES_PER_ELEMENT)),
    worker: null,
    port: null,
    ready: false,
    job: null,
    assist: null,
    killed: null,
    outOfMemory: false,
    failures: 0,
    killTimer: null,
    idleTimer: null,
    retired: false,
  };
}

// True when the slot's worker has neither a job nor an assist.
export function idle(slot: Slot): boolean {
  return slot.job === null && slot.assist === null;
}

// True when the slot's worker is started and idle.
export function isFree(slot: Slot): boolean {
  return slot.ready && idle(slot);
}

/** The error of a query stopped because its client went away. */
export function canceledError(where: string): ContrailError {
  return new ContrailError("query_canceled", `query was canceled in ${where}`);
}

/** The error of a query stopped by its deadline. */
export function timeoutError(where: string): ContrailError {
  return new ContrailError("query_timeout", `query timed out in ${where}`);
}

/** The error of queries that found no worker able to start. */
export function startError(message: string): ContrailError {
  return new ContrailError("unavailable", `no query worker could start: ${message}`);
}

/** The error of a job (or of its assist) whose worker exited for `reason`; `heapMb`: the workers' heap limit, MiB. */
export function exitError(job: Job, reason: RestartReason, heapMb: number): ContrailError {
  switch (reason) {
    case "timeout":
      return timeoutError("expression evaluation");
    case "canceled":
      return canceledError("expression evaluation");
    case "out_of_memory":
      return new ContrailError(
        "limit_exceeded",
        `query ran out of memory: it needed more than a query worker's limit of ${heapMb} MiB; select fewer series or a shorter range`,
      );
    case "crashed":
      return job.stop === "client"
        ? canceledError("expression evaluation")
        : new ContrailError("unavailable", "the query worker stopped unexpectedly; retry the query");
  }
}
