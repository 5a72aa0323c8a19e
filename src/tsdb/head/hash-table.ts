// A head's series by label hash: an open-addressed table of series refs (linear probing, at most half full), 8 to
// 16 bytes a series where a `Map` by hash key took about 30 with its backing store, and no object per entry. A slot
// holds a ref; the hash key of the series there is read back from the series (its label record), so the table keeps
// no keys of its own. Removal shifts the probe run back (no tombstones), so lookups never slow down with churn.

import type { Labels } from "../../model/labels.ts";

/** What the table needs to know of the series it holds, by ref. */
export interface HashedRefs {
  /** The label hash key (`labelHashKey`) the series `ref` was made with. */
  keyOf(ref: number): number;
  /** True when the series `ref` has exactly `labels`. */
  matches(ref: number, labels: Labels): boolean;
}

/** Slots of a new table; it doubles when half full and halves when under an eighth full (never below this). */
const MIN_SLOTS = 1024;
/** What `get` returns when no series has the labels. */
export const NO_REF = -1;

/**
 * Series refs by label hash key, the series of each read through `refs`. Slot value 0 is empty, so a series of ref 0
 * (possible from a WAL) is kept beside the table. Single-threaded; owned by one head's series map.
 */
export class HashTable {
  private slots = new Uint32Array(MIN_SLOTS);
  private count = 0;
  private hasZero = false;
  private readonly refs: HashedRefs;

  /** An empty table whose series are read through `refs` (every ref in the table must be known to it). */
  constructor(refs: HashedRefs) {
    this.refs = refs;
  }

  /** Series in the table. */
  get size(): number {
    return this.count + (this.hasZero ? 1 : 0);
  }

  /** Slots allocated (for tests of growth and shrinking). */
  get capacity(): number {
    return this.slots.length;
  }

  /** The ref of the series with exactly `labels`, whose hash key is `key`; NO_REF when absent. */
  get(labels: Labels, key: number): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    const refs = this.refs;
    for (let i = key & mask; slots[i] !== 0; i = (i + 1) & mask) {
      const ref = slots[i];
      if (refs.keyOf(ref) === key && refs.matches(ref, labels)) return ref;
    }
    return this.hasZero && refs.keyOf(0) === key && refs.matches(0, labels) ? 0 : NO_REF;
  }

  /** Adds the series `ref`; the caller has checked that no series of its ref or labels is present. */
  add(ref: number): void {
    if (ref === 0) {
      this.hasZero = true;
      return;
    }
    if (2 * (this.count + 1) > this.slots.length) this.resize(2 * this.slots.length);
    this.place(ref, this.refs.keyOf(ref));
    this.count++;
  }

  /** Removes the series `ref` (no-op when absent); it and the others must still answer their hash keys. */
  delete(ref: number): void {
    if (ref === 0) {
      this.hasZero = false;
      return;
    }
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = this.refs.keyOf(ref) & mask;
    while (slots[i] !== ref) {
      if (slots[i] === 0) return;
      i = (i + 1) & mask;
    }
    // Backward-shift deletion: move each later entry of the run into the hole when its home is not between the
    // hole and itself (cyclically), so every entry stays reachable from its home slot.
    let hole = i;
    for (let j = (i + 1) & mask; slots[j] !== 0; j = (j + 1) & mask) {
      const home = this.refs.keyOf(slots[j]) & mask;
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
    for (let i = 0; i < old.length; i++) if (old[i] !== 0) this.place(old[i], this.refs.keyOf(old[i]));
  }
}
