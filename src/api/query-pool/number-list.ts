// A growable list of numbers on a Float64Array, emptied and filled again page after page: what the main thread's
// page builder (pages.ts) collects a page's entries, labels and chunks in, instead of arrays grown afresh each page.

/** Capacity a list starts with, numbers. */
const INITIAL_CAPACITY = 256;

/** A list of numbers (any float64) that keeps its storage when emptied. */
export class NumberList {
  private items = new Float64Array(INITIAL_CAPACITY);
  private count = 0;

  /** Numbers held. */
  get length(): number {
    return this.count;
  }

  /** Empties the list, keeping its storage. */
  clear(): void {
    this.count = 0;
  }

  /** Appends `x`. */
  push(x: number): void {
    if (this.count === this.items.length) this.grow();
    this.items[this.count++] = x;
  }

  /** The numbers held, as a view of the storage: valid until the next `push` or `clear`. */
  view(): Float64Array {
    return this.items.subarray(0, this.count);
  }

  private grow(): void {
    const grown = new Float64Array(this.items.length * 2);
    grown.set(this.items);
    this.items = grown;
  }
}
