// The query pool: PromQL evaluation in worker threads, off the event loop that accepts writes and runs scrapes.
// Jobs wait in per-org queues served round robin; each runs on one worker, which asks the main thread for data
// (answered from the Queryable the job was submitted with, in pages) and sends back the rendered answer.
// A client that goes away or a deadline that passes raises the worker's cancel flag; a worker that has not given up
// a grace period later is terminated and replaced, as is one that runs out of memory. Workers start with the pool
// and are reused. The pool grows past its base size by one warm spare whenever every worker is busy, up to its
// maximum, so a cheap query never waits for a heavy one to finish (the operating system shares the cores between
// them); spares idle for a while are retired. A worker whose selection is large may hand half of it to an idle
// worker (an assist, shard.ts) when no job is waiting and a third worker stays free; the main thread's side of
// assists, the split of a selection of a few pages here and the merge of two halves here, is assist-desk.ts.
// A job that finds no worker free (each busy, or a spare still starting, which takes a few hundred ms) is selected
// at once and, when small, evaluated on the main thread (the lane); a larger one waits there for the first free worker.

import { availableParallelism } from "node:os";
import { MessageChannel, type Worker } from "node:worker_threads";
import { ContrailError, type ErrorCode } from "../../model/errors.ts";
import { Engine, type EngineOptions } from "../../promql/engine/index.ts";
import { siblingModule, spawnWorker } from "../../runtime/worker-thread.ts";
import type { Queryable } from "../../storage/interface.ts";
import { AssistDesk } from "./assist-desk.ts";
import { DEAL_PAGE_BYTES } from "./deal.ts";
import { FairQueue } from "./fair-queue.ts";
import { type PoolFigures, type RestartReason, ServeTimes } from "./figures.ts";
import { evaluateInline, INLINE_MAX_MS, type InlineOutcome } from "./inline.ts";
import { JobData } from "./job-data.ts";
import type { PageBounds } from "./pages.ts";
import {
  DEFAULT_GRACE_MS,
  DEFAULT_WORKER_HEAP_MB,
  DEFAULT_WORKER_YOUNG_GENERATION_MB,
  MAX_WORKERS_PER_CORE,
  type QueryPoolOptions,
  SPARE_IDLE_MS,
  type Submission,
} from "./pool-options.ts";
import {
  canceledError,
  exitError,
  idle,
  isFree,
  type Job,
  newSlot,
  type Outcome,
  type Slot,
  startError,
  timeoutError,
} from "./pool-slots.ts";
import {
  CANCEL_CLIENT,
  CANCEL_DEADLINE,
  type DataRequest,
  type DataResponse,
  FLAG_CANCEL,
  FLAG_REPLY,
  type JobMessage,
  type QuerySpec,
  type WorkerMessage,
} from "./protocol.ts";
import { type Ahead, selectAhead } from "./select-ahead.ts";
import type { WorkerInit } from "./worker.ts";

/** First pause before a worker that failed to start is started again, ms; doubled per failure up to the maximum. */
const RESTART_BACKOFF_MS = 250;
const MAX_RESTART_BACKOFF_MS = 30_000;

