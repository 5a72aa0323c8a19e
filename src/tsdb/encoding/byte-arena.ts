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

/** A set of pages holding variable-size slots. Single-threaded; owned by one head. */
export class ByteArena {
  private readonly pages: Uint8Array[] = [];
  /** Next unused MAX_SLOT_BYTES block of the last page. */
  private top = PAGE_BYTES;
  /** Free slot addresses by size class (sets: a merge takes a given buddy out). */
  private readonly freeSlots: Set<number>[] = Array.from({ length: CLASSES }, () => new Set<number>());
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
    if (k < CLASSES) {
      addr = this.freeSlots[k].values().next().value as number;
      this.freeSlots[k].delete(addr);
    } else {
      k = CLASSES - 1;
      addr = this.newBlock();
    }
    // Split down to the size asked for; the upper halves become free slots.
    while (k > c) {
      k--;
      this.freeSlots[k].add(addr + (MIN_SLOT_BYTES << k));
    }
    return addr;
  }

  /** Returns the slot at `addr` of `slotSize(bytes)` bytes to the arena. */
  free(addr: number, bytes: number): void {
    let c = classOf(bytes);
    this.used -= MIN_SLOT_BYTES << c;
    // Blocks are aligned to their size (pages and MAX_SLOT_BYTES blocks are), so a slot's buddy differs in one bit.
    while (c < CLASSES - 1) {
      const buddy = addr ^ (MIN_SLOT_BYTES << c);
      if (!this.freeSlots[c].delete(buddy)) break;
      addr = Math.min(addr, buddy);
      c++;
    }
    this.freeSlots[c].add(addr);
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
