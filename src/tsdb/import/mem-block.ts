// An in-memory block for backfilling: samples are appended per series into XOR chunks, cut where the head would cut
// them (so a backfilled block has the chunks `promtool tsdb create-blocks-from` gives it), and the result is read
// through the BlockReader interface, so `writeBlock` turns it into an on-disk block exactly as it turns the head into
// one. Series refs are assigned in label order when the block is sealed.

import { ContrailError } from "../../model/errors.ts";
import type { Labels } from "../../model/labels.ts";
import type { BlockChunkReader, BlockIndexReader, BlockReader, ChunkMeta, TombstoneReader } from "../block-reader.ts";
import { type Chunk, Encoding, MAX_BYTES_PER_XOR_CHUNK_BEFORE_APPEND, SAMPLES_PER_CHUNK } from "../chunkenc/chunk.ts";
import { XorAppender } from "../chunkenc/xor.ts";
import { floatHi, floatLo } from "../encoding/float-bits.ts";
import { computeChunkEndTime, rangeForTimestamp } from "../head/series.ts";
import { MemIndex } from "../mem-index.ts";

/** Chunks per series a ChunkMeta ref can address (ref = series index × this + chunk index). */
const CHUNKS_PER_SERIES = 2 ** 20;

interface MemChunk {
  app: XorAppender;
  mint: number;
  maxt: number;
}

interface MemSeries {
  readonly labels: Labels;
  readonly chunks: MemChunk[];
  lastT: number;
  lastV: number;
  /** When the open (last) chunk is cut, ms. */
  nextAt: number;
}

const NO_TOMBSTONES: TombstoneReader = { get: () => [] };

/** Collects samples, then serves them as a BlockReader over [minTime, maxTime). Single use: add, then `seal()`. */
export class MemBlockBuilder {
  private readonly chunkRange: number;
  private readonly byLabels = new Map<Labels, MemSeries>();
  private readonly byKey = new Map<string, MemSeries>();
  private minT = Number.POSITIVE_INFINITY;
  private maxT = Number.NEGATIVE_INFINITY;
  private count = 0;

  /**
   * `chunkRange` (ms): chunks never cross a multiple of it. promtool's block writer uses twice the block duration,
   * the default here (4 h).
   */
  constructor(opts: { chunkRange?: number } = {}) {
    this.chunkRange = opts.chunkRange ?? 4 * 60 * 60 * 1000;
  }

  /** Samples added. */
  get numSamples(): number {
    return this.count;
  }

  /**
   * Adds a sample. Samples of one series must not go back in time; the same timestamp again is ignored when the
   * value is the same (bit for bit) and an error otherwise. Errors are ContrailErrors naming `where`.
   */
  add(labels: Labels, t: number, v: number, where: string): void {
    let s = this.byLabels.get(labels);
    if (s === undefined) {
      const key = labels.toString();
      s = this.byKey.get(key);
      if (s === undefined) {
        s = { labels, chunks: [], lastT: Number.NEGATIVE_INFINITY, lastV: 0, nextAt: Number.NEGATIVE_INFINITY };
        this.byKey.set(key, s);
      }
      this.byLabels.set(labels, s);
    }
    if (t <= s.lastT) {
      if (t === s.lastT && floatHi(v) === floatHi(s.lastV) && floatLo(v) === floatLo(s.lastV)) return;
      const what = t === s.lastT ? "duplicate sample for timestamp" : "out of order sample";
      throw new ContrailError(
        t === s.lastT ? "duplicate_sample_for_timestamp" : "out_of_order_sample",
        `${where}: ${what} ${t} for ${s.labels.toString()} (previous sample at ${s.lastT})`,
      );
    }
    // The head's cutting rules: about full, at the predicted end time or the range boundary, or twice the target.
    let c = s.chunks.length > 0 ? s.chunks[s.chunks.length - 1] : undefined;
    if (c === undefined || c.app.size > MAX_BYTES_PER_XOR_CHUNK_BEFORE_APPEND) c = this.cut(s, t);
    const n = c.app.numSamples;
    if (n === Math.floor(SAMPLES_PER_CHUNK / 4)) s.nextAt = computeChunkEndTime(c.mint, c.maxt, s.nextAt, 4);
    if (n > 0 && (t >= s.nextAt || n >= SAMPLES_PER_CHUNK * 2)) c = this.cut(s, t);
    c.app.append(t, v);
    c.maxt = t;
    s.lastT = t;
    s.lastV = v;
    if (t < this.minT) this.minT = t;
    if (t > this.maxT) this.maxT = t;
    this.count++;
  }

  private cut(s: MemSeries, t: number): MemChunk {
    const c: MemChunk = { app: new XorAppender(), mint: t, maxt: t };
    s.chunks.push(c);
    s.nextAt = rangeForTimestamp(t, this.chunkRange);
    return c;
  }

  /** Ends the adding and returns the data as a block reader over [first sample, last sample + 1). */
  seal(): BlockReader {
    const series = [...this.byKey.values()].sort((a, b) => a.labels.compare(b.labels));
    this.byLabels.clear();
    this.byKey.clear();
    return new MemBlock(series, this.minT, this.maxT + 1);
  }
}

class MemBlock implements BlockReader {
  readonly minTime: number;
  readonly maxTime: number;
  private readonly idx: MemIndex;
  private readonly chunkReader: BlockChunkReader;

  constructor(series: MemSeries[], minTime: number, maxTime: number) {
    this.minTime = minTime;
    this.maxTime = maxTime;
    this.idx = new MemIndex(
      series.map((s) => s.labels),
      (ref) => series[ref].chunks.map((c, i) => ({ ref: ref * CHUNKS_PER_SERIES + i, mint: c.mint, maxt: c.maxt })),
    );
    this.chunkReader = {
      chunk(meta: ChunkMeta): Chunk {
        const s = series[Math.floor(meta.ref / CHUNKS_PER_SERIES)];
        const c = s?.chunks[meta.ref % CHUNKS_PER_SERIES];
        if (c === undefined) throw new ContrailError("not_found", `no chunk ${meta.ref} in the in-memory block`);
        return { encoding: Encoding.xor, data: c.app.bytes() };
      },
    };
  }

  index(): BlockIndexReader {
    return this.idx;
  }

  chunks(): BlockChunkReader {
    return this.chunkReader;
  }

  tombstones(): TombstoneReader {
    return NO_TOMBSTONES;
  }
}
