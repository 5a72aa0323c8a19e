// Sample-by-sample reads of one chain of chunks (chunk-chain.ts `Chain`), with each sample's kind: the reader of
// series that may hold native histograms. The block querier reads its chains with it, and so do query workers,
// which receive a series' chunks as bytes; both give the same samples because they run this code.

import { ContrailError } from "../model/errors.ts";
import type { Histogram } from "../model/histogram.ts";
import type { SampleIterator, ValueKind } from "../storage/interface.ts";
import type { Chain } from "./chunk-chain.ts";
import { Encoding } from "./chunkenc/chunk.ts";
import { type ChunkIterator, chunkIterator, isHistogramEncoding } from "./chunkenc/iterators.ts";
import { XorIterator } from "./chunkenc/xor.ts";

/**
 * Iterates the samples of a series' chunks in order, within the range and each chunk's own [mint, maxt], skipping
 * deleted intervals and any timestamp not above the previous one. Chunks are read only when reached; float (XOR)
 * and histogram chunks are read, chunks of other encodings skipped. A chunk that does not decode throws
 * `corruption`. Series that may hold histograms use this class; the block querier's float-only series a
 * batch-reading subclass. The chain is read through its `Chain` methods only.
 */
export class ChunkChainIterator implements SampleIterator {
  protected src!: Chain;
  private readonly xor = new XorIterator();
  /** The current chunk's decoder when it is a histogram chunk, else null (the XOR decoder is current). */
  private hist: ChunkIterator | null = null;
  private ci = -1;
  private inChunk = false;
  private started = false;
  protected ended = false;
  private di = 0;
  private t = 0;
  private v = 0;

  /** An iterator over `src`'s samples, before the first. */
  constructor(src: Chain) {
    this.reset(src);
  }

  /** Starts over on `src`, reusing the decoders. */
  reset(src: Chain): void {
    this.src = src;
    this.ci = -1;
    this.inChunk = false;
    this.started = false;
    this.ended = false;
    this.di = 0;
    this.hist = null;
  }

  atT(): number {
    return this.t;
  }

  atV(): number {
    return this.v;
  }

  /** The current sample's histogram, when the last move returned "histogram". */
  atH(): Histogram {
    const h = this.hist?.atH?.();
    if (h === undefined) throw new ContrailError("internal", "atH() called on a float sample");
    return h;
  }

  private kind(): ValueKind {
    return this.hist === null ? "float" : "histogram";
  }

  next(): ValueKind {
    if (this.ended) return "none";
    for (;;) {
      if (!this.inChunk && !this.openNextChunk(Number.NEGATIVE_INFINITY)) return this.end();
      if ((this.hist === null ? this.xor.next() : this.hist.next()) === "none") {
        this.chunkDone();
        continue;
      }
      const k = this.accept();
      if (k === 1) return this.kind();
      if (k === -1) return this.end();
    }
  }

  seek(t: number): ValueKind {
    if (this.ended) return "none";
    if (this.started && this.t >= t) return this.kind();
    const target = Math.max(t, this.src.mint);
    if (this.inChunk && this.src.chunkMaxt(this.ci) < target) this.chunkDone();
    for (;;) {
      if (!this.inChunk && !this.openNextChunk(target)) return this.end();
      if ((this.hist === null ? this.xor.seek(target) : this.hist.seek(target)) === "none") {
        this.chunkDone();
        continue;
      }
      // Judge the sample the chunk's iterator stands on, then the following ones of the same chunk.
      for (;;) {
        const k = this.accept();
        if (k === 1) return this.kind();
        if (k === -1) return this.end();
        if (!this.inChunk) break;
        if ((this.hist === null ? this.xor.next() : this.hist.next()) === "none") {
          this.chunkDone();
          break;
        }
      }
    }
  }

  // Judges the chunk iterator's current sample: 1 to return it, 0 to skip it, -1 when the series is done.
  private accept(): number {
    const src = this.src;
    const h = this.hist;
    const t = h === null ? this.xor.atT() : h.atT();
    if (t > src.maxt) return -1;
    if (t > src.chunkMaxt(this.ci)) {
      this.chunkDone();
      return 0;
    }
    if (t < src.mint || t < src.chunkMint(this.ci) || (this.started && t <= this.t)) return 0;
    const d = src.deleted;
    while (this.di < d.length && d[this.di].maxt < t) this.di++;
    if (this.di < d.length && d[this.di].mint <= t) return 0;
    this.t = t;
    this.v = h === null ? this.xor.atV() : h.atV();
    this.started = true;
    return 1;
  }

  // Opens the next chunk that may hold samples at or after `from`; false when there is none.
  private openNextChunk(from: number): boolean {
    const src = this.src;
    while (++this.ci < src.length) {
      if (src.chunkMint(this.ci) > src.maxt) return false;
      const cMaxt = src.chunkMaxt(this.ci);
      if (cMaxt < from || cMaxt < src.mint) continue;
      const chunk = src.chunkData(this.ci);
      if (chunk.encoding === Encoding.xor) {
        this.xor.reset(chunk.data);
        this.hist = null;
      } else if (isHistogramEncoding(chunk.encoding)) {
        this.hist = chunkIterator(chunk);
      } else {
        continue;
      }
      this.inChunk = true;
      return true;
    }
    return false;
  }

  private chunkDone(): void {
    if (!this.inChunk) return;
    this.inChunk = false;
    const e = this.hist === null ? this.xor.err() : this.hist.err();
    if (e !== null) {
      throw new ContrailError("corruption", `chunk ${this.src.chunkName(this.ci)}: ${e}`);
    }
  }

  private end(): ValueKind {
    this.chunkDone();
    this.ended = true;
    return "none";
  }
}
