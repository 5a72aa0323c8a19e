// The postings of matcher sets a persisted block's index was asked for recently. A dashboard repeats the same
// selections every refresh, and a block never changes once written, so the series a matcher set picks in it stay
// what they were; what the cache saves is reading and intersecting the postings lists again (and, for a regular
// expression, matching it against the label's values).

import type { Matcher } from "../../model/matcher.ts";

/** Most matcher sets a block's cache remembers. */
export const POSTINGS_CACHE_ENTRIES = 64;
/**
 * Most postings a block's cache holds over all its entries (8 bytes each as a JS array: 256 KiB); a matcher set
 * selecting more than this is not kept.
 */
export const POSTINGS_CACHE_REFS = 32_768;

/** Options of {@link PostingsCache}: its bounds (tests make them small). */
export interface PostingsCacheOptions {
  /** Most entries; defaults to POSTINGS_CACHE_ENTRIES. */
  readonly entries?: number;
  /** Most postings over all entries; defaults to POSTINGS_CACHE_REFS. */
  readonly refs?: number;
}

/** How a matcher set is told apart: name, type and value of each matcher, in order. */
function matchersKey(matchers: readonly Matcher[]): string {
  const parts: string[] = [];
  for (const m of matchers) parts.push(m.name, m.type, m.value);
  return JSON.stringify(parts);
}

/**
 * The sorted postings of recently asked matcher sets of one immutable index, least recently used dropped first;
 * holds at most `entries` lists and `refs` postings in all. Lists it returns are shared: callers must not modify
 * them. Lives as long as its block (dropped with it).
 */
export class PostingsCache {
  private readonly maxEntries: number;
  private readonly maxRefs: number;
  /** Key → postings; Map order is use order, so the first key is the least recently used. */
  private readonly lists = new Map<string, readonly number[]>();
  private refs = 0;

  constructor(opts: PostingsCacheOptions = {}) {
    this.maxEntries = opts.entries ?? POSTINGS_CACHE_ENTRIES;
    this.maxRefs = opts.refs ?? POSTINGS_CACHE_REFS;
  }

  /** The postings of `matchers`: remembered, or `compute(matchers)` (then remembered when small enough). */
  get(matchers: readonly Matcher[], compute: (matchers: readonly Matcher[]) => number[]): readonly number[] {
    const key = matchersKey(matchers);
    const known = this.lists.get(key);
    if (known !== undefined) {
      this.lists.delete(key);
      this.lists.set(key, known);
      return known;
    }
    const list = compute(matchers);
    if (list.length > this.maxRefs) return list;
    while (this.lists.size >= this.maxEntries || (this.lists.size > 0 && this.refs + list.length > this.maxRefs)) {
      const [oldest, dropped] = this.lists.entries().next().value as [string, readonly number[]];
      this.lists.delete(oldest);
      this.refs -= dropped.length;
    }
    this.lists.set(key, list);
    this.refs += list.length;
    return list;
  }

  /** Entries and postings held now. */
  size(): { readonly entries: number; readonly refs: number } {
    return { entries: this.lists.size, refs: this.refs };
  }
}
