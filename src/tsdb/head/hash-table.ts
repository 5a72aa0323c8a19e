// A head's series by label hash: an open-addressed table of series refs (linear probing, at most half full), 8 to
// 16 bytes a series where a `Map` by hash key took about 30 with its backing store, and no object per entry. A slot
// holds a ref; the hash key of the series there is read back from the series (its label record), so the table keeps
// no keys of its own. Removal shifts the probe run back (no tombstones), so lookups never slow down with churn.

import type { Labels } from "../../model/labels.ts";

/** What the table needs of a series. */
export interface HashedSeries {
  readonly ref: number;
  /** The label hash key (`labelHashKey`) the series was made with. */
  readonly labelHashKey: number;
  hasLabels(labels: Labels): boolean;
}

/** Slots of a new table; it doubles when half full and halves when under an eighth full (never below this). */
const MIN_SLOTS = 1024;

/**
 * Series by label hash key, each found through `byRef` from the ref in its slot. Slot value 0 is empty, so a series
 * of ref 0 (possible from a WAL) is kept beside the table. Single-threaded; owned by one head's series map.
 */
export class HashTable<S extends HashedSeries> {
  private slots = new Uint32Array(MIN_SLOTS);
  private count = 0;
  private zero: S | undefined = undefined;
  private readonly byRef: (ref: number) => S | undefined;

  /** An empty table whose refs are series found by `byRef` (every ref in the table must be found). */
  constructor(byRef: (ref: number) => S | undefined) {
    this.byRef = byRef;
  }

  /** Series in the table. */
  get size(): number {
    return this.count + (this.zero === undefined ? 0 : 1);
  }

  /** Slots allocated (for tests of growth and shrinking). */
  get capacity(): number {
    return this.slots.length;
  }

  /** The series with exactly `labels`, whose hash key is `key`; undefined when absent. */
  get(labels: Labels, key: number): S | undefined {
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let i = key & mask; slots[i] !== 0; i = (i + 1) & mask) {
      const s = this.byRef(slots[i])!;
      if (s.labelHashKey === key && s.hasLabels(labels)) return s;
    }
    const z = this.zero;
    return z !== undefined && z.labelHashKey === key && z.hasLabels(labels) ? z : undefined;
  }

  /** Adds `s`; the caller has checked that no series of its ref or labels is present. */
  add(s: S): void {
    if (s.ref === 0) {
      this.zero = s;
      return;
    }
    if (2 * (this.count + 1) > this.slots.length) this.resize(2 * this.slots.length);
    this.place(s.ref, s.labelHashKey);
    this.count++;
  }

  /** Removes `s` (no-op when absent). `s` must still answer its hash key; the others must still be found by ref. */
  delete(s: S): void {
    if (s.ref === 0) {
      if (this.zero === s) this.zero = undefined;
      return;
    }
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = s.labelHashKey & mask;
    while (slots[i] !== s.ref) {
      if (slots[i] === 0) return;
      i = (i + 1) & mask;
    }
    // Backward-shift deletion: move each later entry of the run into the hole when its home is not between the
    // hole and itself (cyclically), so every entry stays reachable from its home slot.
    let hole = i;
    for (let j = (i + 1) & mask; slots[j] !== 0; j = (j + 1) & mask) {
      const home = this.byRef(slots[j])!.labelHashKey & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        slots[hole] = slots[j];
        hole = j;
      }
    }
    slots[hole] = 0;
    this.count--;
    if (8 * this.count < slots.length && slots.length > MIN_SLOTS) this.resize(slots.length / 2);
  }

  // Puts `ref`, of hash key `key`, in the first empty slot from its home on.
  private place(ref: number, key: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = key & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = ref;
  }

  // Moves every entry into a table of `size` slots.
  private resize(size: number): void {
    const old = this.slots;
    this.slots = new Uint32Array(size);
    for (let i = 0; i < old.length; i++) if (old[i] !== 0) this.place(old[i], this.byRef(old[i])!.labelHashKey);
  }
}
