// A large selection dealt between two workers as it is read: instead of reading every page of a selection before
// cutting it in two (presplit.ts), the main thread gives the job's worker the selection's first page and a helper
// the next, both small, so both halves start evaluating at once, then builds the following pages one per turn of
// its event loop while they evaluate, each to the half that weighs less so far (a page continuing a series goes
// where that series is). The last page is cut where the halves weigh the same. Each half reads its pages through
// the pages it asks for (paged-set.ts), one ahead of the one it evaluates, so a page is built before it is asked
// for; the deal is fixed by the pages alone, so the same data is always split the same way.
// Single-threaded; owned by the assist desk (assist-desk.ts).

import { ContrailError, isContrailError } from "../../model/errors.ts";
import type { JobData } from "./job-data.ts";
import { cutPage, entriesWeight } from "./page-cut.ts";
import type { DataResponse, SeriesPage } from "./protocol.ts";
import { pageWeight } from "./shard.ts";

/**
 * Chunk bytes of a dealt page (at most; the job's own bounds still apply): about 600 of the bench's series, a
 * quarter of a millisecond of the main thread's time, so the first pages are ready soon and the last one, cut in
 * two, evens the halves out.
 */
export const DEAL_PAGE_BYTES = 256 * 1024;

/** Pages built and not yet taken, both halves together, past which no page is built until one is taken. */
const MAX_AHEAD = 4;

/** The job's worker's half (0) or the helper's (1). */
export type Half = 0 | 1;

/** What a deal needs of its desk. */
export interface DealHooks {
  /** False once the job has ended: nothing more is built. */
  readonly alive: () => boolean;
  /** Called with the time each page took to build, in seconds. */
  readonly observe: (seconds: number) => void;
  /** Answers the request a half's worker waits on (it asked before its page was built). */
  readonly deliver: (half: Half, answer: DataResponse) => void;
}

/** One selection's pages dealt to two halves; each half asks for its pages by its own cursor. */
export class PageDeal {
  /** The cursor each half asks for its pages by: the selection's own for the job's worker, negated for the helper. */
  readonly cursors: readonly [number, number];
  private readonly data: JobData;
  private readonly hooks: DealHooks;
  private readonly queues: [SeriesPage[], SeriesPage[]] = [[], []];
  private readonly weights = [0, 0];
  /** The request each half waits on, 0 when none. */
  private readonly waiting = [0, 0];
  /** The half the last page went to (a page continuing its series follows it). */
  private owner: Half = 0;
  private ended = false;
  private failed: ContrailError | null = null;
  private turn: NodeJS.Immediate | null = null;

  /**
   * Deals the selection `first` is the first page of (claimed from `data`, not its last): `first` is the job's
   * worker's, the next page built is the helper's.
   */
  constructor(data: JobData, first: SeriesPage, hooks: DealHooks) {
    this.data = data;
    this.hooks = hooks;
    this.cursors = [first.cursor, -first.cursor];
    this.weights[0] = pageWeight(first);
    this.schedule();
  }

  /** True when `cursor` names a half of this deal. */
  owns(cursor: number): boolean {
    return cursor === this.cursors[0] || cursor === this.cursors[1];
  }

  /** Answers request `seq` for the next page of the half of `cursor` now, or later through `deliver` (null). */
  request(cursor: number, seq: number): DataResponse | null {
    const half: Half = cursor === this.cursors[0] ? 0 : 1;
    const q = this.queues[half];
    if (q.length > 0) {
      const page = q.shift() as SeriesPage;
      this.schedule();
      return answerOf(seq, page);
    }
    if (this.failed !== null) return errorOf(seq, this.failed);
    if (this.ended) return errorOf(seq, new ContrailError("internal", "a dealt selection was read past its end"));
    this.waiting[half] = seq;
    this.schedule();
    return null;
  }

  /** Stops building (the job ended); a request waiting is left to the job's end to settle. */
  stop(): void {
    if (this.turn !== null) clearImmediate(this.turn);
    this.turn = null;
    this.ended = true;
  }

