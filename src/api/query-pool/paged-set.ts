// A selection as the worker's engine reads it: series made from pages as the iteration reaches them, each page's
// series handed out and forgotten, so the worker holds pages, not the Series of a whole selection. The pages are
// either kept (an assist split had to receive them all: the set can be read again), asked of the main thread one
// ahead of the one being read (the set is read once), or asked for so and kept as they come (a half of a selection
// the main thread deals between two workers, deal.ts, which cannot be selected again: the set can be read again).

import { ContrailError } from "../../model/errors.ts";
import type { Querier, Queryable, Series, SeriesSet } from "../../storage/interface.ts";
import { PageReader } from "./page-reader.ts";
import type { DataResponse, SeriesPage } from "./protocol.ts";
import type { DataChannel } from "./remote-querier.ts";
import type { SampleBudget } from "./sample-budget.ts";

/**
 * Where a set's pages come from: pages received already, or the selection's first page (or the cursor to ask for it
 * by, a dealt half's) and the channel to ask for the rest; with `keep`, the pages asked for are kept.
 */
export type PageSource =
  | { readonly kept: readonly SeriesPage[] }
  | { readonly first: SeriesPage | number; readonly channel: DataChannel; readonly keep?: boolean };

/**
 * A selection read page by page as it is iterated; its samples count against `budget` as its pages are read. A
 * reading broken off gives back to the budget what it counted, since whoever stops reads the selection again; one
 * from the main thread also tells it to forget the selection (its `release` request), for the same reason, unless
 * its pages are kept.
 */
export class PagedSeriesSet implements SeriesSet {
  private readonly budget: SampleBudget;
  /** The pages received, in order: all of them given, or (asked for with `keep`) those received so far. */
  private readonly kept: SeriesPage[] | null;
  private readonly channel: DataChannel | null;
  private first: SeriesPage | null;
  /** The cursor the first page is asked for by, when it was not given (0: it was). */
  private firstCursor = 0;
  private warned: readonly string[] = [];

  /** A set over the pages of `source`, counted against `budget`. */
  constructor(budget: SampleBudget, source: PageSource) {
    this.budget = budget;
    this.first = null;
    if ("kept" in source) {
      this.kept = [...source.kept];
      this.channel = null;
      return;
    }
    this.channel = source.channel;
    this.kept = source.keep === true ? [] : null;
    if (typeof source.first === "number") this.firstCursor = source.first;
    else if (this.kept !== null) this.kept.push(source.first);
    else this.first = source.first;
  }

  /** The selection's warnings, known once it has been read through. */
  get warnings(): readonly string[] {
    return this.warned;
  }

  *[Symbol.iterator](): Iterator<Series> {
    const reader = new PageReader(this.budget);
    const counted = this.budget.read;
    let finished = false;
    try {
      if (this.kept !== null) yield* this.readKept(reader);
      else yield* this.readOnce(reader);
      // The last page kept may not be the selection's last (an assist took the rest): its last series is whole.
      yield* reader.take(true);
      this.warned = reader.selectionWarnings;
      finished = true;
    } finally {
      if (!finished) this.budget.release(this.budget.read - counted);
    }
  }

  // The pages kept, then (when asked for with `keep`) the rest, one asked for ahead and each kept as it comes.
  private *readKept(reader: PageReader): Generator<Series> {
    const kept = this.kept as SeriesPage[];
    const channel = this.channel;
    let next = 0;
    try {
      for (let i = 0; ; i++) {
        if (i === kept.length) {
          const last = kept[i - 1];
          if (channel === null || last?.done === true) return;
          if (next === 0)
            next = channel.send({ op: "page", cursor: last === undefined ? this.firstCursor : last.cursor });
          const seq = next;
          next = 0;
          kept.push(pageOf(channel.wait(seq)));
        }
        const page = kept[i];
        if (channel !== null && i === kept.length - 1 && !page.done)
          next = channel.send({ op: "page", cursor: page.cursor });
        reader.add(page);
        yield* reader.take(page.done);
      }
    } finally {
      // A reading broken off keeps the page asked for ahead, for the next reading.
      if (next !== 0 && channel !== null) {
        const res = channel.settle(next);
        if (res !== null) kept.push(pageOf(res));
      }
    }
  }

  // The pages from the main thread, the next asked for before this one is read, so it builds it meanwhile; a
  // reading broken off tells it to forget the selection.
  private *readOnce(reader: PageReader): Generator<Series> {
    const channel = this.channel as DataChannel;
    let page = this.first;
    if (page === null) throw new ContrailError("internal", "a selection read from the main thread was read twice");
    this.first = null;
    const cursor = page.cursor;
    let next = 0;
    let finished = false;
    try {
      for (;;) {
        next = page.done ? 0 : channel.send({ op: "page", cursor: page.cursor });
        reader.add(page);
        yield* reader.take(page.done);
        if (next === 0) break;
        page = pageOf(channel.wait(next));
        next = 0;
      }
      finished = true;
    } finally {
      if (!finished) {
        if (next !== 0) channel.drop(next);
        channel.post({ op: "release", cursor });
      }
    }
  }
}

/**
 * The data of an assist (shard.ts): the pages of one selection, already chosen by the worker that received them or
 * the main thread (given, or asked for by a dealt half's cursor: deal.ts). The query has that one selection, so the
 * first `select` gives them whatever its matchers; any other read is an internal error.
 */
export class PagesQueryable implements Queryable {
  private readonly source: PageSource;
  private readonly budget: SampleBudget;
  private set: PagedSeriesSet | null = null;

  /** Serves the pages of `source`, counting their samples against `budget`. */
  constructor(source: PageSource, budget: SampleBudget) {
    this.source = source;
    this.budget = budget;
  }

  querier(): Querier {
    // A selection made again (an aggregation falling back to its general path) reads the same pages again.
    const take = (): SeriesSet => {
      this.set ??= new PagedSeriesSet(this.budget, this.source);
      return this.set;
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
