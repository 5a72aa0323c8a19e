// One series of the head: its labels, the metadata of its full chunks (written to `chunks_head/`) and the open
// chunk samples are appended to. Chunks are cut as Prometheus cuts them, so head chunk files and the blocks compacted
// from them have Prometheus's chunk boundaries.

import type { Histogram } from "../../model/histogram.ts";
import type { Labels } from "../../model/labels.ts";
import { Encoding, MAX_BYTES_PER_XOR_CHUNK_BEFORE_APPEND } from "../chunkenc/chunk.ts";
import {
  appendHistogramSample,
  type HistogramChunkAppender,
  newHistogramAppender,
} from "../chunkenc/histogram-append.ts";
import type { HeadChunkFiles, HeadChunkRef } from "../chunks/head-chunks.ts";
import { Col, DEAD_SLOT, IntCol, NO_CHUNKS, SeriesColumns } from "./columns.ts";
import { labelHashKey } from "./label-store.ts";
import {
  copyHistogram,
  HistogramOpenChunk,
  MIN_SAMPLES_PER_HISTOGRAM_CHUNK,
  newSeriesHistograms,
  type SeriesHistograms,
  TARGET_BYTES_PER_HISTOGRAM_CHUNK,
} from "./series-histograms.ts";

/** Number of chunk-id values in a head chunk reference (21 bits); ids wrap around modulo this. */
export const CHUNK_ID_SPACE = 2 ** 21;
/** Largest head series ref: series ref and chunk id must pack into one safe integer. */
export const MAX_SERIES_REF = 2 ** 32 - 1;

/** A full chunk of the series, stored in the head chunk files. Times inclusive, ms. */
export interface MmappedChunk {
  readonly ref: HeadChunkRef;
  readonly mint: number;
  readonly maxt: number;
}

/** Initial room of an open chunk in the arena, bytes: a few samples; it doubles as the chunk grows. */
const OPEN_CHUNK_BYTES = 32;

/** What chunk cutting needs to know; shared by every series of a head. */
export interface ChunkOptions {
  /** Chunks never cross a multiple of this many ms (the block range, 2 h by default). */
  readonly chunkRange: number;
  /** Target samples per chunk (120). */
  readonly samplesPerChunk: number;
  /** Where full chunks go. */
  readonly files: HeadChunkFiles;
}

/** Packs a head series ref and a chunk id into the `ref` of a ChunkMeta handed out by the head. */
export function packHeadChunkId(seriesRef: number, chunkId: number): number {
  return seriesRef * CHUNK_ID_SPACE + (((chunkId % CHUNK_ID_SPACE) + CHUNK_ID_SPACE) % CHUNK_ID_SPACE);
}

/** The series ref and chunk id packed by `packHeadChunkId`. */
export function unpackHeadChunkId(ref: number): { seriesRef: number; chunkId: number } {
  return { seriesRef: Math.floor(ref / CHUNK_ID_SPACE), chunkId: ref % CHUNK_ID_SPACE };
}

/** End of the chunk range holding `t`: the next multiple of `width` above it (Go's truncating division). */
export function rangeForTimestamp(t: number, width: number): number {
  return Math.trunc(t / width) * width + width;
}

/**
 * Prometheus's prediction of where to end a chunk once it holds a quarter of its target: the end time that splits
 * the rest of the range into chunks of about equal sample counts, never later than `maxT`.
 */
export function computeChunkEndTime(start: number, cur: number, maxT: number, ratioToFull: number): number {
  const n = (maxT - start) / ((cur - start + 1) * ratioToFull);
  if (n <= 1) return maxT;
  return Math.trunc(start + (maxT - start) / Math.floor(n));
}

