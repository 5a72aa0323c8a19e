// The head seen as a block: an index over its series and postings, a chunk reader that serves full chunks from the
// head chunk files and the open chunk from memory, optionally restricted to a time range (what compaction reads).

import { ContrailError } from "../../model/errors.ts";
import type { Matcher } from "../../model/matcher.ts";
import {
  type BlockChunkReader,
  type BlockIndexReader,
  type BlockReader,
  type BlockSeries,
  type ChunkMeta,
  labelNamesForMatchers,
  labelValuesForMatchers,
  type RawChunk,
  type TombstoneReader,
} from "../block-reader.ts";
import { type Chunk, Encoding } from "../chunkenc/chunk.ts";
import { trimChunk } from "../chunkenc/trim.ts";
import { numSamples } from "../chunkenc/xor.ts";
import type { PostingsList } from "../index/postings.ts";
import type { Head } from "./head.ts";
import { CHUNK_ID_SPACE, type MemSeries, packHeadChunkId, unpackHeadChunkId } from "./series.ts";

/**
 * The head's index, showing the chunks that overlap [mint, maxt] (ms, inclusive) with their ranges narrowed to it.
 * Postings and label values cover every series of the head, like Prometheus's head index.
 */
export class HeadIndexReader implements BlockIndexReader {
  private readonly head: Head;
  private readonly mint: number;
  private readonly maxt: number;

  /** An index over `head` restricted to [mint, maxt] ms (unbounded by default). */
  constructor(head: Head, mint = Number.NEGATIVE_INFINITY, maxt = Number.POSITIVE_INFINITY) {
    this.head = head;
    this.mint = mint;
    this.maxt = maxt;
  }

  /** Sorted values of `name` (shared array, do not modify), narrowed by `matchers` when given. */
  labelValues(name: string, matchers?: readonly Matcher[]): readonly string[] {
    if (matchers === undefined || matchers.length === 0) return this.head.postings.labelValues(name);
    return labelValuesForMatchers(this, name, matchers);
  }

  /** Sorted label names, of the series matching `matchers` when given. */
  labelNames(matchers?: readonly Matcher[]): string[] {
    if (matchers === undefined || matchers.length === 0) return this.head.postings.labelNames().slice();
    return labelNamesForMatchers(this, matchers);
  }

  /** Union of the postings of `name=v` over `values` (possibly a live list: copy before keeping). */
  postings(name: string, values: readonly string[]): PostingsList {
    return this.head.postings.postings(name, values);
  }

  /** Every series ref (live list: copy before keeping). */
  allPostings(): PostingsList {
    return this.head.postings.allPostings();
  }

  /** The series' labels and the metadata of its chunks overlapping the range; null for an unknown ref. */
  series(ref: number): BlockSeries | null {
    const s = this.head.series.getByRef(ref);
    if (s === undefined) return null;
    const chunks = chunkMetas(s, this.mint, this.maxt);
    return s.histograms === null ? { labels: s.labels, chunks } : { labels: s.labels, chunks, histograms: true };
  }

  /** `refs` ordered by their series' labels; refs of series no longer in the head are dropped. */
  sortedPostings(refs: PostingsList): number[] {
    const found: MemSeries[] = [];
    for (let i = 0; i < refs.length; i++) {
      const s = this.head.series.getByRef(refs[i]);
      if (s !== undefined) found.push(s);
    }
    found.sort((a, b) => a.compareLabels(b));
    return found.map((s) => s.ref);
  }
}

/** Metadata of the chunks of `s` overlapping [mint, maxt] ms, narrowed to it; refs pack series ref and chunk id. */
export function chunkMetas(s: MemSeries, mint: number, maxt: number): ChunkMeta[] {
  const out: ChunkMeta[] = [];
  for (let i = 0; i < s.numMmapped; i++) {
    const cMint = s.mmappedMint(i);
    const cMaxt = s.mmappedMaxt(i);
    if (cMaxt < mint || cMint > maxt) continue;
    out.push({
      ref: packHeadChunkId(s.ref, s.firstChunkId + i),
      mint: Math.max(cMint, mint),
      maxt: Math.min(cMaxt, maxt),
    });
  }
  if (s.openSamples > 0 && s.openMaxt >= mint && s.openMint <= maxt) {
    out.push({
      ref: packHeadChunkId(s.ref, s.openChunkId),
      mint: Math.max(s.openMint, mint),
      maxt: Math.min(s.openMaxt, maxt),
    });
  }
  return out;
}

