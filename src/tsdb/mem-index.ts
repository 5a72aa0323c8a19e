// An in-memory index over series held in label order, where a series' ref is its position: what the blocks built in
// memory (a backfill's, a head snapshot's in the maintenance worker) are read through.

import { compareStrings, type Labels } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import {
  type BlockIndexReader,
  type BlockSeries,
  type ChunkMeta,
  labelNamesForMatchers,
  labelValuesForMatchers,
} from "./block-reader.ts";
import { merge, type PostingsList } from "./index/postings.ts";

/** A BlockIndexReader over series sorted by labels; ref i is the i-th series. Immutable once built. */
export class MemIndex implements BlockIndexReader {
  private readonly labels: readonly Labels[];
  private readonly chunksOf: (ref: number) => readonly ChunkMeta[];
  private readonly postingsByName = new Map<string, Map<string, number[]>>();
  private readonly all: number[];

  /** `labels` must ascend (`Labels.compare`); `chunksOf(ref)` gives the chunk metadata of series `ref`. */
  constructor(labels: readonly Labels[], chunksOf: (ref: number) => readonly ChunkMeta[]) {
    this.labels = labels;
    this.chunksOf = chunksOf;
    this.all = labels.map((_, i) => i);
    labels.forEach((ls, i) => {
      ls.forEach((name, value) => {
        let values = this.postingsByName.get(name);
        if (values === undefined) {
          values = new Map();
          this.postingsByName.set(name, values);
        }
        const list = values.get(value);
        if (list === undefined) values.set(value, [i]);
        else list.push(i);
      });
    });
  }

  labelValues(name: string, matchers?: readonly Matcher[]): readonly string[] {
    if (matchers !== undefined && matchers.length > 0) return labelValuesForMatchers(this, name, matchers);
    return [...(this.postingsByName.get(name)?.keys() ?? [])].sort(compareStrings);
  }

  labelNames(matchers?: readonly Matcher[]): string[] {
    if (matchers !== undefined && matchers.length > 0) return labelNamesForMatchers(this, matchers);
    return [...this.postingsByName.keys()].sort(compareStrings);
  }

  postings(name: string, values: readonly string[]): PostingsList {
    const byValue = this.postingsByName.get(name);
    if (byValue === undefined) return [];
    const lists: number[][] = [];
    for (const v of new Set(values)) {
      const l = byValue.get(v);
      if (l !== undefined) lists.push(l);
    }
    return lists.length === 1 ? lists[0] : merge(lists);
  }

  allPostings(): PostingsList {
    return this.all;
  }

  series(ref: number): BlockSeries | null {
    const labels = this.labels[ref];
    if (labels === undefined) return null;
    return { labels, chunks: this.chunksOf(ref) };
  }

  // Refs ascend with labels by construction.
  sortedPostings(refs: PostingsList): number[] {
    return Array.from(refs);
  }
}
