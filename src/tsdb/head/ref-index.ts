// A dense index of a head's series by ref, beside its map by ref: the appender finds a series by ref once a sample
// (remote write appends by the refs its series cache kept), and a Map probe per sample cost about 5% of the
// ingest bench's main thread. Refs are handed out in increasing order, so the series of a head are mostly one run
// of consecutive refs: one array slot each, read with one load. The map stays the source of truth (iteration,
// size); a ref outside the array's range is simply looked up there.
//
// Memory is bounded by the live series: the array grows only while it holds at most twice as many slots as live
// entries (plus a fixed slack for gaps), drops its leading empty slots once half of it is empty, and is given up
// (to start again at the next added ref) when even that leaves it half empty.

/** Slots the array may hold beyond twice its live entries, for gaps between refs (e.g. a replayed WAL's). */
export const REF_INDEX_SLACK = 1024;

/** Entries by `ref` in an array from a base ref; entries it does not hold are the caller's map's to find. */
export class RefIndex<T extends { readonly ref: number }> {
  private slots: (T | undefined)[] = [];
  /** The ref of `slots[0]`. */
  private base = 0;
  private live = 0;

  /** The entry with `ref` when the array holds it, else undefined (it may still be in the caller's map). */
  get(ref: number): T | undefined {
    const i = ref - this.base;
    return i >= 0 && i < this.slots.length ? this.slots[i] : undefined;
  }

  /** Adds `e` when its ref falls in or just past the array's range; otherwise leaves it to the caller's map. */
  add(e: T): void {
    if (this.live === 0) {
      this.slots = [];
      this.base = e.ref;
    }
    const i = e.ref - this.base;
    if (!Number.isSafeInteger(i) || i < 0) return;
    const slots = this.slots;
    if (i < slots.length) {
      if (slots[i] === undefined) this.live++;
      slots[i] = e;
      return;
    }
    if (i >= 2 * (this.live + 1) + REF_INDEX_SLACK) return;
    while (slots.length < i) slots.push(undefined);
    slots.push(e);
    this.live++;
  }

  /** Forgets `e` if the array holds it. */
  delete(e: T): void {
    const i = e.ref - this.base;
    const slots = this.slots;
    if (!(i >= 0 && i < slots.length) || slots[i] !== e) return;
    slots[i] = undefined;
    this.live--;
    if (this.live * 2 < slots.length && slots.length > REF_INDEX_SLACK) this.shrink();
  }

  /** Slots of the array (live or empty): for tests of its bound. */
  get size(): number {
    return this.slots.length;
  }

  // Half of the array is empty: drops its leading empty slots (the oldest series go first), or the whole array
  // when it is still half empty after that.
  private shrink(): void {
    const slots = this.slots;
    let first = 0;
    while (first < slots.length && slots[first] === undefined) first++;
    let end = slots.length;
    while (end > first && slots[end - 1] === undefined) end--;
    if (this.live === 0 || this.live * 2 < end - first) {
      this.slots = [];
      this.live = 0;
      return;
    }
    this.slots = slots.slice(first, end);
    this.base += first;
  }
}
