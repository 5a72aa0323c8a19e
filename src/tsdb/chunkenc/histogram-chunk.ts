// What the integer and float histogram chunks share: the 3-byte header (sample count, counter-reset bits), the
// layout written before the first sample, the timestamps (varbit raw, then varbit delta-of-delta) and the
// XOR-encoded sum. The encodings differ only in how counts and buckets are stored (histogram.ts,
// float-histogram.ts).

import { ContrailError } from "../../model/errors.ts";
import type { Histogram } from "../../model/histogram.ts";
import { isStaleNaN } from "../../model/sample.ts";
import type { SampleIterator, ValueKind } from "../../storage/interface.ts";
import { BitReader, BitWriter } from "../encoding/bstream.ts";
import {
  type ChunkLayout,
  COUNTER_RESET_MASK,
  type CounterResetHeader,
  HISTOGRAM_FLAG_POS,
  HISTOGRAM_HEADER_SIZE,
  readLayout,
  writeLayout,
} from "./histogram-layout.ts";
import { STALE_LAYOUT } from "./histogram-value.ts";
import { newXorField, putVarbitInt, readVarbitInt, type XorField, xorFieldValue } from "./varbit.ts";

/** Most samples a histogram chunk's 16-bit count can say. */
const MAX_SAMPLES = 0xffff;
const EMPTY = new Uint8Array(HISTOGRAM_HEADER_SIZE);

/** The writing half both histogram chunk appenders share; see IntHistogramAppender and FloatHistogramAppender. */
export abstract class HistogramChunkWriter {
  protected readonly w = new BitWriter(128);
  /** The chunk's layout, set by its first sample. */
  layout: ChunkLayout = STALE_LAYOUT;
  protected t = 0;
  protected tDelta = 0;
  protected readonly sum: XorField = newXorField();
  /** Absolute counts of the last histogram that was not a stale marker, for the appendable checks. */
  lastPositive: readonly number[] = [];
  lastNegative: readonly number[] = [];
  lastCount = 0;
  lastZeroCount = 0;

  constructor() {
    this.w.writeBitsNum(0, 8 * HISTOGRAM_HEADER_SIZE);
  }

  /** Samples appended. */
  get numSamples(): number {
    const b = this.w.bytes();
    return (b[0] << 8) | b[1];
  }

  /** Chunk size in bytes, header included. */
  get size(): number {
    return this.w.length;
  }

  /** The chunk's bytes; a view valid until the next append (copy it to keep it). */
  bytes(): Uint8Array {
    return this.w.bytes();
  }

  /** The counter-reset header bits. */
  get header(): CounterResetHeader {
    return (this.w.bytes()[HISTOGRAM_FLAG_POS] & COUNTER_RESET_MASK) as CounterResetHeader;
  }

  set header(h: CounterResetHeader) {
    const b = this.w.bytes();
    this.w.setByte(HISTOGRAM_FLAG_POS, (b[HISTOGRAM_FLAG_POS] & ~COUNTER_RESET_MASK) | h);
  }

  /** The last sample's sum (StaleNaN after a stale marker). */
  get lastSum(): number {
    return xorFieldValue(this.sum);
  }

  /**
   * Appends `h` at `t` ms with no layout check: the caller guarantees `h` has the chunk's layout, or is the first
   * sample (which sets it), or is a stale marker. Use `appendHistogramSample` (histogram-append.ts) instead.
   */
  abstract appendRaw(t: number, h: Histogram): void;

  /** Checks room for one more sample; on the first, writes the layout (a stale marker's is empty) and `t`. */
  protected begin(t: number, h: Histogram, stale: boolean): number {
    const n = this.numSamples;
    if (n === MAX_SAMPLES) throw new ContrailError("too_large", "histogram chunk already holds 65535 samples");
    if (n === 0) {
      const l: ChunkLayout = stale ? STALE_LAYOUT : h;
      this.layout = {
        schema: l.schema,
        zeroThreshold: l.zeroThreshold,
        positiveSpans: l.positiveSpans.slice(),
        negativeSpans: l.negativeSpans.slice(),
        customValues: l.customValues.slice(),
      };
      writeLayout(this.w, this.layout);
      putVarbitInt(this.w, t);
      this.tDelta = 0;
    } else {
      const tDelta = t - this.t;
      putVarbitInt(this.w, tDelta - this.tDelta);
      this.tDelta = tDelta;
    }
    return n;
  }

