// A dense index of a head's series by ref: the appender finds a series by ref once a sample (remote write appends
// by the refs its series cache kept), and a Map probe per sample cost about 5% of the ingest bench's main thread.
// Refs are handed out in increasing order, so the series of a head are mostly one run of consecutive refs: one
// array slot each, read with one load. It is the series map's main store: the map's `Map` by ref keeps only the
// entries this array does not hold (a ref outside its range when added, or one it let go of). The entries are row
// numbers (positive int32s) in an `Int32Array`, 4 bytes a ref, where a JS array of them took 8 and up to half as
// many again of spare room.
//
// Memory is bounded by the live series: the array grows only while it holds at most twice as many slots as live
// entries (plus a fixed slack for gaps), drops its leading empty slots once half of it is empty, and is given up
// (its entries handed back to the caller, to start again at the next added ref) when even that leaves it half empty.

const NONE: readonly never[] = Object.freeze([]);

/** An entry handed back by the array as it is given up: its ref and row. */
export type RefEntry = readonly [ref: number, row: number];

/** Slots the array may hold beyond twice its live entries, for gaps between refs (e.g. a replayed WAL's). */
export const REF_INDEX_SLACK = 1024;

/** An empty slot (rows the index holds are positive). */
const EMPTY = 0;
/** Room of a new array, slots. */
const INITIAL_ROOM = 1024;
/** Growth of the array when full (the room the new one has, over the old one's). */
const GROWTH = 1.5;

/**
 * Rows (positive int32s) by ref in an array from a base ref; rows it does not hold are the caller's map's to keep.
 * Single-threaded.
 */
export class RefIndex {
  private rows = new Int32Array(0);
  /** Slots in use of `rows` (live or empty), from `base`. */
  private length = 0;
  /** The ref of `rows[0]`. */
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
    return this.base + this.length;
  }

  /** The row of `ref` when the array holds it, else undefined (it may still be in the caller's map). */
  get(ref: number): number | undefined {
    const i = ref - this.base;
    if (!(i >= 0 && i < this.length)) return undefined;
    const row = this.rows[i | 0];
    return row === EMPTY || i !== (i | 0) ? undefined : row;
  }

  /**
   * Adds `row` (a positive int32) as `ref` when it falls in or just past the array's range (true); else leaves it to
   * the caller (false).
   */
  add(ref: number, row: number): boolean {
    if (this.live === 0) {
      this.length = 0;
      this.base = ref;
    }
    const i = ref - this.base;
    if (!Number.isSafeInteger(i) || i < 0) return false;
    if (i < this.length) {
      if (this.rows[i] === EMPTY) this.live++;
      this.rows[i] = row;
      return true;
    }
    if (i >= 2 * (this.live + 1) + REF_INDEX_SLACK) return false;
    if (i >= this.rows.length) this.resize(Math.max(i + 1, INITIAL_ROOM, Math.ceil(this.rows.length * GROWTH)));
    // Slots past the length are empty: `resize` and `shrink` leave them so.
    this.rows[i] = row;
    this.length = i + 1;
    this.live++;
    return true;
  }

  /**
   * Forgets `row` if the array holds it as `ref`. Returns the other entries the array let go of as it was given up
   * (for the caller to keep elsewhere), usually none; with `mayGiveUp` false it keeps every entry (see `shrink`).
   */
  delete(ref: number, row: number, mayGiveUp = true): readonly RefEntry[] {
    if (this.get(ref) !== row) return NONE;
    this.rows[ref - this.base] = EMPTY;
    this.live--;
    return this.shrink(mayGiveUp);
  }

  /** Slots of the array (live or empty): for tests of its bound. */
  get size(): number {
    return this.length;
  }

  /**
   * When half of the array is empty: drops its leading empty slots (the oldest series go first), or, if `mayGiveUp`,
   * the whole array when it is still half empty after that, returning its entries.
   */
  shrink(mayGiveUp = true): readonly RefEntry[] {
    if (!(this.live * 2 < this.length && this.length > REF_INDEX_SLACK)) return NONE;
    const rows = this.rows;
    let first = 0;
    while (first < this.length && rows[first] === EMPTY) first++;
    let end = this.length;
    while (end > first && rows[end - 1] === EMPTY) end--;
    if (this.live === 0 || (mayGiveUp && this.live * 2 < end - first)) {
      const held: RefEntry[] = [];
      for (let i = first; i < end; i++) if (rows[i] !== EMPTY) held.push([this.base + i, rows[i]]);
      this.rows = new Int32Array(0);
      this.length = 0;
      this.live = 0;
      return held;
    }
    if (first > 0 || end < this.length) {
      // The live run moves to the front of an array sized to it and its growth (the rest stays empty).
      const next = new Int32Array(Math.max(INITIAL_ROOM, Math.ceil((end - first) * GROWTH)));
      next.set(rows.subarray(first, end));
      this.rows = next;
      this.length = end - first;
      this.base += first;
    }
    return NONE;
  }

  // Moves the rows to an array of `room` slots.
  private resize(room: number): void {
    const next = new Int32Array(room);
    next.set(this.rows.subarray(0, this.length));
    this.rows = next;
  }
}
