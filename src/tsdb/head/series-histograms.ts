// The histogram side of a head series: its open histogram chunk and the state only series that have held histograms
// keep (most series hold floats only and keep none of it).

import type { Histogram } from "../../model/histogram.ts";
import { Encoding } from "../chunkenc/chunk.ts";
import type { HistogramChunkAppender } from "../chunkenc/histogram-append.ts";

/**
 * A histogram chunk being appended to, with its time range. Its appender is replaced when a sample with new buckets
 * recodes the chunk. Its bytes live in its own buffer (histogram series are few; the arena serves float chunks).
 */
export class HistogramOpenChunk {
  app: HistogramChunkAppender;
  mint: number;
  maxt = Number.NEGATIVE_INFINITY;

  /** A chunk of `app` (empty or holding the sample at `mint` ms). */
  constructor(app: HistogramChunkAppender, mint: number) {
    this.app = app;
    this.mint = mint;
  }

  /** The chunk's encoding byte: integer or float histogram. */
  get encoding(): Encoding {
    return this.app.float ? Encoding.floatHistogram : Encoding.histogram;
  }

  /** Samples in the chunk. */
  get numSamples(): number {
    return this.app.numSamples;
  }

  /** Chunk size in bytes. */
  get size(): number {
    return this.app.size;
  }

  /** The chunk's bytes; a view valid until the next append. */
  bytes(): Uint8Array {
    return this.app.bytes();
  }
}

/** Prometheus's target size of a histogram chunk, bytes: end times are predicted from it, twice it always cuts. */
export const TARGET_BYTES_PER_HISTOGRAM_CHUNK = 1024;
/** Samples a histogram chunk holds at least before it is cut (unless the chunk range ends first). */
export const MIN_SAMPLES_PER_HISTOGRAM_CHUNK = 10;

/** Histogram state of a series that has held histograms; null for float-only series (most). */
export interface SeriesHistograms {
  /** The newest sample's histogram when the newest sample is one, else null (for the duplicate check). */
  last: Histogram | null;
  /** Whether the open histogram chunk's end time was predicted from its size yet. */
  endComputed: boolean;
  /** The open chunk when it is a histogram chunk, else null. */
  open: HistogramOpenChunk | null;
}

/** Histogram state of a series that has not appended a histogram yet. */
export function newSeriesHistograms(): SeriesHistograms {
  return { last: null, endComputed: false, open: null };
}

/** A copy of `h` that can be kept (the caller may reuse its arrays). */
export function copyHistogram(h: Histogram): Histogram {
  return {
    ...h,
    positiveSpans: h.positiveSpans.slice(),
    negativeSpans: h.negativeSpans.slice(),
    positiveBuckets: h.positiveBuckets.slice(),
    negativeBuckets: h.negativeBuckets.slice(),
    customValues: h.customValues.slice(),
  };
}
