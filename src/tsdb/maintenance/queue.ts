// The maintenance queue: one worker thread that runs the slow parts of TSDB maintenance (jobs.ts) for every database
// that shares the queue, one job at a time in the order they were queued, so several orgs compacting at once take
// turns instead of competing for the cores that serve requests. The worker starts with the first job and is
// replaced when it dies: a job whose worker exits, throws outside the job or runs past the timeout fails with an
// `unavailable` error (`isWorkerFailure` tells it from an error of the job itself) and the next job gets a new worker.
// An idle worker does not keep the process alive.

import type { Worker } from "node:worker_threads";
import { ContrailError, type ErrorCode } from "../../model/errors.ts";
import { siblingModule, spawnWorker } from "../../runtime/worker-thread.ts";
import type { JobReply, JobRequest, JobResult, MaintenanceJob } from "./jobs.ts";

/** Default longest run of one job before its worker is terminated: 1 h in ms. */
export const DEFAULT_JOB_TIMEOUT_MS = 60 * 60 * 1000;

/** Options of `MaintenanceQueue`. */
export interface MaintenanceQueueOptions {
  /** A job running longer (ms) fails and its worker is terminated; default 1 h. */
  readonly jobTimeoutMs?: number;
}

/**
 * Options of one `MaintenanceQueue.run` call. A job is posted without a transfer list, so the posting thread never
 * detaches a buffer (docs/architecture.md, "Query threads never detach a buffer"): bulky job data is built in a
 * SharedArrayBuffer, which the worker shares instead of copying.
 */
export interface RunOptions {
  /** Asked when the job's turn comes: true drops it (it fails with `unavailable`), e.g. once its database closed. */
  readonly cancelled?: () => boolean;
}

/** Counters of a queue, for status pages and tests. */
export interface MaintenanceQueueStats {
  /** Jobs waiting for their turn. */
  readonly queued: number;
  /** The kind of job the worker runs now, null when idle. */
  readonly running: MaintenanceJob["kind"] | null;
  /** Jobs finished (successfully or with their own error). */
  readonly completed: number;
  /** Workers lost (exited, crashed or terminated after a timeout) while or before running a job. */
  readonly workerFailures: number;
}

interface Entry {
  readonly id: number;
  readonly job: MaintenanceJob;
  readonly cancelled: (() => boolean) | undefined;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
}

const failures = new WeakSet<Error>();

/** True when `err` says the worker was lost (died, timed out, queue closed), not that the job itself failed. */
export function isWorkerFailure(err: unknown): boolean {
  return err instanceof Error && failures.has(err);
}

function workerFailure(message: string, cause?: unknown): ContrailError {
  const e = new ContrailError("unavailable", message, { cause });
  failures.add(e);
  return e;
}

/** A FIFO of maintenance jobs run by one worker thread. Create one per process (or per store) and share it. */
export class MaintenanceQueue {
  private readonly timeoutMs: number;
  private readonly waiting: Entry[] = [];
  private worker: Worker | null = null;
  private current: Entry | null = null;
  private timer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private completed = 0;
  private lost = 0;
  private closed = false;

  /** A queue; its worker starts with the first job. */
  constructor(opts: MaintenanceQueueOptions = {}) {
    this.timeoutMs = opts.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
  }

  /** Queues `job`; resolves with its result once the worker ran it, rejects with its error or a worker failure. */
  run<J extends MaintenanceJob>(job: J, opts: RunOptions = {}): Promise<JobResult<J>> {
    if (this.closed) return Promise.reject(workerFailure("the maintenance queue is closed"));
    return new Promise<JobResult<J>>((resolve, reject) => {
      this.waiting.push({
        id: this.nextId++,
        job,
        cancelled: opts.cancelled,
        resolve: resolve as (v: unknown) => void,
        reject,
      });
      this.pump();
    });
  }

  /** Current counters. */
  stats(): MaintenanceQueueStats {
    return {
      queued: this.waiting.length,
      running: this.current?.job.kind ?? null,
      completed: this.completed,
      workerFailures: this.lost,
    };
  }

  /**
   * Terminates the worker now (for a job that hangs; the timeout does the same): the running job fails with a worker
   * failure, which a database simply retries at its next run, and the next job starts a new worker.
   */
  async restartWorker(): Promise<void> {
    const w = this.worker;
    if (w === null) return;
    this.lose(w, "the maintenance worker was restarted");
    await w.terminate();
  }

  /** Fails the queued jobs and the running one, and terminates the worker. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const e of this.waiting.splice(0)) e.reject(workerFailure("the maintenance queue is closed"));
    this.finish(null, workerFailure("the maintenance queue is closed"));
    const w = this.worker;
    this.worker = null;
    if (w !== null) await w.terminate();
  }

  // Starts the next job when the worker is free.
  private pump(): void {
    while (this.current === null && !this.closed) {
      const next = this.waiting.shift();
      if (next === undefined) {
        this.worker?.unref();
        return;
      }
      if (next.cancelled?.() === true) {
        next.reject(workerFailure(`maintenance job ${next.job.kind} dropped: its database closed`));
        continue;
      }
      const w = this.ensureWorker();
      this.current = next;
      w.ref();
      this.timer = setTimeout(() => this.timeout(w), this.timeoutMs);
      this.timer.unref();
      const req: JobRequest = { id: next.id, job: next.job };
      try {
        w.postMessage(req);
      } catch (err) {
        this.finish(null, workerFailure(`cannot hand maintenance job ${next.job.kind} to the worker`, err));
      }
    }
  }

  private ensureWorker(): Worker {
    if (this.worker !== null) return this.worker;
    const w = startWorker();
    w.on("message", (reply: JobReply) => {
      if (this.current === null || reply.id !== this.current.id) return;
      if (reply.ok) this.finish(reply.result, null);
      else this.finish(null, new ContrailError(reply.code as ErrorCode, reply.message));
    });
    w.on("error", (err) => this.lose(w, `the maintenance worker failed: ${err.message}`, err));
    w.on("exit", (code) => this.lose(w, `the maintenance worker exited with code ${code}`));
    this.worker = w;
    return w;
  }

  private timeout(w: Worker): void {
    const kind = this.current?.job.kind ?? "job";
    this.lose(w, `maintenance job ${kind} ran longer than ${this.timeoutMs} ms; its worker was stopped`);
    void w.terminate();
  }

  // The worker `w` is gone: fail its job and let the next job start a new worker.
  private lose(w: Worker, message: string, cause?: unknown): void {
    if (this.worker !== w) return;
    this.worker = null;
    this.lost++;
    this.finish(null, workerFailure(message, cause));
  }

  private finish(result: unknown, err: Error | null): void {
    const e = this.current;
    if (e === null) return;
    this.current = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (err === null || !isWorkerFailure(err)) this.completed++;
    if (err === null) e.resolve(result);
    else e.reject(err);
    this.pump();
  }
}

/** Starts the worker module beside this one (compiled or from the sources, see runtime/worker-thread.ts). */
function startWorker(): Worker {
  return spawnWorker(siblingModule(import.meta.url, "worker"));
}

let processQueue: MaintenanceQueue | null = null;

/** The queue shared by the databases of this process that were given none (created on first use). */
export function processMaintenanceQueue(): MaintenanceQueue {
  if (processQueue === null) processQueue = new MaintenanceQueue();
  return processQueue;
}
