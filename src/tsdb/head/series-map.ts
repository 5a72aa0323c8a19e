// The head's series by ref and by label hash. A series is its row in the head's columns: the map keeps each series'
// row number (slot) by ref, and makes a `MemSeries` view of the row when one is asked for, so the head holds no
// object per series (the object, 64 bytes, and its reference were the largest part of a series' heap). By ref, the
// dense array (ref-index.ts) holds almost every series and a `Map` only the others, so most series cost a slot of
// the array (8 bytes) rather than a `Map` entry too (about 37 bytes with its spare room). By labels, a table of refs
// keyed by the low 32 bits of the labels' XXH64 (hash-table.ts), confirmed against the series' label records.

import type { Labels } from "../../model/labels.ts";
import { IntCol, SeriesColumns } from "./columns.ts";
import { HashTable, NO_REF } from "./hash-table.ts";
import { labelHashKey } from "./label-store.ts";
import { type RefEntry, RefIndex } from "./ref-index.ts";
import { MemSeries } from "./series.ts";

/**
 * Series of one head, found by ref or by labels, as views of their rows (see MemSeries: valid until the series is
 * removed). Single-threaded; no striping needed.
 */
export class SeriesMap {
  /** The slots of the series `dense` does not hold, by ref. */
  private readonly byRef = new Map<number, number>();
  /** Every series by label hash key (hash-table.ts). */
  private readonly byHash: HashTable;
  /** Most series' slots, by ref (ref-index.ts). */
  private readonly dense = new RefIndex();
  /** Iterations of `values()` under way: the dense array is not given up meanwhile (its entries would move). */
  private iterations = 0;
  private readonly cols: SeriesColumns;

  /** An empty map of series whose rows are in `cols`. */
  constructor(cols: SeriesColumns) {
    this.cols = cols;
    this.byHash = new HashTable({
      keyOf: (ref) => cols.labels.hashKey(this.recordOf(ref)),
      matches: (ref, labels) => cols.labels.equals(this.recordOf(ref), labels),
    });
  }

  /** Number of series. */
  get size(): number {
    return this.dense.count + this.byRef.size;
  }

  /** The series with `ref`, or undefined. */
  getByRef(ref: number): MemSeries | undefined {
    const slot = this.slotOf(ref);
    return slot === undefined ? undefined : new MemSeries(ref, slot, this.cols);
  }

  /** True when the head holds a series with `ref`. */
  has(ref: number): boolean {
    return this.slotOf(ref) !== undefined;
  }

  /** The series with exactly `labels`, or undefined. */
  getByLabels(labels: Labels): MemSeries | undefined {
    const ref = this.byHash.get(labels, labelHashKey(labels.hash()));
    return ref === NO_REF ? undefined : this.getByRef(ref);
  }

  /** Adds `s`; the caller has checked that neither its ref nor its labels are present. */
  add(s: MemSeries): void {
    if (!this.dense.add(s.ref, s.slot)) this.byRef.set(s.ref, s.slot);
    this.byHash.add(s.ref);
  }

  /** Removes `s` (no-op when absent); call before `s.drop()`, while its labels can still be read. */
  delete(s: MemSeries): void {
    const ref = s.ref;
    if (this.dense.get(ref) === s.slot) {
      this.byHash.delete(ref);
      this.keep(this.dense.delete(ref, s.slot, this.iterations === 0));
    } else if (this.byRef.get(ref) === s.slot) {
      this.byHash.delete(ref);
      this.byRef.delete(ref);
    }
  }

  /**
   * Every series once: the dense array's by ascending ref, then the others. Series added during the iteration are
   * visited when their ref is ahead of it (refs are handed out in increasing order, so a new series is; a series
   * in the map is visited as in a `Map`); a series removed before it is reached is not. The dense array is not given
   * up while an iteration is under way (an iteration stopped early must be closed, as `for...of` does, to let it).
   */
  *values(): Generator<MemSeries, void, undefined> {
    this.iterations++;
    try {
      for (let ref = this.dense.startRef; ref < this.dense.endRef; ref++) {
        const slot = this.dense.get(ref);
        if (slot !== undefined) yield new MemSeries(ref, slot, this.cols);
      }
      for (const [ref, slot] of this.byRef) yield new MemSeries(ref, slot, this.cols);
    } finally {
      if (--this.iterations === 0) this.keep(this.dense.shrink());
    }
  }

  /** The row (slot) of the series `ref` in the head's columns, or undefined: what a view of it would read. */
  slotOf(ref: number): number | undefined {
    return this.dense.get(ref) ?? this.byRef.get(ref);
  }

  // The label record of the series `ref`, which the map holds.
  private recordOf(ref: number): number {
    return this.cols.i32[SeriesColumns.intAt(this.slotOf(ref) as number, IntCol.labels)];
  }

  // Keeps in the map the entries the dense array let go of.
  private keep(released: readonly RefEntry[]): void {
    for (const [ref, slot] of released) this.byRef.set(ref, slot);
  }
}