  // Builds the next page in a turn of its own, while pages are wanted: a half waits, or too few are built ahead.
  private schedule(): void {
    if (this.turn !== null || this.ended || this.failed !== null) return;
    const [a, b] = this.queues;
    const waits = this.waiting[0] !== 0 || this.waiting[1] !== 0;
    if (!waits && !((a.length === 0 || b.length === 0) && a.length + b.length < MAX_AHEAD)) return;
    this.turn = setImmediate(() => {
      this.turn = null;
      if (!this.hooks.alive()) return;
      this.build();
      this.schedule();
    });
  }

  private build(): void {
    const started = performance.now();
    let page: SeriesPage;
    try {
      page = this.data.nextPageOf(this.cursors[0], DEAL_PAGE_BYTES);
    } catch (err) {
      this.failed = isContrailError(err) ? err : new ContrailError("internal", String(err));
      this.hooks.observe((performance.now() - started) / 1000);
      for (const half of [0, 1] as const) this.answerWaiting(half);
      return;
    }
    if (page.done) this.dealLast(page);
    else this.deal(page.continued ? this.owner : this.lighter(), page);
    this.hooks.observe((performance.now() - started) / 1000);
    for (const half of [0, 1] as const) this.answerWaiting(half);
  }

  private lighter(): Half {
    return this.weights[0] <= this.weights[1] ? 0 : 1;
  }

  private deal(half: Half, page: SeriesPage): void {
    this.queues[half].push({ ...page, cursor: this.cursors[half] });
    this.weights[half] += pageWeight(page);
    this.owner = half;
  }

  // The selection's last page: cut where the halves weigh the same (its first part to the half its continued
  // series is in, else to the lighter one), each half's part its last page, an empty one for a half given none.
  private dealLast(page: SeriesPage): void {
    this.ended = true;
    const x: Half = page.continued ? this.owner : this.lighter();
    const y: Half = x === 0 ? 1 : 0;
    const n = page.pairs.length;
    const total = pageWeight(page);
    const gap = (e: number) => {
      const w = entriesWeight(page, e);
      return Math.abs(this.weights[x] + w - (this.weights[y] + total - w));
    };
    let best = n;
    for (let e = page.continued ? 1 : 0; e < n; e++) if (gap(e) < gap(best)) best = e;
    const [first, second] = best === n ? [page, null] : best === 0 ? [null, page] : cutPage(page, best);
    this.queues[x].push(
      first === null ? emptyPage(this.cursors[x]) : { ...first, done: true, cursor: this.cursors[x] },
    );
    this.queues[y].push(
      second === null ? emptyPage(this.cursors[y]) : { ...second, done: true, cursor: this.cursors[y] },
    );
  }

  private answerWaiting(half: Half): void {
    const seq = this.waiting[half];
    if (seq === 0) return;
    const q = this.queues[half];
    if (q.length > 0) {
      this.waiting[half] = 0;
      this.hooks.deliver(half, answerOf(seq, q.shift() as SeriesPage));
    } else if (this.failed !== null) {
      this.waiting[half] = 0;
      this.hooks.deliver(half, errorOf(seq, this.failed));
    }
  }
}

function answerOf(seq: number, page: SeriesPage): DataResponse {
  return { seq, ok: true, page };
}

function errorOf(seq: number, e: ContrailError): DataResponse {
  return { seq, ok: false, code: e.code, message: e.message };
}

/** A last page of no series, for a half the selection's last page gave nothing to. */
function emptyPage(cursor: number): SeriesPage {
  return {
    cursor,
    done: true,
    continued: false,
    pairs: new Uint32Array(0),
    names: [],
    nameRefs: new Uint32Array(0),
    valueLengths: new Uint32Array(0),
    values: "",
    chunked: new Uint8Array(0),
    offsets: Uint32Array.of(0),
    t: new Float64Array(0),
    v: new Float64Array(0),
    chunkIndex: Uint32Array.of(0),
    chunkRanges: new Float64Array(0),
    chunkEnds: new Uint32Array(0),
    chunkBytes: new Uint8Array(0),
    chunkEncodings: new Uint8Array(0),
    sourceStarts: new Uint32Array(0),
    sourceRanges: new Float64Array(0),
    histogramAt: new Uint32Array(0),
    histograms: [],
    warnings: [],
  };
}
