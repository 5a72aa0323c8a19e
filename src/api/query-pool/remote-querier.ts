// The worker's side of data access: a Queryable whose queriers ask the main thread, synchronously, because the
// engine's storage contract is synchronous. A request is posted on the data port, then the worker blocks on a
// shared flag until the main thread has posted the answer, and takes it with receiveMessageOnPort.

import { type MessagePort, receiveMessageOnPort } from "node:worker_threads";
import { ContrailError, type ErrorCode } from "../../model/errors.ts";
import type { Matcher } from "../../model/matcher.ts";
import type { LabelHints, Querier, Queryable, SelectHints, SeriesSet } from "../../storage/interface.ts";
import { PagedSeriesSet, pageOf } from "./paged-set.ts";
import {
  CANCEL_CLIENT,
  type DataRequest,
  type DataResponse,
  FLAG_CANCEL,
  FLAG_REPLY,
  type PrefetchedSelect,
  type SeriesPage,
  type WireMatcher,
  wireMatchers,
} from "./protocol.ts";
import type { SampleBudget } from "./sample-budget.ts";

/** How long one wait for an answer lasts before the cancel flag is looked at again, ms. */
const WAIT_SLICE_MS = 20;

// A request without the fields the channel fills in.
type Request = DataRequest extends infer R ? (R extends unknown ? Omit<R, "seq" | "job"> : never) : never;

/** Synchronous calls to the main thread for the job being run. One per worker; `begin` it for every job. */
export class DataChannel {
  private readonly port: MessagePort;
  private readonly flags: Int32Array;
  private seq = 0;
  private job = 0;
  /** The request sent and not yet waited for, 0 when none: its answer would be dropped by a wait for another. */
  private outstanding = 0;
  /** One-way requests not yet posted: they go ahead of the next request (see `post`). */
  private readonly deferred: DataRequest[] = [];

  /** A channel over `port` and the worker's shared flags. */
  constructor(port: MessagePort, flags: Int32Array) {
    this.port = port;
    this.flags = flags;
  }

  /** Starts serving job `id`: answers left over from an earlier job are dropped. */
  begin(id: number): void {
    this.job = id;
    this.outstanding = 0;
    this.deferred.length = 0;
    while (receiveMessageOnPort(this.port) !== undefined) {
      // Drain: stale answers of a job that stopped waiting for them.
    }
  }

  /** True once the main thread asked the running job to stop. */
  cancelled(): boolean {
    return Atomics.load(this.flags, FLAG_CANCEL) !== 0;
  }

  /** Throws the error of a stop the main thread asked for. */
  throwCancelled(): never {
    if (Atomics.load(this.flags, FLAG_CANCEL) === CANCEL_CLIENT) {
      throw new ContrailError("query_canceled", "query was canceled in expression evaluation");
    }
    throw new ContrailError("query_timeout", "query timed out in expression evaluation");
  }

  /** Sends `req` (copied, never transferred) and blocks until its answer; an error answer is thrown. */
  call(req: Request): DataResponse {
    return this.wait(this.send(req));
  }

  /** Sends `req` without waiting; returns its number for `wait`. One request at a time may be outstanding. */
  send(req: Request): number {
    if (this.cancelled()) this.throwCancelled();
    if (this.outstanding !== 0)
      throw new ContrailError("internal", "a data request was sent before the last was answered");
    const seq = ++this.seq;
    this.outstanding = seq;
    Atomics.store(this.flags, FLAG_REPLY, 0);
    for (const d of this.deferred) this.port.postMessage(d);
    this.deferred.length = 0;
    this.port.postMessage({ ...req, seq, job: this.job });
    return seq;
  }

