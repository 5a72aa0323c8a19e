// Many small growable byte buffers in a few large pages: the head's open chunks, one per series. A Uint8Array of
// its own costs a series about 320 bytes beyond its data (the typed array, its ArrayBuffer and the native backing
// store's bookkeeping); a slot in a shared page costs only its bytes, rounded up to a power of two.
//
// Slots are addressed by a number (page index × PAGE_BYTES + offset) and handed out in power-of-two sizes from
// MIN_SLOT_BYTES to MAX_SLOT_BYTES by a buddy allocator: a free slot is split in halves for a smaller request, and
// a freed slot merges with its free twin (its "buddy") into the slot they were split from. Without the merging,
// chunks growing in step (every series of a scrape gets a sample at once) would leave free slots of every smaller
// size behind that later requests, all larger, never use. Pages are never returned: the arena is as large as the
// most bytes it held at once (rounded up to MAX_SLOT_BYTES blocks and pages), and lives as long as its owner.
//
// The free slots of a size are a bit per slot and a stack of slot numbers, in typed arrays: no object per slot. A
// `Set` of addresses a size (the first version) made garbage at every move of a chunk to a larger slot (its hash
// tables regrown and shrunk, an iterator per take): at 1,000,000 series, the round of appends that moves every
// chunk out of its tail left about 100 MB of it in the metrics node's old space until V8's next full collection.

/** Bytes per page: large enough that per-page overhead is negligible, small enough to waste little when idle. */
export const PAGE_BYTES = 256 * 1024;
/** Smallest slot handed out, bytes. */
export const MIN_SLOT_BYTES = 32;
/** Largest slot, bytes; larger requests throw (the head's chunks stay around 1 KiB). */
export const MAX_SLOT_BYTES = 64 * 1024;

const MIN_CLASS = Math.log2(MIN_SLOT_BYTES);
const CLASSES = Math.log2(MAX_SLOT_BYTES) - MIN_CLASS + 1;

/** Size class of a slot of at least `bytes` bytes (0 for MIN_SLOT_BYTES). */
function classOf(bytes: number): number {
  if (bytes <= MIN_SLOT_BYTES) return 0;
  return 32 - Math.clz32(bytes - 1) - MIN_CLASS;
}

/** Stale stack entries tolerated beyond the free slots and the bitmap's words before the stack is rebuilt. */
const MIN_STALE = 1024;
/** Entries a free stack has room for at first; it doubles from there. */
const INITIAL_STACK = 64;

/**
 * The free slots of one size, by slot number (address over the size): a bit per slot (set: free), and a stack of
 * numbers to take one from. A slot taken out by a merge leaves its number in the stack, stale (its bit is clear),
 * until it is popped or the stack is rebuilt from the bits; a number is taken only while its bit is set, and its bit
 * cleared then, so a stale or repeated entry never hands a slot out twice. Exported for tests.
 */
export class FreeSlots {
  private bits = new Uint32Array(0);
  private stack = new Int32Array(INITIAL_STACK);
  private top = 0;
  /** Free slots. */
  size = 0;

  /** Marks slot `n` free (it must not be). */
  add(n: number): void {
    const w = n >>> 5;
    if (w >= this.bits.length) this.growBits(w + 1);
    this.bits[w] |= 1 << (n & 31);
    this.push(n);
    this.size++;
  }

  /** Takes slot `n` out if it is free; false when it is not. */
  remove(n: number): boolean {
    const w = n >>> 5;
    const bit = 1 << (n & 31);
    if (w >= this.bits.length || (this.bits[w] & bit) === 0) return false;
    this.bits[w] &= ~bit;
    this.size--;
    // Rebuilt once the stale entries outnumber the free slots and the bitmap's words: the scan is paid by them.
    if (this.top - this.size > this.size + this.bits.length + MIN_STALE) this.rebuild();
    return true;
  }

  /** Takes out and returns a free slot's number; the caller checks `size` first. */
  take(): number {
    const bits = this.bits;
    while (this.top > 0) {
      const n = this.stack[--this.top];
      const w = n >>> 5;
      const bit = 1 << (n & 31);
      if ((bits[w] & bit) !== 0) {
        bits[w] &= ~bit;
        this.size--;
        return n;
      }
    }
    throw new RangeError("no free slot of this size");
  }

  /** Stack entries held, stale ones included (for tests of the rebuild). */
  get entries(): number {
    return this.top;
  }

