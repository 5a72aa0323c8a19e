// The scrape cache of one target: the raw series text of each exposed line mapped to its final label set and its
// series ref, so a steady scrape builds no label set and appends by ref. It also tracks staleness: an entry is
// "live" when the last successful scrape appended it without an explicit timestamp, and a live entry missing
// from the next scrape (or every live entry, when a scrape fails) gets a stale marker. The cache holds only
// series of the last successful scrape plus those of the scrape in progress, so the sample limit bounds it.

import type { MetricMetadata } from "../exposition/index.ts";
import type { Labels } from "../model/labels.ts";
import type { SeriesRef } from "../storage/interface.ts";

/** No ref yet: the series has not been appended to this store. */
export const NO_REF = -1 as SeriesRef;

/** One cached series. Mutable by the scrape loop only. */
export interface CacheEntry {
  /** The label set stored (platform labels applied). Owned by the cache; shared with the storage. */
  readonly labels: Labels;
  /** The store's ref of the series, or NO_REF. */
  ref: SeriesRef;
  /** Iteration in which the body last had this series. */
  seen: number;
  /** True when this iteration appended it without an explicit timestamp (staleness applies). */
  track: boolean;
  /** True when the last successful scrape appended it without an explicit timestamp. */
  live: boolean;
}

interface MetaEntry {
  md: MetricMetadata;
  seen: number;
}

/** How many successful scrapes a family's metadata outlives its last appearance, as Prometheus keeps it. */
const METADATA_KEEP_ITERATIONS = 10;

/** The cache of one scrape target. Single-threaded: used by one loop. */
export class ScrapeCache {
  private readonly series = new Map<string, CacheEntry>();
  private readonly fresh: string[] = [];
  private readonly meta = new Map<string, MetaEntry>();
  private iteration = 0;
  private successes = 0;
  /** The `refScope` of the store the entries' refs came from (see `adopt`). */
  private scope: object | undefined = undefined;

  /** Number of cached series. */
  get size(): number {
    return this.series.size;
  }

  /** The current iteration number (raised by `begin`). */
  get iter(): number {
    return this.iteration;
  }

  /**
   * Takes the `refScope` of the appender about to be used: when it is not the scope the cached refs came from (the
   * database was opened again, or the store keeps no refs), every ref is forgotten, so no sample reaches a series
   * that reused an old ref; those series are found by their labels again. Returns true when refs were forgotten.
   */
  adopt(scope: object | undefined): boolean {
    if (scope !== undefined && scope === this.scope) return false;
    this.scope = scope;
    for (const e of this.series.values()) e.ref = NO_REF;
    return true;
  }

  /** Starts a scrape; returns its iteration number. */
  begin(): number {
    this.fresh.length = 0;
    return ++this.iteration;
  }

  /** The entry for the raw series text `key`, if cached. */
  get(key: string): CacheEntry | undefined {
    return this.series.get(key);
  }

  /** Caches a series first seen in this iteration; `key` must own its memory (`ownedSeries()`). */
  add(key: string, labels: Labels): CacheEntry {
    const e: CacheEntry = { labels, ref: NO_REF, seen: this.iteration, track: false, live: false };
    this.series.set(key, e);
    this.fresh.push(key);
    return e;
  }

  /**
   * Ends a successful scrape: `stale` is called for every entry live before and missing now; entries missing now
   * are dropped; the rest become live when this scrape tracked them.
   */
  finishSuccess(stale: (e: CacheEntry) => void): void {
    const iter = this.iteration;
    for (const [key, e] of this.series) {
      if (e.seen !== iter) {
        if (e.live) stale(e);
        this.series.delete(key);
      } else {
        e.live = e.track;
        e.track = false;
      }
    }
    this.fresh.length = 0;
    this.successes++;
  }

  /** Ends a failed scrape: `stale` is called for every live entry (a failed scrape counts as an empty one); the
   * entries this scrape added are dropped, the others are kept for their label sets. */
  finishFailure(stale: (e: CacheEntry) => void): void {
    for (const key of this.fresh) this.series.delete(key);
    this.fresh.length = 0;
    for (const e of this.series.values()) {
      if (e.live) stale(e);
      e.live = false;
      e.track = false;
    }
  }

  /** Calls `fn` for every live entry (the target went away: all of them go stale). */
  forEachLive(fn: (e: CacheEntry) => void): void {
    for (const e of this.series.values()) if (e.live) fn(e);
  }

  /** Records the metadata a successful scrape's parser accumulated; families unseen for a while are forgotten. */
  updateMetadata(families: ReadonlyMap<string, MetricMetadata>): void {
    const now = this.successes;
    for (const [name, md] of families) {
      const old = this.meta.get(name);
      if (old !== undefined && old.md.type === md.type && old.md.help === md.help && old.md.unit === md.unit) {
        old.seen = now;
      } else {
        this.meta.set(name, { md: { type: md.type, help: md.help, unit: md.unit }, seen: now });
      }
    }
    for (const [name, e] of this.meta) {
      if (now - e.seen > METADATA_KEEP_ITERATIONS) this.meta.delete(name);
    }
  }

  /** Calls `fn` for the metadata of every known family. */
  forEachMetadata(fn: (family: string, md: MetricMetadata) => void): void {
    for (const [name, e] of this.meta) fn(name, e.md);
  }
}
