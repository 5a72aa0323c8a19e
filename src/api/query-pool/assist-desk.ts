// The main thread's side of a job split across two workers. A worker whose selection is large hands half of its
// pages here to be posted to an idle helper (an assist, shard.ts); the helper's result goes back to the job's worker
// when it asks, or, with the worker's own half offered, both are merged and the job answered here (merge-here.ts).
// A selection larger than its first page is dealt between the two as it is read (deal.ts) when a helper is free
// as the job starts; else a selection of a few pages is gathered and cut here before the job is handed over, both
// halves posted at once (presplit.ts). An assist belongs to its job: it stops with it, and a helper that does not
// stop is terminated.
// Single-threaded; owned by the pool (pool.ts), whose slots, queue and answers it reaches through `AssistHost`.

import type { Engine } from "../../promql/engine/index.ts";
import { DEAL_PAGE_BYTES, type Half, PageDeal } from "./deal.ts";
import { mergeHere } from "./merge-here.ts";
import type { Assist, Job, Outcome, Slot } from "./pool-slots.ts";
import { gatherPages, splitGathered, worthSplitting } from "./presplit.ts";
import {
  type AssistMessage,
  CANCEL_CLIENT,
  CANCEL_DEADLINE,
  type DataRequest,
  type DataResponse,
  FLAG_CANCEL,
  type JobMessage,
  type SeriesPage,
} from "./protocol.ts";
import type { Ahead } from "./select-ahead.ts";
import { type PartialResult, pageWeight } from "./shard.ts";

/** What the desk needs of the pool that owns it; every member acts on the pool's own state, synchronously. */
export interface AssistHost {
  /** Plans reads and merges halves with the workers' engine settings. */
  readonly planner: Engine;
  /** How long a helper asked to stop may take before it is terminated, ms. */
  readonly graceMs: number;
  /** An idle worker's slot free to help `job` now, or undefined (none may be taken). */
  helperSlot(job: Job): Slot | undefined;
  /** A new id for an assist, from the counter jobs take theirs from: a worker's message names either. */
  nextId(): number;
  /** Marks the slot's worker as taking work. */
  occupy(slot: Slot): void;
  /** Marks the slot's worker as done with its assist. */
  vacate(slot: Slot): void;
  /** Posts `response` to the slot's worker and wakes it. */
  reply(slot: Slot, response: DataResponse): void;
  /** Frees the job's `slot`, settles `job` with `outcome` and starts waiting jobs. */
  complete(slot: Slot, job: Job, outcome: Outcome): void;
  /** Starts waiting jobs on free workers. */
  dispatch(): void;
  /** Posts `job` to the worker of `slot` with the selections made ahead (and the presplit, if any). */
  hand(job: Job, slot: Slot, ahead: Ahead, queueSeconds: number, presplit?: JobMessage["presplit"]): void;
  /** Records the time one data request took to serve, in seconds. */
  observe(seconds: number): void;
}

/** The assists of a pool's jobs: posting halves to helpers, handing back or merging their results, stopping them. */
export class AssistDesk {
  private postedCount = 0;
  /** The deals of running jobs (deal.ts), until the job ends. */
  private readonly deals = new Map<Job, PageDeal>();

  constructor(private readonly host: AssistHost) {}

  /** Assists posted since the pool started. */
  get posted(): number {
    return this.postedCount;
  }

  /**
   * Answers the request `seq` of `job`'s worker to hand `pages` of its selection to a helper: the assist's id when a
   * helper took them, else id 0 with the pages given back.
   */
  start(job: Job, seq: number, pages: readonly SeriesPage[]): DataResponse {
    const slot = this.host.helperSlot(job);
    if (slot === undefined) return { seq, ok: true, assist: 0, pages };
    return { seq, ok: true, assist: this.post(job, slot, pages), pages: [] };
  }

  /**
   * The result of `job`'s assist `id` for the worker's request `seq`: now when the helper has finished, else once it
   * does (null: deferred). With `mine` (the job's worker's own result), the two may be merged and the job answered
   * here (merge-here.ts); null then too.
   */
  result(job: Job, seq: number, id: number, mine: PartialResult | null): DataResponse | null {
    const assist = job.assists.get(id);
    if (assist === undefined) return { seq, ok: false, code: "internal", message: `no assist ${id} in this job` };
    if (assist.result === null) {
      assist.waiting = seq;
      assist.offered = mine;
      return null;
    }
    job.assists.delete(id);
    return this.handBack(job, assist.result, seq, mine);
  }

  /** The helper in `slot` finished (or failed, or exited): its worker is free, and the job's worker gets `outcome`. */
  ended(slot: Slot, outcome: DataResponse): void {
    const assist = slot.assist;
    if (assist === null) return;
    slot.assist = null;
    assist.slot = null;
    this.host.vacate(slot);
    const job = assist.job;
    const owner = job.slot;
    if (job.state === "running" && owner !== null && owner.job === job) {
      assist.result = outcome;
      if (assist.waiting !== 0) {
        job.assists.delete(assist.id);
        const answer = this.handBack(job, outcome, assist.waiting, assist.offered);
        if (answer !== null) this.host.reply(owner, answer);
      }
    }
    this.host.dispatch();
  }

