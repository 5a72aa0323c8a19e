// The chunks of one series for a streamed remote read: stored chunks taken as they are (stored-chunks.ts says
// which), and the rest of its time encoded from its samples in the range read, in Prometheus's chunk encodings: XOR
// for floats, the integer and float histogram encodings for native histograms. Chunks are cut as Prometheus's head
// cuts them: at a change of kind, at 120 samples, when an XOR chunk nears 1 KiB, when a histogram chunk passes its
// target size once it holds its minimum of samples, and wherever the histogram encoding needs a new chunk (a reset,
// a new schema). Encoding from samples gives each chunk exactly the samples of the requested range, as Prometheus's
// trimming of the chunks at the range's ends does.

import type { Histogram } from "../../model/histogram.ts";
import type { EncodedChunk } from "../../storage/interface.ts";
import { Encoding, MAX_BYTES_PER_XOR_CHUNK_BEFORE_APPEND, SAMPLES_PER_CHUNK } from "../../tsdb/chunkenc/chunk.ts";
import {
  appendHistogramSample,
  type HistogramChunkAppender,
  newHistogramAppender,
} from "../../tsdb/chunkenc/histogram-append.ts";
import { XorAppender } from "../../tsdb/chunkenc/xor.ts";
import {
  MIN_SAMPLES_PER_HISTOGRAM_CHUNK,
  TARGET_BYTES_PER_HISTOGRAM_CHUNK,
} from "../../tsdb/head/series-histograms.ts";
import { chunkMessageBytes, type WireChunk } from "./codec.ts";

/** Encodes one series' samples, given in increasing time order, into chunks. One per series; not reusable. */
export class SeriesChunker {
  private xor: XorAppender | null = null;
  private hist: HistogramChunkAppender | null = null;
  private mint = 0;
  private maxt = 0;
  private done: WireChunk[] = [];
  private doneBytes = 0;

  /** Bytes the Chunk messages of the chunks finished and not yet taken take in a frame (an estimate from above). */
  get finishedBytes(): number {
    return this.doneBytes;
  }

  /** Adds a float sample at `t` ms. */
  float(t: number, v: number): void {
    if (this.hist !== null) this.flush();
    let a = this.xor;
    if (a !== null && (a.numSamples >= SAMPLES_PER_CHUNK || a.size > MAX_BYTES_PER_XOR_CHUNK_BEFORE_APPEND)) {
      this.flush();
      a = null;
    }
    if (a === null) {
      a = new XorAppender();
      this.xor = a;
      this.mint = t;
    }
    a.append(t, v);
    this.maxt = t;
  }

  /** Adds a native histogram sample at `t` ms; `h` is not kept. */
  histogram(t: number, h: Histogram): void {
    if (this.xor !== null) this.flush();
    let a = this.hist;
    let prev: HistogramChunkAppender | null = null;
    if (a !== null) {
      const full =
        a.numSamples >= SAMPLES_PER_CHUNK ||
        (a.numSamples >= MIN_SAMPLES_PER_HISTOGRAM_CHUNK && a.size >= TARGET_BYTES_PER_HISTOGRAM_CHUNK);
      if (a.float === h.integer || full) {
        prev = a.float === h.integer ? null : a;
        this.flush();
        a = null;
      }
    }
    if (a === null) {
      a = newHistogramAppender(!h.integer);
      this.mint = t;
    }
    const out = appendHistogramSample(a, prev, t, h);
    if (out.kind === "cut") {
      this.hist = a;
      this.flush();
      this.mint = t;
    }
    this.hist = out.appender;
    this.maxt = t;
  }

  /** Ends the open chunk, if any, making it one of the finished chunks. */
  flush(): void {
    if (this.xor !== null) this.finish(Encoding.xor, this.xor.bytes());
    else if (this.hist !== null) {
      this.finish(this.hist.float ? Encoding.floatHistogram : Encoding.histogram, this.hist.bytes());
    }
    this.xor = null;
    this.hist = null;
  }

  /** Adds a stored chunk as it is, after the samples so far (ending the open chunk); its data is copied. */
  stored(c: EncodedChunk): void {
    this.flush();
    const chunk = { mint: c.mint, maxt: c.maxt, encoding: c.encoding, data: c.data.slice() };
    this.done.push(chunk);
    this.doneBytes += chunkMessageBytes(chunk);
  }

  /** The finished chunks since the last call, oldest first; the caller owns them. */
  take(): WireChunk[] {
    const out = this.done;
    this.done = [];
    this.doneBytes = 0;
    return out;
  }

  private finish(encoding: number, bytes: Uint8Array): void {
    const chunk = { mint: this.mint, maxt: this.maxt, encoding, data: bytes.slice() };
    this.done.push(chunk);
    this.doneBytes += chunkMessageBytes(chunk);
  }
}
