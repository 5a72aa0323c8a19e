// The one read interface shared by the in-memory head and the on-disk blocks (Prometheus's BlockReader), so that
// queries and compaction treat them alike: an index (postings, series, label names and values), a chunk reader and
// the tombstones. Also the matcher-aware label lookups every index implementation can share.

import { compareStrings, type Labels } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import type { Chunk } from "./chunkenc/chunk.ts";
import { type IndexReaderLike, type PostingsList, postingsForMatchers, seek } from "./index/postings.ts";
import type { ChunkMeta } from "./index/writer.ts";
import type { Interval } from "./tombstones/tombstones.ts";

export type { ChunkMeta } from "./index/writer.ts";

/** One series as a block reader returns it: labels and its chunks' metadata in time order (ranges do not overlap). */
export interface BlockSeries {
  readonly labels: Labels;
  readonly chunks: readonly ChunkMeta[];
  /** True when some of the chunks may be histogram chunks; absent or false when all are float (XOR) chunks. */
  readonly histograms?: boolean;
}

/**
 * The index of a block or of the head. Postings lists hold series refs in increasing order; refs are only
 * meaningful to the reader that produced them.
 */
export interface BlockIndexReader extends IndexReaderLike {
  /** The series `ref` with the metadata of its chunks, or null when no such series exists (any more). */
  series(ref: number): BlockSeries | null;
  /** Sorted label names of the series matching all `matchers` (of every series when absent or empty). */
  labelNames(matchers?: readonly Matcher[]): string[];
  /** Sorted distinct values of label `name` among series matching all `matchers` (all series when absent/empty). */
  labelValues(name: string, matchers?: readonly Matcher[]): readonly string[];
  /** The refs of `refs` reordered so that their series' labels ascend (`Labels.compare`). A new array. */
  sortedPostings(refs: PostingsList): number[];
  /**
   * Optional, for an index that never changes (a persisted block's) and whose ascending refs are ascending labels:
   * `postingsForMatchers(this, matchers)` and their series, either possibly from its cache (shared: the list and the
   * entries must not be modified).
   */
  matchingSeries?(matchers: readonly Matcher[]): MatchedSeries;
}

/** The postings of a matcher set in an immutable index, in label order, and their series. */
export interface MatchedSeries {
  readonly refs: readonly number[];
  /** `series(refs[i])` of the index. */
  series(i: number): BlockSeries | null;
}

/** Reads chunks by the metadata the index handed out. */
export interface BlockChunkReader {
  /**
   * The chunk `meta` names, holding the samples of that chunk within [meta.mint, meta.maxt] (ms, inclusive).
   * The data must not be modified (it may be shared with the reader's cache) and stays valid while referenced. Throws `not_found` when the chunk is gone (e.g. truncated from the head),
   * `corruption` when it cannot be read.
   */
  chunk(meta: ChunkMeta): Chunk;
  /**
   * Optional, for readers that drop samples outside [meta.mint, meta.maxt] themselves: the chunk `meta` names as
   * stored, without the copy or re-encoding that trimming it may take. Its data may be a view of memory the
   * reader keeps writing (the head's open chunk): valid until the store is next written to. Throws as `chunk`.
   */
  rawChunk?(meta: ChunkMeta): RawChunk;
  /**
   * Optional: how many samples the float chunk `meta` names holds as stored, when the reader has its header at hand
   * without reading or verifying the chunk; -1 otherwise (or for a chunk of another encoding).
   */
  chunkSamples?(meta: ChunkMeta): number;
}

/** A chunk as stored, possibly holding samples outside the range its metadata gives. */
export interface RawChunk extends Chunk {
  /** How many samples it holds when all lie in the metadata's range, else -1. */
  readonly samples: number;
  /** True when `data` is a view of memory the reader keeps writing (valid until the next write); false when stable. */
  readonly live: boolean;
}

/** Deleted intervals per series. */
export interface TombstoneReader {
  /** The deleted intervals of series `ref`, sorted and disjoint (empty when none); must not be modified. */
  get(ref: number): readonly Interval[];
}

/** A readable block of data: the head or an on-disk block. */
export interface BlockReader {
  /** Smallest sample timestamp the block may hold, ms inclusive. */
  readonly minTime: number;
  /** End of the block's time range, ms exclusive (like a block's meta.json). */
  readonly maxTime: number;
  /** The block's index. */
  index(): BlockIndexReader;
  /** The block's chunks. */
  chunks(): BlockChunkReader;
  /** The block's deleted intervals. */
  tombstones(): TombstoneReader;
}

/** An index with the lookups the generic label helpers below need. */
export interface LabelIndexSource extends IndexReaderLike {
  series(ref: number): BlockSeries | null;
}

/**
 * Sorted label names of the series matching `matchers`, read from the series themselves (no chunk is decoded).
 * Index implementations use it for `labelNames(matchers)` when matchers are given.
 */
export function labelNamesForMatchers(ix: LabelIndexSource, matchers: readonly Matcher[]): string[] {
  const names = new Set<string>();
  for (const ref of postingsForMatchers(ix, matchers)) {
    const s = ix.series(ref);
    if (s === null) continue;
    s.labels.forEach((n) => {
      names.add(n);
    });
  }
  return [...names].sort(compareStrings);
}

/**
 * Sorted values of `name` among the series matching `matchers`, as Prometheus computes them: values are first
 * filtered by the matchers on `name` itself; only matchers on other labels need postings, and then a value is kept
 * when its postings intersect the matching series. No chunk is decoded.
 */
export function labelValuesForMatchers(ix: IndexReaderLike, name: string, matchers: readonly Matcher[]): string[] {
  let values = ix.labelValues(name).slice();
  let others = false;
  for (const m of matchers) {
    if (m.name !== name) {
      others = true;
      continue;
    }
    values = values.filter((v) => m.matches(v));
  }
  if (values.length === 0 || !others) return values;
  const selected = postingsForMatchers(ix, matchers);
  if (selected.length === 0) return [];
  const out: string[] = [];
  for (const v of values) {
    if (overlaps(selected, ix.postings(name, [v]))) out.push(v);
  }
  return out;
}

/** True when the sorted lists share a ref; gallops through the longer one. */
function overlaps(a: PostingsList, b: PostingsList): boolean {
  const [small, big] = a.length <= b.length ? [a, b] : [b, a];
  let j = 0;
  for (let i = 0; i < small.length; i++) {
    j = seek(big, small[i], j);
    if (j >= big.length) return false;
    if (big[j] === small[i]) return true;
  }
  return false;
}