  /** Blocks until the answer to request `seq` is there; an error answer is thrown as a ContrailError. */
  wait(seq: number): DataResponse {
    for (;;) {
      Atomics.wait(this.flags, FLAG_REPLY, 0, WAIT_SLICE_MS);
      // Cleared before the port is read: an answer posted after the read sets the flag again, so no wake-up is lost.
      Atomics.store(this.flags, FLAG_REPLY, 0);
      for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) {
        const res = m.message as DataResponse;
        if (res.seq !== seq) continue;
        this.outstanding = 0;
        if (!res.ok) throw new ContrailError(res.code as ErrorCode, res.message);
        return res;
      }
      if (this.cancelled()) this.throwCancelled();
    }
  }

  /**
   * Waits for the answer to request `seq` and drops it, an error answer too, so the channel can serve the next
   * request: for a caller that gave up on it while something else is under way (an error being thrown); a stop the
   * main thread asked for ends the wait, and is thrown by the next request.
   */
  drop(seq: number): void {
    this.settle(seq);
  }

  /**
   * Waits for the answer to request `seq` as `drop` does, and returns it; null when it was an error answer or a stop
   * the main thread asked for ended the wait (the stop is thrown by the next request).
   */
  settle(seq: number): DataResponse | null {
    try {
      return this.wait(seq);
    } catch (e) {
      if (!(e instanceof ContrailError)) throw e;
      this.outstanding = 0;
      return null;
    }
  }

  /**
   * Sends a one-way request ahead of the next request of the job, not now: posting wakes the main thread, and the
   * one the engine sends (a querier's close, at the end of its evaluation) would cost the job a wake-up of the main
   * thread just before its answer. One left at the job's end is dropped: the main thread then closes everything the
   * job opened.
   */
  post(req: Request): void {
    this.deferred.push({ ...req, seq: 0, job: this.job } as DataRequest);
  }
}

/**
 * Decides what a selection's worker keeps of the pages it received, all of them once more: the pages it gives
 * away are another worker's to evaluate (shard.ts).
 */
export type PageSplit = (pages: SeriesPage[]) => SeriesPage[];

/** A Queryable served by the main thread through `channel`, for one job; its samples read count against `budget`. */
export class RemoteQueryable implements Queryable {
  private readonly channel: DataChannel;
  private readonly budget: SampleBudget;
  private readonly split: PageSplit | null;
  /** Selections the main thread made ahead, for the first querier of their range; emptied once it is opened. */
  private prefetched: readonly PrefetchedSelect[];
  private readonly given: boolean;
  private next = 1;

  /**
   * With `split`, each selection's pages pass through it once they have all arrived; `prefetched` are the
   * selections the main thread made ahead of the job. With `given`, the prefetched selections carry every page
   * this worker may read (the main thread split the selection): it asks for no page and makes no other selection.
   */
  constructor(
    channel: DataChannel,
    budget: SampleBudget,
    split: PageSplit | null = null,
    prefetched: readonly PrefetchedSelect[] = [],
    given = false,
  ) {
    this.channel = channel;
    this.budget = budget;
    this.split = split;
    this.prefetched = prefetched;
    this.given = given;
  }

  querier(mint: number, maxt: number): Querier {
    const ahead = this.prefetched;
    if (ahead.length > 0 && ahead[0].querier.mint === mint && ahead[0].querier.maxt === maxt) {
      this.prefetched = [];
      return new RemoteQuerier(this.channel, this.budget, ahead[0].querier, this.split, [...ahead], this.given);
    }
    if (this.given) throw new ContrailError("internal", "a query split by the main thread reads only its given series");
    return new RemoteQuerier(this.channel, this.budget, { querier: this.next++, mint, maxt }, this.split);
  }
}

/** True when a selection made ahead is the one asked for: the same matchers and the same hints. */
export function sameSelect(
  p: Pick<PrefetchedSelect, "matchers" | "hints">,
  ms: readonly WireMatcher[],
  hints: SelectHints,
): boolean {
  if (p.matchers.length !== ms.length) return false;
  for (let i = 0; i < ms.length; i++) {
    const [a, b] = [p.matchers[i], ms[i]];
    if (a[0] !== b[0] || a[1] !== b[1] || a[2] !== b[2]) return false;
  }
  return JSON.stringify(p.hints) === JSON.stringify(hints);
}

