// The numbers every series of a head keeps (newest sample, the commit's scratch, when to cut the open chunk and its
// time range) in one typed array, a row per series, instead of fields of the series object. V8 keeps a double field
// of an object as a pointer to a 16-byte heap number of its own: 24 bytes a field, where a column takes 8. Rows are
// dense slots owned by the head: a removed series gives its slot back for the next new one, and the array doubles
// when every slot is taken, so it is as large as the most series the head held at once. The open float chunks'
// appender state is kept by slot the same way (chunkenc/xor-slots.ts), their bytes in the head's arena.

import { XorSlots } from "../chunkenc/xor-slots.ts";
import type { ByteArena } from "../encoding/byte-arena.ts";
import { LabelStore } from "./label-store.ts";

/** Fields of a row, as offsets into it. Times in ms. */
export const Col = {
  /** Newest sample's time; -Infinity before the first. */
  lastT: 0,
  /** Newest sample's value (bits as the appender gave them). */
  lastV: 1,
  /** Time at which the open chunk is cut; -Infinity before the first chunk. */
  nextAt: 2,
  /** Newest sample accepted by the commit in progress (valid while the series' batch epoch is the commit's). */
  batchT: 3,
  batchV: 4,
  /** Time range of the open float chunk; maxt is -Infinity while it is empty. */
  chunkMint: 5,
  chunkMaxt: 6,
} as const;

/** Doubles per row. */
const ROW = 7;
/** Rows of a new head's array; it doubles from there. */
const INITIAL_ROWS = 64;

/** The rows of one head's series. Single-threaded; owned by the head, which hands out and takes back slots. */
export class SeriesColumns {
  /** The rows: slot `s`'s field `f` is `f64[s * ROW + f]`. Replaced when it grows: read it through the columns. */
  f64 = new Float64Array(INITIAL_ROWS * ROW);
  /** The open float chunk of each slot (the series' slot number is its chunk's). */
  readonly xor: XorSlots;
  /** The series' label sets as symbol ids (label-store.ts); a series keeps its record's offset. */
  readonly labels = new LabelStore();
  private readonly freeSlots: number[] = [];
  private top = 0;

  /** Columns whose open float chunks keep their bytes in `arena`. */
  constructor(arena: ByteArena) {
    this.xor = new XorSlots(arena, INITIAL_ROWS);
  }

  /** Index of a field of `slot` in `f64`. */
  static at(slot: number, field: number): number {
    return slot * ROW + field;
  }

  /** A slot for a new series, its row set to an empty series' values. Give it back with `release`. */
  alloc(): number {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.top++;
      if (slot * ROW >= this.f64.length) {
        const next = new Float64Array(this.f64.length * 2);
        next.set(this.f64);
        this.f64 = next;
        this.xor.grow(next.length / ROW);
      }
    }
    const f = this.f64;
    const base = slot * ROW;
    f[base + Col.lastT] = Number.NEGATIVE_INFINITY;
    f[base + Col.lastV] = 0;
    f[base + Col.nextAt] = Number.NEGATIVE_INFINITY;
    f[base + Col.batchT] = 0;
    f[base + Col.batchV] = 0;
    f[base + Col.chunkMint] = 0;
    f[base + Col.chunkMaxt] = Number.NEGATIVE_INFINITY;
    return slot;
  }

  /** Takes back the slot of a removed series (its open chunk released); its row is reused by a later `alloc`. */
  release(slot: number): void {
    this.xor.release(slot);
    this.freeSlots.push(slot);
  }

  /** Slots handed out and not given back. */
  get used(): number {
    return this.top - this.freeSlots.length;
  }

  /** Rows the array has room for. */
  get capacity(): number {
    return this.f64.length / ROW;
  }
}