// What the open chunk of a series is: none, a float chunk in the head's columns, or `histograms.open`.
const OPEN_NONE = 0;
const OPEN_XOR = 1;
const OPEN_HISTOGRAM = 2;
// The rest of a series' small fields (MemSeries.bits, an int32 column): the open chunk's kind in the low two bits,
// three flags, then the count of pending appenders (at most a few).
const OPEN_KIND_MASK = 3;
const LAST_V_UNKNOWN = 4;
/** The flag of MemSeries.logged in a series' small fields (IntCol.bits), for the appender's commit by slot. */
export const LOGGED = 8;
const HAS_HISTOGRAMS = 16;
const PENDING_SHIFT = 5;
/** One pending appender (MemSeries.pending) in a series' small fields: the appender adds and removes it by slot. */
export const ONE_PENDING = 1 << PENDING_SHIFT;

/**
 * A series held by the head: a view of its row in the head's columns, which keep all of its state (the head keeps no
 * object per series). Made when asked for (SeriesMap); a view is valid until the series is removed, which only the
 * head's truncation and replay do, and the view that removes it (`drop()`) then reads as an empty series.
 */
export class MemSeries {
  /** Head series ref, stable across restarts (it is logged in the WAL); changed only by `point`. */
  ref: number;
  /**
   * The series' labels: the offset of their record in the columns' label store while the series is in the head,
   * the set itself once `drop()` released the record (a reader that still holds the view reads them from there).
   */
  private held: number | Labels;
  /** The head's columns, where this series' numbers live (row `slot`): no number fields in the object but its ref. */
  private readonly cols: SeriesColumns;
  /**
   * This series' row in the head's columns (SeriesColumns.at, intAt); DEAD_SLOT once `drop()` gave it back, so a
   * removed series reads as an empty one while its former row serves the next new series.
   */
  slot: number;

  /** A view of the series `ref` in row `slot` of `cols` (see `create`). */
  constructor(ref: number, slot: number, cols: SeriesColumns) {
    this.ref = ref;
    this.held = cols.i32[SeriesColumns.intAt(slot, IntCol.labels)];
    this.cols = cols;
    this.slot = slot;
  }

  /**
   * Makes this view one of the series `ref` in row `slot` of the same columns: the head's appender applies a batch
   * through one view so, instead of one view a sample. Only a view no one else holds may be pointed elsewhere.
   */
  point(ref: number, slot: number): void {
    this.ref = ref;
    this.held = this.cols.i32[SeriesColumns.intAt(slot, IntCol.labels)];
    this.slot = slot;
  }

  /** A new series: a row of `cols` taken for it (`drop()` gives it back) and its labels kept in their store. */
  static create(ref: number, labels: Labels, cols: SeriesColumns): MemSeries {
    const slot = cols.alloc();
    cols.i32[SeriesColumns.intAt(slot, IntCol.labels)] = cols.labels.add(labels, labelHashKey(labels.hash()));
    return new MemSeries(ref, slot, cols);
  }

  /**
   * Full chunks in time order as flat (ref, mint, maxt) triples (SeriesColumns.chunks); NO_CHUNKS until the first
   * and once the series was dropped.
   */
  private get mm(): readonly number[] {
    return this.cols.chunks[this.slot];
  }

  private set mm(chunks: readonly number[]) {
    this.cols.chunks[this.slot] = chunks;
  }

  /** Small fields in one int32 (SeriesColumns, IntCol.bits): the open chunk's kind (OPEN_*), flags, `pending`. */
  private get bits(): number {
    return this.cols.i32[SeriesColumns.intAt(this.slot, IntCol.bits)];
  }

  private set bits(b: number) {
    this.cols.i32[SeriesColumns.intAt(this.slot, IntCol.bits)] = b;
  }

  /** Id of the first full chunk (or of the open chunk when there is no full chunk); grows as chunks are truncated. */
  get firstChunkId(): number {
    return this.cols.i32[SeriesColumns.intAt(this.slot, IntCol.firstChunkId)];
  }

