// An on-disk block (layout: docs/format/block.md): `meta.json`, the `index`, the chunk segments under `chunks/` and
// the `tombstones` file, read through the BlockReader interface the head also implements. Blocks are immutable but
// for their meta file (compaction flags) and tombstones. A block may be deleted while queriers still read it: the
// files stay open until the last reader releases the block.

import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ContrailError, isContrailError } from "../model/errors.ts";
import type { Matcher } from "../model/matcher.ts";
import { type BlockMeta, META_FILENAME, parseUlid, readBlockMeta, writeBlockMeta } from "./block-meta.ts";
import {
  type BlockChunkReader,
  type BlockIndexReader,
  type BlockReader,
  type BlockSeries,
  type ChunkMeta,
  labelNamesForMatchers,
  labelValuesForMatchers,
  type MatchedSeries,
  type TombstoneReader,
} from "./block-reader.ts";
import type { Chunk } from "./chunkenc/chunk.ts";
import { ChunkReader, type ChunkRef } from "./chunks/block-chunks.ts";
import { type PostingsList, postingsForMatchers } from "./index/postings.ts";
import { PostingsCache } from "./index/postings-cache.ts";
import { IndexReader, type PreparedIndex } from "./index/reader.ts";
import { type MemTombstones, readTombstonesFile } from "./tombstones/tombstones.ts";

/** Name of the index file inside a block directory. */
export const INDEX_FILENAME = "index";
/** Name of the chunk segment directory inside a block directory. */
export const CHUNKS_DIRNAME = "chunks";
/** Suffix of a block directory being written; renamed to the bare ULID once complete. */
export const TMP_FOR_CREATION_SUFFIX = ".tmp-for-creation";
/** Suffix of a block directory being deleted (renamed first so a crash never leaves half a block). */
export const TMP_FOR_DELETION_SUFFIX = ".tmp-for-deletion";

/** True when `name` is a ULID, i.e. the name of a complete block directory. */
export function isBlockDirName(name: string): boolean {
  if (name.length !== 26) return false;
  try {
    parseUlid(name);
    return true;
  } catch {
    return false;
  }
}

/** Paths of the block directories directly under `dir`, sorted by name (= by creation time). */
export function listBlockDirs(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory() && isBlockDirName(e.name)) out.push(join(dir, e.name));
  }
  return out.sort();
}

/** A block's index seen through the shared BlockIndexReader interface. */
class BlockIndex implements BlockIndexReader {
  private readonly ir: IndexReader;
  private readonly histograms: boolean;
  /**
   * The postings of matcher sets queried lately and their series entries: the index never changes, so they stay
   * valid with the block.
   */
  private readonly matched = new PostingsCache<BlockSeries>();

  /** `histograms`: whether the block may hold histogram chunks (its series then say so). */
  constructor(ir: IndexReader, histograms: boolean) {
    this.ir = ir;
    this.histograms = histograms;
  }

  labelValues(name: string, matchers?: readonly Matcher[]): readonly string[] {
    if (matchers === undefined || matchers.length === 0) return this.ir.labelValues(name);
    return labelValuesForMatchers(this.ir, name, matchers);
  }

  labelNames(matchers?: readonly Matcher[]): string[] {
    if (matchers === undefined || matchers.length === 0) return this.ir.labelNames();
    return labelNamesForMatchers(this, matchers);
  }

  postings(name: string, values: readonly string[]): PostingsList {
    return this.ir.postings(name, values);
  }

  allPostings(): PostingsList {
    return this.ir.allPostings();
  }

  matchingSeries(matchers: readonly Matcher[]): MatchedSeries {
    const { refs, entries } = this.matched.get(matchers, (ms) => postingsForMatchers(this, ms));
    if (entries === null) return { refs, series: (i) => this.series(refs[i]) };
    return {
      refs,
      series: (i) => {
        let s = entries[i];
        if (s === undefined) {
          s = this.series(refs[i]);
          entries[i] = s;
        }
        return s;
      },
    };
  }

  series(ref: number): BlockSeries | null {
    try {
      const s = this.ir.series(ref);
      return this.histograms && s !== null ? { ...s, histograms: true } : s;
    } catch (err) {
      if (isContrailError(err, "not_found")) return null;
      throw err;
    }
  }

  // Series are written in label order and a ref is its entry's offset, so ascending refs are ascending labels.
  sortedPostings(refs: PostingsList): number[] {
    return Array.from(refs);
  }
}

/** Serves a block's chunks by the refs in its index. */
class BlockChunks implements BlockChunkReader {
  private readonly cr: ChunkReader;

  constructor(cr: ChunkReader) {
    this.cr = cr;
  }

  chunk(meta: ChunkMeta): Chunk {
    return this.cr.chunk(meta.ref as ChunkRef);
  }
}