/** A querier whose main-thread twin is opened by its first request and closed by `close()` or the job's end. */
class RemoteQuerier implements Querier {
  private readonly channel: DataChannel;
  private readonly budget: SampleBudget;
  private readonly ref: { readonly querier: number; readonly mint: number; readonly maxt: number };
  private readonly split: PageSplit | null;
  /** Selections made ahead on this querier (the main thread opened it), each taken at most once. */
  private readonly ahead: PrefetchedSelect[];
  /** True when the selections made ahead carry every page this worker reads (see RemoteQueryable). */
  private readonly given: boolean;
  /** Selections whose pages were kept for a split (see `select`). */
  private readonly kept: { matchers: readonly WireMatcher[]; hints: SelectHints; set: SeriesSet }[] = [];
  private used = false;
  private closed = false;

  constructor(
    channel: DataChannel,
    budget: SampleBudget,
    ref: { querier: number; mint: number; maxt: number },
    split: PageSplit | null,
    ahead: PrefetchedSelect[] = [],
    given = false,
  ) {
    this.channel = channel;
    this.budget = budget;
    this.ref = ref;
    this.split = split;
    this.ahead = ahead;
    this.given = given;
    // A querier the main thread opened is closed by its `close()` like any other.
    this.used = ahead.length > 0;
  }

  // The first pages of a selection: those made ahead when there are, else the first asked for.
  private firstPages(matchers: readonly Matcher[], hints: SelectHints): SeriesPage[] {
    const wired = wireMatchers(matchers);
    const i = this.ahead.findIndex((p) => sameSelect(p, wired, hints));
    if (i >= 0) {
      const made = this.ahead.splice(i, 1)[0];
      return [made.page, ...(made.more ?? [])];
    }
    if (this.given) throw new ContrailError("internal", "a query split by the main thread reads only its given series");
    return [pageOf(this.channel.call({ ...this.ref, op: "select", matchers: wired, hints }))];
  }

  select(matchers: readonly Matcher[], hints: SelectHints): SeriesSet {
    this.used = true;
    if (this.split === null && !this.given) {
      const first = this.firstPages(matchers, hints);
      if (first.length > 1) throw new ContrailError("internal", "pages built ahead are read by a split only");
      return new PagedSeriesSet(this.budget, { first: first[0], channel: this.channel });
    }
    // The split needs every page, so they are kept: a selection made again reads them again, and the split (which
    // may hand half to another worker) is made once. A dealt half (given, no split) keeps the pages it was dealt as
    // it reads them, for the same reason: its selection cannot be made again.
    const wired = wireMatchers(matchers);
    const known = this.kept.find((k) => sameSelect(k, wired, hints));
    if (known !== undefined) return known.set;
    const pages = this.firstPages(matchers, hints);
    if (this.split === null) {
      const dealt = new PagedSeriesSet(this.budget, { first: pages[0], channel: this.channel, keep: true });
      this.kept.push({ matchers: wired, hints, set: dealt });
      return dealt;
    }
    for (let page = pages[pages.length - 1]; !this.given && !page.done; ) {
      page = pageOf(this.channel.call({ op: "page", cursor: page.cursor }));
      pages.push(page);
    }
    const set = new PagedSeriesSet(this.budget, { kept: this.given ? pages : this.split(pages) });
    this.kept.push({ matchers: wired, hints, set });
    return set;
  }

  labelNames(matchers: readonly Matcher[], hints?: LabelHints): string[] {
    this.used = true;
    return stringsOf(this.channel.call({ ...this.ref, op: "labelNames", matchers: wireMatchers(matchers), hints }));
  }

  labelValues(name: string, matchers: readonly Matcher[], hints?: LabelHints): string[] {
    this.used = true;
    return stringsOf(
      this.channel.call({ ...this.ref, op: "labelValues", name, matchers: wireMatchers(matchers), hints }),
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.used) this.channel.post({ op: "close", querier: this.ref.querier });
  }
}

function stringsOf(res: DataResponse): string[] {
  if (res.ok && "strings" in res) return [...res.strings];
  throw new ContrailError("internal", "a list of strings was expected from the main thread");
}