  set firstChunkId(id: number) {
    this.cols.i32[SeriesColumns.intAt(this.slot, IntCol.firstChunkId)] = id;
  }

  /** Set once the series holds a histogram sample (readers then expect histogram chunks); kept beside the columns. */
  get histograms(): SeriesHistograms | null {
    return (this.bits & HAS_HISTOGRAMS) === 0 ? null : (this.cols.histograms.get(this.slot) ?? null);
  }

  set histograms(h: SeriesHistograms | null) {
    if (h === null) {
      this.cols.histograms.delete(this.slot);
      this.bits &= ~HAS_HISTOGRAMS;
    } else {
      this.cols.histograms.set(this.slot, h);
      this.bits |= HAS_HISTOGRAMS;
    }
  }

  /** Scratch of the commit in progress (see HeadAppender): the commit whose newest sample `batchAt` locates. */
  get batchEpoch(): number {
    return this.cols.i32[SeriesColumns.intAt(this.slot, IntCol.batchEpoch)];
  }

  set batchEpoch(epoch: number) {
    this.cols.i32[SeriesColumns.intAt(this.slot, IntCol.batchEpoch)] = epoch;
  }

  /** Scratch of the commit in progress: where it keeps this series' newest accepted sample (IntCol.batchAt). */
  get batchAt(): number {
    return this.cols.i32[SeriesColumns.intAt(this.slot, IntCol.batchAt)];
  }

  set batchAt(at: number) {
    this.cols.i32[SeriesColumns.intAt(this.slot, IntCol.batchAt)] = at;
  }

  /** The series' labels, built on each call (the head keeps them as symbol ids): callers that reuse them keep them. */
  get labels(): Labels {
    const h = this.held;
    return typeof h === "number" ? this.cols.labels.labels(h) : h;
  }

  /** The label hash key (`labelHashKey` of `labels.hash()`) the series was made with. */
  get labelHashKey(): number {
    const h = this.held;
    return typeof h === "number" ? this.cols.labels.hashKey(h) : labelHashKey(h.hash());
  }

  /** True when the series' labels are exactly `labels`, compared without building the series' set. */
  hasLabels(labels: Labels): boolean {
    const h = this.held;
    return typeof h === "number" ? this.cols.labels.equals(h, labels) : h.equals(labels);
  }

  /** Orders this series and `other` by their labels, as `Labels.compare`, building neither set while both are held. */
  compareLabels(other: MemSeries): number {
    const a = this.held;
    const b = other.held;
    if (typeof a === "number" && typeof b === "number" && this.cols === other.cols)
      return this.cols.labels.compare(a, b);
    return this.labels.compare(other.labels);
  }

  /** What the open chunk is (OPEN_*); read it through `openSamples` and the like. */
  private get openKind(): number {
    return this.bits & OPEN_KIND_MASK;
  }

  private set openKind(kind: number) {
    this.bits = (this.bits & ~OPEN_KIND_MASK) | kind;
  }

  /** True when `lastV` was not loaded (replay restored `lastT` from a stored chunk); read the chunk to learn it. */
  get lastVUnknown(): boolean {
    return (this.bits & LAST_V_UNKNOWN) !== 0;
  }

  set lastVUnknown(unknown: boolean) {
    this.bits = unknown ? this.bits | LAST_V_UNKNOWN : this.bits & ~LAST_V_UNKNOWN;
  }

  /** Whether a Series record for this series is in the WAL. */
  get logged(): boolean {
    return (this.bits & LOGGED) !== 0;
  }

  set logged(logged: boolean) {
    this.bits = logged ? this.bits | LOGGED : this.bits & ~LOGGED;
  }

  /** Appenders holding uncommitted samples of this series; truncation does not collect it meanwhile. */
  get pending(): number {
    return this.bits >>> PENDING_SHIFT;
  }

  set pending(n: number) {
    this.bits = (this.bits & ((1 << PENDING_SHIFT) - 1)) | (n << PENDING_SHIFT);
  }

