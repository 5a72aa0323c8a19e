// The float histogram chunk (encoding 3), bit for bit as Prometheus encodes it; docs/format/histogram-chunks.md
// draws the layout. Same header, layout and timestamps as the integer chunk; the first sample stores every float
// field as 64 raw bits, later samples every float field (count, zero count, sum, each bucket's absolute count)
// XORed with its previous value, each field with its own bit window.

import type { Histogram } from "../../model/histogram.ts";
import { isStaleNaN } from "../../model/sample.ts";
import type { BitReader, BitWriter } from "../encoding/bstream.ts";
import { HistogramChunkReader, HistogramChunkWriter } from "./histogram-chunk.ts";
import { type ChunkLayout, countBuckets } from "./histogram-layout.ts";
import { hintOf, staleHistogram } from "./histogram-value.ts";
import {
  newXorField,
  putRawFloat,
  putXorFloat,
  readRawFloat,
  readXorFloat,
  type XorField,
  xorFieldValue,
} from "./varbit.ts";

/** Encodes float histograms into one chunk; see HistogramChunkWriter. */
export class FloatHistogramAppender extends HistogramChunkWriter {
  readonly float = true;
  private readonly cnt: XorField = newXorField();
  private readonly zCnt: XorField = newXorField();
  private pFields: XorField[] = [];
  private nFields: XorField[] = [];

  /** Appends `h` at `t` ms with no layout check (see HistogramChunkWriter.appendRaw). */
  appendRaw(t: number, h: Histogram): void {
    const stale = isStaleNaN(h.sum);
    const n = this.begin(t, h, stale);
    const w = this.w;
    // A stale marker is written as a histogram with nothing but its sum.
    const count = stale ? 0 : h.count;
    const zeroCount = stale ? 0 : h.zeroCount;
    if (n === 0) {
      putRawFloat(w, this.cnt, count);
      putRawFloat(w, this.zCnt, zeroCount);
      putRawFloat(w, this.sum, h.sum);
      this.pFields = rawFields(w, countBuckets(this.layout.positiveSpans), h.positiveBuckets);
      this.nFields = rawFields(w, countBuckets(this.layout.negativeSpans), h.negativeBuckets);
    } else {
      putXorFloat(w, this.cnt, count);
      putXorFloat(w, this.zCnt, zeroCount);
      putXorFloat(w, this.sum, h.sum);
      if (!stale) {
        for (let i = 0; i < this.pFields.length; i++) putXorFloat(w, this.pFields[i], h.positiveBuckets[i]);
        for (let i = 0; i < this.nFields.length; i++) putXorFloat(w, this.nFields[i], h.negativeBuckets[i]);
      }
    }
    this.end(n, t, h, stale);
  }
}

/** Writes `n` buckets' first values raw (a stale first sample has none), each a field with no window yet. */
function rawFields(w: BitWriter, n: number, counts: readonly number[]): XorField[] {
  const out: XorField[] = [];
  for (let i = 0; i < n; i++) {
    const f = newXorField();
    putRawFloat(w, f, counts[i]);
    out.push(f);
  }
  return out;
}

/** A reader's field: window (0, 0) before the first, as Prometheus's reader starts. */
function readerField(): XorField {
  return { hi: 0, lo: 0, leading: 0, trailing: 0 };
}

/**
 * Decodes a float histogram chunk; a SampleIterator whose samples are "histogram" with `atH()`. A corrupt chunk
 * ends the iteration and sets `err()`. The bytes must stay unchanged while iterating.
 */
export class FloatHistogramIterator extends HistogramChunkReader {
  private readonly cnt = readerField();
  private readonly zCnt = readerField();
  private pFields: XorField[] = [];
  private nFields: XorField[] = [];

  /** Starts on `bytes` (a float histogram chunk, header included), or on an empty chunk. */
  constructor(bytes: Uint8Array = new Uint8Array(3)) {
    super();
    this.reset(bytes);
  }

  protected resetValues(): void {
    for (const f of [this.cnt, this.zCnt]) {
      f.hi = 0;
      f.lo = 0;
      f.leading = 0;
      f.trailing = 0;
    }
  }

  /** The current histogram, a new object. */
  atH(): Histogram {
    const sum = xorFieldValue(this.sum);
    if (isStaleNaN(sum)) return staleHistogram(sum, false);
    const l = this.layout;
    return {
      integer: false,
      counterResetHint: hintOf(this.crh, this.read),
      schema: l.schema,
      zeroThreshold: l.zeroThreshold,
      zeroCount: xorFieldValue(this.zCnt),
      count: xorFieldValue(this.cnt),
      sum,
      positiveSpans: l.positiveSpans,
      negativeSpans: l.negativeSpans,
      positiveBuckets: this.pFields.map(xorFieldValue),
      negativeBuckets: this.nFields.map(xorFieldValue),
      customValues: l.customValues,
    };
  }

  protected readFirst(l: ChunkLayout): boolean {
    const r = this.r;
    readRawFloat(r, this.cnt);
    readRawFloat(r, this.zCnt);
    readRawFloat(r, this.sum);
    this.pFields = readRawFields(r, countBuckets(l.positiveSpans));
    this.nFields = readRawFields(r, countBuckets(l.negativeSpans));
    return true;
  }

  protected readNext(): boolean {
    const r = this.r;
    if (!readXorFloat(r, this.cnt) || !readXorFloat(r, this.zCnt) || !readXorFloat(r, this.sum)) return false;
    if (this.isStale()) return true;
    for (const f of this.pFields) if (!readXorFloat(r, f)) return false;
    for (const f of this.nFields) if (!readXorFloat(r, f)) return false;
    return true;
  }
}

function readRawFields(r: BitReader, n: number): XorField[] {
  const out: XorField[] = [];
  for (let i = 0; i < n && r.err() === null; i++) {
    const f = readerField();
    readRawFloat(r, f);
    out.push(f);
  }
  return out;
}
