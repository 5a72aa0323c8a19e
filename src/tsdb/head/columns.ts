// The numbers every series of a head keeps (when to cut the open chunk and where it starts, its small
// fields, the commit's scratch, its label record and full chunks) in typed arrays, a row per series: the head keeps
// no object per series (a `MemSeries` is a view of a row, made when asked for). V8 keeps a double field of an object
// as a pointer to a 16-byte heap number of its own: 24 bytes a field, where a column takes 8 (a double) or 4 (an
// int32). Rows are dense slots owned by the head: a removed series gives its slot back for the
// next new one, and the arrays double when every slot is taken. The open float chunks' appender state is kept by slot
// the same way (chunkenc/xor-slots.ts), their bytes in the head's arena. Slot 0 is never handed out: it stays an
// empty series' row, which a removed series reads from (MemSeries.drop), so its slot can go to the next new series.

import { XorSlots } from "../chunkenc/xor-slots.ts";
import type { ByteArena } from "../encoding/byte-arena.ts";
import { LabelStore } from "./label-store.ts";
import type { SeriesHistograms } from "./series-histograms.ts";

/**
 * Fields of a row of doubles, as offsets into it. Times in ms. The newest sample's time and value are not here but in
 * the open chunks' slots (`lastTimeAt`, XorSlots.value), which keep them as their appender's previous sample anyway.
 */
export const Col = {
  /** Time at which the open chunk is cut; -Infinity before the first chunk. */
  nextAt: 0,
  /** First sample time of the open float chunk. */
  chunkMint: 1,
} as const;

/** Fields of a row of int32s, as offsets into it. */
export const IntCol = {
  /** The series' small fields (the open chunk's kind, flags, pending appenders: see MemSeries). */
  bits: 0,
  /** Id of the first chunk (below 2^21, see CHUNK_ID_SPACE). */
  firstChunkId: 1,
  /** The commit whose newest sample `batchAt` points at (Head.commitEpoch); 0 for none. */
  batchEpoch: 2,
  /**
   * Where the commit in progress keeps the series' newest accepted sample: its index among the accepted floats, or
   * -1 - its index among the accepted histograms.
   */
  batchAt: 3,
  /** Offset of the series' label record in the columns' label store. */
  labels: 4,
} as const;

/** Doubles per row. */
const ROW = 2;
/** Int32s per row. */
const INT_ROW = 5;
/** Rows of a new head's arrays. */
const INITIAL_ROWS = 64;
/** Growth of the arrays when full (rows the new ones have, over the old ones'). */
const GROWTH = 2;
/** The row a removed series reads: an empty series', never handed out. */
export const DEAD_SLOT = 0;
/** The full chunks of a series that has none: shared, never modified. */
export const NO_CHUNKS: readonly number[] = Object.freeze([]);

/** The rows of one head's series. Single-threaded; owned by the head, which hands out and takes back slots. */
export class SeriesColumns {
  /** Doubles: slot `s`'s field `f` is `f64[s * ROW + f]`. Replaced when it grows: read it through the columns. */
  f64 = new Float64Array(INITIAL_ROWS * ROW);
  /** Int32s: slot `s`'s field `f` is `i32[s * INT_ROW + f]`. Replaced when it grows, as `f64`. */
  i32 = new Int32Array(INITIAL_ROWS * INT_ROW);
  /** The open float chunk of each slot (the series' slot number is its chunk's). */
  readonly xor: XorSlots;
  /** The series' label sets as symbol ids (label-store.ts); a series keeps its record's offset. */
  readonly labels = new LabelStore();
  /**
   * Full chunks by slot as flat (ref, mint, maxt) triples (MemSeries.numMmapped): an array of numbers keeps them
   * unboxed, 24 bytes a chunk, sized exactly (chunks are cut every few minutes at most, so copying on each is cheap);
   * NO_CHUNKS until the first. Replaced when it grows, as `f64`.
   */
  chunks: (readonly number[])[] = new Array<readonly number[]>(INITIAL_ROWS).fill(NO_CHUNKS);
  /** Histogram state by slot, for the few series that have held histograms (MemSeries.histograms). */
  readonly histograms = new Map<number, SeriesHistograms>();
  private readonly freeSlots: number[] = [];
  private top = DEAD_SLOT + 1;

  /** Columns whose open float chunks keep their bytes in `arena`. */
  constructor(arena: ByteArena) {
    this.xor = new XorSlots(arena, INITIAL_ROWS);
    this.reset(DEAD_SLOT);
  }

  /** Index of a double field of `slot` in `f64`. */
  static at(slot: number, field: number): number {
    return slot * ROW + field;
  }

  /**
   * Index of `slot`'s newest sample time (ms; -Infinity before the first) in `xor.times`: the open float chunk's last
   * time while it has samples, and kept when it is released.
   */
  static lastTimeAt(slot: number): number {
    return XorSlots.timeAt(slot);
  }

  /** Index of an int32 field of `slot` in `i32`. */
  static intAt(slot: number, field: number): number {
    return slot * INT_ROW + field;
  }

  /** A slot for a new series, its row set to an empty series' values. Give it back with `release`. */
  alloc(): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.top++;
      if (slot >= this.capacity) this.grow(Math.ceil(this.capacity * GROWTH));
    }
    this.reset(slot);
    return slot;
  }

  /** Takes back the slot of a removed series (its open chunk released); its row is reused by a later `alloc`. */
  release(slot: number): void {
    this.xor.release(slot);
    this.histograms.delete(slot);
    this.chunks[slot] = NO_CHUNKS;
    this.freeSlots.push(slot);
  }

  /** Forgets every slot's commit epoch (before Head.commitEpoch starts over). */
  clearEpochs(): void {
    const i = this.i32;
    for (let k = IntCol.batchEpoch; k < i.length; k += INT_ROW) i[k] = 0;
  }

  /** Slots handed out and not given back. */
  get used(): number {
    return this.top - 1 - this.freeSlots.length;
  }

  /** Rows the arrays have room for (the dead slot's included). */
  get capacity(): number {
    return this.f64.length / ROW;
  }

  private grow(rows: number): void {
    const f = new Float64Array(rows * ROW);
    f.set(this.f64);
    this.f64 = f;
    const i = new Int32Array(rows * INT_ROW);
    i.set(this.i32);
    this.i32 = i;
    const c = new Array<readonly number[]>(rows).fill(NO_CHUNKS);
    for (let k = 0; k < this.chunks.length; k++) c[k] = this.chunks[k];
    this.chunks = c;
    this.xor.grow(rows);
  }

  private reset(slot: number): void {
    const f = this.f64;
    const base = slot * ROW;
    this.xor.times[XorSlots.timeAt(slot)] = Number.NEGATIVE_INFINITY;
    this.xor.setValue(slot, 0);
    f[base + Col.nextAt] = Number.NEGATIVE_INFINITY;
    f[base + Col.chunkMint] = 0;
    const i = this.i32;
    const ib = slot * INT_ROW;
    i[ib + IntCol.bits] = 0;
    i[ib + IntCol.firstChunkId] = 0;
    i[ib + IntCol.batchEpoch] = 0;
    i[ib + IntCol.batchAt] = 0;
    i[ib + IntCol.labels] = 0;
    this.chunks[slot] = NO_CHUNKS;
  }
}