  /** Newest sample's time, ms; -Infinity before the first. Survives truncation for ordering checks. */
  get lastT(): number {
    return this.cols.xor.times[SeriesColumns.lastTimeAt(this.slot)];
  }

  set lastT(t: number) {
    this.cols.xor.times[SeriesColumns.lastTimeAt(this.slot)] = t;
  }

  /**
   * Newest float sample's value (see `lastVUnknown`): the open chunk's slot keeps it as its encoder's previous value,
   * with a staleness marker's bits as the encoder writes them (compare values with their bits normalized). Set only
   * while the open chunk holds no sample.
   */
  get lastV(): number {
    return this.cols.xor.value(this.slot);
  }

  set lastV(v: number) {
    this.cols.xor.setValue(this.slot, v);
  }

  /** Time at which the open chunk is cut, ms. */
  private get nextAt(): number {
    return this.cols.f64[SeriesColumns.at(this.slot, Col.nextAt)];
  }

  private set nextAt(t: number) {
    this.cols.f64[SeriesColumns.at(this.slot, Col.nextAt)] = t;
  }
  /** Time range of the open float chunk, ms (maxt -Infinity while empty). */
  private get chunkMint(): number {
    return this.cols.f64[SeriesColumns.at(this.slot, Col.chunkMint)];
  }

  private set chunkMint(t: number) {
    this.cols.f64[SeriesColumns.at(this.slot, Col.chunkMint)] = t;
  }

  /** Last sample time of the open float chunk, ms (-Infinity while empty): the newest sample's, which it holds. */
  private get chunkMaxt(): number {
    return this.cols.xor.numSamples(this.slot) > 0 ? this.lastT : Number.NEGATIVE_INFINITY;
  }

  /** Samples in the open chunk; 0 when there is none. */
  get openSamples(): number {
    if (this.openKind === OPEN_XOR) return this.cols.xor.numSamples(this.slot);
    if (this.openKind === OPEN_HISTOGRAM) return this.openHistogram().numSamples;
    return 0;
  }

  /** First sample time of the open chunk, ms (meaningful while it holds samples). */
  get openMint(): number {
    return this.openKind === OPEN_HISTOGRAM ? this.openHistogram().mint : this.chunkMint;
  }

  /** Last sample time of the open chunk, ms; -Infinity while it is empty. */
  get openMaxt(): number {
    if (this.openKind === OPEN_HISTOGRAM) return this.openHistogram().maxt;
    return this.openKind === OPEN_XOR ? this.chunkMaxt : Number.NEGATIVE_INFINITY;
  }

  /** Encoding byte of the open chunk. */
  get openEncoding(): Encoding {
    return this.openKind === OPEN_HISTOGRAM ? this.openHistogram().encoding : Encoding.xor;
  }

  /** Size of the open chunk in bytes; 0 when there is none. */
  get openSize(): number {
    if (this.openKind === OPEN_XOR) return this.cols.xor.size(this.slot);
    if (this.openKind === OPEN_HISTOGRAM) return this.openHistogram().size;
    return 0;
  }

  /** The open chunk's bytes (one must exist): a view valid until the next append to the series or its truncation. */
  openBytes(): Uint8Array {
    return this.openKind === OPEN_HISTOGRAM ? this.openHistogram().bytes() : this.cols.xor.bytes(this.slot);
  }

  private openHistogram(): HistogramOpenChunk {
    return (this.histograms as SeriesHistograms).open as HistogramOpenChunk;
  }

  /**
   * Drops the open chunk and gives the row back to the head's columns, when the head removes the series; the
   * series must not be appended to after. It then reads as holding no open chunk, and holds its labels as a set of
   * its own (its record in the label store is given back).
   */
  drop(): void {
    this.releaseOpen();
    if (this.slot !== DEAD_SLOT) this.cols.release(this.slot);
    this.slot = DEAD_SLOT;
    const h = this.held;
    if (typeof h === "number") {
      this.held = this.cols.labels.labels(h);
      this.cols.labels.release(h);
    }
  }

