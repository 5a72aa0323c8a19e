// The integer histogram chunk (encoding 2), bit for bit as Prometheus encodes it; docs/format/histogram-chunks.md
// draws the layout. After the header, the layout and the first time, the first sample stores its count and zero
// count (varbit uints), its sum as 64 bits and each bucket as the delta to the previous bucket (varbit); later
// samples store the delta-of-delta in time of every integer field and the sum XORed with the previous one.

import { countsFromDeltas, type Histogram } from "../../model/histogram.ts";
import { isStaleNaN } from "../../model/sample.ts";
import type { BitReader } from "../encoding/bstream.ts";
import { HistogramChunkReader, HistogramChunkWriter } from "./histogram-chunk.ts";
import { type ChunkLayout, countBuckets } from "./histogram-layout.ts";
import { hintOf, staleHistogram } from "./histogram-value.ts";
import {
  putRawFloat,
  putVarbitInt,
  putVarbitUint,
  putXorFloat,
  readRawFloat,
  readVarbitInt,
  readVarbitUint,
  readXorFloat,
  xorFieldValue,
} from "./varbit.ts";

/** Bucket values as the integer chunk stores them: each bucket's delta to the previous bucket. */
function toBucketDeltas(abs: readonly number[], out: number[]): void {
  let prev = 0;
  for (let i = 0; i < abs.length; i++) {
    out[i] = abs[i] - prev;
    prev = abs[i];
  }
}

/** Encodes integer histograms (whole-number counts) into one chunk; see HistogramChunkWriter. */
export class IntHistogramAppender extends HistogramChunkWriter {
  readonly float = false;
  private cnt = 0;
  private cntDelta = 0;
  private zCnt = 0;
  private zCntDelta = 0;
  /** Bucket values as stored and their change since the previous sample. */
  private pVals: number[] = [];
  private pDeltas: number[] = [];
  private nVals: number[] = [];
  private nDeltas: number[] = [];
  private readonly scratch: number[] = [];

  /** Appends `h` at `t` ms with no layout check (see HistogramChunkWriter.appendRaw). */
  appendRaw(t: number, h: Histogram): void {
    const stale = isStaleNaN(h.sum);
    const n = this.begin(t, h, stale);
    const w = this.w;
    // A stale marker is written as a histogram with nothing but its sum.
    const count = stale ? 0 : h.count;
    const zeroCount = stale ? 0 : h.zeroCount;
    if (n === 0) {
      putVarbitUint(w, count);
      putVarbitUint(w, zeroCount);
      putRawFloat(w, this.sum, h.sum);
      const np = countBuckets(this.layout.positiveSpans);
      const nn = countBuckets(this.layout.negativeSpans);
      this.pVals = new Array<number>(np).fill(0);
      this.nVals = new Array<number>(nn).fill(0);
      this.pDeltas = new Array<number>(np).fill(0);
      this.nDeltas = new Array<number>(nn).fill(0);
      if (!stale) {
        toBucketDeltas(h.positiveBuckets, this.pVals);
        toBucketDeltas(h.negativeBuckets, this.nVals);
        for (const v of this.pVals) putVarbitInt(w, v);
        for (const v of this.nVals) putVarbitInt(w, v);
      }
      this.cntDelta = 0;
      this.zCntDelta = 0;
    } else {
      const cntDelta = count - this.cnt;
      const zCntDelta = zeroCount - this.zCnt;
      // After a stale marker the state keeps what Prometheus's appender keeps (its counts are zero).
      putVarbitInt(w, stale ? 0 : cntDelta - this.cntDelta);
      putVarbitInt(w, stale ? 0 : zCntDelta - this.zCntDelta);
      this.cntDelta = cntDelta;
      this.zCntDelta = zCntDelta;
      putXorFloat(w, this.sum, h.sum);
      if (!stale) {
        this.writeBucketDods(h.positiveBuckets, this.pVals, this.pDeltas);
        this.writeBucketDods(h.negativeBuckets, this.nVals, this.nDeltas);
      }
    }
    this.cnt = count;
    this.zCnt = zeroCount;
    this.end(n, t, h, stale);
  }

  private writeBucketDods(abs: readonly number[], vals: number[], deltas: number[]): void {
    const cur = this.scratch;
    cur.length = abs.length;
    toBucketDeltas(abs, cur);
    for (let i = 0; i < cur.length; i++) {
      const delta = cur[i] - vals[i];
      putVarbitInt(this.w, delta - deltas[i]);
      deltas[i] = delta;
      vals[i] = cur[i];
    }
  }
}

/**
 * Decodes an integer histogram chunk; a SampleIterator whose samples are "histogram" with `atH()`. A corrupt chunk
 * ends the iteration and sets `err()`. The bytes must stay unchanged while iterating.
 */
export class IntHistogramIterator extends HistogramChunkReader {
  private cnt = 0;
  private cntDelta = 0;
  private zCnt = 0;
  private zCntDelta = 0;
  private pVals: number[] = [];
  private pDeltas: number[] = [];
  private nVals: number[] = [];
  private nDeltas: number[] = [];

  /** Starts on `bytes` (an integer histogram chunk, header included), or on an empty chunk. */
  constructor(bytes: Uint8Array = new Uint8Array(3)) {
    super();
    this.reset(bytes);
  }

  protected resetValues(): void {
    this.cntDelta = 0;
    this.zCntDelta = 0;
  }

  /** The current histogram, a new object. */
  atH(): Histogram {
    const sum = xorFieldValue(this.sum);
    if (isStaleNaN(sum)) return staleHistogram(sum, true);
    const l = this.layout;
    return {
      integer: true,
      counterResetHint: hintOf(this.crh, this.read),
      schema: l.schema,
      zeroThreshold: l.zeroThreshold,
      zeroCount: this.zCnt,
      count: this.cnt,
      sum,
      positiveSpans: l.positiveSpans,
      negativeSpans: l.negativeSpans,
      positiveBuckets: countsFromDeltas(this.pVals),
      negativeBuckets: countsFromDeltas(this.nVals),
      customValues: l.customValues,
    };
  }

  protected readFirst(l: ChunkLayout): boolean {
    const r = this.r;
    this.cnt = readVarbitUint(r);
    this.zCnt = readVarbitUint(r);
    readRawFloat(r, this.sum);
    const np = countBuckets(l.positiveSpans);
    const nn = countBuckets(l.negativeSpans);
    this.pVals = new Array<number>(np);
    this.nVals = new Array<number>(nn);
    this.pDeltas = new Array<number>(np).fill(0);
    this.nDeltas = new Array<number>(nn).fill(0);
    for (let i = 0; i < np; i++) this.pVals[i] = readVarbitInt(r);
    for (let i = 0; i < nn; i++) this.nVals[i] = readVarbitInt(r);
    this.cntDelta = 0;
    this.zCntDelta = 0;
    return true;
  }

  protected readNext(): boolean {
    const r = this.r;
    this.cntDelta += readVarbitInt(r);
    this.cnt += this.cntDelta;
    this.zCntDelta += readVarbitInt(r);
    this.zCnt += this.zCntDelta;
    if (!readXorFloat(r, this.sum)) return false;
    if (!this.isStale()) {
      readBucketDods(r, this.pVals, this.pDeltas);
      readBucketDods(r, this.nVals, this.nDeltas);
    }
    return true;
  }
}

function readBucketDods(r: BitReader, vals: number[], deltas: number[]): void {
  for (let i = 0; i < vals.length; i++) {
    deltas[i] += readVarbitInt(r);
    vals[i] += deltas[i];
  }
}