  /**
   * Answers a request for a page of a dealt selection from the worker of `slot` (the job's or its helper's): the
   * page, or null when it is answered once built (or needs no answer); undefined when the request is not one.
   */
  serveDealt(slot: Slot, req: DataRequest): DataResponse | null | undefined {
    if (req.op !== "page" && req.op !== "release") return undefined;
    const assist = slot.assist;
    const job = assist !== null && assist.id === req.job ? assist.job : slot.job?.id === req.job ? slot.job : null;
    const deal = job === null ? undefined : this.deals.get(job);
    if (deal === undefined || !deal.owns(req.cursor)) return undefined;
    // A half that stops reading ends its job with an error: nothing is released.
    return req.op === "page" ? deal.request(req.cursor, req.seq) : null;
  }

  /** Asks the helpers of `job` to stop (the job ended or was stopped), terminating them after the grace period. */
  stop(job: Job, reason: "canceled" | "timeout"): void {
    this.deals.get(job)?.stop();
    this.deals.delete(job);
    for (const assist of job.assists.values()) {
      const slot = assist.slot;
      if (slot === null || slot.killTimer !== null) continue;
      Atomics.store(slot.flags, FLAG_CANCEL, reason === "canceled" ? CANCEL_CLIENT : CANCEL_DEADLINE);
      slot.killTimer = setTimeout(() => {
        slot.killTimer = null;
        if (slot.assist !== assist || slot.worker === null) return;
        slot.killed = reason;
        void slot.worker.terminate();
      }, this.host.graceMs);
    }
  }

  /**
   * Splits `job`'s one selection made ahead here when it is worth it (presplit.ts): its pages are gathered, cut in
   * two, and the job is handed to the worker of `slot` with its half once they are. False (nothing done) when the
   * job is not worth splitting; the caller hands it over as it is.
   */
  splitAhead(job: Job, slot: Slot, ahead: Ahead, queueSeconds: number): boolean {
    const data = job.data;
    if (data === null || !worthSplitting(this.host.planner, job.spec, ahead.selects)) return false;
    if (this.deal(job, slot, ahead, queueSeconds)) return true;
    const hooks = {
      alive: () => job.state === "running" && slot.job === job,
      observe: (seconds: number) => this.host.observe(seconds),
    };
    gatherPages(data, ahead.selects[0], hooks, (g) => {
      if ("error" in g) {
        this.host.complete(slot, job, g);
        return;
      }
      const helper = () => {
        const h = this.host.helperSlot(job);
        return h === undefined ? null : (second: readonly SeriesPage[]) => this.post(job, h, second);
      };
      const split = splitGathered(g, helper);
      this.host.hand(job, slot, { selects: [split.select], inline: null }, queueSeconds, split.presplit);
    });
    return true;
  }

  // Deals `job`'s one selection between the worker of `slot` and a helper (deal.ts), when its first page is not its
  // last and a helper is free now; false (nothing done) otherwise.
  private deal(job: Job, slot: Slot, ahead: Ahead, queueSeconds: number): boolean {
    const data = job.data;
    const first = ahead.selects[0].page;
    // A first page short of its byte bound may be the whole of a small selection (it met its time bound): such a
    // selection is gathered first, and split only when it weighs enough.
    if (data === null || first.done || pageWeight(first) < DEAL_PAGE_BYTES) return false;
    const helper = this.host.helperSlot(job);
    if (helper === undefined || !data.claim(first.cursor)) return false;
    let assist: Assist | null = null;
    const deal = new PageDeal(data, first, {
      alive: () => job.state === "running" && slot.job === job,
      observe: (seconds) => this.host.observe(seconds),
      deliver: (half: Half, answer) => {
        const to = half === 0 ? slot : assist?.slot;
        if (to !== null && to !== undefined) this.host.reply(to, answer);
      },
    });
    this.deals.set(job, deal);
    const id = this.post(job, helper, [], deal.cursors[1]);
    assist = job.assists.get(id) ?? null;
    this.host.hand(job, slot, ahead, queueSeconds, { assist: id, dealt: true });
    return true;
  }

  // Posts `pages` of `job`'s selection to the worker of `slot` as an assist (or, with `cursor`, the cursor of a dealt
  // half to ask for its pages by); returns the assist's id.
  private post(job: Job, slot: Slot, pages: readonly SeriesPage[], cursor?: number): number {
    const assist: Assist = { id: this.host.nextId(), job, slot, result: null, waiting: 0, offered: null };
    job.assists.set(assist.id, assist);
    this.postedCount++;
    this.host.occupy(slot);
    slot.assist = assist;
    const msg: AssistMessage = {
      kind: "assist",
      id: assist.id,
      spec: job.spec,
      remainingMs: Math.max(1, job.deadline - performance.now()),
      pages,
      cursor,
    };
    slot.worker?.postMessage(msg);
    return assist.id;
  }

  // The answer to the job's worker waiting (request `seq`) for its assist's `outcome`: the outcome, or null once the
  // job was answered here from the two halves' results (the worker is told so).
  private handBack(job: Job, outcome: DataResponse, seq: number, mine: PartialResult | null): DataResponse | null {
    const owner = job.slot;
    if (mine !== null && owner !== null && outcome.ok && "partial" in outcome) {
      const now = performance.now();
      const times = { queueSeconds: (job.started - job.submitted) / 1000, evalSeconds: (now - job.started) / 1000 };
      const merged = mergeHere(this.host.planner, job.spec, mine, outcome.partial, times);
      if (merged !== null) {
        // The worker is told before the slot is freed, so its answer is there before any next job.
        this.host.reply(owner, { seq, ok: true, answered: true });
        this.host.complete(owner, job, merged);
        return null;
      }
    }
    return { ...outcome, seq };
  }
}