  /** Id of the open chunk (one past the last full chunk). */
  get openChunkId(): number {
    return this.firstChunkId + this.numMmapped;
  }

  /** Number of full chunks. */
  get numMmapped(): number {
    return this.mm.length / 3;
  }

  /** Reference of full chunk `i` in the head chunk files. */
  mmappedRef(i: number): HeadChunkRef {
    return this.mm[3 * i] as HeadChunkRef;
  }

  /** First sample time of full chunk `i`, ms. */
  mmappedMint(i: number): number {
    return this.mm[3 * i + 1];
  }

  /** Last sample time of full chunk `i`, ms. */
  mmappedMaxt(i: number): number {
    return this.mm[3 * i + 2];
  }

  /** Full chunk `i` (a new object). */
  mmappedChunk(i: number): MmappedChunk {
    return { ref: this.mm[3 * i] as HeadChunkRef, mint: this.mm[3 * i + 1], maxt: this.mm[3 * i + 2] };
  }

  /** The full chunks in time order (new objects). */
  mmappedChunks(): MmappedChunk[] {
    const out: MmappedChunk[] = [];
    for (let i = 0; i < this.numMmapped; i++) out.push(this.mmappedChunk(i));
    return out;
  }

  /** Oldest sample time held, ms; +Infinity when the series holds no chunk. */
  minTime(): number {
    if (this.mm.length > 0) return this.mm[1];
    if (this.openSamples > 0) return this.openMint;
    return Number.POSITIVE_INFINITY;
  }

  /** Newest sample time held in chunks, ms; -Infinity when none. */
  maxTime(): number {
    if (this.openSamples > 0) return this.openMaxt;
    if (this.mm.length > 0) return this.mm[this.mm.length - 1];
    return Number.NEGATIVE_INFINITY;
  }

  /** Newest time in the full chunks (what replay skips WAL samples up to), -Infinity when none. */
  mmappedMaxTime(): number {
    return this.mm.length > 0 ? this.mm[this.mm.length - 1] : Number.NEGATIVE_INFINITY;
  }

  /** True when the series holds no samples in chunks. */
  isEmpty(): boolean {
    return this.mm.length === 0 && this.openSamples === 0;
  }

  /**
   * Appends a sample that callers have checked is newer than `lastT`. Returns false (and stores nothing) when it is
   * not newer than the chunks (only replay can meet that). Cuts a new chunk first when Prometheus would: the chunk
   * is about full (size), the predicted end time or the chunk range boundary is reached, or it holds twice the
   * target count. Returns true when stored.
   */
  append(t: number, v: number, o: ChunkOptions): boolean {
    const kind = this.openKind;
    const slot = this.slot;
    const xor = this.cols.xor;
    // The row is read and written in place (appends never add rows, so the array stays the same meanwhile).
    const f = this.cols.f64;
    const row = SeriesColumns.at(slot, 0);
    const lastAt = SeriesColumns.lastTimeAt(slot);
    if (kind === OPEN_XOR) {
      // The open chunk's last time is the newest sample's (chunkMaxt).
      if (xor.numSamples(slot) > 0 && xor.times[lastAt] >= t) return false;
      if (xor.size(slot) > MAX_BYTES_PER_XOR_CHUNK_BEFORE_APPEND) this.cut(t, o);
    } else if (kind === OPEN_NONE) {
      if (this.mmappedMaxTime() >= t) return false;
      this.cut(t, o);
    } else {
      // A float after histograms: a new chunk for the new kind.
      if (this.openMaxt >= t) return false;
      this.cut(t, o);
    }
    const n = xor.numSamples(slot);
    if (n === 0) {
      f[row + Col.chunkMint] = t;
      f[row + Col.nextAt] = rangeForTimestamp(t, o.chunkRange);
    }
    // At a quarter of the target, predict an end time that spreads the rest of the range evenly over chunks.
    if (n === Math.floor(o.samplesPerChunk / 4)) {
      const maxt = n > 0 ? xor.times[lastAt] : Number.NEGATIVE_INFINITY;
      f[row + Col.nextAt] = computeChunkEndTime(f[row + Col.chunkMint], maxt, f[row + Col.nextAt], 4);
    }
    // Twice the target means the prediction was wrong (the rate went up): cut anyway.
    if (t >= f[row + Col.nextAt] || n >= o.samplesPerChunk * 2) this.cut(t, o);
    // The slot keeps `t` and `v` as its time and value: the newest sample's (lastT, lastV).
    xor.append(slot, t, v);
    // Both flags are rare (a series after replay, one that held histograms): one read of the bits in the common case.
    if ((this.bits & (LAST_V_UNKNOWN | HAS_HISTOGRAMS)) !== 0) {
      this.lastVUnknown = false;
      if (this.histograms !== null) this.histograms.last = null;
    }
    return true;
  }

