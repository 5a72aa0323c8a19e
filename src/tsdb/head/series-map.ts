// The head's series by ref and by label hash. The map is keyed by the low 32 bits of the labels' XXH64 as a small
// integer (a string key would cost each series its 16-digit hash string, about 64 bytes), so keys collide now and
// then: a key maps to one series or, rarely, to a list of series with different labels; lookups confirm with
// `Labels.equals`.

import type { Labels } from "../../model/labels.ts";
import { RefIndex } from "./ref-index.ts";
import type { MemSeries } from "./series.ts";

/** Series of one head, found by ref or by labels. Single-threaded; no striping needed. */
export class SeriesMap {
  private readonly byRef = new Map<number, MemSeries>();
  private readonly byHash = new Map<number, MemSeries | MemSeries[]>();
  /** The appender's lookup by ref, ahead of `byRef` (ref-index.ts). */
  private readonly dense = new RefIndex<MemSeries>();

  /** Number of series. */
  get size(): number {
    return this.byRef.size;
  }

  /** The series with `ref`, or undefined. */
  getByRef(ref: number): MemSeries | undefined {
    return this.dense.get(ref) ?? this.byRef.get(ref);
  }

  /** The series with exactly `labels`, or undefined. */
  getByLabels(labels: Labels): MemSeries | undefined {
    const e = this.byHash.get(hashKey(labels.hash()));
    if (e === undefined) return undefined;
    if (!Array.isArray(e)) return e.labels.equals(labels) ? e : undefined;
    for (const s of e) if (s.labels.equals(labels)) return s;
    return undefined;
  }

  /**
   * Adds `s`; the caller has checked that neither its ref nor its labels are present. `hash` is the hash of labels
   * equal to its own, given when the caller has it (so that the series' own labels need not cache theirs).
   */
  add(s: MemSeries, hash: string = s.labels.hash()): void {
    this.byRef.set(s.ref, s);
    this.dense.add(s);
    const h = hashKey(hash);
    const e = this.byHash.get(h);
    if (e === undefined) this.byHash.set(h, s);
    else if (Array.isArray(e)) e.push(s);
    else this.byHash.set(h, [e, s]);
  }

  /** Removes `s` (no-op when absent). */
  delete(s: MemSeries): void {
    if (this.byRef.get(s.ref) !== s) return;
    this.byRef.delete(s.ref);
    this.dense.delete(s);
    const h = hashKey(s.labels.hash());
    const e = this.byHash.get(h);
    if (e === s) this.byHash.delete(h);
    else if (Array.isArray(e)) {
      const rest = e.filter((x) => x !== s);
      this.byHash.set(h, rest.length === 1 ? rest[0] : rest);
    }
  }

  /** Every series, in no particular order. */
  values(): IterableIterator<MemSeries> {
    return this.byRef.values();
  }
}

// The low 32 bits of a hex label hash as a small integer (kept unboxed by V8); 0 for text that is not hex.
function hashKey(hash: string): number {
  return Number.parseInt(hash.slice(-8), 16) | 0;
}
