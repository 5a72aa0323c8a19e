// The main thread's side of one job's data: the worker's data requests answered from the Queryable the job was
// submitted with (bound to the job's org by the caller), and everything they opened, closed when the job ends.

import { ContrailError, isContrailError } from "../../model/errors.ts";
import { type Matcher, newMatcher, parseMatchType } from "../../model/matcher.ts";
import type { PlannedReads } from "../../promql/engine/index.ts";
import type { LabelHints, Querier, Queryable, SelectHints, SeriesSet } from "../../storage/interface.ts";
import { DEFAULT_PAGE_BOUNDS, type PageBounds, SelectionCursor } from "./pages.ts";
import {
  type DataRequest,
  type DataResponse,
  type PrefetchedSelect,
  type QuerierRef,
  type SeriesPage,
  type WireMatcher,
  wireMatchers,
} from "./protocol.ts";
import { tooManySamples } from "./sample-budget.ts";

/** Querier id of the selections made ahead of a job (`selectAhead`): a worker numbers its own queriers from 1. */
export const PREFETCH_QUERIER = 0;

/** The data side of one job. Single-threaded; `close()` it when the job ends, however it ends. */
export class JobData {
  /** Where the job's data comes from; the caller's, for the job's lifetime. */
  readonly queryable: Queryable;
  private readonly maxSamples: number;
  private readonly bounds: PageBounds | undefined;
  private readonly queriers = new Map<number, Querier>();
  private readonly cursors = new Map<number, SelectionCursor>();
  /**
   * The next page of a selection, built ahead (or the error building it met): once a page is sent, the following
   * one is built in its own turn of the event loop, so the worker's request for it finds it ready.
   */
  private readonly ahead = new Map<number, SeriesPage | ContrailError>();
  private prefetch: NodeJS.Immediate | null = null;
  private nextCursor = 1;
  private sentSamples = 0;
  /** Samples counted for each selection so far, by cursor id, for `release`. */
  private readonly selectionSamples = new Map<number, number>();
  private stopped: ContrailError | null = null;

  /** Serves data of `queryable`; stops with too_many_samples once more than `maxSamples` samples were sent. */
  constructor(queryable: Queryable, opts: { readonly maxSamples: number; readonly bounds?: PageBounds }) {
    this.queryable = queryable;
    this.maxSamples = opts.maxSamples;
    this.bounds = opts.bounds;
  }

  /** Samples counted as sent to the worker so far: decoded ones exactly, a lower bound for chunks (pages.ts). */
  get samplesSent(): number {
    return this.sentSamples;
  }

  /** Makes every further request fail with `err` (the job was canceled or timed out). */
  stop(err: ContrailError): void {
    this.stopped ??= err;
  }

  /** Answers one request; a failure becomes an error answer, never an exception. Null for one-way requests. */
  answer(req: DataRequest): DataResponse | null {
    if (req.op === "close") {
      this.closeQuerier(req.querier);
      return null;
    }
    if (req.op === "release") {
      this.release(req.cursor);
      return null;
    }
    try {
      if (this.stopped !== null) throw this.stopped;
      switch (req.op) {
        case "select": {
          const set = this.querier(req).select(matchers(req.matchers), req.hints as SelectHints);
          const hints = req.hints as SelectHints;
          const id = this.nextCursor++;
          const cursor = new SelectionCursor(set, { mint: hints.start, maxt: hints.end }, this.bounds);
          this.cursors.set(id, cursor);
          return this.page(req.seq, id, cursor);
        }
        case "page": {
          const built = this.ahead.get(req.cursor);
          if (built !== undefined) {
            this.ahead.delete(req.cursor);
            if (built instanceof ContrailError) throw built;
            return this.sent(req.seq, req.cursor, built);
          }
          const cursor = this.cursors.get(req.cursor);
          if (cursor === undefined) throw new ContrailError("internal", `no selection ${req.cursor} in this job`);
          return this.page(req.seq, req.cursor, cursor);
        }
        case "labelNames": {
          const strings = this.querier(req).labelNames(matchers(req.matchers), req.hints as LabelHints | undefined);
          return { seq: req.seq, ok: true, strings };
        }
        case "labelValues": {
          const q = this.querier(req);
          const strings = q.labelValues(req.name, matchers(req.matchers), req.hints as LabelHints | undefined);
          return { seq: req.seq, ok: true, strings };
        }
        case "assist":
        case "assistResult":
          throw new ContrailError("internal", `${req.op} is answered by the query pool`);
      }
    } catch (err) {
      const e = isContrailError(err) ? err : new ContrailError("internal", (err as Error)?.message ?? String(err));
      return { seq: req.seq, ok: false, code: e.code, message: e.message };
    }
  }