  /**
   * Appends a histogram sample that callers have checked is newer than `lastT`, as `append` does for floats.
   * Chunks are cut as Prometheus cuts histogram chunks: at a change of kind (float, integer or float histogram),
   * at a predicted end time or past 2 KiB once the chunk holds 10 samples (or at the range boundary), and wherever
   * the encoding needs a new chunk (a reset, a new schema...); a sample with new buckets recodes the open chunk.
   * `h` is copied.
   */
  appendHistogram(t: number, h: Histogram, o: ChunkOptions): boolean {
    const float = !h.integer;
    if (this.openKind === OPEN_NONE ? this.mmappedMaxTime() >= t : this.openMaxt >= t) return false;
    this.histograms ??= newSeriesHistograms();
    const hs = this.histograms;
    const open = this.openKind === OPEN_HISTOGRAM ? hs.open : null;
    let c: HistogramOpenChunk;
    let prev: HistogramChunkAppender | null = null;
    if (open !== null && open.app.float === float) {
      c = open;
      const n = c.numSamples;
      const bytes = c.size;
      // Prometheus's cutting by size: at a quarter of the target, predict the end time that spreads the rest of
      // the range evenly; cut there or past twice the target, once the chunk holds its minimum of samples (or the
      // range boundary is reached).
      const rangeStart = hs.endComputed ? rangeForTimestamp(c.mint, o.chunkRange) : this.nextAt;
      if (!hs.endComputed && bytes >= TARGET_BYTES_PER_HISTOGRAM_CHUNK / 4) {
        this.nextAt = computeChunkEndTime(c.mint, c.maxt, this.nextAt, TARGET_BYTES_PER_HISTOGRAM_CHUNK / bytes);
        hs.endComputed = true;
      }
      const due = t >= this.nextAt || bytes >= 2 * TARGET_BYTES_PER_HISTOGRAM_CHUNK;
      if (due && (n >= MIN_SAMPLES_PER_HISTOGRAM_CHUNK || t >= rangeStart)) {
        prev = c.app;
        c = this.cutHistogram(t, o, float);
        hs.endComputed = false;
      }
    } else {
      c = this.cutHistogram(t, o, float);
      hs.endComputed = false;
    }
    const out = appendHistogramSample(c.app, prev, t, h);
    if (out.kind === "cut") {
      this.flushOpen(o.files);
      c = new HistogramOpenChunk(out.appender, t);
      hs.open = c;
      this.openKind = OPEN_HISTOGRAM;
      this.nextAt = rangeForTimestamp(t, o.chunkRange);
    } else if (out.kind === "recoded") {
      c.app = out.appender;
    }
    c.maxt = t;
    this.lastT = t;
    this.lastVUnknown = false;
    hs.last = copyHistogram(h);
    return true;
  }