/** A pool of query workers. Create once per process (or server) and `close()` it when done. */
export class QueryPool {
  /** Worker threads always running. */
  readonly size: number;
  /** Most worker threads, spares included. */
  readonly maxWorkers: number;
  private readonly heapMb: number;
  private readonly youngMb: number;
  private readonly graceMs: number;
  private readonly spareIdleMs: number;
  private readonly engine: Partial<EngineOptions>;
  /** Plans a job's reads before it is handed over (parses, never evaluates); the workers' settings. */
  private readonly planner: Engine;
  private readonly script: URL;
  private readonly bounds: PageBounds | undefined;
  private readonly slots: Slot[] = [];
  private readonly queue = new FairQueue<Job>();
  private nextJob = 1;
  private closed = false;
  private lastStartError: string | null = null;
  private readonly assistsOn: boolean;
  /** The assists of running jobs, and the split of a job's selection before it is handed over. */
  private readonly desk: AssistDesk;
  private readonly inlineOn: boolean;
  private readonly inlineMaxMs: number;
  /**
   * Set while a job evaluated inline holds this turn of the event loop, cleared in the next turn's check phase: one
   * job at most is evaluated inline per turn (others go to workers), so a burst of them never adds up.
   */
  private inlineTurn: NodeJS.Immediate | null = null;
  /**
   * The job taken from its queue while no worker was free (every one busy or starting; a spare takes a few hundred
   * ms to start): evaluated inline at once when small, or else waiting with its selections made for the first free
   * worker. One at most, so no more is selected ahead than one job's first pages.
   */
  private lane: Lane | null = null;
  private counts = { canceled: 0, timedOut: 0, rejected: 0, inline: 0 };
  private readonly serveTimes = new ServeTimes();
  private readonly restarts: Record<RestartReason, number> = {
    timeout: 0,
    canceled: 0,
    out_of_memory: 0,
    crashed: 0,
  };