  /**
   * Makes the selections of `reads` ahead of the job, on querier {@link PREFETCH_QUERIER} of their range: each
   * one's first page, counted against the sample limit like any page. Stops
   * at the first selection that fails: the worker then asks for it and gets the error as an answer. `firstBytes`:
   * a lower byte bound of those first pages than the job's own (its later pages keep the job's). `sets`: the
   * selections already made on that querier (preselect.ts), in the order of `reads`, each iterated once here.
   */
  selectAhead(reads: PlannedReads, firstBytes?: number, sets?: readonly SeriesSet[]): PrefetchedSelect[] {
    const ref: QuerierRef = { querier: PREFETCH_QUERIER, mint: reads.mint, maxt: reads.maxt };
    const selects: PrefetchedSelect[] = [];
    for (let k = 0; k < reads.selects.length; k++) {
      const { matchers: ms, hints } = reads.selects[k];
      if (this.stopped !== null) break;
      const id = this.nextCursor++;
      try {
        const cursor = new SelectionCursor(
          sets?.[k] ?? this.querier(ref).select(ms, hints),
          { mint: hints.start, maxt: hints.end },
          this.bounds,
        );
        this.cursors.set(id, cursor);
        const answer = this.sent(0, id, this.build(id, cursor, firstBytes));
        if (!answer.ok || !("page" in answer)) break;
        selects.push({ querier: ref, matchers: wireMatchers(ms), hints, page: answer.page });
      } catch {
        this.cursors.delete(id);
        break;
      }
    }
    return selects;
  }

  /** The job's querier of the range of `reads`, on which its selections ahead are made; closed with the job. */
  aheadQuerier(reads: PlannedReads): Querier {
    return this.querier({ querier: PREFETCH_QUERIER, mint: reads.mint, maxt: reads.maxt });
  }

  /** Closes every querier the job opened; idempotent. */
  close(): void {
    if (this.prefetch !== null) clearImmediate(this.prefetch);
    this.prefetch = null;
    this.ahead.clear();
    this.cursors.clear();
    this.selectionSamples.clear();
    for (const id of [...this.queriers.keys()]) this.closeQuerier(id);
  }

  private page(seq: number, id: number, cursor: SelectionCursor): DataResponse {
    return this.sent(seq, id, this.build(id, cursor));
  }

  /**
   * Takes over the reading of selection `cursor` (a selection made ahead, its first page sent): no page of it is
   * built ahead any more, and its next pages are built by {@link nextPageOf} only. False when there is no such
   * selection, or its last page was sent.
   */
  claim(cursor: number): boolean {
    if (this.prefetch !== null) clearImmediate(this.prefetch);
    this.prefetch = null;
    this.ahead.delete(cursor);
    return this.cursors.has(cursor);
  }

  /**
   * The next page of the claimed selection `cursor`, its chunk bytes bounded by `bytes` too, counted against the
   * sample limit; throws the job's stop, the limit's error, or the selection's own.
   */
  nextPageOf(cursor: number, bytes: number): SeriesPage {
    if (this.stopped !== null) throw this.stopped;
    const c = this.cursors.get(cursor);
    if (c === undefined) throw new ContrailError("internal", `no selection ${cursor} in this job`);
    return this.build(cursor, c, bytes);
  }

  // The next page of selection `id` (its bytes bounded by `bytes` too, when given), counted against the sample limit.
  private build(id: number, cursor: SelectionCursor, bytes?: number): SeriesPage {
    if (this.sentSamples > this.maxSamples) throw tooManySamples();
    const before = cursor.counted;
    const own = this.bounds ?? DEFAULT_PAGE_BOUNDS;
    const page = cursor.nextPage(id, bytes === undefined ? undefined : { ...own, bytes: Math.min(own.bytes, bytes) });
    this.sentSamples += cursor.counted - before;
    this.selectionSamples.set(id, cursor.counted);
    if (this.sentSamples > this.maxSamples) throw tooManySamples();
    if (cursor.done) this.cursors.delete(id);
    return page;
  }

  // The answer carrying `page` of selection `id`; the selection's next page is built ahead.
  private sent(seq: number, id: number, page: SeriesPage): DataResponse {
    const cursor = this.cursors.get(id);
    if (cursor !== undefined && this.prefetch === null) {
      this.prefetch = setImmediate(() => {
        this.prefetch = null;
        if (this.stopped !== null || this.cursors.get(id) !== cursor) return;
        try {
          this.ahead.set(id, this.build(id, cursor));
        } catch (err) {
          this.ahead.set(id, isContrailError(err) ? err : new ContrailError("internal", String(err)));
        }
      });
    }
    return { seq, ok: true, page };
  }

  // Forgets selection `id`, whose pages the worker dropped to select again: its samples stop counting.
  private release(id: number): void {
    this.sentSamples -= this.selectionSamples.get(id) ?? 0;
    this.selectionSamples.delete(id);
    this.cursors.delete(id);
    this.ahead.delete(id);
  }

  private querier(ref: QuerierRef): Querier {
    let q = this.queriers.get(ref.querier);
    if (q === undefined) {
      q = this.queryable.querier(ref.mint, ref.maxt);
      this.queriers.set(ref.querier, q);
    }
    return q;
  }

  private closeQuerier(id: number): void {
    const q = this.queriers.get(id);
    if (q === undefined) return;
    this.queriers.delete(id);
    q.close();
  }
}

function matchers(wire: readonly WireMatcher[]): Matcher[] {
  return wire.map(([type, name, value]) => newMatcher(parseMatchType(type), name, value));
}
