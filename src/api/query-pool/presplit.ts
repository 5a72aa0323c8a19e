// A large selection split on the main thread: a job whose query a worker would split with an assist (shard.ts) has
// its one selection's pages gathered here, one page per turn of the event loop as a worker's requests would be
// served, then cut in two and posted to both workers at once. The job's worker no longer asks for the pages one
// request at a time, nor the assist waits for that worker's cut: both halves start once the last page is built.

import { ContrailError, type ErrorCode } from "../../model/errors.ts";
import type { Engine } from "../../promql/engine/index.ts";
import type { JobData } from "./job-data.ts";
import type { JobMessage, PrefetchedSelect, QuerySpec, SeriesPage } from "./protocol.ts";
import { cutPages, MIN_SHARD_BYTES, pageWeight, shardOp, splitPoint } from "./shard.ts";

/**
 * Most pages of one selection gathered on the main thread (about a MiB each): past them the job is handed over
 * with the pages gathered so far, and its worker asks for the rest and splits as before.
 */
export const MAX_GATHERED_PAGES = 16;

/**
 * True when the job of `spec`, whose selections made ahead are `selects`, is worth splitting here: a range query a
 * worker would split (shard.ts), whose one selection is more than one page or a page of the split's least weight.
 */
export function worthSplitting(planner: Engine, spec: QuerySpec, selects: readonly PrefetchedSelect[]): boolean {
  if (spec.at.kind !== "range" || selects.length !== 1) return false;
  const first = selects[0].page;
  if (first.done && pageWeight(first) < MIN_SHARD_BYTES) return false;
  try {
    return shardOp(planner.syntaxTree(spec.query)) !== null;
  } catch {
    return false;
  }
}

/** The pages gathered of a selection made ahead as `select`: all of them (`whole`), or its first MAX_GATHERED_PAGES. */
export interface GatheredPages {
  readonly select: PrefetchedSelect;
  readonly pages: SeriesPage[];
  readonly whole: boolean;
}

/** What gathering ended with: the pages, or the error a page met. */
export type Gathered = GatheredPages | { readonly error: ContrailError };

/**
 * Gathers the pages of `data`'s selection made ahead as `select`, one per turn of the event loop (each page is
 * bounded in size and time, pages.ts), and calls `done` with them; stops without calling it once `alive` is false
 * (the job ended meanwhile). `observe` is given the time each page took, in seconds, as a worker's request's is.
 */
export function gatherPages(
  data: JobData,
  select: PrefetchedSelect,
  hooks: { readonly alive: () => boolean; readonly observe: (seconds: number) => void },
  done: (g: Gathered) => void,
): void {
  const pages = [select.page];
  const step = () => {
    if (!hooks.alive()) return;
    const last = pages[pages.length - 1];
    const started = performance.now();
    const res = data.answer({ seq: 0, job: 0, op: "page", cursor: last.cursor });
    hooks.observe((performance.now() - started) / 1000);
    if (res === null || !res.ok || !("page" in res)) {
      const error =
        res !== null && !res.ok
          ? new ContrailError(res.code as ErrorCode, res.message)
          : new ContrailError("internal", "a page of series was expected");
      done({ error });
      return;
    }
    pages.push(res.page);
    if (res.page.done || pages.length >= MAX_GATHERED_PAGES) done({ select, pages, whole: res.page.done });
    else setImmediate(step);
  };
  if (select.page.done) done({ select, pages, whole: true });
  else setImmediate(step);
}

/** The job's side of a gathered selection: its select with its pages, and its `presplit`. */
export interface SplitSelection {
  readonly select: PrefetchedSelect;
  readonly presplit: JobMessage["presplit"];
}

/**
 * A gathered selection cut in two where its halves weigh the same (shard.ts), the second half posted to a helper
 * by the function `helper` gives (it returns the assist's id; null: no helper is free, the job keeps every page).
 * A selection not gathered whole goes as it is, for the job's worker to ask for the rest and split it.
 */
export function splitGathered(
  g: GatheredPages,
  helper: () => ((second: readonly SeriesPage[]) => number) | null,
): SplitSelection {
  const cut = g.whole ? splitPoint(g.pages) : null;
  const post = cut === null ? null : helper();
  let mine = g.pages;
  let assist = 0;
  if (cut !== null && post !== null) {
    const halves = cutPages(g.pages, cut);
    mine = halves.first;
    assist = post(halves.second);
  }
  return {
    select: { ...g.select, page: mine[0], more: mine.slice(1) },
    presplit: g.whole ? { assist } : undefined,
  };
}