  /** Starts the workers now, so the first query does not wait for them longer than their start-up. */
  constructor(opts: QueryPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(opts.workers ?? availableParallelism()));
    this.maxWorkers = Math.max(
      this.size + 1,
      Math.floor(opts.maxWorkers ?? MAX_WORKERS_PER_CORE * availableParallelism()),
    );
    this.heapMb = opts.workerHeapMb ?? DEFAULT_WORKER_HEAP_MB;
    this.youngMb = opts.workerYoungGenerationMb ?? DEFAULT_WORKER_YOUNG_GENERATION_MB;
    this.graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
    this.spareIdleMs = opts.spareIdleMs ?? SPARE_IDLE_MS;
    this.engine = opts.engine ?? {};
    this.planner = new Engine(this.engine);
    this.script = opts.workerScript ?? siblingModule(import.meta.url, "worker-main");
    this.bounds = opts.pageBounds;
    this.assistsOn = opts.assists ?? true;
    this.inlineOn = opts.inline ?? true;
    this.inlineMaxMs = opts.inlineMaxMs ?? INLINE_MAX_MS;
    this.desk = new AssistDesk({
      planner: this.planner,
      graceMs: this.graceMs,
      helperSlot: (job) => this.helperSlot(job),
      nextId: () => this.nextJob++,
      occupy: (slot) => this.occupy(slot),
      vacate: (slot) => this.vacate(slot),
      reply: (slot, response) => this.reply(slot, response),
      complete: (slot, job, outcome) => this.complete(slot, job, outcome),
      dispatch: () => this.dispatch(),
      hand: (job, slot, ahead, queueSeconds, presplit) => this.hand(job, slot, ahead, queueSeconds, presplit),
      observe: (seconds) => this.serveTimes.observe(seconds),
    });
    for (let i = 0; i < this.size; i++) this.addSlot();
  }

  /**
   * Most jobs of one org running at once, whatever its own limit: one worker always stays for the other orgs, while
   * one org can still keep every core busy.
   */
  get perOrgCap(): number {
    return this.maxWorkers - 1;
  }

  /**
   * Evaluates `spec` for `sub.org` on a worker and resolves with the whole answer, rendered as `spec.render` asks
   * (the API's JSON in UTF-8, or the rules' samples), in chunks. Rejects with a ContrailError: `unavailable` when the
   * org's queue is full or the pool is closed, `query_timeout` when the deadline passes (waiting included),
   * `query_canceled` when the client goes away, and the query's own errors.
   */
  run(spec: QuerySpec, sub: Submission): Promise<Uint8Array[]> {
    if (this.closed) return Promise.reject(new ContrailError("unavailable", "the query pool is shut down"));
    if (sub.signal?.aborted) return Promise.reject(canceledError("query queue"));
    return new Promise<Uint8Array[]>((resolve, reject) => {
      const now = performance.now();
      const job: Job = {
        id: this.nextJob++,
        org: sub.org,
        maxRunning: Math.min(Math.max(1, sub.maxConcurrent), this.perOrgCap),
        spec,
        sub,
        submitted: now,
        deadline: now + spec.timeoutMs,
        settle: (o) => ("error" in o ? reject(o.error) : resolve(o.body)),
        state: "queued",
        slot: null,
        data: null,
        stop: null,
        timer: null,
        unlisten: () => {},
        assists: new Map(),
        started: 0,
      };
      const onAbort = () => this.cancel(job);
      sub.signal?.addEventListener("abort", onAbort, { once: true });
      job.unlisten = () => sub.signal?.removeEventListener("abort", onAbort);
      job.timer = setTimeout(() => this.expire(job), Math.max(0, spec.timeoutMs));
      this.queue.enqueue(job);
      this.dispatch();
      if (job.state === "queued" && this.queue.waiting(job.org) > sub.maxQueued) {
        this.queue.remove(job);
        this.counts.rejected++;
        this.finish(job, {
          error: new ContrailError(
            "unavailable",
            `too many queries waiting for this org (limit ${sub.maxQueued} queued, ${job.maxRunning} running at once); retry when earlier queries have finished`,
          ),
        });
      } else if (job.state === "queued" && this.lastStartError !== null && this.readyCount() === 0) {
        this.queue.remove(job);
        this.finish(job, { error: startError(this.lastStartError) });
      }
    });
  }

  /** The pool's state and counters. */
  figures(): PoolFigures {
    return {
      workers: this.slots.length,
      maxWorkers: this.maxWorkers,
      ready: this.readyCount(),
      busy: this.slots.filter((s) => !idle(s)).length,
      queued: this.queue.waiting(),
      canceled: this.counts.canceled,
      timedOut: this.counts.timedOut,
      rejected: this.counts.rejected,
      assists: this.desk.posted,
      inline: this.counts.inline,
      restarts: { ...this.restarts },
      serve: this.serveTimes.figures(),
    };
  }

  /** Refuses new jobs, fails waiting and running ones with `unavailable`, and terminates the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.inlineTurn !== null) clearImmediate(this.inlineTurn);
    this.inlineTurn = null;
    const down = new ContrailError("unavailable", "the server is shutting down");
    this.failLane(down);
    for (const job of this.queue.drain()) this.finish(job, { error: down });
    const exits: Promise<unknown>[] = [];
    for (const slot of this.slots) {
      if (slot.killTimer !== null) clearTimeout(slot.killTimer);
      if (slot.idleTimer !== null) clearTimeout(slot.idleTimer);
      if (slot.job !== null) this.finish(slot.job, { error: down });
      slot.assist = null;
      slot.port?.close();
      if (slot.worker !== null) exits.push(slot.worker.terminate());
    }
    await Promise.all(exits);
  }

  private readyCount(): number {
    return this.slots.filter((s) => s.ready).length;
  }

  // A new slot with its flags, and its worker starting.
  private addSlot(): Slot {
    const slot = newSlot();
    this.slots.push(slot);
    this.spawn(slot);
    return slot;
  }

  // Keeps one worker free for the next query: when every worker is busy and none is starting, one more starts,
  // up to the maximum.
  private ensureSpare(): void {
    if (this.closed || this.slots.length >= this.maxWorkers) return;
    if (this.slots.some((s) => idle(s) && s.worker !== null)) return;
    this.addSlot();
  }

  // A spare beyond the base size that idles `spareIdleMs` leaves the pool.
  private scheduleRetire(slot: Slot): void {
    if (slot.idleTimer !== null) clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      slot.idleTimer = null;
      if (!idle(slot) || this.closed || this.slots.length <= this.size) return;
      slot.retired = true;
      this.slots.splice(this.slots.indexOf(slot), 1);
      slot.port?.close();
      void slot.worker?.terminate();
    }, this.spareIdleMs);
    slot.idleTimer.unref();
  }
  // Starts a worker in `slot`; its messages, data requests and exit are wired to the slot.
  private spawn(slot: Slot): void {
    const { port1, port2 } = new MessageChannel();
    const init: WorkerInit = { port: port2, flags: slot.flags.buffer as SharedArrayBuffer, engine: this.engine };
    const worker = spawnWorker(this.script, {
      workerData: init,
      transferList: [port2],
      resourceLimits: { maxOldGenerationSizeMb: this.heapMb, maxYoungGenerationSizeMb: this.youngMb },
    });
    slot.worker = worker;
    slot.port = port1;
    slot.ready = false;
    slot.killed = null;
    slot.outOfMemory = false;
    worker.unref();
    port1.unref();
    port1.on("message", (req: DataRequest) => this.serve(slot, req));
    worker.on("message", (m: WorkerMessage) => this.onMessage(slot, m));
    worker.on("error", (err: Error & { code?: string }) => {
      if (err.code === "ERR_WORKER_OUT_OF_MEMORY") slot.outOfMemory = true;
      else if (!slot.ready) this.lastStartError = err.message;
    });
    worker.on("exit", () => this.onExit(slot, worker));
  }

  private onMessage(slot: Slot, m: WorkerMessage): void {
    switch (m.kind) {
      case "ready":
        slot.ready = true;
        slot.failures = 0;
        this.lastStartError = null;
        this.dispatch();
        return;
      case "partial":
        if (slot.assist?.id === m.id) this.desk.ended(slot, { seq: 0, ok: true, partial: m.partial });
        return;
      case "done":
      case "failed": {
        if (m.kind === "failed" && slot.assist?.id === m.id) {
          this.desk.ended(slot, { seq: 0, ok: false, code: m.code, message: m.message });
          return;
        }
        const job = slot.job;
        if (job === null || job.id !== m.id) return;
        this.complete(
          slot,
          job,
          m.kind === "done" ? { body: [...m.body] } : { error: new ContrailError(m.code as ErrorCode, m.message) },
        );
        return;
      }
    }
  }

  // Answers a data request of the slot's worker, and wakes the worker.
  private serve(slot: Slot, req: DataRequest): void {
    const started = performance.now();
    const job = slot.job;
    // A page of a dealt selection is answered by its deal (now, or once the page is built), for a helper too.
    const dealt = this.desk.serveDealt(slot, req);
    let answer: ReturnType<JobData["answer"]>;
    if (dealt !== undefined) answer = dealt;
    else if (job === null || job.id !== req.job || job.data === null) {
      if (req.op === "close" || req.op === "release") return;
      const error = canceledError("expression evaluation");
      answer = { seq: req.seq, ok: false, code: error.code, message: error.message };
    } else if (req.op === "assist") {
      answer = this.desk.start(job, req.seq, req.pages);
    } else if (req.op === "assistResult") {
      answer = this.desk.result(job, req.seq, req.assist, req.partial ?? null);
    } else {
      answer = job.data.answer(req);
    }
    if (answer === null) return;
    this.reply(slot, answer);
    this.serveTimes.observe((performance.now() - started) / 1000);
  }

  // Posts an answer to the slot's worker and wakes it. No transfer list, here or anywhere a query thread posts: a
  // thread that detaches a buffer slows its typed-array code for good (docs/architecture.md, "Query threads never
  // detach a buffer").
  private reply(slot: Slot, response: DataResponse): void {
    if (slot.port === null) return;
    slot.port.postMessage(response);
    Atomics.store(slot.flags, FLAG_REPLY, 1);
    Atomics.notify(slot.flags, FLAG_REPLY);
  }

  // An idle worker to help `job` when two are free and no job waits for one. A helper leaves another worker free,
  // so a query arriving meanwhile never waits; without one, a spare is started (when the pool may grow) for the
  // next large selection. A spare left free by an assist is the worker kept for that query: it is in use as long as
  // assists keep it so, and its idle time starts over (else, never taken itself, it would be retired every
  // `spareIdleMs` and started again by the next large selection, which would then go unassisted).
  private helperSlot(job: Job): Slot | undefined {
    const allowed =
      this.assistsOn && !this.closed && job.stop === null && this.queue.waiting() === 0 && this.lane === null;
    const free = allowed ? this.slots.filter(isFree) : [];
    const starting = this.slots.some((x) => !x.ready && x.worker !== null);
    if (free.length === 1 && !starting && this.slots.length < this.maxWorkers) this.scheduleRetire(this.addSlot());
    const slot = free.length >= 2 ? free[0] : undefined;
    if (slot === undefined || slot.worker === null) return undefined;
    if (this.slots.length > this.size) for (const kept of free) if (kept !== slot) this.scheduleRetire(kept);
    return slot;
  }

  private onExit(slot: Slot, worker: Worker): void {
    if (slot.worker !== worker || slot.retired) return;
    const wasReady = slot.ready;
    const reason: RestartReason = slot.killed ?? (slot.outOfMemory ? "out_of_memory" : "crashed");
    slot.worker = null;
    slot.port?.close();
    slot.port = null;
    slot.ready = false;
    if (slot.killTimer !== null) clearTimeout(slot.killTimer);
    slot.killTimer = null;
    const job = slot.job;
    slot.job = null;
    if (job !== null) {
      this.queue.finished(job.org);
      this.finish(job, { error: exitError(job, reason, this.heapMb) });
    }
    const assist = slot.assist;
    if (assist !== null) {
      const e = exitError(assist.job, reason, this.heapMb);
      this.desk.ended(slot, { seq: 0, ok: false, code: e.code, message: e.message });
    }
    if (this.closed) return;
    if (wasReady || job !== null || assist !== null) this.restarts[reason]++;
    if (!wasReady && job === null && assist === null) {
      // It never started: try again later, and tell the waiting queries why when no worker is up.
      slot.failures++;
      this.lastStartError ??= "the worker exited while starting";
      if (this.readyCount() === 0) {
        for (const j of this.queue.drain()) this.finish(j, { error: startError(this.lastStartError) });
        if (this.lane?.evaluating === false) this.failLane(startError(this.lastStartError));
      }
      const pause = Math.min(MAX_RESTART_BACKOFF_MS, RESTART_BACKOFF_MS * 2 ** (slot.failures - 1));
      setTimeout(() => {
        if (!this.closed) this.spawn(slot);
      }, pause).unref();
      return;
    }
    this.spawn(slot);
  }

  // Starts waiting jobs on idle workers while the queue allows, then makes sure a worker stays free.
  private dispatch(): void {
    for (const slot of this.slots) {
      if (!isFree(slot)) continue;
      const lane = this.lane;
      if (lane !== null && !lane.evaluating) {
        this.lane = null;
        this.takeOver(lane, slot);
        continue;
      }
      const job = this.queue.next();
      if (job === null) break;
      this.start(job, slot);
    }
    this.tryLane();
    this.ensureSpare();
  }

  // The job leaves its queue: running, with its data and the first pages of its selections made here.
  private begin(job: Job): Lane {
    const now = performance.now();
    job.state = "running";
    job.started = now;
    job.data = new JobData(job.sub.queryable, { maxSamples: job.spec.maxSamples, bounds: this.bounds });
    const ahead = selectAhead(job.spec, job.data, {
      planner: this.planner,
      inlineAllowed: this.inlineOn && this.inlineTurn === null,
      observe: (seconds) => this.serveTimes.observe(seconds),
      splitFirstBytes: this.assistsOn ? DEAL_PAGE_BYTES : undefined,
    });
    return { job, ahead, queueSeconds: (now - job.submitted) / 1000, evaluating: ahead.inline !== null };
  }

  // Evaluates a job over its data selected here (`data`) on this thread; one such job per turn of the event loop.
  private evaluateHere(lane: Lane, data: Queryable): Promise<InlineOutcome> {
    this.inlineTurn = setImmediate(() => {
      this.inlineTurn = null;
      if (!this.closed && (this.queue.waiting() > 0 || this.lane !== null)) this.dispatch();
    });
    const { job, queueSeconds } = lane;
    const times = { remainingMs: Math.max(1, job.deadline - performance.now()), queueSeconds, maxMs: this.inlineMaxMs };
    return evaluateInline(this.planner, job.spec, data, times);
  }

  // With no worker free, the next job is selected now and, when small, evaluated here instead of waiting for one.
  private tryLane(): void {
    if (this.lane !== null || this.closed || !this.inlineOn || this.inlineTurn !== null) return;
    // No worker up at all (starting, or failing to): jobs wait for one, or for the start's error.
    if (this.slots.some(isFree) || this.readyCount() === 0) return;
    const job = this.queue.next();
    if (job === null) return;
    const lane = this.begin(job);
    this.lane = lane;
    if (lane.ahead.inline === null) return;
    void this.evaluateHere(lane, lane.ahead.inline).then((outcome) => {
      lane.evaluating = false;
      if (job.state === "done") return;
      // Too large after all: it waits in the lane for the first free worker, unless it was stopped meanwhile.
      if (outcome.kind === "abandoned" && job.stop === null) {
        this.dispatch();
        return;
      }
      this.lane = null;
      this.queue.finished(job.org);
      if (outcome.kind === "abandoned") this.finish(job, { error: stopError(job.stop, "expression evaluation") });
      else {
        this.counts.inline++;
        this.finish(job, outcome.kind === "body" ? { body: outcome.body } : { error: outcome.error });
      }
      this.dispatch();
    });
  }

  // The job of the lane goes to the free worker of `slot`.
  private takeOver(lane: Lane, slot: Slot): void {
    const { job, ahead, queueSeconds } = lane;
    job.slot = slot;
    slot.job = job;
    this.occupy(slot);
    if (ahead.inline !== null || !this.assistsOn || !this.desk.splitAhead(job, slot, ahead, queueSeconds))
      this.hand(job, slot, ahead, queueSeconds);
  }

  // The lane's job fails with `error` (its selections dropped) unless it is being evaluated.
  private failLane(error: ContrailError): void {
    const lane = this.lane;
    if (lane === null) return;
    this.lane = null;
    this.queue.finished(lane.job.org);
    this.finish(lane.job, { error });
  }

  private start(job: Job, slot: Slot): void {
    job.slot = slot;
    slot.job = job;
    this.occupy(slot);
    const lane = this.begin(job);
    const { ahead, queueSeconds } = lane;
    if (ahead.inline !== null) {
      void this.evaluateHere(lane, ahead.inline).then((outcome) => {
        if (job.state === "done" || slot.job !== job) return;
        if (outcome.kind === "abandoned") {
          this.hand(job, slot, ahead, queueSeconds);
          return;
        }
        this.counts.inline++;
        this.release(slot);
        this.finish(job, outcome.kind === "body" ? { body: outcome.body } : { error: outcome.error });
        if (this.lane !== null) this.dispatch();
      });
      return;
    }
    if (!this.assistsOn || !this.desk.splitAhead(job, slot, ahead, queueSeconds))
      this.hand(job, slot, ahead, queueSeconds);
  }

  // Posts `job` to the worker of `slot`, with the selections made ahead.
  private hand(job: Job, slot: Slot, ahead: Ahead, queueSeconds: number, presplit?: JobMessage["presplit"]): void {
    const msg: JobMessage = {
      kind: "job",
      id: job.id,
      spec: job.spec,
      remainingMs: Math.max(1, job.deadline - performance.now()),
      queueSeconds,
      prefetched: ahead.selects,
      presplit,
    };
    slot.worker?.postMessage(msg);
  }

  // The slot's worker takes a job or an assist: no retiring, no stale cancel flag, and the process waits for it.
  private occupy(slot: Slot): void {
    if (slot.idleTimer !== null) clearTimeout(slot.idleTimer);
    slot.idleTimer = null;
    Atomics.store(slot.flags, FLAG_CANCEL, 0);
    slot.worker?.ref();
  }

  // The slot's worker finished its job or assist.
  private vacate(slot: Slot): void {
    if (slot.killTimer !== null) clearTimeout(slot.killTimer);
    slot.killTimer = null;
    slot.worker?.unref();
    if (this.slots.length > this.size) this.scheduleRetire(slot);
  }

  // The slot's worker finished its job: free it.
  private release(slot: Slot): void {
    const job = slot.job;
    slot.job = null;
    if (job !== null) this.queue.finished(job.org);
    this.vacate(slot);
  }

  // The job of `slot` ended with `outcome`: the slot is freed, the job settled, and waiting jobs start.
  private complete(slot: Slot, job: Job, outcome: Outcome): void {
    this.release(slot);
    this.finish(job, outcome);
    this.dispatch();
  }

  // The client went away.
  private cancel(job: Job): void {
    if (job.state === "done") return;
    this.counts.canceled++;
    if (job.state === "queued") {
      this.queue.remove(job);
      this.finish(job, { error: canceledError("query queue") });
      return;
    }
    this.stopRunning(job, "client");
  }

  // The deadline passed.
  private expire(job: Job): void {
    job.timer = null;
    if (job.state === "done") return;
    this.counts.timedOut++;
    if (job.state === "queued") {
      this.queue.remove(job);
      this.finish(job, { error: timeoutError("query queue") });
      return;
    }
    this.stopRunning(job, "deadline");
  }

  // Raises the worker's cancel flag and terminates it if it has not stopped a grace period later.
  private stopRunning(job: Job, why: "client" | "deadline"): void {
    const lane = this.lane;
    if (lane?.job === job && job.stop === null) {
      // Evaluating here ends within the inline bound and then sees the stop; waiting for a worker ends now.
      job.stop = why;
      if (!lane.evaluating) {
        this.failLane(stopError(why, "query queue"));
        this.dispatch();
      }
      return;
    }
    const slot = job.slot;
    if (slot === null || job.stop !== null) return;
    job.stop = why;
    Atomics.store(slot.flags, FLAG_CANCEL, why === "client" ? CANCEL_CLIENT : CANCEL_DEADLINE);
    this.desk.stop(job, why === "client" ? "canceled" : "timeout");
    job.data?.stop(why === "client" ? canceledError("expression evaluation") : timeoutError("expression evaluation"));
    slot.killTimer = setTimeout(() => {
      slot.killTimer = null;
      if (slot.job !== job || slot.worker === null) return;
      slot.killed = why === "client" ? "canceled" : "timeout";
      void slot.worker.terminate();
    }, this.graceMs);
  }

  private finish(job: Job, outcome: Outcome): void {
    if (job.state === "done") return;
    job.state = "done";
    if (job.timer !== null) clearTimeout(job.timer);
    job.timer = null;
    job.unlisten();
    job.data?.close();
    this.desk.stop(job, job.stop === "deadline" ? "timeout" : "canceled");
    job.assists.clear();
    let o = outcome;
    // A job asked to stop reports why it was stopped, whichever check noticed first.
    if ("error" in o && job.stop !== null) {
      const c = o.error.code;
      if (c === "query_canceled" || c === "query_timeout") {
        o = {
          error: job.stop === "client" ? canceledError("expression evaluation") : timeoutError("expression evaluation"),
        };
      }
    }
    job.settle(o);
  }
}

/** A job that left its queue with its selections made ahead, and whether it is being evaluated on this thread. */
interface Lane {
  readonly job: Job;
  readonly ahead: Ahead;
  /** Seconds it waited in its queue. */
  readonly queueSeconds: number;
  evaluating: boolean;
}

// The error of a job stopped `why` in `where`.
function stopError(why: "client" | "deadline" | null, where: string): ContrailError {
  return why === "client" ? canceledError(where) : timeoutError(where);
}
