// The head's series by ref and by label hash. The map is keyed by the low 32 bits of the labels' XXH64 as a small
// integer (a string key would cost each series its 16-digit hash string, about 64 bytes), so keys collide now and
// then: a key maps to one series or, rarely, to a list of series with different labels; lookups confirm with
// `MemSeries.hasLabels`. By ref, the dense array (ref-index.ts) holds almost every series and a `Map` only the others, so
// most series cost a slot of the array (8 bytes) rather than a `Map` entry too (about 37 bytes with its spare room).

import type { Labels } from "../../model/labels.ts";
import { HashTable } from "./hash-table.ts";
import { labelHashKey } from "./label-store.ts";
import { RefIndex } from "./ref-index.ts";
import type { MemSeries } from "./series.ts";

/** Series of one head, found by ref or by labels. Single-threaded; no striping needed. */
export class SeriesMap {
  /** The series `dense` does not hold, by ref. */
  private readonly byRef = new Map<number, MemSeries>();
  /** Every series by label hash key (hash-table.ts). */
  private readonly byHash = new HashTable<MemSeries>((ref) => this.getByRef(ref));
  /** Most series, by ref (ref-index.ts). */
  private readonly dense = new RefIndex<MemSeries>();
  /** Iterations of `values()` under way: the dense array is not given up meanwhile (its entries would move). */
  private iterations = 0;

  /** Number of series. */
  get size(): number {
    return this.dense.count + this.byRef.size;
  }

  /** The series with `ref`, or undefined. */
  getByRef(ref: number): MemSeries | undefined {
    return this.dense.get(ref) ?? this.byRef.get(ref);
  }

  /** The series with exactly `labels`, or undefined. */
  getByLabels(labels: Labels): MemSeries | undefined {
    return this.byHash.get(labels, labelHashKey(labels.hash()));
  }

  /** Adds `s`; the caller has checked that neither its ref nor its labels are present. */
  add(s: MemSeries): void {
    if (!this.dense.add(s)) this.byRef.set(s.ref, s);
    this.byHash.add(s);
  }

  /** Removes `s` (no-op when absent). */
  delete(s: MemSeries): void {
    if (this.dense.get(s.ref) === s) {
      this.keep(this.dense.delete(s, this.iterations === 0));
    } else if (this.byRef.get(s.ref) === s) this.byRef.delete(s.ref);
    else return;
    this.byHash.delete(s);
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
        const s = this.dense.get(ref);
        if (s !== undefined) yield s;
      }
      yield* this.byRef.values();
    } finally {
      if (--this.iterations === 0) this.keep(this.dense.shrink());
    }
  }

  // Keeps in the map the entries the dense array let go of.
  private keep(released: readonly MemSeries[]): void {
    for (const e of released) this.byRef.set(e.ref, e);
  }
}
