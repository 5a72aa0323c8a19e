// The postings of matcher sets a persisted block's index was asked for recently, and the series entries read for
// them. A dashboard repeats the same selections every refresh, and a block never changes once written, so the series
// a matcher set picks in it stay what they were, and so do their entries (labels and chunk metadata); what the cache
// saves is reading and intersecting the postings lists again (and, for a regular expression, matching it against the
// label's values), and checking and decoding each series entry again.

import type { Matcher } from "../../model/matcher.ts";

/** Most matcher sets a block's cache remembers. */
export const POSTINGS_CACHE_ENTRIES = 64;
/**
 * Most postings a block's cache holds over all its entries (8 bytes each as a JS array: 256 KiB); a matcher set
 * selecting more than this is not kept.
 */
export const POSTINGS_CACHE_REFS = 32_768;
/**
 * Most series entries a block's cache keeps over all its lists (~450 bytes each with their labels and chunk
 * metadata: ~3.6 MiB); a list that would pass it keeps its postings only.
 */
export const POSTINGS_CACHE_SERIES = 8_192;

/** Options of {@link PostingsCache}: its bounds (tests make them small). */
export interface PostingsCacheOptions {
  /** Most entries; defaults to POSTINGS_CACHE_ENTRIES. */
  readonly entries?: number;
  /** Most postings over all entries; defaults to POSTINGS_CACHE_REFS. */
  readonly refs?: number;
  /** Most series entries over all lists; defaults to POSTINGS_CACHE_SERIES. */
  readonly series?: number;
}

/** A matcher set's postings as the cache holds them, with the series entries read for them so far. */
export interface CachedPostings<T> {
  /** The sorted postings; shared, never to be modified. */
  readonly refs: readonly number[];
  /**
   * Slot `i` holds the entry read for `refs[i]` (null: the index has no such series), undefined until it is read;
   * null when the cache keeps no entries for this list.
   */
  readonly entries: (T | null | undefined)[] | null;
}

/** How a matcher set is told apart: name, type and value of each matcher, in order. */
function matchersKey(matchers: readonly Matcher[]): string {
  const parts: string[] = [];
  for (const m of matchers) parts.push(m.name, m.type, m.value);
  return JSON.stringify(parts);
}

/**
 * The sorted postings of recently asked matcher sets of one immutable index, with room for their series entries of
 * type `T`, least recently used dropped first; holds at most `entries` lists, `refs` postings and `series` entry
 * slots in all. Lives as long as its block (dropped with it).
 */
export class PostingsCache<T> {
  private readonly maxEntries: number;
  private readonly maxRefs: number;
  private readonly maxSeries: number;
  /** Key → postings; Map order is use order, so the first key is the least recently used. */
  private readonly lists = new Map<string, CachedPostings<T>>();
  private refs = 0;
  private series = 0;

  constructor(opts: PostingsCacheOptions = {}) {
    this.maxEntries = opts.entries ?? POSTINGS_CACHE_ENTRIES;
    this.maxRefs = opts.refs ?? POSTINGS_CACHE_REFS;
    this.maxSeries = opts.series ?? POSTINGS_CACHE_SERIES;
  }

  /** The postings of `matchers`: remembered, or `compute(matchers)` (then remembered when small enough). */
  get(matchers: readonly Matcher[], compute: (matchers: readonly Matcher[]) => number[]): CachedPostings<T> {
    const key = matchersKey(matchers);
    const known = this.lists.get(key);
    if (known !== undefined) {
      this.lists.delete(key);
      this.lists.set(key, known);
      return known;
    }
    const list = compute(matchers);
    if (list.length > this.maxRefs) return { refs: list, entries: null };
    while (this.lists.size >= this.maxEntries || (this.lists.size > 0 && this.refs + list.length > this.maxRefs)) {
      this.drop(this.lists.keys().next().value as string);
    }
    // Entries for the list when they fit beside those kept; older lists give theirs up only with their postings.
    const entries = this.series + list.length <= this.maxSeries ? new Array<T | null | undefined>(list.length) : null;
    const cached: CachedPostings<T> = { refs: list, entries };
    this.lists.set(key, cached);
    this.refs += list.length;
    if (entries !== null) this.series += list.length;
    return cached;
  }

  /** Lists, postings and entry slots held now. */
  size(): { readonly entries: number; readonly refs: number; readonly series: number } {
    return { entries: this.lists.size, refs: this.refs, series: this.series };
  }

  private drop(key: string): void {
    const dropped = this.lists.get(key) as CachedPostings<T>;
    this.lists.delete(key);
    this.refs -= dropped.refs.length;
    if (dropped.entries !== null) this.series -= dropped.refs.length;
  }
}