  /** Writes the open chunk (if it holds samples) to the head chunk files and opens an empty histogram chunk. */
  private cutHistogram(t: number, o: ChunkOptions, float: boolean): HistogramOpenChunk {
    this.flushOpen(o.files);
    this.releaseOpen();
    const c = new HistogramOpenChunk(newHistogramAppender(float), t);
    (this.histograms as SeriesHistograms).open = c;
    this.openKind = OPEN_HISTOGRAM;
    this.nextAt = rangeForTimestamp(t, o.chunkRange);
    return c;
  }

  /** Writes the open chunk (if it holds samples) to the head chunk files and opens an empty float chunk at `t`. */
  private cut(t: number, o: ChunkOptions): void {
    // The next chunk will likely grow as large as this one: taking that room at once spares the arena the smaller
    // slots a growing chunk leaves behind.
    const expected = this.openSize;
    this.flushOpen(o.files);
    this.releaseOpen();
    this.cols.xor.start(this.slot, Math.max(OPEN_CHUNK_BYTES, expected));
    this.openKind = OPEN_XOR;
    this.chunkMint = t;
    this.nextAt = rangeForTimestamp(t, o.chunkRange);
  }

  /** Moves the open chunk, if it holds samples, to the head chunk files. */
  private flushOpen(files: HeadChunkFiles): void {
    if (this.openSamples === 0) return;
    const mint = this.openMint;
    const maxt = this.openMaxt;
    const ref = files.write({
      seriesRef: this.ref,
      mint,
      maxt,
      chunk: { encoding: this.openEncoding, data: this.openBytes() },
    });
    const n = this.mm.length;
    const mm = new Array<number>(n + 3);
    for (let i = 0; i < n; i++) mm[i] = this.mm[i];
    mm[n] = ref;
    mm[n + 1] = mint;
    mm[n + 2] = maxt;
    this.mm = mm;
    this.releaseOpen();
  }

  /** Drops the open chunk, giving a float chunk's bytes back to the arena. */
  releaseOpen(): void {
    if (this.openKind === OPEN_XOR) this.cols.xor.release(this.slot);
    else if (this.openKind === OPEN_HISTOGRAM) (this.histograms as SeriesHistograms).open = null;
    this.openKind = OPEN_NONE;
  }

  /**
   * Drops the chunks that end before `mint` (ms), the open one included; returns how many were dropped. Chunk ids
   * of the remaining chunks do not change.
   */
  truncateBefore(mint: number): number {
    let k = 0;
    while (k < this.numMmapped && this.mmappedMaxt(k) < mint) k++;
    let dropped = k;
    if (k > 0) this.mm = k === this.numMmapped ? NO_CHUNKS : this.mm.slice(3 * k);
    if (this.mm.length === 0 && this.openSamples > 0 && this.openMaxt < mint) {
      this.releaseOpen();
      dropped++;
    }
    this.firstChunkId = (this.firstChunkId + dropped) % CHUNK_ID_SPACE;
    return dropped;
  }

  /**
   * Installs the full chunks found in the head chunk files at replay (time order, non-overlapping) and resets the
   * ordering state to their end.
   */
  setMmapped(chunks: readonly MmappedChunk[], histograms = false): void {
    if (histograms) this.histograms ??= newSeriesHistograms();
    const mm = new Array<number>(chunks.length * 3);
    chunks.forEach((c, i) => {
      mm[3 * i] = c.ref;
      mm[3 * i + 1] = c.mint;
      mm[3 * i + 2] = c.maxt;
    });
    this.mm = chunks.length === 0 ? NO_CHUNKS : mm;
    this.releaseOpen();
    const last = chunks[chunks.length - 1];
    if (last !== undefined && last.maxt > this.lastT) {
      this.lastT = last.maxt;
      this.lastVUnknown = true;
    }
  }
}