/** An open block directory. Single-threaded; `close()` releases its files once no reader holds it. */
export class Block implements BlockReader {
  /** The block directory. */
  readonly dir: string;
  private currentMeta: BlockMeta;
  private readonly indexReader: IndexReader;
  private readonly chunkReader: ChunkReader;
  private readonly tombs: MemTombstones;
  private readonly idx: BlockIndex;
  private readonly chunkAccess: BlockChunks;
  private readonly sizes: { index: number; chunks: number; tombstones: number; meta: number };
  private readers = 0;
  private closing = false;
  private closed = false;

  private constructor(
    dir: string,
    meta: BlockMeta,
    ir: IndexReader,
    cr: ChunkReader,
    tombs: { tombstones: MemTombstones; size: number },
  ) {
    this.dir = dir;
    this.currentMeta = meta;
    this.indexReader = ir;
    this.chunkReader = cr;
    this.tombs = tombs.tombstones;
    // Blocks written before histograms were counted apart (no numFloatSamples) may hold some.
    const stats = meta.stats;
    this.idx = new BlockIndex(ir, (stats?.numHistogramSamples ?? 0) > 0 || stats?.numFloatSamples === undefined);
    this.chunkAccess = new BlockChunks(cr);
    this.sizes = {
      index: statSync(join(dir, INDEX_FILENAME)).size,
      chunks: cr.size,
      tombstones: tombs.size,
      meta: statSync(join(dir, META_FILENAME)).size,
    };
  }

  /**
   * Opens the block in `dir`: reads and checks `meta.json`, the index (header, TOC, symbol and postings tables),
   * the chunk segment headers and the tombstones. Throws `not_found` without a meta file, `corruption` when a
   * file is damaged. With `opts.index` (the block's index prepared by another thread) the index is not read again.
   */
  static open(dir: string, opts: { index?: PreparedIndex } = {}): Block {
    const meta = readBlockMeta(dir);
    let ir: IndexReader;
    try {
      const path = join(dir, INDEX_FILENAME);
      ir = opts.index !== undefined ? IndexReader.fromPrepared(opts.index, path) : IndexReader.open(path);
    } catch (err) {
      if (isContrailError(err)) throw err;
      throw new ContrailError("corruption", `block ${dir}: cannot read index: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const cr = ChunkReader.open(join(dir, CHUNKS_DIRNAME));
    try {
      return new Block(dir, meta, ir, cr, readTombstonesFile(dir));
    } catch (err) {
      cr.close();
      throw err;
    }
  }

  /** The block's meta data as last read or written. */
  get meta(): BlockMeta {
    return this.currentMeta;
  }

  /** Smallest sample time, ms inclusive. */
  get minTime(): number {
    return this.currentMeta.minTime;
  }

  /** End of the block's range, ms exclusive. */
  get maxTime(): number {
    return this.currentMeta.maxTime;
  }

  /** Bytes the block takes on disk: index, chunk segments, tombstones and meta file. */
  get size(): number {
    const s = this.sizes;
    return s.index + s.chunks + s.tombstones + s.meta;
  }

  /** The raw index reader (symbols, verification), for tools such as `tsdb analyze`. */
  rawIndex(): IndexReader {
    return this.indexReader;
  }

  index(): BlockIndexReader {
    this.checkOpen();
    return this.idx;
  }

  chunks(): BlockChunkReader {
    this.checkOpen();
    return this.chunkAccess;
  }

  tombstones(): TombstoneReader {
    return this.tombs;
  }

  /** Registers a reader (a querier); the block's files stay open until the matching `release()`. */
  acquire(): void {
    this.checkOpen();
    this.readers++;
  }

  /** Ends a reader's hold; closes the files if `close()` was called meanwhile and this was the last reader. */
  release(): void {
    if (this.readers > 0) this.readers--;
    if (this.readers === 0 && this.closing) this.closeNow();
  }

  /** Marks the block as failed to compact in its meta file, so the planner skips it. */
  setCompactionFailed(): void {
    this.rewriteMeta({ ...this.currentMeta, compaction: { ...this.currentMeta.compaction, failed: true } });
  }

  /** Marks the block deletable in its meta file (a compaction found nothing left in it). */
  setDeletable(): void {
    this.rewriteMeta({ ...this.currentMeta, compaction: { ...this.currentMeta.compaction, deletable: true } });
  }

  private rewriteMeta(meta: BlockMeta): void {
    this.sizes.meta = writeBlockMeta(this.dir, meta);
    this.currentMeta = meta;
  }

  /** Closes the block's files now, or when the last reader releases it. Idempotent. */
  close(): void {
    this.closing = true;
    if (this.readers === 0) this.closeNow();
  }

  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    this.chunkReader.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new ContrailError("internal", `block ${this.dir} is closed`);
  }
}