/**
 * Reads head chunks by the refs the head index handed out. A chunk keeps its id when it moves from memory to the
 * head chunk files, so metadata taken before a cut still finds it. Samples outside [meta.mint, meta.maxt] (appended
 * after the metadata was taken, or outside a range reader's range) are cut off by re-encoding the chunk.
 */
export class HeadChunkReader implements BlockChunkReader {
  private readonly head: Head;

  /** A chunk reader over `head`. */
  constructor(head: Head) {
    this.head = head;
  }

  /** The chunk `meta` names (data owned by the caller); `not_found` once it has been truncated away. */
  chunk(meta: ChunkMeta): Chunk {
    const { s, idx } = this.locate(meta);
    if (idx < s.numMmapped) {
      const c = s.mmappedChunk(idx);
      const chunk = this.head.files.chunk(c.ref);
      if (meta.mint <= c.mint && meta.maxt >= c.maxt) return chunk;
      return trimChunk(chunk, meta.mint, meta.maxt);
    }
    const encoding = s.openEncoding;
    if (meta.mint <= s.openMint && meta.maxt >= s.openMaxt) return { encoding, data: s.openBytes().slice() };
    return trimChunk({ encoding, data: s.openBytes() }, meta.mint, meta.maxt);
  }

  /**
   * The chunk `meta` names, untrimmed: a chunk of the head chunk files as read (data owned by the caller), the open
   * chunk as a view of its appender's buffer, valid until the next append (its sample count and bytes agree).
   */
  rawChunk(meta: ChunkMeta): RawChunk {
    const { s, idx } = this.locate(meta);
    if (idx < s.numMmapped) {
      const c = s.mmappedChunk(idx);
      const chunk = this.head.files.chunk(c.ref);
      const whole = meta.mint <= c.mint && meta.maxt >= c.maxt;
      return { encoding: chunk.encoding, data: chunk.data, samples: whole ? numSamples(chunk.data) : -1, live: false };
    }
    const whole = meta.mint <= s.openMint && meta.maxt >= s.openMaxt;
    return { encoding: s.openEncoding, data: s.openBytes(), samples: whole ? s.openSamples : -1, live: true };
  }

  /** How many samples the float chunk `meta` names holds as stored, from its header when at hand; else -1. */
  chunkSamples(meta: ChunkMeta): number {
    const { s, idx } = this.locate(meta);
    if (idx < s.numMmapped) return this.head.files.sampleCount(s.mmappedChunk(idx).ref);
    return s.openEncoding === Encoding.xor ? s.openSamples : -1;
  }

  // The series of `meta` and the index of its chunk (its open chunk when equal to the number of full chunks).
  private locate(meta: ChunkMeta): { s: MemSeries; idx: number } {
    const { seriesRef, chunkId } = unpackHeadChunkId(meta.ref);
    const s = this.head.series.getByRef(seriesRef);
    if (s === undefined) throw new ContrailError("not_found", `head series ${seriesRef} no longer exists`);
    const idx = (((chunkId - s.firstChunkId) % CHUNK_ID_SPACE) + CHUNK_ID_SPACE) % CHUNK_ID_SPACE;
    if (idx < s.numMmapped || (idx === s.numMmapped && s.openSamples > 0)) return { s, idx };
    throw new ContrailError("not_found", `chunk ${chunkId} of head series ${seriesRef} no longer exists`);
  }
}

/** The head restricted to [mint, maxt] (ms, inclusive): what compaction turns into a block. */
export class RangeHead implements BlockReader {
  /** Start of the range, ms inclusive. */
  readonly minTime: number;
  /** End of the range, ms exclusive (maxt + 1). */
  readonly maxTime: number;
  private readonly head: Head;
  private readonly idx: HeadIndexReader;
  private readonly chunkReader: HeadChunkReader;

  /** A view of `head` over [mint, maxt] ms. */
  constructor(head: Head, mint: number, maxt: number) {
    this.head = head;
    this.minTime = mint;
    this.maxTime = maxt + 1;
    this.idx = new HeadIndexReader(head, mint, maxt);
    this.chunkReader = new HeadChunkReader(head);
  }

  /** The range's index. */
  index(): BlockIndexReader {
    return this.idx;
  }

  /** The head's chunk reader (chunks come back narrowed to the range). */
  chunks(): BlockChunkReader {
    return this.chunkReader;
  }

  /** The head's tombstones. */
  tombstones(): TombstoneReader {
    return this.head.tombstoneSet;
  }
}