  /** Records the appended sample and bumps the header's count. */
  protected end(n: number, t: number, h: Histogram, stale: boolean): void {
    this.t = t;
    if (!stale) {
      this.lastPositive = h.positiveBuckets.slice();
      this.lastNegative = h.negativeBuckets.slice();
      this.lastCount = h.count;
      this.lastZeroCount = h.zeroCount;
    }
    this.w.setByte(0, (n + 1) >>> 8);
    this.w.setByte(1, (n + 1) & 0xff);
  }
}

/** The reading half both histogram chunk iterators share; implements SampleIterator but for the values. */
export abstract class HistogramChunkReader implements SampleIterator {
  protected readonly r = new BitReader(EMPTY);
  protected total = 0;
  protected read = 0;
  protected crh: CounterResetHeader = 0;
  protected layout: ChunkLayout = STALE_LAYOUT;
  protected t = 0;
  protected tDelta = 0;
  /** Reader fields start with window (0, 0), as Prometheus's do. */
  protected readonly sum: XorField = { hi: 0, lo: 0, leading: 0, trailing: 0 };
  private error: string | null = null;

  /** Restarts on the chunk `bytes` (header included). */
  reset(bytes: Uint8Array): void {
    this.read = 0;
    this.error = null;
    this.sum.hi = 0;
    this.sum.lo = 0;
    this.sum.leading = 0;
    this.sum.trailing = 0;
    this.resetValues();
    if (bytes.length < HISTOGRAM_HEADER_SIZE) {
      this.total = 0;
      this.error = "histogram chunk shorter than its header";
      this.r.reset(EMPTY);
      return;
    }
    this.total = (bytes[0] << 8) | bytes[1];
    this.crh = (bytes[HISTOGRAM_FLAG_POS] & COUNTER_RESET_MASK) as CounterResetHeader;
    this.r.reset(bytes, HISTOGRAM_HEADER_SIZE);
  }

  /** Clears the encoding's own value state on `reset`. */
  protected abstract resetValues(): void;
  /** Reads the first sample's values after its layout and time. */
  protected abstract readFirst(l: ChunkLayout): boolean;
  /** Reads a later sample's values after its time. */
  protected abstract readNext(): boolean;
  /** The current histogram, a new object. */
  abstract atH(): Histogram;

  /** The decoding error that ended the iteration early, or null. */
  err(): string | null {
    return this.error;
  }

  /** Timestamp of the current sample, ms. */
  atT(): number {
    return this.t;
  }

  /** Histogram chunks hold no float samples: NaN. */
  atV(): number {
    return Number.NaN;
  }

  /** Whether the current sample is a stale marker (its sum is StaleNaN). */
  protected isStale(): boolean {
    return isStaleNaN(xorFieldValue(this.sum));
  }

  /** Moves to the next sample. */
  next(): ValueKind {
    if (this.error !== null || this.read === this.total) return "none";
    const r = this.r;
    if (this.read === 0) {
      const l = readLayout(r);
      if (l === null) return this.fail("histogram chunk layout is malformed");
      this.layout = l;
      this.t = readVarbitInt(r);
      this.tDelta = 0;
      if (!this.readFirst(l)) return this.fail("histogram chunk value is malformed");
    } else {
      this.tDelta += readVarbitInt(r);
      this.t += this.tDelta;
      if (!this.readNext()) return this.fail("histogram chunk value window out of range");
    }
    if (r.err() !== null) return this.fail(`histogram chunk truncated after ${this.read} of ${this.total} samples`);
    this.read++;
    return "histogram";
  }

  private fail(e: string): ValueKind {
    this.error = e;
    return "none";
  }

  /** Moves to the first sample at or after `t` ms; stays if the current sample qualifies. */
  seek(t: number): ValueKind {
    if (this.error !== null) return "none";
    while (this.read === 0 || this.t < t) {
      if (this.next() === "none") return "none";
    }
    return "histogram";
  }
}