  private push(n: number): void {
    if (this.top === this.stack.length) {
      const grown = new Int32Array(this.stack.length * 2);
      grown.set(this.stack);
      this.stack = grown;
    }
    this.stack[this.top++] = n;
  }

  private growBits(words: number): void {
    const grown = new Uint32Array(Math.max(words, 2 * this.bits.length));
    grown.set(this.bits);
    this.bits = grown;
  }

  // The stack again from the bits: one entry per free slot.
  private rebuild(): void {
    this.top = 0;
    const bits = this.bits;
    for (let w = 0; w < bits.length; w++) {
      let word = bits[w];
      while (word !== 0) {
        const low = word & -word;
        this.push(w * 32 + 31 - Math.clz32(low));
        word ^= low;
      }
    }
  }
}

/** A set of pages holding variable-size slots. Single-threaded; owned by one head. */
export class ByteArena {
  private readonly pages: Uint8Array[] = [];
  /** Next unused MAX_SLOT_BYTES block of the last page. */
  private top = PAGE_BYTES;
  /** Free slots by size class, by number (address over the class's size; a merge takes a given buddy out). */
  private readonly freeSlots: FreeSlots[] = Array.from({ length: CLASSES }, () => new FreeSlots());
  private used = 0;

  /** The size in bytes of the slot `alloc(bytes)` returns. */
  static slotSize(bytes: number): number {
    return MIN_SLOT_BYTES << classOf(bytes);
  }

  /** Address of a new slot of `slotSize(bytes)` bytes; its contents are undefined. */
  alloc(bytes: number): number {
    if (bytes > MAX_SLOT_BYTES) throw new RangeError(`arena slot of ${bytes} bytes: the largest is ${MAX_SLOT_BYTES}`);
    const c = classOf(bytes);
    this.used += MIN_SLOT_BYTES << c;
    let k = c;
    while (k < CLASSES && this.freeSlots[k].size === 0) k++;
    let addr: number;
    if (k < CLASSES) addr = this.freeSlots[k].take() * (MIN_SLOT_BYTES << k);
    else {
      k = CLASSES - 1;
      addr = this.newBlock();
    }
    // Split down to the size asked for; the upper halves become free slots.
    while (k > c) {
      k--;
      this.freeSlots[k].add(addr / (MIN_SLOT_BYTES << k) + 1);
    }
    return addr;
  }

  /** Returns the slot at `addr` of `slotSize(bytes)` bytes to the arena. */
  free(addr: number, bytes: number): void {
    let c = classOf(bytes);
    this.used -= MIN_SLOT_BYTES << c;
    // Blocks are aligned to their size (pages and MAX_SLOT_BYTES blocks are), so a slot's buddy differs in one bit.
    while (c < CLASSES - 1) {
      // Slot numbers of one size: a slot's buddy is its number with the lowest bit flipped.
      const n = addr / (MIN_SLOT_BYTES << c);
      if (!this.freeSlots[c].remove(n ^ 1)) break;
      addr = (n & ~1) * (MIN_SLOT_BYTES << c);
      c++;
    }
    this.freeSlots[c].add(addr / (MIN_SLOT_BYTES << c));
  }

  // A MAX_SLOT_BYTES block from the last page, or from a new page when it is used up.
  private newBlock(): number {
    if (this.top === PAGE_BYTES) {
      this.pages.push(new Uint8Array(PAGE_BYTES));
      this.top = 0;
    }
    const addr = (this.pages.length - 1) * PAGE_BYTES + this.top;
    this.top += MAX_SLOT_BYTES;
    return addr;
  }

  /** The page holding the slot at `addr` (shared: write only inside the slot). */
  page(addr: number): Uint8Array {
    return this.pages[Math.floor(addr / PAGE_BYTES)];
  }

  /** Offset of the slot at `addr` within its page. */
  static offset(addr: number): number {
    // Not `addr % PAGE_BYTES`: addresses read back from a Float64Array are doubles, and V8 computes the remainder
    // of doubles with a call to fmod, which took a tenth of a head append's time.
    return addr - Math.floor(addr / PAGE_BYTES) * PAGE_BYTES;
  }

  /** Bytes in slots handed out and not freed. */
  get usedBytes(): number {
    return this.used;
  }

  /** Bytes of pages allocated. */
  get reservedBytes(): number {
    return this.pages.length * PAGE_BYTES;
  }
}
