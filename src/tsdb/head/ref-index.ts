// A dense index of a head's series by ref: the appender finds a series by ref once a sample (remote write appends
// by the refs its series cache kept), and a Map probe per sample cost about 5% of the ingest bench's main thread.
// Refs are handed out in increasing order, so the series of a head are mostly one run of consecutive refs: one
// array slot each, read with one load. It is the series map's main store: the map's `Map` by ref keeps only the
// entries this array does not hold (a ref outside its range when added, or one it let go of).
//
// Memory is bounded by the live series: the array grows only while it holds at most twice as many slots as live
// entries (plus a fixed slack for gaps), drops its leading empty slots once half of it is empty, and is given up
// (its entries handed back to the caller, to start again at the next added ref) when even that leaves it half empty.

const NONE: readonly never[] = Object.freeze([]);

/** An entry handed back by the array as it is given up: its ref and value. */
export type RefEntry<T> = readonly [ref: number, entry: T];

/** Slots the array may hold beyond twice its live entries, for gaps between refs (e.g. a replayed WAL's). */
export const REF_INDEX_SLACK = 1024;

/** Entries by ref in an array from a base ref; entries it does not hold are the caller's map's to keep. */
export class RefIndex<T> {
  private slots: (T | undefined)[] = [];
  /** The ref of `slots[0]`. */
  private base = 0;
  private live = 0;

  /** Number of entries the array holds. */
  get count(): number {
    return this.live;
  }

  /** The ref of the array's first slot; with `endRef`, the range of refs it may hold. */
  get startRef(): number {
    return this.base;
  }

  /** One past the ref of the array's last slot. */
  get endRef(): number {
    return this.base + this.slots.length;
  }

  /** The entry with `ref` when the array holds it, else undefined (it may still be in the caller's map). */
  get(ref: number): T | undefined {
    const i = ref - this.base;
    return i >= 0 && i < this.slots.length ? this.slots[i] : undefined;
  }

  /** Adds `e` as `ref` when it falls in or just past the array's range (true); else leaves it to the caller (false). */
  add(ref: number, e: T): boolean {
    if (this.live === 0) {
      this.slots = [];
      this.base = ref;
    }
    const i = ref - this.base;
    if (!Number.isSafeInteger(i) || i < 0) return false;
    const slots = this.slots;
    if (i < slots.length) {
      if (slots[i] === undefined) this.live++;
      slots[i] = e;
      return true;
    }
    if (i >= 2 * (this.live + 1) + REF_INDEX_SLACK) return false;
    while (slots.length < i) slots.push(undefined);
    slots.push(e);
    this.live++;
    return true;
  }

  /**
   * Forgets `e` if the array holds it as `ref`. Returns the other entries the array let go of as it was given up (for
   * the caller to keep elsewhere), usually none; with `mayGiveUp` false it keeps every entry (see `shrink`).
   */
  delete(ref: number, e: T, mayGiveUp = true): readonly RefEntry<T>[] {
    const i = ref - this.base;
    const slots = this.slots;
    if (!(i >= 0 && i < slots.length) || slots[i] !== e) return NONE;
    slots[i] = undefined;
    this.live--;
    return this.shrink(mayGiveUp);
  }

  /** Slots of the array (live or empty): for tests of its bound. */
  get size(): number {
    return this.slots.length;
  }

  /**
   * When half of the array is empty: drops its leading empty slots (the oldest series go first), or, if `mayGiveUp`,
   * the whole array when it is still half empty after that, returning its entries.
   */
  shrink(mayGiveUp = true): readonly RefEntry<T>[] {
    if (!(this.live * 2 < this.slots.length && this.slots.length > REF_INDEX_SLACK)) return NONE;
    const slots = this.slots;
    let first = 0;
    while (first < slots.length && slots[first] === undefined) first++;
    let end = slots.length;
    while (end > first && slots[end - 1] === undefined) end--;
    if (this.live === 0 || (mayGiveUp && this.live * 2 < end - first)) {
      const held: RefEntry<T>[] = [];
      for (let i = first; i < end; i++) {
        const e = slots[i];
        if (e !== undefined) held.push([this.base + i, e]);
      }
      this.slots = [];
      this.live = 0;
      return held;
    }
    if (first > 0 || end < slots.length) {
      this.slots = slots.slice(first, end);
      this.base += first;
    }
    return NONE;
  }
}
