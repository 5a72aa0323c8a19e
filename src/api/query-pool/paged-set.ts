// A selection as the worker's engine reads it: series made from pages as the iteration reaches them, each page's
// series handed out and forgotten, so the worker holds pages, not the Series of a whole selection. The pages are
// either kept (an assist split had to receive them all: the set can be read again) or asked of the main thread one
// ahead of the one being read (the set is read once).

import { ContrailError } from "../../model/errors.ts";
import type { Querier, Queryable, Series, SeriesSet } from "../../storage/interface.ts";
import { PageReader } from "./page-reader.ts";
import type { DataResponse, SeriesPage } from "./protocol.ts";
import type { DataChannel } from "./remote-querier.ts";
import type { SampleBudget } from "./sample-budget.ts";

/** Where a set's pages come from: pages received already, or the selection's first page and the channel to ask for
 * the rest. */
export type PageSource =
  | { readonly kept: readonly SeriesPage[] }
  | { readonly first: SeriesPage; readonly channel: DataChannel };

/**
 * A selection read page by page as it is iterated; its samples count against `budget` as its pages are read. A
 * reading broken off gives back to the budget what it counted, since whoever stops reads the selection again; one
 * from the main thread also tells it to forget the selection (its `release` request), for the same reason.
 */
export class PagedSeriesSet implements SeriesSet {
  private readonly budget: SampleBudget;
  private readonly kept: readonly SeriesPage[] | null;
  private readonly channel: DataChannel | null;
  private first: SeriesPage | null;
  private warned: readonly string[] = [];

  /** A set over the pages of `source`, counted against `budget`. */
  constructor(budget: SampleBudget, source: PageSource) {
    this.budget = budget;
    if ("kept" in source) {
      this.kept = source.kept;
      this.channel = null;
      this.first = null;
    } else {
      this.kept = null;
      this.channel = source.channel;
      this.first = source.first;
    }
  }

  /** The selection's warnings, known once it has been read through. */
  get warnings(): readonly string[] {
    return this.warned;
  }

  *[Symbol.iterator](): Iterator<Series> {
    const reader = new PageReader(this.budget);
    const counted = this.budget.read;
    let next = 0;
    let cursor = 0;
    let finished = false;
    try {
      if (this.kept !== null) {
        for (const page of this.kept) {
          reader.add(page);
          yield* reader.take(page.done);
        }
      } else {
        const channel = this.channel as DataChannel;
        let page = this.first;
        if (page === null) throw new ContrailError("internal", "a selection read from the main thread was read twice");
        this.first = null;
        cursor = page.cursor;
        for (;;) {
          // The next page is asked for before this one is read, so the main thread builds it meanwhile.
          next = page.done ? 0 : channel.send({ op: "page", cursor: page.cursor });
          reader.add(page);
          yield* reader.take(page.done);
          if (next === 0) break;
          page = pageOf(channel.wait(next));
          next = 0;
        }
      }
      // The last page kept may not be the selection's last (an assist took the rest): its last series is whole.
      yield* reader.take(true);
      this.warned = reader.selectionWarnings;
      finished = true;
    } finally {
      if (!finished) {
        this.budget.release(this.budget.read - counted);
        if (this.channel !== null && cursor !== 0) {
          if (next !== 0) this.channel.drop(next);
          this.channel.post({ op: "release", cursor });
        }
      }
    }
  }
}

/**
 * The data of an assist (shard.ts): the pages of one selection, already chosen by the worker that received them.
 * The query has that one selection, so the first `select` gives them whatever its matchers; any other read is an
 * internal error.
 */
export class PagesQueryable implements Queryable {
  private pages: readonly SeriesPage[] | null;
  private readonly budget: SampleBudget;

  /** Serves `pages` once, counting their samples against `budget`. */
  constructor(pages: readonly SeriesPage[], budget: SampleBudget) {
    this.pages = pages;
    this.budget = budget;
  }

  querier(): Querier {
    const take = (): SeriesSet => {
      const pages = this.pages;
      if (pages === null) throw new ContrailError("internal", "an assisted query selected twice");
      this.pages = null;
      return new PagedSeriesSet(this.budget, { kept: pages });
    };
    const refuse = (): never => {
      throw new ContrailError("internal", "an assisted query reads only its given series");
    };
    return { select: take, labelNames: refuse, labelValues: refuse, close: () => {} };
  }
}

/** The page a response carries; an internal error for any other answer. */
export function pageOf(res: DataResponse): SeriesPage {
  if (res.ok && "page" in res) return res.page;
  throw new ContrailError("internal", "a page of series was expected from the main thread");
}
